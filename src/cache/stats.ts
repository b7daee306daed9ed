/** Counters of one cache. Monotonic since `createCache`; `stats()` returns a copy. */

/** A snapshot of a cache's counters. */
export interface CacheStats {
  /** The cache's `name` (the metrics label). */
  name: string;
  /** Reads answered from Redis with a value. */
  hits: number;
  /** Reads that found nothing (or, failing open, could not ask). */
  misses: number;
  /** Reads answered with a value by the near cache, without Redis. */
  nearHits: number;
  /** Reads answered "not there" by the near cache, without Redis (also counted in `misses`). */
  nearMisses: number;
  /** `getOrSet` calls answered with a value past its soft TTL (while refreshing, or in grace). */
  staleServed: number;
  /** `get`/`getOrSet` calls that joined an identical call in flight instead of asking again. */
  coalesced: number;
  /** `getOrSet` calls that waited for another process's lock. */
  lockWaits: number;
  /** Values written. */
  sets: number;
  /** Keys deleted (`delete`, `clear`, `deleteByPrefix`). */
  deletes: number;
  /** Redis errors (each one, whether failed open or thrown). */
  errors: number;
  /** Redis errors turned into a miss or a skipped write. */
  failedOpen: number;
  /** Stored values that could not be read (foreign, corrupt, too large). */
  corrupt: number;
  /** `getOrSet` factory calls. */
  factoryCalls: number;
  /** `getOrSet` factory failures and timeouts. */
  factoryErrors: number;
  /** Serialized bytes of values written, before compression. */
  bytesBeforeCompression: number;
  /** Bytes of values written, as stored (header included). */
  bytesAfterCompression: number;
  /** Entries now in the near cache. */
  nearEntries: number;
  /** Times the near cache was emptied because invalidations may have been missed. */
  nearFlushes: number;
}

/** Counter fields (everything but the name and the near-cache gauge). */
export type CounterName = Exclude<keyof CacheStats, 'name' | 'nearEntries'>;

/** All counters at zero. */
export function newCounters(): Record<CounterName, number> {
  return {
    hits: 0,
    misses: 0,
    nearHits: 0,
    nearMisses: 0,
    staleServed: 0,
    coalesced: 0,
    lockWaits: 0,
    sets: 0,
    deletes: 0,
    errors: 0,
    failedOpen: 0,
    corrupt: 0,
    factoryCalls: 0,
    factoryErrors: 0,
    bytesBeforeCompression: 0,
    bytesAfterCompression: 0,
    nearFlushes: 0,
  };
}
