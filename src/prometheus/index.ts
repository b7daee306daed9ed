/**
 * `redpool/prometheus`: pool metrics for prom-client (an optional peer dependency, imported only
 * here). Gauges and counters read `pool.stats()` at scrape time — one snapshot per pool per
 * scrape, so the numbers of one scrape agree with each other. Histograms (acquire wait, command
 * duration, connection create time) are fed by pool events and the `redpool:command`
 * diagnostics channel. Several pools may share one registry: they share the metric families and
 * differ by the `pool` label. Label values never contain keys, arguments or secrets: `command`
 * comes from a fixed allow-list. Every metric is documented in docs/observability.md.
 */
import diagnostics from 'node:diagnostics_channel';
import { Counter, Gauge, Histogram, register as globalRegistry, type Registry } from 'prom-client';
import { ConfigError } from '../errors.js';
import type { CommandMessage } from '../observability/diagnostics.js';
import type { ClusterPool } from '../cluster/cluster-pool.js';
import type { Pool } from '../pool/pool.js';
import type { PoolEvents } from '../pool/events.js';
import type { PoolStats } from '../pool/stats.js';
import { clusterFamilies } from './cluster.js';
import { sentinelFamilies } from './sentinel.js';
import { commandLabel } from './command-label.js';

export { commandLabel } from './command-label.js';
export { registerChannelMetrics, type ChannelMetrics, type ChannelMetricsOptions } from './channels.js';

/** Histogram buckets, in seconds. */
export interface PoolMetricsBuckets {
  /** `acquire_wait_seconds`. @default 0.0005 … 10 */
  acquire?: number[];
  /** `command_duration_seconds`. @default 0.0001 … 5 */
  command?: number[];
  /** `connection_create_seconds`. @default 0.001 … 10 */
  connect?: number[];
}

/** Options of {@link registerPoolMetrics}. */
export interface PoolMetricsOptions {
  /** Prefix of every metric name. @default 'redpool_' */
  prefix?: string;
  /**
   * Constant labels added to every series of this pool (e.g. `{ service: 'api' }`). Pools that
   * share a registry and prefix must use the same label names. Never put secrets here.
   */
  labels?: Record<string, string>;
  /** Histogram buckets in seconds. */
  buckets?: PoolMetricsBuckets;
  /** Record `command_duration_seconds`. @default true */
  commandDuration?: boolean;
}

/** Handle returned by {@link registerPoolMetrics}. */
export interface PoolMetrics {
  /** The metric names registered (shared with other pools on the same registry). */
  readonly names: readonly string[];
  /**
   * Stops reporting this pool: removes its listeners and subscriptions, and when it was the last
   * pool of this registry and prefix, removes the metrics from the registry. Idempotent.
   */
  unregister(): void;
}

const DEFAULT_BUCKETS = {
  acquire: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  command: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  connect: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
};

const RESERVED_LABELS = new Set(['pool', 'command', 'via', 'outcome', 'reason', 'kind', 'status', 'le', 'quantile']);
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$|^$/;

type Labels = Record<string, string>;

interface Entry {
  pool: Pool | ClusterPool;
  labels: Labels;
  cached: PoolStats | undefined;
  /** Whether command durations are recorded for this pool. */
  commands: boolean;
  /** Label sets observed on the command histogram, to remove them on unregister. */
  commandSeries: Map<string, Labels>;
}

/** Numeric stats fields exported as gauges: [suffix, help, read]. */
const GAUGES: ReadonlyArray<[string, string, (s: PoolStats) => number]> = [
  ['connections', 'Open connections plus those being opened (stats.total); never above max.', (s) => s.total],
  ['connections_idle', 'Lease connections open and unused (stats.idle).', (s) => s.idle],
  ['connections_busy', 'Connections doing work: lanes with commands in flight plus leased (stats.busy).', (s) => s.busy],
  ['connections_connecting', 'Connections being opened (stats.connecting).', (s) => s.connecting],
  ['lanes', 'Shared lanes open (stats.lanes).', (s) => s.lanes],
  ['leased', 'Connections held by exclusive leases (stats.leased).', (s) => s.leased],
  ['subscribers', 'pool.subscriber() connections open (stats.subscribers); each is also counted in leased.', (s) => s.subscribers],
  ['pending', 'Callers waiting for a lease or a lane (stats.pending).', (s) => s.pending],
  ['inflight', 'Commands in flight on shared lanes (stats.inflight).', (s) => s.inflight],
  ['utilization_ratio', 'busy / max, 0..1 (stats.utilization). Alert above 0.8.', (s) => s.utilization],
  ['max_connections', 'Option max.', (s) => s.max],
  ['min_connections', 'Option min.', (s) => s.min],
];

/** Monotonic stats fields exported as counters: [suffix, help, read]. */
const COUNTERS: ReadonlyArray<[string, string, (s: PoolStats) => number]> = [
  ['acquires_total', 'Leases granted (stats.acquires).', (s) => s.acquires],
  ['acquire_hits_total', 'Leases granted at once from an idle connection (stats.hits).', (s) => s.hits],
  ['acquire_misses_total', 'Leases that had to wait (stats.misses).', (s) => s.misses],
  ['acquire_timeouts_total', 'Callers that gave up waiting for a connection (stats.acquireTimeouts).', (s) => s.acquireTimeouts],
  ['command_timeouts_total', 'Command deadlines missed (stats.commandTimeouts).', (s) => s.commandTimeouts],
  ['exhausted_total', 'Times a caller found no capacity and had to queue or was refused (stats.exhausted).', (s) => s.exhausted],
  ['commands_total', 'Shared-lane commands completed, success or error reply (stats.commands).', (s) => s.commands],
  ['retries_total', 'Retries made by the retry policy (stats.retries).', (s) => s.retries],
  ['connections_created_total', 'Connections created (stats.created).', (s) => s.created],
  ['waits_total', 'Waits for a connection, lease or lane (stats.waits).', (s) => s.waits],
  ['wait_seconds_total', 'Seconds callers spent waiting for a connection (stats.waitMsTotal / 1000).', (s) => s.waitMsTotal / 1000],
  [
    'connect_waits_total',
    'Waits that ended on a connection opened meanwhile: cold start, growth, reconnects (stats.connectWaits).',
    (s) => s.connectWaits,
  ],
  [
    'connect_wait_seconds_total',
    'Seconds of wait_seconds_total spent waiting for a connection being opened (stats.connectWaitMsTotal / 1000).',
    (s) => s.connectWaitMsTotal / 1000,
  ],
  ['lease_seconds_total', 'Seconds leases were held (stats.leaseMsTotal / 1000).', (s) => s.leaseMsTotal / 1000],
  ['connect_seconds_total', 'Seconds spent opening connections (stats.connectMsTotal / 1000).', (s) => s.connectMsTotal / 1000],
];

/** The metric families of one (registry, prefix): shared by every pool registered there. */
class MetricSet {
  readonly entries = new Map<string, Entry>();
  readonly names: string[] = [];
  readonly extraNames: string[];
  readonly registry: Registry;
  readonly acquire: Histogram<string>;
  readonly connect: Histogram<string>;
  readonly command: Histogram<string>;
  #onCommand: ((msg: unknown) => void) | undefined;

  constructor(registry: Registry, prefix: string, extraNames: string[], buckets: Required<PoolMetricsBuckets>) {
    this.registry = registry;
    this.extraNames = extraNames;
    const base = ['pool', ...extraNames];
    // prom-client calls collect() with `this` bound to the metric; these close over the set.
    const entries = this.entries;
    const stats = (e: Entry): PoolStats => this.stats(e);
    try {
      for (const [suffix, help, read] of GAUGES) {
        this.#add(
          new Gauge({
            name: prefix + suffix,
            help,
            labelNames: base,
            registers: [registry],
            collect() {
              this.reset();
              for (const e of entries.values()) this.set(e.labels, read(stats(e)));
            },
          }),
        );
      }
      this.#add(
        new Gauge({
          name: `${prefix}health`,
          help: '1 for the current health status of the pool (healthy, degraded, unavailable), else 0.',
          labelNames: [...base, 'status'],
          registers: [registry],
          collect() {
            this.reset();
            for (const e of entries.values()) {
              const h = stats(e).health;
              for (const status of ['healthy', 'degraded', 'unavailable']) this.set({ ...e.labels, status }, h === status ? 1 : 0);
            }
          },
        }),
      );
      for (const [suffix, help, read] of COUNTERS) {
        this.#add(
          new Counter({
            name: prefix + suffix,
            help,
            labelNames: base,
            registers: [registry],
            collect() {
              // The pool keeps the totals; report them as they are at scrape time.
              this.reset();
              for (const e of entries.values()) this.inc(e.labels, read(stats(e)));
            },
          }),
        );
      }
      this.#add(
        new Counter({
          name: `${prefix}connections_destroyed_total`,
          help: 'Connections destroyed, by reason (stats.destroyedBy).',
          labelNames: [...base, 'reason'],
          registers: [registry],
          collect() {
            this.reset();
            for (const e of entries.values()) {
              for (const [reason, n] of Object.entries(stats(e).destroyedBy)) this.inc({ ...e.labels, reason }, n);
            }
          },
        }),
      );
      this.#add(
        new Counter({
          name: `${prefix}errors_total`,
          help: 'Errors, by kind (stats.errorsBy).',
          labelNames: [...base, 'kind'],
          registers: [registry],
          collect() {
            this.reset();
            for (const e of entries.values()) {
              for (const [kind, n] of Object.entries(stats(e).errorsBy)) this.inc({ ...e.labels, kind }, n);
            }
          },
        }),
      );
      for (const m of clusterFamilies(registry, prefix, base, {
        entries: () => [...entries.values()].map((e) => ({ labels: e.labels, stats: () => stats(e) })),
      }))
        this.#add(m);
      for (const m of sentinelFamilies(registry, prefix, base, {
        entries: () => [...entries.values()].map((e) => ({ labels: e.labels, stats: () => stats(e) })),
      }))
        this.#add(m);
      this.acquire = this.#add(
        new Histogram({
          name: `${prefix}acquire_wait_seconds`,
          help: 'Time from asking for a lease to getting it, in seconds.',
          labelNames: base,
          buckets: buckets.acquire,
          registers: [registry],
        }),
      );
      this.connect = this.#add(
        new Histogram({
          name: `${prefix}connection_create_seconds`,
          help: 'Time to open a connection (TCP, TLS, handshake), in seconds.',
          labelNames: base,
          buckets: buckets.connect,
          registers: [registry],
        }),
      );
      this.command = this.#add(
        new Histogram({
          name: `${prefix}command_duration_seconds`,
          help: 'Command duration (routing, write, reply), in seconds, by command name (allow-listed, else "other"), via (lane|lease) and outcome (ok|error|timeout).',
          labelNames: [...base, 'command', 'via', 'outcome'],
          buckets: buckets.command,
          registers: [registry],
        }),
      );
    } catch (err) {
      this.dispose();
      if (err instanceof Error && /already been registered/.test(err.message))
        throw new ConfigError('prefix', `a metric named like "${prefix}…" is already registered in this registry: ${err.message}`, {
          cause: err,
        });
      throw err;
    }
  }

  /** Records a metric that registered successfully (so dispose never removes someone else's). */
  #add<M extends object>(metric: M): M {
    // Every prom-client metric has `name` at runtime; the typings do not declare it.
    this.names.push((metric as unknown as { name: string }).name);
    return metric;
  }

  /** One snapshot per pool per scrape: cleared on the next macrotask. */
  stats(e: Entry): PoolStats {
    if (e.cached) return e.cached;
    const s = e.pool.stats();
    e.cached = s;
    setImmediate(() => {
      e.cached = undefined;
    });
    return s;
  }

  /** Subscribes to `redpool:command` while at least one pool wants command durations. */
  subscribeCommands(): void {
    if (this.#onCommand) return;
    this.#onCommand = (raw) => {
      const msg = raw as CommandMessage;
      const e = this.entries.get(msg.pool);
      if (!e?.commands) return;
      const command = commandLabel(msg.command);
      const outcome = msg.error === undefined ? 'ok' : msg.error === 'ERR_COMMAND_TIMEOUT' ? 'timeout' : 'error';
      const key = `${command}|${msg.via}|${outcome}`;
      let labels = e.commandSeries.get(key);
      if (!labels) e.commandSeries.set(key, (labels = { ...e.labels, command, via: msg.via, outcome }));
      this.command.observe(labels, msg.durationMs / 1000);
    };
    diagnostics.subscribe('redpool:command', this.#onCommand);
  }

  dispose(): void {
    if (this.#onCommand) diagnostics.unsubscribe('redpool:command', this.#onCommand);
    this.#onCommand = undefined;
    for (const name of this.names) this.registry.removeSingleMetric(name);
  }
}

const sets = new WeakMap<Registry, Map<string, MetricSet>>();

/**
 * Registers the pool's metrics in a prom-client registry (default: prom-client's global one).
 * Series are labelled `pool=<options.name>` plus `options.labels`; a cluster pool reports its
 * aggregate there and each node in the `node_*` families (labels `node`, `address`). Throws {@link ConfigError}
 * when a pool with the same name is already registered on that registry and prefix, or when
 * label names clash.
 *
 * @example
 * import { Registry } from 'prom-client';
 * const registry = new Registry();
 * const metrics = registerPoolMetrics(pool, registry, { labels: { service: 'api' } });
 * // GET /metrics → await registry.metrics(); on shutdown: metrics.unregister()
 */
export function registerPoolMetrics(
  pool: Pool | ClusterPool,
  registry: Registry = globalRegistry,
  options: PoolMetricsOptions = {},
): PoolMetrics {
  const prefix = options.prefix ?? 'redpool_';
  if (!METRIC_PREFIX.test(prefix)) throw new ConfigError('prefix', `"${prefix}" is not a valid Prometheus metric name prefix`);
  const extra = { ...options.labels };
  for (const [k, v] of Object.entries(extra)) {
    if (!LABEL_NAME.test(k) || k.startsWith('__')) throw new ConfigError(`labels.${k}`, 'is not a valid Prometheus label name');
    if (RESERVED_LABELS.has(k)) throw new ConfigError(`labels.${k}`, 'is reserved by redpool');
    if (typeof v !== 'string') throw new ConfigError(`labels.${k}`, 'must be a string');
  }
  const extraNames = Object.keys(extra).sort();
  const name = pool.options.name;

  let byPrefix = sets.get(registry);
  if (!byPrefix) sets.set(registry, (byPrefix = new Map()));
  let set = byPrefix.get(prefix);
  if (set) {
    if (set.extraNames.join(',') !== extraNames.join(','))
      throw new ConfigError(
        'labels',
        `pools sharing a registry and prefix need the same label names (registered: [${set.extraNames.join(', ')}], given: [${extraNames.join(', ')}])`,
      );
    if (set.entries.has(name))
      throw new ConfigError('name', `a pool named "${name}" is already registered in this registry; give each pool a unique name`);
  } else {
    set = new MetricSet(registry, prefix, extraNames, { ...DEFAULT_BUCKETS, ...options.buckets } as Required<PoolMetricsBuckets>);
    byPrefix.set(prefix, set);
  }

  const entry: Entry = {
    pool,
    labels: { ...extra, pool: name },
    cached: undefined,
    commands: options.commandDuration !== false,
    commandSeries: new Map(),
  };
  set.entries.set(name, entry);
  if (entry.commands) set.subscribeCommands();
  const ms = set;
  const onAcquired = (p: PoolEvents['lease:acquired']): void => ms.acquire.observe(entry.labels, p.waitedMs / 1000);
  const onCreated = (p: PoolEvents['connection:created']): void => ms.connect.observe(entry.labels, p.connectMs / 1000);
  pool.on('lease:acquired', onAcquired);
  pool.on('connection:created', onCreated);

  let registered = true;
  return {
    names: [...set.names],
    unregister(): void {
      if (!registered) return;
      registered = false;
      pool.off('lease:acquired', onAcquired);
      pool.off('connection:created', onCreated);
      ms.entries.delete(name);
      // Drop this pool's histogram series; the families stay for the other pools.
      if (ms.entries.size > 0) {
        ms.acquire.remove(entry.labels);
        ms.connect.remove(entry.labels);
        for (const labels of entry.commandSeries.values()) ms.command.remove(labels);
      }
      if (ms.entries.size === 0) {
        ms.dispose();
        byPrefix.delete(prefix);
      }
    },
  };
}
export { registerCacheMetrics, type CacheMetrics, type CacheMetricsOptions, type StatsSource } from './cache.js';
