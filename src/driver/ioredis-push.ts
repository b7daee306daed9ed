/**
 * RESP3 `invalidate` pushes from ioredis. ioredis decodes every push frame and hands it to its
 * `DataHandler.prototype.returnPush`, which serves pub/sub pushes and silently drops the rest:
 * a connection with `CLIENT TRACKING … BCAST` would never see its invalidations. We wrap that
 * method once (calling the original first, for every push) and report `invalidate` pushes of
 * the clients registered here; clients not registered, including an application's own ioredis
 * clients, are untouched. This relies on ioredis internals (not its typed API) like the direct
 * path: {@link invalidationHookAvailable} says whether the hook point exists, and a pool asked
 * for tracking on a release without it fails with a typed error instead of never invalidating.
 */
import { createRequire } from 'node:module';

/** Called with the invalidated keys; an empty list means "every key" (the server sent null: FLUSHDB/FLUSHALL). */
export type InvalidateListener = (keys: Buffer[]) => void;

type ReturnPush = (this: { redis?: unknown }, reply: unknown) => unknown;

const listeners = new WeakMap<object, InvalidateListener[]>();
let hooked: boolean | undefined;

const bytes = (k: unknown): Buffer => (Buffer.isBuffer(k) ? k : Buffer.from(String(k)));

/** Installs the wrapper once; false when ioredis has no `DataHandler.prototype.returnPush` to wrap. */
function install(): boolean {
  if (hooked !== undefined) return hooked;
  hooked = false;
  try {
    const mod = createRequire(import.meta.url)('ioredis/built/DataHandler.js') as { default?: { prototype?: Record<string, unknown> } };
    const proto = mod.default?.prototype;
    const original = proto?.['returnPush'];
    if (!proto || typeof original !== 'function') return false;
    const wrapped: ReturnPush = function (this: { redis?: unknown }, reply: unknown): unknown {
      const out = (original as ReturnPush).call(this, reply);
      const redis = this.redis;
      if (typeof redis === 'object' && redis !== null && Array.isArray(reply) && reply.length >= 2) {
        const ls = listeners.get(redis);
        if (ls && String(reply[0]) === 'invalidate') {
          const payload = reply[1] as unknown;
          const keys = payload === null || payload === undefined ? [] : Array.isArray(payload) ? payload.map(bytes) : [bytes(payload)];
          for (const l of ls) l(keys);
        }
      }
      return out;
    };
    proto['returnPush'] = wrapped;
    hooked = true;
  } catch {
    hooked = false;
  }
  return hooked;
}

/** Whether this ioredis release has the hook point (installs the hook on first call). */
export function invalidationHookAvailable(): boolean {
  return install();
}

/** Reports `client`'s invalidate pushes to `listener`; false (nothing registered) when the hook is unavailable. */
export function onInvalidate(client: object, listener: InvalidateListener): boolean {
  if (!install()) return false;
  const ls = listeners.get(client);
  if (ls) ls.push(listener);
  else listeners.set(client, [listener]);
  return true;
}
