/**
 * The public shapes a single-node pool and a cluster pool share, and the two internal entry
 * points a cluster uses on its per-node pools. Types and symbols only (no pool code), so
 * `pool.ts` and `cluster/` both import it and neither imports the other's internals.
 */
import type { EventEmitter } from 'node:events';
import type { RedisCommander } from 'ioredis';
import type { Batch } from '../commands/batch.js';
import type { StateChangingCommand } from '../commands/command-table.js';
import type { BatchCommand, BatchResult } from '../driver/driver.js';
import type { HealthReport } from '../health/readiness.js';
import type { ResolvedOptions } from '../options.js';
import type { AcquireOptions, CallOptions, PoolState } from './core.js';
import type { PoolEvents } from './events.js';
import type { Lease } from './lease.js';
import type { HealthStatus, PoolStats } from './stats.js';
import type { Subscriber, SubscriberOptions } from './subscriber.js';

/** The shared command surface: every ioredis command except those that need a lease. */
export type SharedCommands = Omit<RedisCommander, StateChangingCommand | 'multi' | 'pipeline'>;

/** What `pool.with(…)` returns: the shared commands, pipelines and transactions, with the per-call options bound. */
export interface PoolWithOptions extends SharedCommands {
  /** Records a pipeline; `exec()` writes it in one go on one lane. */
  pipeline(commands?: unknown[][]): Batch;
  /** Records a MULTI/EXEC transaction; runs atomically on one lane. */
  multi(commands?: unknown[][]): Batch;
}

/** Options of `pool.close()`. */
export interface CloseOptions {
  /** After this many ms, in-flight work is abandoned and sockets destroyed. @default 10000 */
  timeoutMs?: number;
}

/** Listener arguments of each pool event. */
export type EventArgs = { [K in keyof PoolEvents]: [PoolEvents[K]] };

/**
 * What a single-node `Pool` and a `ClusterPool` both are, for integrations that observe, probe
 * and close a pool without caring which kind it is: `redpool/http` (health routes),
 * `redpool/otel`, `installShutdown`. For a cluster, `stats()` and `health()` are the aggregate
 * (the cluster's own types add `nodes`), events carry the node, and `with()` routes by key.
 */
export interface PoolLike extends EventEmitter<EventArgs> {
  /** The validated options (secrets non-enumerable). */
  readonly options: ResolvedOptions;
  /** Lifecycle state. */
  readonly state: PoolState;
  /** Warms up; resolves the health reached. */
  ready(): Promise<HealthStatus>;
  /** One PING (per node on a cluster) and a stats snapshot. Never rejects. */
  health(opts?: { timeoutMs?: number }): Promise<HealthReport>;
  /** A fresh statistics snapshot. */
  stats(): PoolStats;
  /** A view whose commands use per-call options. */
  with(call: CallOptions): PoolWithOptions;
  /** Graceful shutdown. */
  close(opts?: CloseOptions): Promise<void>;
  /** Immediate shutdown. */
  destroy(): Promise<void>;
}

/** Internal: one shared-API command with per-call options, without building a `with()` view. */
export const kCall: unique symbol = Symbol('redpool.call');
/** Internal: a batch as recorded (no shared-API refusals: a cluster's `ASKING` + command goes this way). */
export const kBatch: unique symbol = Symbol('redpool.batch');

/** What a cluster needs of each per-node pool; a `Pool` is one. */
export interface NodePool extends EventEmitter<EventArgs> {
  readonly state: PoolState;
  [kCall](name: string, args: unknown[], buffer: boolean, call: CallOptions | undefined): Promise<unknown>;
  [kBatch](cmds: BatchCommand[], atomic: boolean, call: CallOptions | undefined): Promise<BatchResult | null>;
  acquire(opts?: AcquireOptions): Promise<Lease<unknown>>;
  ready(): Promise<HealthStatus>;
  health(opts?: { timeoutMs?: number }): Promise<HealthReport>;
  stats(): PoolStats;
  subscriber(opts?: SubscriberOptions): Subscriber;
  close(opts?: CloseOptions): Promise<void>;
  destroy(): Promise<void>;
}
