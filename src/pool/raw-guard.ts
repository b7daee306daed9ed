/**
 * The guarded `lease.raw` handle. An ioredis client can reconnect itself (`connect()`) and make
 * more clients (`duplicate()`); either would open a socket the pool never counted, and one that
 * `pool.close()` would not close. The handle passes everything through while its lease holds a
 * live connection, refuses `duplicate()` always, and once the lease is released or its
 * connection has ended it refuses `connect()` and fails every command with a typed error.
 */
import { OutsideBudgetError, type RedpoolError } from '../errors.js';

/** Methods that only look at or detach listeners: harmless on a dead handle. */
const INERT = new Set([
  'on',
  'once',
  'off',
  'addListener',
  'prependListener',
  'prependOnceListener',
  'removeListener',
  'removeAllListeners',
  'listeners',
  'rawListeners',
  'listenerCount',
  'eventNames',
  'emit',
  'setMaxListeners',
  'getMaxListeners',
  'disconnect',
  'toString',
  'toJSON',
  'constructor',
]);

/**
 * Wraps `client`. `unusable()` returns the error to fail with (lease released, connection ended)
 * or undefined while the lease holds a live connection.
 */
export function guardRaw<T extends object>(client: T, unusable: () => RedpoolError | undefined): T {
  const bound = new Map<PropertyKey, unknown>();
  const refuse =
    (err: RedpoolError) =>
    (...args: unknown[]): Promise<never> => {
      const cb = args[args.length - 1];
      // ioredis methods take a trailing node-style callback: honour it, and never reject unobserved.
      if (typeof cb === 'function') {
        queueMicrotask(() => (cb as (e: Error) => void)(err));
        const p = Promise.reject(err);
        p.catch(() => undefined);
        return p;
      }
      return Promise.reject(err);
    };
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'duplicate')
        return () => {
          throw new OutsideBudgetError(
            'lease.raw.duplicate() would open a connection outside the pool budget; acquire another lease or use pool.subscriber()',
          );
        };
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const err = unusable();
      if (err !== undefined && typeof prop === 'string' && !INERT.has(prop)) {
        if (prop === 'connect')
          return refuse(
            new OutsideBudgetError(`lease.raw.connect() refused: ${err.message}; the pool replaces lost connections, acquire a new lease`),
          );
        return refuse(err);
      }
      if (prop === 'connect') return () => Promise.resolve(); // already connected, by the pool
      let fn = bound.get(prop);
      if (fn === undefined) {
        fn = (value as (...a: unknown[]) => unknown).bind(target);
        bound.set(prop, fn);
      }
      return fn;
    },
  });
}
