/**
 * Cache metrics for prom-client (`registerCacheMetrics`, exported by `redpool/prometheus`):
 * counters and a gauge read from `cache.stats()` at scrape time, labelled `cache=<name>` (never
 * a key). Several caches share the families on one registry and prefix.
 */
import { Counter, Gauge, register as globalRegistry, type Registry } from 'prom-client';
import { ConfigError } from '../errors.js';
import type { CacheStats } from '../cache/stats.js';

/** What is read from a cache (structural, so this module does not load the cache layer). */
export interface StatsSource {
  /** A snapshot of the counters (a redpool/cache `Cache` has it). */
  stats(): CacheStats;
}

/** Options of {@link registerCacheMetrics}. */
export interface CacheMetricsOptions {
  /** Metric name prefix. @default 'redpool_cache_' */
  prefix?: string;
}

/** Handle returned by {@link registerCacheMetrics}. */
export interface CacheMetrics {
  /** The metric names registered (shared with other caches on the registry). */
  readonly names: readonly string[];
  /** Stops reporting this cache; the last cache unregistered removes the families. Idempotent. */
  unregister(): void;
}

/** Counter suffix → stats field. Units in the help text. */
export const CACHE_COUNTERS: readonly [string, keyof CacheStats, string][] = [
  ['hits_total', 'hits', 'Reads answered from Redis with a value.'],
  ['misses_total', 'misses', 'Reads that found nothing (or, failing open, could not ask Redis).'],
  ['near_hits_total', 'nearHits', 'Reads answered with a value by the in-process near cache.'],
  ['near_misses_total', 'nearMisses', 'Reads answered "not there" by the in-process near cache (also in misses_total).'],
  ['stale_served_total', 'staleServed', 'getOrSet calls answered with a value past its soft TTL or in grace.'],
  ['coalesced_total', 'coalesced', 'Calls that joined an identical call in flight.'],
  ['lock_waits_total', 'lockWaits', "getOrSet calls that waited for another process's lock."],
  ['sets_total', 'sets', 'Values written.'],
  ['deletes_total', 'deletes', 'Keys deleted.'],
  ['errors_total', 'errors', 'Redis errors seen by the cache.'],
  ['failed_open_total', 'failedOpen', 'Redis errors turned into a miss or a skipped write.'],
  ['corrupt_total', 'corrupt', 'Stored values that could not be read (foreign, corrupt, too large).'],
  ['factory_calls_total', 'factoryCalls', 'getOrSet factory calls.'],
  ['factory_errors_total', 'factoryErrors', 'getOrSet factory failures and timeouts.'],
  ['bytes_before_compression_total', 'bytesBeforeCompression', 'Serialized bytes of values written, before compression.'],
  ['bytes_after_compression_total', 'bytesAfterCompression', 'Bytes of values written as stored, header included.'],
  ['near_flushes_total', 'nearFlushes', 'Times the near cache was emptied because invalidations may have been missed.'],
];

interface Family {
  readonly caches: Map<string, StatsSource>;
  readonly names: string[];
}

const families = new WeakMap<Registry, Map<string, Family>>();

/**
 * Registers a cache's counters in a prom-client registry (default: the global one). Throws
 * ConfigError when a cache with the same name is already registered there.
 * @example registerCacheMetrics(cache, registry) // → redpool_cache_hits_total{cache="kibray"} …
 */
export function registerCacheMetrics(
  cache: StatsSource,
  registry: Registry = globalRegistry,
  options: CacheMetricsOptions = {},
): CacheMetrics {
  const prefix = options.prefix ?? 'redpool_cache_';
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix))
    throw new ConfigError('prefix', `"${prefix}" is not a valid Prometheus metric name prefix`);
  const name = cache.stats().name;
  let byPrefix = families.get(registry);
  if (!byPrefix) families.set(registry, (byPrefix = new Map()));
  let fam = byPrefix.get(prefix);
  if (!fam) {
    const caches = new Map<string, StatsSource>();
    const names: string[] = [];
    const snapshot = (): [string, CacheStats][] => [...caches].map(([n, c]) => [n, c.stats()]);
    for (const [suffix, field, help] of CACHE_COUNTERS) {
      names.push(prefix + suffix);
      new Counter({
        name: prefix + suffix,
        help,
        labelNames: ['cache'],
        registers: [registry],
        collect() {
          this.reset();
          for (const [n, s] of snapshot()) this.inc({ cache: n }, s[field] as number);
        },
      });
    }
    names.push(`${prefix}near_entries`);
    new Gauge({
      name: `${prefix}near_entries`,
      help: 'Entries now in the near cache.',
      labelNames: ['cache'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [n, s] of snapshot()) this.set({ cache: n }, s.nearEntries);
      },
    });
    fam = { caches, names };
    byPrefix.set(prefix, fam);
  }
  if (fam.caches.has(name))
    throw new ConfigError('name', `a cache named "${name}" is already registered in this registry; give each cache a unique name`);
  fam.caches.set(name, cache);
  const f = fam;
  let registered = true;
  return {
    names: [...f.names],
    unregister(): void {
      if (!registered) return;
      registered = false;
      f.caches.delete(name);
      if (f.caches.size === 0) {
        for (const n of f.names) registry.removeSingleMetric(n);
        byPrefix.delete(prefix);
      }
    },
  };
}
