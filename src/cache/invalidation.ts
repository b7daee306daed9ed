/**
 * The near cache's invalidation source: a `pool.subscriber()` created with `tracking` on the
 * cache's prefix. The pool owns tracking (it applies `CLIENT TRACKING ON BCAST PREFIX …` on
 * every (re)connect of that connection), its liveness (a PING on an interval: a frozen server is
 * a lost connection) and its reconnection (backoff on the pool's clock). This module only maps
 * the subscriber's events onto what the near cache needs:
 * - 'invalidate' → evict those keys (null: everything);
 * - 'connect' → up (the near cache empties itself first: whatever happened while the connection
 *   was away was never reported);
 * - 'disconnect' → down: invalidations from here on are missed, so the near cache empties itself
 *   and stops serving until the next 'connect'.
 */
import type { Subscriber } from '../index.js';
import type { InvalidationSource } from './near.js';

/** An {@link InvalidationSource} on the subscriber `get()` returns (created with tracking; the cache closes it). */
export function subscriberInvalidationSource(get: () => Subscriber): InvalidationSource {
  return {
    listen(l) {
      const sub = get();
      sub.on('invalidate', (keys) => l.keys(keys));
      sub.on('connect', () => l.up());
      sub.on('disconnect', ({ error }) => l.down(error));
    },
    async open() {
      await get().ready();
    },
    next() {
      const sub = get();
      if (sub.state === 'ready') return Promise.resolve(true);
      if (sub.state === 'closed') return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const done = (up: boolean): void => {
          sub.off('connect', onUp);
          sub.off('connect:error', onFail);
          sub.off('close', onFail);
          resolve(up);
        };
        const onUp = (): void => done(true);
        const onFail = (): void => done(false);
        sub.on('connect', onUp);
        sub.on('connect:error', onFail);
        sub.on('close', onFail);
        // Idle: no attempt is pending (a first connect failed for good); ask for one.
        if (sub.state === 'idle') sub.ready().catch(() => done(false));
      });
    },
  };
}
