/**
 * Cache metrics through `@opentelemetry/api` (`registerOtelCacheMetrics`, exported by
 * `redpool/otel`): one observable counter per cache counter (`redpool.cache.<name>`) and an
 * observable gauge of near-cache entries, read from `cache.stats()` at collection, with the
 * attribute `redpool.cache.name` (never a key).
 */
import { metrics, type Meter, type Observable, type ObservableResult } from '@opentelemetry/api';
import type { CacheStats } from '../cache/stats.js';
import { CACHE_COUNTERS, type StatsSource } from '../prometheus/cache.js';

/** The attribute naming the cache. */
export const ATTR_CACHE_NAME = 'redpool.cache.name';

/** Options of {@link registerOtelCacheMetrics}. */
export interface OtelCacheMetricsOptions {
  /** Meter to create instruments on. @default metrics.getMeter('redpool') */
  meter?: Meter;
}

/** Handle returned by {@link registerOtelCacheMetrics}. */
export interface OtelCacheMetrics {
  /** Stops reporting this cache (removes its callbacks). Idempotent. */
  unregister(): void;
}

/**
 * Reports a cache through OpenTelemetry metrics: `redpool.cache.hits`, `.misses`, `.near_hits`,
 * `.stale_served`, `.coalesced`, `.lock_waits`, `.errors`, `.failed_open`, `.bytes_before_compression`
 * (By), `.bytes_after_compression` (By), … and `redpool.cache.near_entries`.
 * @returns unregister: stops reporting (idempotent).
 */
export function registerOtelCacheMetrics(cache: StatsSource, options: OtelCacheMetricsOptions = {}): OtelCacheMetrics {
  const meter = options.meter ?? metrics.getMeter('redpool');
  const ins = instruments(meter);
  const attrs = { [ATTR_CACHE_NAME]: cache.stats().name };
  // stats() is a cheap copy of counters: read per instrument rather than guess the collection order.
  const callbacks = ins.counters.map(({ o, field }) => {
    const cb = (r: ObservableResult): void => r.observe(cache.stats()[field] as number, attrs);
    o.addCallback(cb);
    return { o, cb };
  });
  const gcb = (r: ObservableResult): void => r.observe(cache.stats().nearEntries, attrs);
  ins.nearEntries.addCallback(gcb);
  let done = false;
  return {
    unregister(): void {
      if (done) return;
      done = true;
      for (const { o, cb } of callbacks) o.removeCallback(cb);
      ins.nearEntries.removeCallback(gcb);
    },
  };
}

interface Instruments {
  counters: { o: Observable; field: keyof CacheStats }[];
  nearEntries: Observable;
}

const byMeter = new WeakMap<Meter, Instruments>();

/** Instruments are created once per meter and shared by every cache registered on it. */
function instruments(meter: Meter): Instruments {
  let i = byMeter.get(meter);
  if (i) return i;
  i = {
    counters: CACHE_COUNTERS.map(([suffix, field, description]) => {
      const base = suffix.replace(/_total$/, '');
      return {
        o: meter.createObservableCounter(`redpool.cache.${base}`, { description, unit: base.startsWith('bytes') ? 'By' : '1' }),
        field,
      };
    }),
    nearEntries: meter.createObservableGauge('redpool.cache.near_entries', { description: 'Entries now in the near cache.' }),
  };
  byMeter.set(meter, i);
  return i;
}
