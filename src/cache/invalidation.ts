/**
 * The near cache's invalidation source: a `pool.subscriber()` created with `tracking` on the
 * cache's prefix. The pool owns tracking (it applies `CLIENT TRACKING ON BCAST PREFIX …` on
 * every (re)connect of that connection); this module only maps the subscriber's events onto
 * what the near cache needs:
 * - 'invalidate' → evict those keys (null: everything);
 * - 'disconnect' → lost: invalidations from here on are missed, so the near cache empties itself
 *   and stops serving;
 * - a 'connect' after the first → flush again: whatever happened while the connection was away
 *   was never reported, and nothing read in between may be kept.
 */
import type { Subscriber } from '../index.js';
import type { InvalidationSource } from './near.js';

/** An {@link InvalidationSource} on the subscriber `get()` returns (created with tracking; the cache closes it). */
export function subscriberInvalidationSource(get: () => Subscriber): InvalidationSource {
  let wired: Subscriber | undefined;
  return {
    async open(onKeys, onLost) {
      const sub = get();
      if (wired !== sub) {
        wired = sub;
        sub.on('invalidate', onKeys);
        sub.on('disconnect', ({ error }) => onLost(error));
        sub.on('connect', ({ reconnect }) => {
          if (reconnect) onKeys(null);
        });
      }
      await sub.ready();
    },
  };
}
