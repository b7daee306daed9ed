/**
 * Pool statistics: a plain snapshot object, cheap enough to build per request. Gauges describe
 * now; counters only ever grow (monotonic since the pool was created).
 */

import type { ReadFrom } from '../options/types.js';
import type { PoolState } from './pool-state.js';

/** Why a connection was destroyed (the `destroyed` counter is broken down by these). */
export type DestroyReason =
  | 'idle' // idle longer than idleTimeoutMs above `min`
  | 'lifetime' // older than maxLifetimeMs
  | 'error' // socket error or closed by the server
  | 'timeout' // a reply was overdue and the probe failed
  | 'validation' // failed validate-on-borrow or a health ping
  | 'dirty' // a lease came back in a state that cannot be reset
  | 'discarded' // lease.destroy() by the caller
  | 'close' // pool close/destroy
  | 'retarget'; // its node is no longer the primary (Sentinel moved the pool)

/** Error kinds counted in `errorsBy`. */
export type ErrorKind = 'connect' | 'auth' | 'tls' | 'timeout' | 'connection' | 'reply' | 'unavailable';

/** Health of the pool as a whole. */
export type HealthStatus = 'healthy' | 'degraded' | 'unavailable';

/** `stats().sentinel`: the Sentinel topology a pool follows (absent for a single node). */
export interface SentinelStats {
  /** Master name. */
  name: string;
  /** Current primary `host:port`; undefined before the first discovery. */
  primary: string | undefined;
  /** Topology generation: 1 after the first discovery, +1 per move. */
  generation: number;
  /** Times the pool moved to another primary. */
  changes: number;
  /** Sentinels known (seeds + those `SENTINEL SENTINELS` listed). */
  sentinels: number;
  /** Discoveries run (`SENTINEL GET-MASTER-ADDR-BY-NAME` rounds). */
  discoveries: number;
  /** `+switch-master` subscriptions wanted, and of those subscribed now. */
  subscriptions: number;
  subscribed: number;
  /** Reconnect attempts of the subscriptions. */
  reconnects: number;
  /** `+switch-master` messages received (every sentinel's, duplicates included). */
  switchMessages: number;
  /** Connections to sentinels open now and ever opened: outside `max`, bounded (1 command + ≤ 3 subscribers). */
  connectionsOpen: number;
  connectionsOpened: number;
  /** When the pool last moved (epoch ms), or null. */
  lastChangeAt: number | null;
  /** The pool's `readFrom` option (a call may override it with `with({ readFrom })`). */
  readFrom?: ReadFrom;
  /**
   * Replicas as the sentinels list them, with the read routing's view: `state` `'up'` (a read
   * target with a pool), `'down'` (flagged by the sentinels), `'draining'`; reads served,
   * failures, in flight, connections. Empty until a call or the pool's `readFrom` reads from replicas.
   */
  replicas?: ReplicaStats[];
  /** Read routing counters: replica reads, primary fallbacks (`'preferReplica'`), retries elsewhere, `ERR_NO_REPLICA`. */
  reads?: ReplicaRouterStats;
}

/** One replica in `stats().sentinel.replicas`. */
export interface ReplicaStats {
  /** `host:port` as the sentinels announce it. */
  address: string;
  /**
   * `'up'`: read target (its pool's health in `health`); `'down'`: listed but flagged by the
   * sentinels (no pool); `'draining'`: left the list, its pool closing.
   */
  state: 'up' | 'down' | 'draining';
  /** Pool health of an `'up'` replica; undefined otherwise. */
  health: HealthStatus | undefined;
  /** Reads it answered, reads that failed there and were tried elsewhere, reads in flight now. */
  reads: number;
  failures: number;
  inflight: number;
  /** Its open connections (connecting ones included). */
  connections: number;
}

/** Counters of the Sentinel read routing (`topology/sentinel/replica-router.ts`). */
export interface ReplicaRouterStats {
  /** Reads (commands and pipelines) served by a replica. */
  replicaReads: number;
  /** `'preferReplica'` reads served by the primary (no replica, or every replica failed). */
  primaryFallbacks: number;
  /** Replica attempts that failed and were tried elsewhere. */
  retried: number;
  /** `'replica'` reads refused with `ERR_NO_REPLICA`. */
  noReplica: number;
}

/** Returned by `pool.stats()`. Gauges are current values; counters are totals since creation. */
export interface PoolStats {
  /** Pool name (option `name`). */
  name: string;
  /** Lifecycle state: 'open' | 'closing' | 'closed'. */
  state: PoolState;
  /** Health: healthy, degraded (some failures) or unavailable (failing fast). */
  health: HealthStatus;
  /** Option `max`. */
  max: number;
  /** Option `min`. */
  min: number;
  // ---- gauges ----
  /** Open connections plus those being created. Never exceeds `max`. */
  total: number;
  /** Lease connections open and unused. */
  idle: number;
  /** Connections doing work: lanes with commands in flight plus leased connections. */
  busy: number;
  /** Shared lanes that are open (routable or being probed). */
  lanes: number;
  /** Connections held by exclusive leases. */
  leased: number;
  /** Callers waiting for a lease or for a lane. */
  pending: number;
  /** Connections being opened. */
  connecting: number;
  /** Commands in flight on shared lanes. */
  inflight: number;
  /** `pool.subscriber()` connections open now. Each is an exclusive lease, so it is also in `leased`. */
  subscribers: number;
  /** busy / max, 0..1. */
  utilization: number;
  // ---- counters ----
  /** Leases granted. */
  acquires: number;
  /** Leases granted at once from an idle connection. */
  hits: number;
  /** Leases that had to wait (no idle connection). */
  misses: number;
  /** Acquire timeouts (leases and lane waits). */
  acquireTimeouts: number;
  /** Command deadlines missed. */
  commandTimeouts: number;
  /** Times a caller found no capacity and had to queue or was refused. */
  exhausted: number;
  /** Shared-lane commands completed (success or error reply). */
  commands: number;
  /** Retries made by the retry policy. */
  retries: number;
  /** Connections created successfully. */
  created: number;
  /** Connections destroyed, all reasons. */
  destroyed: number;
  /** Connections destroyed, by reason. */
  destroyedBy: Record<DestroyReason, number>;
  /** Errors, all kinds. */
  errors: number;
  /** Errors by kind. */
  errorsBy: Record<ErrorKind, number>;
  /** Total milliseconds callers spent waiting for a connection. */
  waitMsTotal: number;
  /** Number of waits included in `waitMsTotal`. */
  waits: number;
  /**
   * The part of `waitMsTotal` spent waiting for a connection being opened (the wait ended on a
   * connection that became ready meanwhile: cold start, growth below `max`, reconnects), ms.
   * `waitMsTotal − connectWaitMsTotal` is the wait for connections other callers held: contention.
   */
  connectWaitMsTotal: number;
  /** Number of waits included in `connectWaitMsTotal`. */
  connectWaits: number;
  /** Total milliseconds leases were held. */
  leaseMsTotal: number;
  /** Total milliseconds spent creating connections. */
  connectMsTotal: number;
  /** With the `sentinel` option: the topology (primary, generation, sentinel connections). */
  sentinel?: SentinelStats;
}

/** Mutable counters kept by the engine; copied into every snapshot. */
export class Counters {
  acquires = 0;
  hits = 0;
  misses = 0;
  acquireTimeouts = 0;
  commandTimeouts = 0;
  exhausted = 0;
  commands = 0;
  retries = 0;
  created = 0;
  destroyed = 0;
  destroyedBy: Record<DestroyReason, number> = {
    idle: 0,
    lifetime: 0,
    error: 0,
    timeout: 0,
    validation: 0,
    dirty: 0,
    discarded: 0,
    close: 0,
    retarget: 0,
  };
  errors = 0;
  errorsBy: Record<ErrorKind, number> = { connect: 0, auth: 0, tls: 0, timeout: 0, connection: 0, reply: 0, unavailable: 0 };
  waitMsTotal = 0;
  waits = 0;
  connectWaitMsTotal = 0;
  connectWaits = 0;
  leaseMsTotal = 0;
  connectMsTotal = 0;

  /** Counts a wait of `ms` that ended on `readyAt`'s connection (see `connectWaitMsTotal`). */
  wait(ms: number, started: number, readyAt: number): void {
    this.waits++;
    this.waitMsTotal += ms;
    if (readyAt > started) {
      this.connectWaits++;
      this.connectWaitMsTotal += ms;
    }
  }

  error(kind: ErrorKind): void {
    this.errors++;
    this.errorsBy[kind]++;
  }

  /** The counter fields of a {@link PoolStats} snapshot (maps copied, so the snapshot stays fixed). */
  copy(): Pick<PoolStats, CounterField> {
    return {
      acquires: this.acquires,
      hits: this.hits,
      misses: this.misses,
      acquireTimeouts: this.acquireTimeouts,
      commandTimeouts: this.commandTimeouts,
      exhausted: this.exhausted,
      commands: this.commands,
      retries: this.retries,
      created: this.created,
      destroyed: this.destroyed,
      destroyedBy: { ...this.destroyedBy },
      errors: this.errors,
      errorsBy: { ...this.errorsBy },
      waitMsTotal: this.waitMsTotal,
      waits: this.waits,
      connectWaitMsTotal: this.connectWaitMsTotal,
      connectWaits: this.connectWaits,
      leaseMsTotal: this.leaseMsTotal,
      connectMsTotal: this.connectMsTotal,
    };
  }
}

type CounterField =
  | 'acquires'
  | 'hits'
  | 'misses'
  | 'acquireTimeouts'
  | 'commandTimeouts'
  | 'exhausted'
  | 'commands'
  | 'retries'
  | 'created'
  | 'destroyed'
  | 'destroyedBy'
  | 'errors'
  | 'errorsBy'
  | 'waitMsTotal'
  | 'waits'
  | 'connectWaitMsTotal'
  | 'connectWaits'
  | 'leaseMsTotal'
  | 'connectMsTotal';
