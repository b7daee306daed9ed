/**
 * Channel layer metrics for prom-client: counters and gauges read `layer.stats()` at scrape time,
 * queue depth per capacity pattern is sampled from Redis at scrape time (`refreshDepth()`, one
 * pipelined LLEN per channel this process used), and receive waits feed a histogram. Series are
 * labelled `layer=<prefix>`; no channel names (unbounded, user data) ever become labels.
 */
import { Counter, Gauge, Histogram, register as globalRegistry, type Registry } from 'prom-client';
import { ConfigError } from '../errors.js';
import type { ChannelLayer } from '../channels/layer.js';
import type { ChannelStats } from '../channels/stats.js';

/** Options of {@link registerChannelMetrics}. */
export interface ChannelMetricsOptions {
  /** Prefix of every metric name. @default 'redpool_channel_' */
  prefix?: string;
  /** Receive-wait histogram buckets, in seconds. @default 0.001 … 10 */
  buckets?: number[];
}

/** Handle returned by {@link registerChannelMetrics}. */
export interface ChannelMetrics {
  readonly names: readonly string[];
  /** Removes the metrics and the receive-wait hook. Idempotent. */
  unregister(): void;
}

const COUNTERS: ReadonlyArray<[string, string, (s: ChannelStats) => number]> = [
  ['sent_total', 'Messages stored by send and groupSend (one per member reached).', (s) => s.sent],
  ['received_total', 'Messages handed to receive() callers.', (s) => s.received],
  ['full_total', 'Sends refused because the channel was at capacity (incl. group members skipped).', (s) => s.full],
  ['expired_total', 'Messages dropped because they outlived expiryMs.', (s) => s.expired],
  ['group_expired_total', 'Group memberships dropped because they outlived groupExpiryMs.', (s) => s.groupExpired],
  ['rejected_total', 'Messages dropped because they could not be opened (unknown key, tampered, malformed).', (s) => s.rejected],
  ['dropped_total', 'Process-local messages dropped because their local buffer was full.', (s) => s.dropped],
  [
    'reclaimed_total',
    'Messages put back in their channel after the reader holding them lost its lease (crashed process).',
    (s) => s.reclaimed,
  ],
];

/**
 * Registers `layer`'s metrics. One layer per registry and prefix: a second one needs another
 * `prefix` (ConfigError otherwise).
 *
 * @example
 * const metrics = registerChannelMetrics(layer, registry);
 * // on shutdown: metrics.unregister()
 */
export function registerChannelMetrics(
  layer: ChannelLayer,
  registry: Registry = globalRegistry,
  options: ChannelMetricsOptions = {},
): ChannelMetrics {
  const prefix = options.prefix ?? 'redpool_channel_';
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix))
    throw new ConfigError('prefix', `"${prefix}" is not a valid Prometheus metric name prefix`);
  const labels = { layer: layer.options.prefix };
  const names: string[] = [];
  const add = <M extends object>(m: M): M => {
    names.push((m as unknown as { name: string }).name);
    return m;
  };
  let unsubscribe: (() => void) | undefined;
  const dispose = (): void => {
    unsubscribe?.();
    for (const n of names) registry.removeSingleMetric(n);
  };
  try {
    for (const [suffix, help, read] of COUNTERS) {
      add(
        new Counter({
          name: prefix + suffix,
          help,
          labelNames: ['layer'],
          registers: [registry],
          collect() {
            this.reset();
            this.inc(labels, read(layer.stats()));
          },
        }),
      );
    }
    add(
      new Gauge({
        name: `${prefix}waiting`,
        help: 'receive() calls waiting now.',
        labelNames: ['layer'],
        registers: [registry],
        collect() {
          this.set(labels, layer.stats().waiting);
        },
      }),
    );
    add(
      new Gauge({
        name: `${prefix}readers`,
        help: 'Readers holding an exclusive lease for blocking reads now.',
        labelNames: ['layer'],
        registers: [registry],
        collect() {
          this.set(labels, layer.stats().readers);
        },
      }),
    );
    add(
      new Gauge({
        name: `${prefix}depth`,
        help: 'Messages queued in Redis, per capacity pattern, over the channels this process used.',
        labelNames: ['layer', 'pattern'],
        registers: [registry],
        async collect() {
          this.reset();
          // A failed sample (Redis down) keeps the previous numbers rather than failing the scrape.
          const depth = await layer.refreshDepth().catch(() => layer.stats().depth);
          for (const [pattern, n] of Object.entries(depth)) this.set({ ...labels, pattern }, n);
        },
      }),
    );
    const wait = add(
      new Histogram({
        name: `${prefix}receive_wait_seconds`,
        help: 'Time from receive() to its message, in seconds.',
        labelNames: ['layer'],
        registers: [registry],
        buckets: options.buckets ?? [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      }),
    );
    unsubscribe = layer.onReceiveWait((ms) => wait.observe(labels, ms / 1000));
  } catch (err) {
    dispose();
    if (err instanceof Error && /already been registered/.test(err.message))
      throw new ConfigError('prefix', `metrics named "${prefix}…" are already registered in this registry (one layer per prefix)`, {
        cause: err,
      });
    throw err;
  }
  let registered = true;
  return {
    names,
    unregister(): void {
      if (!registered) return;
      registered = false;
      dispose();
    },
  };
}
