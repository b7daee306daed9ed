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
import type { SubscriberConnectInfo } from './subscriber-types.js';

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

/**
 * The classic-channel part of a subscriber that both pool kinds return (`Subscriber`,
 * `ClusterSubscriber`): enough for wake-ups on one channel.
 */
export interface SubscriberLike {
  /** A message on a subscribed channel. */
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  /** (Re)connected with its subscriptions; `reconnect` is true after a loss (messages meanwhile are lost). */
  on(event: 'connect', listener: (info: SubscriberConnectInfo) => void): unknown;
  /** Subscribes to classic channels; resolves the subscription count. */
  subscribe(...channels: Array<string | Buffer>): Promise<number>;
  /** Unsubscribes and returns the connection. */
  close(): Promise<void>;
}

/** One primary of a cluster's current slot map, as `ClusterPool.primaries()` lists it. */
export interface PrimaryNode {
  /** The node id (as in the cluster's stats). */
  readonly id: string;
  /** `host:port` dialled. */
  readonly address: string;
  /**
   * Commands sent to this node only, past slot routing, on its own pool (its lanes and deadlines):
   * for commands about one node's keyspace (`SCAN`, `DBSIZE`, `INFO`). A keyed command for a slot
   * the node does not serve gets the node's `MOVED` reply as an error; it is not followed.
   */
  readonly commands: SharedCommands;
}

/**
 * What a library built on the shared commands needs of a pool, whichever kind: a single-node
 * `Pool` (standalone or Sentinel) and a `ClusterPool` both are one (`redpool/channels` takes it).
 * Commands and pipelines are routed by key on a cluster; `acquire({ key })` pins a lease to the
 * key's node there.
 */
export interface CommandPool extends SharedCommands {
  /** The validated options (`max` and `lanes` are per node on a cluster). */
  readonly options: ResolvedOptions;
  /** Lifecycle state. */
  readonly state: PoolState;
  /** Records a pipeline (split by node on a cluster, replies in order). */
  pipeline(commands?: unknown[][]): Batch;
  /** An exclusive connection; `{ key }` pins it to that key's node on a cluster. */
  acquire(opts?: AcquireOptions): Promise<Lease<unknown>>;
  /** A pub/sub connection from the pool's budget. */
  subscriber(opts?: SubscriberOptions): SubscriberLike;
  /**
   * Cluster pools only: every primary of the current slot map, for commands that see one node's
   * keyspace (a `SCAN` through the routed pool reaches one node). Absent on a single-node pool,
   * whose commands see the whole keyspace.
   */
  primaries?(): readonly PrimaryNode[];
}
