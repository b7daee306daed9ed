/**
 * What makes a call look like ioredis without loosening the pool's own API: argument coercion
 * (only here, on the views), trailing node-style callbacks, and ioredis's wording for
 * connection-loss errors (consumers such as BullMQ match on "Connection is closed.").
 */
import { RedpoolError } from '../errors.js';

/** Commands whose object/Map argument the core expands into field/value pairs (left as is). */
const OBJECT_ARGS = new Set(['hset', 'hmset', 'mset', 'msetnx']);

function scalar(v: unknown, out: unknown[]): void {
  switch (typeof v) {
    case 'string':
      out.push(v);
      return;
    case 'number':
      out.push(Number.isFinite(v) ? v : String(v));
      return;
    case 'boolean':
      out.push(v ? 'true' : 'false');
      return;
    case 'undefined':
      out.push('');
      return;
    case 'bigint':
      out.push(v.toString());
      return;
    case 'object':
      if (v === null) out.push('');
      else if (Array.isArray(v)) for (const x of v) scalar(x, out);
      else if (Buffer.isBuffer(v) || ArrayBuffer.isView(v)) out.push(v);
      else out.push(String(v as object)); // ioredis sends String(v) too
      return;
    default:
      out.push(String(v as symbol));
  }
}

/**
 * ioredis's argument coercion: nested arrays flattened, `undefined`/`null` → `''`, booleans →
 * `'true'`/`'false'`, other values `String()`ed. Returns `args` itself when nothing needs it.
 */
export function coerce(name: string, args: unknown[]): unknown[] {
  let i = 0;
  for (; i < args.length; i++) {
    const t = typeof args[i];
    if (t !== 'string' && (t !== 'number' || !Number.isFinite(args[i]))) break;
  }
  if (i === args.length) return args;
  const out = args.slice(0, i);
  for (; i < args.length; i++) {
    const v = args[i];
    if (OBJECT_ARGS.has(name) && typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !ArrayBuffer.isView(v))
      out.push(v);
    else scalar(v, out);
  }
  return out;
}

/** Node-style callback. */
export type Callback = (err: Error | null, result?: unknown) => void;

/** Splits a trailing callback off `args` (ioredis accepts one on every command). */
export function splitCallback(args: unknown[]): Callback | undefined {
  const last = args[args.length - 1];
  if (typeof last !== 'function') return undefined;
  args.pop();
  return last as Callback;
}

/**
 * Wires `cb` to `p` and marks `p` handled: a caller that never awaits a view call (socket.io's
 * fire-and-forget `publish` during an outage) cannot crash the process with an unhandled
 * rejection; a caller that awaits still sees the rejection. Failures stay counted in
 * `pool.stats().errors`.
 */
export function settle<T>(p: Promise<T>, cb: Callback | undefined): Promise<T> {
  if (cb)
    p.then(
      (v) => callBack(cb, null, v),
      (e: unknown) => callBack(cb, e as Error, undefined),
    );
  else p.catch(() => undefined);
  return p;
}

/**
 * Calls a node-style callback as ioredis does: its return value is ignored (redlock 4 returns a
 * promise that may reject; adopting it would make an unhandled rejection), and an exception it
 * throws is rethrown outside the promise chain instead of becoming a rejection nobody sees.
 */
function callBack(cb: Callback, err: Error | null, value: unknown): void {
  try {
    if (err) cb(err);
    else cb(null, value);
  } catch (thrown) {
    process.nextTick(() => {
      throw thrown;
    });
  }
}

/** ioredis's message for a command that could not run because the connection is gone. */
export const CONNECTION_CLOSED = 'Connection is closed.';

/**
 * The same error with ioredis's wording for connection loss and timeouts; `code`, `outcome`
 * and the class stay, the redpool message moves to `detail` and `cause`.
 */
export function ioredisError(err: unknown): unknown {
  if (!(err instanceof RedpoolError)) return err;
  let message: string;
  switch (err.code) {
    case 'ERR_CONNECTION':
    case 'ERR_UNAVAILABLE':
    case 'ERR_CONNECT_TIMEOUT':
    case 'ERR_POOL_CLOSED':
      message = CONNECTION_CLOSED;
      break;
    case 'ERR_COMMAND_TIMEOUT':
      message = 'Command timed out';
      break;
    default:
      return err;
  }
  if (err.message === message) return err;
  const copy = Object.assign(Object.create(Object.getPrototypeOf(err) as object) as RedpoolError, err);
  Object.defineProperty(copy, 'message', { value: message, writable: true, configurable: true });
  Object.defineProperty(copy, 'detail', { value: err.message, writable: true, configurable: true, enumerable: true });
  Object.defineProperty(copy, 'cause', { value: err, writable: true, configurable: true });
  Object.defineProperty(copy, 'stack', {
    value: `${err.name}: ${message}\n${(err.stack ?? '').split('\n').slice(1).join('\n')}`,
    writable: true,
    configurable: true,
  });
  return copy;
}
