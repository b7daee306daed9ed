/**
 * The pool engine. It owns every connection and is the only code that hands them out: the
 * pump (`#pump`) runs after every event (connect, release, close, timer) and serves, in order,
 * shared lanes, callers waiting for a lane, and callers waiting for a lease.
 *
 * Invariants (checked by the property test):
 * - connections (all states, connecting included) never exceed `max`;
 * - lease connections never exceed `max - lanes`, so shared traffic always keeps its lanes;
 * - a connection is in exactly one place: `#lanes` (routable), `#idle`, leased, or in transit;
 * - every caller's promise settles exactly once: reply, error, timeout or close.
 */
import type { BatchCommand, BatchResult, Driver, DriverConnection } from '../driver/driver.js';
import {
  AcquireAbortedError,
  AcquireTimeoutError,
  CommandTimeoutError,
  NoLeaseCapacityError,
  PoolClosedError,
  PoolExhaustedError,
  RedpoolError,
  UnavailableError,
  type PoolSnapshot,
} from '../errors.js';
import type { Clock, TimerHandle } from '../internal/clock.js';
import { debug } from '../internal/debug.js';
import { WaiterQueue, type QueueNode } from '../internal/waiter-queue.js';
import type { ResolvedOptions } from '../options.js';
import { defaultBackoff, defaultReconnectBackoff, type BackoffStrategy } from '../resilience/backoff.js';
import { retryDecision } from '../resilience/classify.js';
import { channels, publish, type AcquireMessage, type CommandMessage } from '../observability/diagnostics.js';
import { Dialer } from './dialer.js';
import { Lease } from './lease.js';
import type { PoolEvents } from './events.js';
import { ConnState, PooledConnection, type InflightOp, type Role } from './pooled-connection.js';
import { Counters, type DestroyReason, type PoolStats } from './stats.js';

/** Pool lifecycle. `closing` drains; `closed` is final. */
export type PoolState = 'open' | 'closing' | 'closed';
export const POOL_TRANSITIONS: { readonly [S in PoolState]: readonly PoolState[] } = {
  open: ['closing', 'closed'],
  closing: ['closed'],
  closed: [],
};

/** Per-call options of a command. */
export interface CallOptions {
  /** Deadline for this call in ms (overrides `commandTimeoutMs`). */
  timeoutMs?: number;
  /** The caller asserts the command is safe to run twice: retry even after an unknown outcome. */
  idempotent?: boolean;
}

/** Options of `acquire()`. */
export interface AcquireOptions {
  /** Longest wait in ms. @default acquireTimeoutMs */
  timeoutMs?: number;
  /** Abort the wait. */
  signal?: AbortSignal;
}

type Emit = <K extends keyof PoolEvents>(event: K, payload: PoolEvents[K]) => void;

/** A command on the shared path. Also the in-flight record the deadline sweep watches. */
class SharedOp implements InflightOp {
  settled = false;
  attempt = 0;
  /** Deadline differs from "start + default timeout" (custom timeout or a retry). */
  custom: boolean;
  lane: PooledConnection | undefined;
  node: QueueNode<SharedOp> | undefined;
  timer: TimerHandle | undefined;
  readonly engine: Engine;
  readonly name: string;
  readonly args: readonly unknown[];
  readonly buffer: boolean;
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly started: number;
  readonly idempotent: boolean;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
  /** Set for pipelines and transactions: the whole batch is one op. */
  batch: BatchCommand[] | undefined;
  atomic = false;
  constructor(
    engine: Engine, name: string, args: readonly unknown[], buffer: boolean, started: number, timeoutMs: number,
    custom: boolean, idempotent: boolean, resolve: (v: unknown) => void, reject: (e: unknown) => void,
  ) {
    this.engine = engine;
    this.name = name;
    this.args = args;
    this.buffer = buffer;
    this.started = started;
    this.timeoutMs = timeoutMs;
    this.deadline = started + timeoutMs;
    this.custom = custom;
    this.idempotent = idempotent;
    this.resolve = resolve;
    this.reject = reject;
  }
  expire(): void {
    this.engine.expireShared(this);
  }
}

/** A caller waiting for a lease. */
interface LeaseWaiter {
  readonly started: number;
  readonly resolve: (pc: PooledConnection) => void;
  readonly reject: (e: unknown) => void;
  timer: TimerHandle | undefined;
  node: QueueNode<LeaseWaiter> | undefined;
  cleanup: (() => void) | undefined;
}

export class Engine {
  readonly o: ResolvedOptions;
  readonly clock: Clock;
  readonly counters = new Counters();
  readonly dialer: Dialer;
  readonly backoff: BackoffStrategy;
  readonly #emit: Emit;
  #state: PoolState = 'open';
  readonly #all = new Set<PooledConnection>();
  /** Routable lanes (state `lane`). */
  #lanes: PooledConnection[] = [];
  /** Idle lease connections; the most recently used is last (LIFO keeps the warm ones busy). */
  readonly #idle: PooledConnection[] = [];
  readonly #laneWaiters = new WaiterQueue<SharedOp>();
  readonly #leaseWaiters = new WaiterQueue<LeaseWaiter>();
  readonly #closeReasons = new Map<PooledConnection, DestroyReason>();
  readonly #leases = new Set<Lease>();
  #sweepTimer: TimerHandle | undefined;
  #dialTimer: TimerHandle | undefined;
  #closeTimer: TimerHandle | undefined;
  #closed: Promise<void> | undefined;
  #resolveClosed: (() => void) | undefined;
  readonly #sweepMs: number;
  /** Lease budget: connections leases may hold at once. */
  readonly leaseCap: number;

  constructor(o: ResolvedOptions, driver: Driver, emit: Emit) {
    this.o = o;
    this.clock = o.clock;
    this.#emit = emit;
    this.backoff = o.backoff ?? defaultBackoff();
    this.leaseCap = o.max - o.lanes;
    this.dialer = new Dialer(o, driver, this.counters, o.reconnectBackoff ?? defaultReconnectBackoff(), {
      onHealth: (from, to, cause) => {
        this.#emit('health', { from, to, error: cause });
        if (to === 'unavailable') this.#failFast();
      },
    });
    this.#sweepMs = Math.max(5, Math.min(100, Number.isFinite(o.commandTimeoutMs) ? o.commandTimeoutMs / 20 : 100));
  }

  get state(): PoolState {
    return this.#state;
  }

  #moveTo(next: PoolState): void {
    const prev = this.#state;
    if (!POOL_TRANSITIONS[prev].includes(next)) throw new Error(`redpool invariant: pool ${prev} -> ${next}`);
    this.#state = next;
    debug('pool %s: %s -> %s', this.o.name, prev, next);
  }

  // ---------------------------------------------------------------- shared lanes (hot path)

  /** Runs one command on the least-loaded lane. */
  shared(name: string, args: readonly unknown[], buffer: boolean, call?: CallOptions): Promise<unknown> {
    if (this.#state !== 'open') return Promise.reject(new PoolClosedError());
    const timeoutMs = call?.timeoutMs ?? this.o.commandTimeoutMs;
    const custom = call?.timeoutMs !== undefined;
    const idempotent = call?.idempotent === true;
    const now = this.clock.now();
    return new Promise((resolve, reject) => {
      const op = new SharedOp(this, name, args, buffer, now, timeoutMs, custom, idempotent, resolve, reject);
      this.#route(op);
    });
  }

  /** Runs a pipeline or MULTI/EXEC batch on one lane (one write, so it cannot interleave). */
  sharedBatch(cmds: BatchCommand[], atomic: boolean, call?: CallOptions): Promise<BatchResult | null> {
    if (this.#state !== 'open') return Promise.reject(new PoolClosedError());
    const timeoutMs = call?.timeoutMs ?? this.o.commandTimeoutMs;
    const now = this.clock.now();
    return new Promise((resolve, reject) => {
      const op = new SharedOp(this, atomic ? 'exec' : 'pipeline', [], false, now, timeoutMs, call?.timeoutMs !== undefined, call?.idempotent === true, resolve as (v: unknown) => void, reject);
      op.batch = cmds;
      op.atomic = atomic;
      this.#route(op);
    });
  }

  #pickLane(): PooledConnection | undefined {
    const lanes = this.#lanes;
    let best = lanes[0];
    if (lanes.length > 1) {
      for (let i = 1; i < lanes.length; i++) if (lanes[i]!.inflight < best!.inflight) best = lanes[i];
    }
    return best;
  }

  #route(op: SharedOp): void {
    const lane = this.#pickLane();
    if (lane) this.#send(lane, op);
    else this.#waitForLane(op);
  }

  #send(lane: PooledConnection, op: SharedOp): void {
    op.lane = lane;
    lane.track(op, op.custom);
    this.#ensureSweep();
    const conn = lane.conn as DriverConnection;
    (op.batch ? conn.batch(op.batch, op.atomic) : conn.command(op.name, op.args, op.buffer)).then(
      (value) => {
        lane.untrack(op.custom);
        this.counters.commands++;
        if (!op.settled) {
          op.settled = true;
          if (channels.command.hasSubscribers) this.#publishCommand(op, 'lane', undefined);
          op.resolve(value);
        }
        if (lane.inflight === 0 && lane.state === ConnState.Closing) this.#finishDrain(lane);
      },
      (err: unknown) => {
        lane.untrack(op.custom);
        // A connection error means this lane is gone or going: take it out before any retry
        // can be routed back to it.
        if ((err as RedpoolError).code === 'ERR_CONNECTION' && lane.state === ConnState.Lane) this.#destroyConn(lane, 'error');
        this.#sharedFailed(op, err);
        if (lane.inflight === 0 && lane.state === ConnState.Closing) this.#finishDrain(lane);
      },
    );
  }

  #sharedFailed(op: SharedOp, err: unknown): void {
    if (op.settled) return;
    const e = err instanceof RedpoolError ? err : new RedpoolError('ERR_CONNECTION', String(err), { cause: err });
    if (e.code === 'ERR_REPLY') this.counters.commands++;
    const decision = retryDecision({ command: op.name, error: e as RedpoolError & { outcome?: string }, idempotent: op.idempotent });
    const remaining = op.deadline - this.clock.now();
    if (decision !== 'no' && op.attempt < this.o.retries && remaining > 0 && this.#state === 'open') {
      op.attempt++;
      op.lane = undefined;
      this.counters.retries++;
      // A retry keeps the original deadline, so it no longer sorts with fresh ops.
      op.custom = true;
      if (decision === 'now') this.#route(op);
      else {
        const delay = Math.min(this.backoff.delay(op.attempt), remaining);
        op.timer = this.clock.setTimeout(() => {
          op.timer = undefined;
          if (!op.settled) this.#route(op);
        }, delay);
      }
      return;
    }
    op.settled = true;
    this.counters.error(e.code === 'ERR_REPLY' ? 'reply' : e.code === 'ERR_UNAVAILABLE' ? 'unavailable' : 'connection');
    if (channels.command.hasSubscribers) this.#publishCommand(op, 'lane', e.code);
    op.reject(e);
  }

  #publishCommand(op: { name: string; started: number }, via: 'lane' | 'lease', error: string | undefined): void {
    channels.command.publish({ pool: this.o.name, command: op.name, durationMs: this.clock.now() - op.started, via, error } satisfies CommandMessage);
  }

  /** Called by the sweep (in flight) or the waiter timer (queued) when the deadline passed. */
  expireShared(op: SharedOp): void {
    if (op.settled) return;
    op.settled = true;
    if (op.node) this.#laneWaiters.remove(op.node);
    if (op.timer) this.clock.clearTimeout(op.timer);
    this.counters.commandTimeouts++;
    this.counters.error('timeout');
    const lane = op.lane;
    if (channels.command.hasSubscribers) this.#publishCommand(op, 'lane', 'ERR_COMMAND_TIMEOUT');
    op.reject(new CommandTimeoutError(op.name.toUpperCase(), op.timeoutMs, lane ? 'unknown' : 'not-sent', this.snapshot()));
    if (lane && lane.state === ConnState.Lane) this.#probe(lane);
  }

  #waitForLane(op: SharedOp): void {
    if (this.dialer.health === 'unavailable') {
      op.settled = true;
      this.counters.error('unavailable');
      op.reject(this.#unavailable());
      return;
    }
    if (this.#laneWaiters.size + this.#leaseWaiters.size >= this.o.maxWaiting) {
      op.settled = true;
      this.counters.exhausted++;
      op.reject(new PoolExhaustedError(this.o.maxWaiting, this.snapshot()));
      return;
    }
    op.node = this.#laneWaiters.push(op);
    const waitMs = Math.min(op.deadline - this.clock.now(), this.o.acquireTimeoutMs);
    op.timer = this.clock.setTimeout(() => {
      op.timer = undefined;
      if (op.settled) return;
      if (op.deadline <= this.clock.now()) return this.expireShared(op);
      op.settled = true;
      this.#laneWaiters.remove(op.node!);
      this.counters.acquireTimeouts++;
      this.counters.error('timeout');
      op.reject(new AcquireTimeoutError(this.o.acquireTimeoutMs, this.snapshot(), this.dialer.lastError));
    }, Math.max(0, waitMs));
    this.#pump();
  }

  /** A lane's reply is overdue: stop routing to it and PING it; destroy it if the PING is late too. */
  #probe(lane: PooledConnection): void {
    lane.moveTo(ConnState.Probing);
    this.#lanes = this.#lanes.filter((l) => l !== lane);
    const probeMs = Math.min(2_000, Math.max(100, Number.isFinite(this.o.commandTimeoutMs) ? this.o.commandTimeoutMs : 2_000));
    void this.ping(lane, probeMs).then((ok) => {
      if (lane.state !== ConnState.Probing) return;
      if (ok) {
        lane.moveTo(ConnState.Lane);
        this.#lanes.push(lane);
        this.#pump();
      } else this.#destroyConn(lane, 'timeout');
    });
    this.#pump();
  }

  #ensureSweep(): void {
    if (this.#sweepTimer === undefined) this.#sweepTimer = this.clock.setTimeout(() => this.#sweep(), this.#sweepMs);
  }

  /** Expires overdue ops on every busy connection; re-arms itself while work is in flight. */
  #sweep(): void {
    this.#sweepTimer = undefined;
    const now = this.clock.now();
    let busy = false;
    for (const pc of this.#all) {
      if (pc.inflight > 0) {
        pc.sweep(now);
        pc.lastUsedAt = now;
        busy ||= pc.inflight > 0;
      }
    }
    if (busy && this.#state !== 'closed') this.#ensureSweep();
  }

  /** PINGs `pc` with its own timer; resolves false on error or timeout. Never rejects. */
  ping(pc: PooledConnection, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => resolve(false), timeoutMs);
      const conn = pc.conn;
      if (!conn) return resolve(false);
      conn.command('ping', [], false).then(
        () => {
          this.clock.clearTimeout(timer);
          pc.lastUsedAt = this.clock.now();
          resolve(true);
        },
        () => {
          this.clock.clearTimeout(timer);
          resolve(false);
        },
      );
    });
  }

  // ---------------------------------------------------------------- leases

  /** Waits for an exclusive connection. Resolves with the connection record, now `leased`. */
  acquire(opts?: AcquireOptions): Promise<PooledConnection> {
    if (this.#state !== 'open') return Promise.reject(new PoolClosedError());
    if (this.leaseCap <= 0) return Promise.reject(new NoLeaseCapacityError(this.o.max, this.o.lanes));
    if (opts?.signal?.aborted) return Promise.reject(new AcquireAbortedError(opts.signal.reason));
    const now = this.clock.now();
    if (this.#leaseWaiters.size === 0) {
      const pc = this.#takeIdle(now);
      if (pc) {
        this.counters.hits++;
        this.#grant(pc, now, now);
        return Promise.resolve(pc);
      }
    }
    if (this.dialer.health === 'unavailable') {
      this.counters.error('unavailable');
      return Promise.reject(this.#unavailable());
    }
    if (this.#laneWaiters.size + this.#leaseWaiters.size >= this.o.maxWaiting) {
      this.counters.exhausted++;
      return Promise.reject(new PoolExhaustedError(this.o.maxWaiting, this.snapshot()));
    }
    this.counters.misses++;
    if (this.#leaseCount() >= this.leaseCap) {
      this.counters.exhausted++;
      this.#emit('pool:exhausted', { pending: this.#leaseWaiters.size + 1, snapshot: this.snapshot() });
    }
    return new Promise<PooledConnection>((resolve, reject) => {
      const w: LeaseWaiter = { started: now, resolve, reject, timer: undefined, node: undefined, cleanup: undefined };
      w.node = this.#leaseWaiters.push(w);
      const timeoutMs = opts?.timeoutMs ?? this.o.acquireTimeoutMs;
      if (Number.isFinite(timeoutMs)) {
        w.timer = this.clock.setTimeout(() => {
          w.timer = undefined;
          if (!this.#leaseWaiters.remove(w.node!)) return;
          w.cleanup?.();
          this.counters.acquireTimeouts++;
          this.counters.error('timeout');
          reject(new AcquireTimeoutError(this.clock.now() - now, this.snapshot(), this.dialer.lastError));
        }, timeoutMs);
      }
      const signal = opts?.signal;
      if (signal) {
        const onAbort = (): void => {
          if (!this.#leaseWaiters.remove(w.node!)) return;
          if (w.timer) this.clock.clearTimeout(w.timer);
          reject(new AcquireAbortedError(signal.reason));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        w.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.#pump();
    });
  }

  #takeIdle(now: number): PooledConnection | undefined {
    while (this.#idle.length > 0) {
      const pc = this.#idle.pop()!;
      if (pc.expiresAt <= now) {
        this.#retire(pc, 'lifetime');
        continue;
      }
      if (now - pc.lastUsedAt > this.o.validateAfterIdleMs) {
        this.#validate(pc);
        continue;
      }
      return pc;
    }
    return undefined;
  }

  #grant(pc: PooledConnection, started: number, now: number): void {
    pc.moveTo(ConnState.Leased);
    pc.lastUsedAt = now;
    this.counters.acquires++;
    this.counters.waits++;
    this.counters.waitMsTotal += now - started;
    publish(channels.acquire, () => ({ pool: this.o.name, waitedMs: now - started }) satisfies AcquireMessage);
  }

  #serveLeaseWaiter(pc: PooledConnection): boolean {
    const w = this.#leaseWaiters.shift();
    if (!w) return false;
    if (w.timer) this.clock.clearTimeout(w.timer);
    w.cleanup?.();
    const now = this.clock.now();
    this.#grant(pc, w.started, now);
    w.resolve(pc);
    return true;
  }

  /** Validate-on-borrow: PING a connection that sat idle past the bypass window. */
  #validate(pc: PooledConnection): void {
    pc.moveTo(ConnState.Validating);
    const timeoutMs = Math.min(this.o.connectTimeoutMs, 1_000);
    void this.ping(pc, timeoutMs).then((ok) => {
      if (pc.state !== ConnState.Validating) return;
      if (!ok) return this.#destroyConn(pc, 'validation');
      this.#toIdle(pc);
    });
  }

  #toIdle(pc: PooledConnection): void {
    if (this.#state !== 'open') return this.#retire(pc, 'close');
    pc.moveTo(ConnState.Idle);
    if (!this.#serveLeaseWaiter(pc)) this.#idle.push(pc);
    this.#pump();
  }

  /**
   * Returns a leased connection. `reset` lists the commands that put it back to a clean state
   * (UNWATCH, DISCARD, SELECT db); `poisoned` means it cannot be reset and is destroyed.
   */
  #release(pc: PooledConnection, heldMs: number, reset: BatchCommand[], poisoned: DestroyReason | undefined): void {
    this.counters.leaseMsTotal += heldMs;
    if (pc.state !== ConnState.Leased) return this.#pump(); // died while leased; already forgotten
    const now = this.clock.now();
    pc.lastUsedAt = now;
    if (poisoned || pc.inflight > 0) return this.#destroyConn(pc, poisoned ?? 'dirty');
    if (this.#state !== 'open') return this.#retire(pc, 'close');
    if (pc.expiresAt <= now) return this.#retire(pc, 'lifetime');
    if (reset.length === 0) return this.#toIdle(pc);
    pc.moveTo(ConnState.Resetting);
    (pc.conn as DriverConnection).batch(reset, false).then(
      (res) => {
        if (pc.state !== ConnState.Resetting) return;
        if (res?.some(([e]) => e !== null)) return this.#destroyConn(pc, 'dirty');
        this.#toIdle(pc);
      },
      () => {
        if (pc.state === ConnState.Resetting) this.#destroyConn(pc, 'dirty');
      },
    );
  }

  /** Runs a command on a leased connection with a deadline (extra ms for a block timeout). */
  leaseCommand(pc: PooledConnection, name: string, args: readonly unknown[], buffer: boolean, extraMs: number, call?: CallOptions): Promise<unknown> {
    return this.#onLease(pc, name, extraMs, call, (conn) => conn.command(name, args, buffer));
  }

  /** Runs a pipeline or MULTI/EXEC batch on a leased connection with a deadline. */
  leaseBatch(pc: PooledConnection, cmds: BatchCommand[], atomic: boolean, call?: CallOptions): Promise<BatchResult | null> {
    return this.#onLease(pc, atomic ? 'exec' : 'pipeline', 0, call, (conn) => conn.batch(cmds, atomic));
  }

  #onLease<T>(pc: PooledConnection, name: string, extraMs: number, call: CallOptions | undefined, run: (conn: DriverConnection) => Promise<T>): Promise<T> {
    const conn = pc.conn as DriverConnection;
    const timeoutMs = (call?.timeoutMs ?? this.o.commandTimeoutMs) + extraMs;
    const started = this.clock.now();
    const publish = (error: string | undefined): void => {
      if (channels.command.hasSubscribers) this.#publishCommand({ name, started }, 'lease', error);
    };
    if (!Number.isFinite(timeoutMs)) {
      return run(conn).then(
        (v) => (publish(undefined), v),
        (e: unknown) => {
          publish((e as RedpoolError).code);
          throw e;
        },
      );
    }
    return new Promise<T>((resolve, reject) => {
      const op: InflightOp = {
        deadline: started + timeoutMs,
        settled: false,
        expire: () => {
          op.settled = true;
          publish('ERR_COMMAND_TIMEOUT');
          this.counters.commandTimeouts++;
          this.counters.error('timeout');
          reject(new CommandTimeoutError(name.toUpperCase(), timeoutMs, 'unknown', this.snapshot()));
          // The connection's state is unknown now (a late reply may still come): never reuse it.
          this.#destroyConn(pc, 'timeout');
        },
      };
      pc.track(op, true);
      this.#ensureSweep();
      run(conn).then(
        (v) => {
          pc.untrack(true);
          if (!op.settled) {
            op.settled = true;
            publish(undefined);
            resolve(v);
          }
        },
        (e: unknown) => {
          pc.untrack(true);
          if (!op.settled) {
            op.settled = true;
            publish((e as RedpoolError).code);
            reject(e);
          }
        },
      );
    });
  }

  // ---------------------------------------------------------------- lease handles

  /** Grants a {@link Lease}: waits for a connection, then wraps it. */
  async acquireLease(opts?: AcquireOptions, call?: CallOptions): Promise<Lease> {
    const stack = this.o.leakDetectionMs > 0 ? (new Error('lease acquired here').stack ?? '') : undefined;
    const started = this.clock.now();
    const pc = await this.acquire(opts);
    const now = this.clock.now();
    const lease = new Lease(this, pc, now, stack, call);
    this.#leases.add(lease);
    this.#emit('lease:acquired', { id: pc.id, waitedMs: now - started });
    return lease;
  }

  /** Whether `lease` is an outstanding lease of this pool. */
  owns(lease: unknown): boolean {
    return this.#leases.has(lease as Lease);
  }

  /** Outstanding leases (for leak detection). */
  leases(): ReadonlySet<Lease> {
    return this.#leases;
  }

  releaseLease(lease: Lease, pc: PooledConnection, reset: BatchCommand[], poisoned: DestroyReason | undefined): void {
    if (!this.#leases.delete(lease)) return;
    const heldMs = this.clock.now() - lease.acquiredAt;
    this.#emit('lease:released', { id: pc.id, heldMs, destroyed: poisoned !== undefined });
    this.#release(pc, heldMs, reset, poisoned);
  }

  discardLease(lease: Lease, pc: PooledConnection): void {
    if (!this.#leases.delete(lease)) return;
    const heldMs = this.clock.now() - lease.acquiredAt;
    this.counters.leaseMsTotal += heldMs;
    this.#emit('lease:released', { id: pc.id, heldMs, destroyed: true });
    if (pc.state === ConnState.Leased) this.#destroyConn(pc, 'discarded');
    else this.#pump();
  }

  // ---------------------------------------------------------------- the pump

  #leaseCount(): number {
    let n = 0;
    for (const pc of this.#all) if (pc.role === 'lease' && pc.state !== ConnState.Closing) n++;
    return n;
  }

  #activeLanes(): number {
    let n = 0;
    for (const pc of this.#all) if (pc.role === 'lane' && pc.state !== ConnState.Closing) n++;
    return n;
  }

  /** Hands out connections and opens new ones. The only place that does either. */
  #pump(): void {
    if (this.#state !== 'open') return;
    const now = this.clock.now();
    // 1. Lane waiters go to routable lanes.
    while (this.#laneWaiters.size > 0 && this.#lanes.length > 0) {
      const op = this.#laneWaiters.shift()!;
      op.node = undefined;
      if (op.timer) this.clock.clearTimeout(op.timer);
      op.timer = undefined;
      this.counters.waits++;
      this.counters.waitMsTotal += now - op.started;
      this.#send(this.#pickLane()!, op);
    }
    // 2. Lease waiters take idle connections.
    while (this.#leaseWaiters.size > 0) {
      const pc = this.#takeIdle(now);
      if (!pc) break;
      this.#serveLeaseWaiter(pc);
    }
    // 3. Open what is missing: lanes first, then leases for waiters not yet covered, then `min`.
    if (this.dialer.health === 'unavailable') return this.#scheduleDial(this.dialer.mayProbe(now) ? 0 : this.dialer.nextDialAt - now, true);
    if (!this.dialer.mayDial(now)) return this.#scheduleDial(this.dialer.nextDialAt - now, false);
    let lanes = this.#activeLanes();
    while (lanes < this.o.lanes && this.#all.size < this.o.max) {
      this.#spawn('lane');
      lanes++;
    }
    let leases = this.#leaseCount();
    let connectingLeases = 0;
    for (const pc of this.#all) if (pc.role === 'lease' && (pc.state === ConnState.Connecting || pc.state === ConnState.Validating)) connectingLeases++;
    let uncovered = this.#leaseWaiters.size - connectingLeases;
    while (uncovered > 0 && leases < this.leaseCap && this.#all.size < this.o.max) {
      this.#spawn('lease');
      leases++;
      uncovered--;
    }
    while (this.#all.size < this.o.min && leases < this.leaseCap) {
      this.#spawn('lease');
      leases++;
    }
  }

  #scheduleDial(delayMs: number, probe: boolean): void {
    if (this.#dialTimer !== undefined) return;
    const needed = probe ? this.#activeLanes() === 0 || this.#laneWaiters.size + this.#leaseWaiters.size > 0 : this.#wantsConnections();
    if (!needed) return;
    this.#dialTimer = this.clock.setTimeout(() => {
      this.#dialTimer = undefined;
      if (this.#state !== 'open') return;
      if (probe && this.dialer.health === 'unavailable') {
        if (this.#activeLanes() === 0 && this.#all.size < this.o.max) this.#spawn('lane');
        else if (this.#all.size < this.o.max) this.#spawn(this.#activeLanes() < this.o.lanes ? 'lane' : 'lease');
        return;
      }
      this.#pump();
    }, Math.max(0, delayMs));
  }

  #wantsConnections(): boolean {
    return this.#activeLanes() < this.o.lanes || this.#leaseWaiters.size > 0 || this.#all.size < this.o.min;
  }

  #spawn(role: Role): void {
    const now = this.clock.now();
    const life = this.o.maxLifetimeMs;
    // Up to 10 % jitter so connections made together do not all retire together.
    const expiresAt = life > 0 ? now + life - Math.random() * life * 0.1 : Infinity;
    const pc = new PooledConnection(this.o.name, role, now, expiresAt);
    this.#all.add(pc);
    this.dialer.dial(() => this.clock.now()).then(
      (conn) => this.#connected(pc, conn),
      (err: unknown) => {
        this.#all.delete(pc);
        pc.moveTo(ConnState.Closed);
        this.#emit('connection:error', { id: pc.id, role, error: err as Error });
        this.#afterForget();
        this.#pump();
      },
    );
  }

  #connected(pc: PooledConnection, conn: DriverConnection): void {
    pc.conn = conn;
    conn.onClose((cause) => this.#onClosed(pc, cause));
    if (this.#state !== 'open') {
      // Connected after close() began: count it as created and closed, like any other.
      this.#closeReasons.set(pc, 'close');
      pc.moveTo(ConnState.Closing);
      this.#finishDrain(pc);
      return;
    }
    this.dialer.setHealth('healthy');
    const now = this.clock.now();
    pc.lastUsedAt = now;
    this.#emit('connection:created', { id: pc.id, role: pc.role, connectMs: now - pc.createdAt });
    if (pc.role === 'lane') {
      pc.moveTo(ConnState.Lane);
      this.#lanes.push(pc);
      this.#pump();
    } else this.#toIdle(pc);
  }

  /** The socket ended (our close/destroy or the server's doing). Final for this record. */
  #onClosed(pc: PooledConnection, cause: Error | undefined): void {
    const reason = this.#closeReasons.get(pc) ?? 'error';
    this.#closeReasons.delete(pc);
    const wasOpen = pc.state !== ConnState.Closed;
    if (wasOpen) pc.moveTo(ConnState.Closed);
    if (this.#all.delete(pc) || wasOpen) this.#forgotten(pc, reason, cause);
  }

  #forgotten(pc: PooledConnection, reason: DestroyReason, cause: Error | undefined): void {
    this.#lanes = this.#lanes.filter((l) => l !== pc);
    const i = this.#idle.indexOf(pc);
    if (i >= 0) this.#idle.splice(i, 1);
    this.counters.destroyed++;
    this.counters.destroyedBy[reason]++;
    if (reason === 'error') {
      this.counters.error('connection');
      if (this.#state === 'open' && this.dialer.health === 'healthy') this.dialer.setHealth('degraded', cause);
    }
    this.#emit('connection:closed', { id: pc.id, role: pc.role, reason, error: cause });
    this.#afterForget();
    this.#pump();
  }

  /** Graceful close of one connection (QUIT); lanes drain their in-flight work first. */
  #retire(pc: PooledConnection, reason: DestroyReason): void {
    if (pc.state === ConnState.Closing || pc.state === ConnState.Closed) return;
    this.#closeReasons.set(pc, reason);
    this.#lanes = this.#lanes.filter((l) => l !== pc);
    pc.moveTo(ConnState.Closing);
    if (pc.inflight === 0) this.#finishDrain(pc);
  }

  #finishDrain(pc: PooledConnection): void {
    const conn = pc.conn;
    if (!conn) return;
    conn.close().catch(() => conn.destroy());
  }

  #destroyConn(pc: PooledConnection, reason: DestroyReason): void {
    if (pc.state === ConnState.Closed) return;
    if (!this.#closeReasons.has(pc)) this.#closeReasons.set(pc, reason);
    this.#lanes = this.#lanes.filter((l) => l !== pc);
    if (pc.conn) pc.conn.destroy();
  }

  // ---------------------------------------------------------------- degraded mode

  #unavailable(): UnavailableError {
    return new UnavailableError(
      `Redis at ${this.o.endpoint} is unavailable (${this.dialer.consecutiveFailures} consecutive connect failures); failing fast`,
      this.dialer.lastError ? { cause: this.dialer.lastError } : undefined,
    );
  }

  /** Unavailable: callers waiting for a connection fail now instead of at their timeout. */
  #failFast(): void {
    if (this.#lanes.length > 0) return; // lanes still serve; only new dials fail
    const err = this.#unavailable();
    for (const op of this.#laneWaiters.drain()) {
      if (op.timer) this.clock.clearTimeout(op.timer);
      op.settled = true;
      this.counters.error('unavailable');
      op.reject(err);
    }
    for (const w of this.#leaseWaiters.drain()) {
      if (w.timer) this.clock.clearTimeout(w.timer);
      w.cleanup?.();
      this.counters.error('unavailable');
      w.reject(err);
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /** Connections that are idle lease connections, for the housekeeper. */
  idleConnections(): readonly PooledConnection[] {
    return this.#idle;
  }

  /** Every connection record (read-only use). */
  connections(): Iterable<PooledConnection> {
    return this.#all;
  }

  /** Housekeeper entry points. */
  evict(pc: PooledConnection, reason: DestroyReason): void {
    if (pc.state === ConnState.Idle) {
      const i = this.#idle.indexOf(pc);
      if (i >= 0) this.#idle.splice(i, 1);
    }
    this.#retire(pc, reason);
  }

  healthPing(pc: PooledConnection): void {
    if (pc.state === ConnState.Idle) {
      const i = this.#idle.indexOf(pc);
      if (i >= 0) this.#idle.splice(i, 1);
      this.#validate(pc);
    }
  }

  /** Health-checks an idle lane with a PING; destroys it if the PING fails or is late. */
  checkLane(pc: PooledConnection): void {
    const timeoutMs = Math.min(this.o.connectTimeoutMs, 2_000);
    void this.ping(pc, timeoutMs).then((ok) => {
      if (!ok && (pc.state === ConnState.Lane || pc.state === ConnState.Probing)) this.#destroyConn(pc, 'validation');
    });
  }

  /** Runs the pump (housekeeper refill, ready()). */
  pump(): void {
    this.#pump();
  }

  /** Graceful close: refuse new work, let in-flight work finish, QUIT; destroy at the deadline. */
  close(timeoutMs: number): Promise<void> {
    if (this.#closed) return this.#closed;
    this.#closed = new Promise<void>((resolve) => (this.#resolveClosed = resolve));
    this.#moveTo('closing');
    this.#rejectWaiters(new PoolClosedError('pool is closing'));
    for (const pc of [...this.#all]) {
      if (pc.state === ConnState.Idle || pc.state === ConnState.Lane || pc.state === ConnState.Probing) this.#retire(pc, 'close');
    }
    this.#idle.length = 0;
    if (Number.isFinite(timeoutMs)) this.#closeTimer = this.clock.setTimeout(() => void this.destroy(), timeoutMs);
    this.#afterForget();
    return this.#closed;
  }

  /** Immediate: fail everything, drop every socket. Idempotent. */
  destroy(): Promise<void> {
    if (!this.#closed) this.#closed = new Promise<void>((resolve) => (this.#resolveClosed = resolve));
    if (this.#state === 'open') this.#moveTo('closing');
    this.#rejectWaiters(new PoolClosedError('pool was destroyed'));
    for (const pc of [...this.#all]) this.#destroyConn(pc, 'close');
    this.#idle.length = 0;
    this.#lanes = [];
    this.#afterForget();
    return this.#closed;
  }

  #rejectWaiters(err: PoolClosedError): void {
    for (const op of this.#laneWaiters.drain()) {
      if (op.timer) this.clock.clearTimeout(op.timer);
      op.settled = true;
      op.reject(err);
    }
    for (const w of this.#leaseWaiters.drain()) {
      if (w.timer) this.clock.clearTimeout(w.timer);
      w.cleanup?.();
      w.reject(err);
    }
  }

  /** When closing and nothing is left, finish: clear timers, move to closed, resolve close(). */
  #afterForget(): void {
    // Connections still being opened are closed as soon as they connect; wait for them too.
    if (this.#state !== 'closing' || this.#all.size > 0) return;
    for (const t of [this.#sweepTimer, this.#dialTimer, this.#closeTimer]) if (t !== undefined) this.clock.clearTimeout(t);
    this.#sweepTimer = this.#dialTimer = this.#closeTimer = undefined;
    this.#moveTo('closed');
    this.#emit('pool:closed', {});
    this.#resolveClosed?.();
  }

  // ---------------------------------------------------------------- stats

  snapshot(): PoolSnapshot {
    let idle = 0, lanes = 0, leased = 0, connecting = 0, busy = 0;
    for (const pc of this.#all) {
      switch (pc.state) {
        case ConnState.Idle: idle++; break;
        case ConnState.Lane: case ConnState.Probing: lanes++; if (pc.inflight > 0) busy++; break;
        case ConnState.Leased: case ConnState.Resetting: leased++; busy++; break;
        case ConnState.Connecting: connecting++; break;
        case ConnState.Validating: idle++; break;
        default: break;
      }
    }
    return { total: this.#all.size, idle, busy, lanes, leased, connecting, pending: this.#laneWaiters.size + this.#leaseWaiters.size };
  }

  stats(): PoolStats {
    const s = this.snapshot();
    const c = this.counters;
    let inflight = 0;
    for (const l of this.#lanes) inflight += l.inflight;
    return {
      name: this.o.name,
      state: this.#state,
      health: this.dialer.health,
      max: this.o.max,
      min: this.o.min,
      ...s,
      inflight,
      utilization: s.busy / this.o.max,
      acquires: c.acquires,
      hits: c.hits,
      misses: c.misses,
      acquireTimeouts: c.acquireTimeouts,
      commandTimeouts: c.commandTimeouts,
      exhausted: c.exhausted,
      commands: c.commands,
      retries: c.retries,
      created: c.created,
      destroyed: c.destroyed,
      destroyedBy: { ...c.destroyedBy },
      errors: c.errors,
      errorsBy: { ...c.errorsBy },
      waitMsTotal: c.waitMsTotal,
      waits: c.waits,
      leaseMsTotal: c.leaseMsTotal,
      connectMsTotal: c.connectMsTotal,
    };
  }
}
