/**
 * What the parts of the pool need from the engine, as small interfaces: {@link Lanes} and
 * {@link Leasing} see a {@link LaneCore}/{@link LeaseCore}, the housekeeper a
 * {@link HousekeeperCore}, not the whole `Engine`. The engine implements all three. This file
 * holds types only and imports no module of the pool that imports it, so the parts do not form
 * an import cycle with the engine.
 */
import type { ReadFrom } from '../options/types.js';
import type { PoolSnapshot, RedpoolError, UnavailableError } from '../errors.js';
import type { Clock } from '../internal/clock.js';
import type { ResolvedOptions } from '../options.js';
import type { BackoffStrategy } from '../resilience/backoff.js';
import type { PoolEvents } from './events.js';
import type { PooledConnection } from './pooled-connection.js';
import type { PoolState } from './pool-state.js';
import type { Counters, DestroyReason, HealthStatus } from './stats.js';

export type { PoolState } from './pool-state.js';

/** Per-call options of a command. */
export interface CallOptions {
  /** Deadline for this call in ms (overrides `commandTimeoutMs`). */
  timeoutMs?: number;
  /** The caller asserts the command is safe to run twice: retry even after an unknown outcome. */
  idempotent?: boolean;
  /**
   * Acknowledged writes: a write command (not read-only) on the shared path is followed by
   * `WAIT waitReplicas waitTimeoutMs` in the same write, and resolves only when that many
   * replicas have it; fewer is a `NotReplicatedError` (outcome `unknown`). Closes the
   * dual-master window of a Sentinel failover for the calls that use it (docs/scale-out.md).
   * Pipelines, transactions and lease commands ignore it. @default 0 (off)
   */
  waitReplicas?: number;
  /** Longest `WAIT` in ms, inside the call's deadline. @default 100 */
  waitTimeoutMs?: number;
  /**
   * Sentinel and Cluster: where this call's read-only commands run (overrides the pool's
   * `readFrom`; `'primary'` gives read-your-writes for one call). Ignored by a single node and
   * by write commands. @default the pool's `readFrom`
   */
  readFrom?: ReadFrom;
}

/** Options of `acquire()`. */
export interface AcquireOptions {
  /** Longest wait in ms. @default acquireTimeoutMs */
  timeoutMs?: number;
  /** Abort the wait. */
  signal?: AbortSignal;
  /**
   * Cluster: the lease is pinned to the node serving this key's slot, and its commands must
   * stay in that slot (`ERR_CROSS_SLOT` before sending otherwise). Ignored by a single-node pool.
   */
  key?: string | Buffer | number;
  /** Cluster: like `key`, by slot number (0–16383). Ignored by a single-node pool. */
  slot?: number;
}

/** Emits a pool event. */
export type Emit = <K extends keyof PoolEvents>(event: K, payload: PoolEvents[K]) => void;

/** The engine as the shared lanes see it. */
export interface LaneCore {
  readonly o: Pick<ResolvedOptions, 'name' | 'commandTimeoutMs' | 'acquireTimeoutMs' | 'maxWaiting' | 'retries'>;
  readonly clock: Clock;
  readonly counters: Counters;
  /** Delay between retries of "not executed" replies. */
  readonly backoff: BackoffStrategy;
  readonly state: PoolState;
  /** The dialer's view of Redis. */
  readonly health: HealthStatus;
  /** The last connect error, if any (the cause of a not-sent timeout). */
  readonly lastError: RedpoolError | undefined;
  /** Callers waiting for a lane or a lease (bounded together by `maxWaiting`). */
  waiting(): number;
  snapshot(): PoolSnapshot;
  /** Makes sure a deadline sweep runs no later than `deadline` (clock ms; Infinity: no-op). */
  ensureSweep(deadline: number): void;
  /** Hands out connections and opens new ones. */
  pump(now?: number): void;
  /** PINGs `pc` with its own timer; resolves true only on PONG. */
  ping(pc: PooledConnection, timeoutMs: number): Promise<boolean>;
  /** Drops a connection now. */
  destroyConn(pc: PooledConnection, reason: DestroyReason): void;
  /** QUITs a connection whose work is done. */
  finishDrain(pc: PooledConnection): void;
  /** The fail-fast error while Redis is unavailable. */
  unavailable(): UnavailableError;
  /**
   * A reply on `pc` says its node is not (or no longer) a usable primary (`READONLY`,
   * `MASTERDOWN`): told to the topology, if any. A no-op for a single node.
   */
  replyHint(pc: PooledConnection, error: RedpoolError): void;
}

/** The engine as leasing sees it: the lane view plus events and the lease budget. */
export interface LeaseCore extends Omit<LaneCore, 'o' | 'backoff' | 'finishDrain'> {
  readonly o: Pick<
    ResolvedOptions,
    | 'name'
    | 'db'
    | 'max'
    | 'lanes'
    | 'commandTimeoutMs'
    | 'acquireTimeoutMs'
    | 'connectTimeoutMs'
    | 'maxWaiting'
    | 'validateAfterIdleMs'
    | 'leakDetectionMs'
  >;
  readonly emit: Emit;
  /** Whether anyone would see `event` (payloads are built only then). */
  observed(event: keyof PoolEvents): boolean;
  /** Lease connections that count against the lease budget, connecting ones included. */
  leaseConnections(): number;
  /** Graceful close of one connection. */
  retire(pc: PooledConnection, reason: DestroyReason): void;
  /** Current topology generation: a connection of an older one is fenced (see `Engine.retarget`). */
  readonly generation: number;
}

/** An outstanding lease as the housekeeper sees it (leak detection). */
export interface HeldLease {
  readonly acquiredAt: number;
}

/** The engine as the housekeeper sees it. */
export interface HousekeeperCore<L extends HeldLease = HeldLease> {
  readonly o: Pick<ResolvedOptions, 'housekeepingIntervalMs' | 'idleTimeoutMs' | 'min' | 'healthCheckIntervalMs' | 'leakDetectionMs'>;
  readonly clock: Clock;
  readonly state: PoolState;
  snapshot(): PoolSnapshot;
  /** Every connection record (read-only use). */
  connections(): Iterable<PooledConnection>;
  /** Idle lease connections. */
  idleLeaseConnections(): readonly PooledConnection[];
  /** Outstanding leases leak detection watches (a subscriber's pinned lease is not one). */
  outstandingLeases(): Iterable<L>;
  retire(pc: PooledConnection, reason: DestroyReason): void;
  /** PINGs an idle lease connection; idle again or destroyed. */
  validate(pc: PooledConnection): void;
  /** PINGs an idle lane; destroyed when the PING fails. */
  checkLane(pc: PooledConnection): void;
  pump(): void;
}

/** The engine as `pool.subscriber()` sees it: take a lease, count subscribers, time backoffs. */
export interface SubscriberCore<L> {
  readonly o: Pick<ResolvedOptions, 'reconnectBackoff' | 'acquireTimeoutMs'>;
  readonly clock: Clock;
  readonly state: PoolState;
  /** Gauge of open subscriber connections (each also a lease), read by stats(). */
  subscribers: number;
  acquire(opts?: AcquireOptions): Promise<L>;
}
