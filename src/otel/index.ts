/**
 * `redpool/otel`: pool metrics through `@opentelemetry/api` (an optional peer dependency,
 * imported only here) under the OpenTelemetry database-client semantic conventions
 * (`db.client.connection.*`). Observable instruments read `pool.stats()` when the SDK collects;
 * histograms are fed by pool events and the `redpool:command` diagnostics channel. Without an
 * SDK installed the API's no-op meter makes all of this free. Documented in
 * docs/observability.md.
 */
import diagnostics from 'node:diagnostics_channel';
import { metrics, type Attributes, type Histogram, type Meter, type Observable, type ObservableResult } from '@opentelemetry/api';
import type { CommandMessage } from '../observability/diagnostics.js';
import type { PoolLike } from '../pool/api.js';
import type { PoolEvents } from '../pool/events.js';
import type { PoolStats } from '../pool/stats.js';
import { commandLabel } from '../prometheus/command-label.js';

/** Attribute names used by the semantic conventions. */
export const ATTR_POOL_NAME = 'db.client.connection.pool.name';
/** Attribute naming a connection's state (`idle` / `used`), from the OTel database semconv. */
export const ATTR_STATE = 'db.client.connection.state';
/** Attribute naming the database system (`redis`). */
export const ATTR_DB_SYSTEM = 'db.system.name';
/** Attribute naming the command (lower-case, e.g. `get`). */
export const ATTR_OPERATION = 'db.operation.name';
/** Attribute naming a failure's error code (e.g. `ERR_TIMEOUT`). */
export const ATTR_ERROR_TYPE = 'error.type';

/** Options of {@link registerOtelMetrics}. */
export interface OtelMetricsOptions {
  /** Meter to create instruments on. @default metrics.getMeter('redpool') */
  meter?: Meter;
  /** Extra attributes on every measurement of this pool (never secrets). */
  attributes?: Attributes;
  /** Record `db.client.operation.duration` per command. @default true */
  operationDuration?: boolean;
}

/** Handle returned by {@link registerOtelMetrics}. */
export interface OtelMetrics {
  /** Stops reporting this pool (callbacks, listeners, subscription). Idempotent. */
  unregister(): void;
}

/** Duration buckets in seconds (the semantic conventions' recommendation for DB durations). */
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

interface Instruments {
  count: Observable;
  max: Observable;
  idleMin: Observable;
  pending: Observable;
  timeouts: Observable;
  createTime: Histogram;
  waitTime: Histogram;
  useTime: Histogram;
  operation: Histogram;
}

const byMeter = new WeakMap<Meter, Instruments>();

/** Instruments are created once per meter and shared by every pool registered on it. */
function instruments(meter: Meter): Instruments {
  let i = byMeter.get(meter);
  if (i) return i;
  const duration = (name: string, description: string): Histogram =>
    meter.createHistogram(name, { description, unit: 's', advice: { explicitBucketBoundaries: DURATION_BUCKETS } });
  i = {
    count: meter.createObservableUpDownCounter('db.client.connection.count', {
      description: 'The number of connections that are currently in the state described by the state attribute.',
      unit: '{connection}',
    }),
    max: meter.createObservableUpDownCounter('db.client.connection.max', {
      description: 'The maximum number of open connections allowed.',
      unit: '{connection}',
    }),
    idleMin: meter.createObservableUpDownCounter('db.client.connection.idle.min', {
      description: 'The minimum number of idle open connections allowed.',
      unit: '{connection}',
    }),
    pending: meter.createObservableUpDownCounter('db.client.connection.pending_requests', {
      description: 'The number of current pending requests for an open connection.',
      unit: '{request}',
    }),
    timeouts: meter.createObservableCounter('db.client.connection.timeouts', {
      description: 'The number of connection timeouts that have occurred trying to obtain a connection from the pool.',
      unit: '{timeout}',
    }),
    createTime: duration('db.client.connection.create_time', 'The time it took to create a new connection.'),
    waitTime: duration('db.client.connection.wait_time', 'The time it took to obtain an open connection from the pool.'),
    useTime: duration('db.client.connection.use_time', 'The time between borrowing a connection and returning it to the pool.'),
    operation: duration('db.client.operation.duration', 'Duration of database client operations.'),
  };
  byMeter.set(meter, i);
  return i;
}

/**
 * Reports a pool through OpenTelemetry metrics:
 *
 * | instrument | kind | from |
 * |---|---|---|
 * | `db.client.connection.count` {state=idle\|used} | async up-down counter | `stats.busy` (used), `total − busy − connecting` (idle) |
 * | `db.client.connection.max` / `.idle.min` | async up-down counter | `stats.max` / `stats.min` |
 * | `db.client.connection.pending_requests` | async up-down counter | `stats.pending` |
 * | `db.client.connection.timeouts` | async counter | `stats.acquireTimeouts` |
 * | `db.client.connection.create_time` / `.wait_time` / `.use_time` | histogram (s) | connection created / lease acquired / lease released |
 * | `db.client.operation.duration` | histogram (s) | `redpool:command` (operation name allow-listed) |
 *
 * Every measurement carries `db.client.connection.pool.name` = `options.name`.
 *
 * @example
 * const otel = registerOtelMetrics(pool);            // global MeterProvider
 * const otel2 = registerOtelMetrics(pool2, { meter: provider.getMeter('my-service') });
 */
export function registerOtelMetrics(pool: PoolLike, options: OtelMetricsOptions = {}): OtelMetrics {
  const meter = options.meter ?? metrics.getMeter('redpool');
  const ins = instruments(meter);
  const name = pool.options.name;
  const base: Attributes = { ...options.attributes, [ATTR_POOL_NAME]: name };
  const idleAttrs: Attributes = { ...base, [ATTR_STATE]: 'idle' };
  const usedAttrs: Attributes = { ...base, [ATTR_STATE]: 'used' };

  // One snapshot per collection, shared by this pool's callbacks.
  let cached: PoolStats | undefined;
  const stats = (): PoolStats => {
    if (!cached) {
      cached = pool.stats();
      setImmediate(() => {
        cached = undefined;
      });
    }
    return cached;
  };
  const onCount = (r: ObservableResult): void => {
    const s = stats();
    r.observe(s.busy, usedAttrs);
    r.observe(Math.max(0, s.total - s.busy - s.connecting), idleAttrs);
  };
  const onMax = (r: ObservableResult): void => r.observe(stats().max, base);
  const onIdleMin = (r: ObservableResult): void => r.observe(stats().min, base);
  const onPending = (r: ObservableResult): void => r.observe(stats().pending, base);
  const onTimeouts = (r: ObservableResult): void => r.observe(stats().acquireTimeouts, base);
  const callbacks: Array<[Observable, (r: ObservableResult) => void]> = [
    [ins.count, onCount],
    [ins.max, onMax],
    [ins.idleMin, onIdleMin],
    [ins.pending, onPending],
    [ins.timeouts, onTimeouts],
  ];
  for (const [o, cb] of callbacks) o.addCallback(cb);

  const onCreated = (p: PoolEvents['connection:created']): void => ins.createTime.record(p.connectMs / 1000, base);
  const onAcquired = (p: PoolEvents['lease:acquired']): void => ins.waitTime.record(p.waitedMs / 1000, base);
  const onReleased = (p: PoolEvents['lease:released']): void => ins.useTime.record(p.heldMs / 1000, base);
  pool.on('connection:created', onCreated);
  pool.on('lease:acquired', onAcquired);
  pool.on('lease:released', onReleased);

  const opAttrs = new Map<string, Attributes>();
  const onCommand = (raw: unknown): void => {
    const msg = raw as CommandMessage;
    if (msg.pool !== name) return;
    const op = commandLabel(msg.command);
    // error.type: our stable error code (a closed set), never a message.
    const err = msg.error === undefined ? '' : /^[A-Z][A-Z0-9_]{0,40}$/.test(msg.error) ? msg.error : '_OTHER';
    const key = `${op}|${err}`;
    let attrs = opAttrs.get(key);
    if (!attrs) {
      attrs = { ...base, [ATTR_DB_SYSTEM]: 'redis', [ATTR_OPERATION]: op };
      if (err) attrs[ATTR_ERROR_TYPE] = err;
      opAttrs.set(key, attrs);
    }
    ins.operation.record(msg.durationMs / 1000, attrs);
  };
  const wantOps = options.operationDuration !== false;
  if (wantOps) diagnostics.subscribe('redpool:command', onCommand);

  let registered = true;
  return {
    unregister(): void {
      if (!registered) return;
      registered = false;
      for (const [o, cb] of callbacks) o.removeCallback(cb);
      pool.off('connection:created', onCreated);
      pool.off('lease:acquired', onAcquired);
      pool.off('lease:released', onReleased);
      if (wantOps) diagnostics.unsubscribe('redpool:command', onCommand);
    },
  };
}
export { registerOtelCacheMetrics, ATTR_CACHE_NAME, type OtelCacheMetrics, type OtelCacheMetricsOptions } from './cache.js';
