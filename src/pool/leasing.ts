/**
 * Exclusive leases: waiters (FIFO, with acquire timeout, AbortSignal and a bounded queue), the
 * idle stack of lease connections (LIFO keeps the warm ones busy), validate-on-borrow, reset or
 * destruction on release, commands with deadlines on a leased connection, and the registry of
 * outstanding {@link Lease} handles (foreign/double release, leak detection).
 *
 * Invariant: a lease connection is in `#idle` iff its state is `idle`; a granted connection's
 * state is `leased` until `release`/`discard`; capacity is credited back only by those two, and
 * only once per handle (the registry delete is the guard).
 */
import type { BatchCommand, BatchResult, DriverConnection } from '../driver/driver.js';
import {
  AcquireAbortedError,
  AcquireTimeoutError,
  CommandTimeoutError,
  ConnectionError,
  NoLeaseCapacityError,
  PoolClosedError,
  PoolExhaustedError,
  type RedpoolError,
} from '../errors.js';
import type { TimerHandle } from '../internal/clock.js';
import { WaiterQueue, type QueueNode } from '../internal/waiter-queue.js';
import { channels, type AcquireMessage, type CommandMessage } from '../observability/diagnostics.js';
import type { AcquireOptions, CallOptions, LeaseCore } from './core.js';
import { Lease, type LeaseHost } from './lease.js';
import { ConnState, type InflightOp, type PooledConnection } from './pooled-connection.js';
import { firstReplyError } from './fencing.js';
import type { DestroyReason } from './stats.js';

/** A caller waiting for a lease. */
interface LeaseWaiter {
  readonly started: number;
  readonly resolve: (pc: PooledConnection) => void;
  readonly reject: (e: unknown) => void;
  timer: TimerHandle | undefined;
  node: QueueNode<LeaseWaiter> | undefined;
  cleanup: (() => void) | undefined;
}

export class Leasing implements LeaseHost {
  readonly #e: LeaseCore;
  /** Idle lease connections; the most recently used is last. */
  readonly #idle: PooledConnection[] = [];
  readonly #waiters = new WaiterQueue<LeaseWaiter>();
  readonly #leases = new Set<Lease>();
  /** Connections leases may hold at once: `max − lanes`. */
  readonly cap: number;

  constructor(engine: LeaseCore) {
    this.#e = engine;
    this.cap = engine.o.max - engine.o.lanes;
  }

  /** The db a released lease's connection is reset to. */
  get db(): number {
    return this.#e.o.db;
  }

  /** Callers waiting for a lease. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Idle lease connections (read-only view for the housekeeper). */
  get idle(): readonly PooledConnection[] {
    return this.#idle;
  }

  /** Outstanding leases (leak detection). */
  get leases(): ReadonlySet<Lease> {
    return this.#leases;
  }

  /** Whether `lease` is an outstanding lease of this pool. */
  owns(lease: unknown): boolean {
    return this.#leases.has(lease as Lease);
  }

  /** Grants a {@link Lease}: waits for a connection, then wraps it. */
  acquireLease(opts?: AcquireOptions, call?: CallOptions): Promise<Lease> {
    const e = this.#e;
    const started = e.clock.now();
    // Captured here, synchronously, so it shows the caller of acquire() and not a promise job.
    const stack = e.o.leakDetectionMs > 0 ? (new Error('lease acquired here').stack ?? '') : undefined;
    // Fast path: an idle connection and nobody ahead — no extra promise hop.
    if (e.state === 'open' && this.#waiters.size === 0 && !opts?.signal?.aborted) {
      const pc = this.#takeIdle(started);
      if (pc) {
        e.counters.hits++;
        this.#grant(pc, started, started);
        return Promise.resolve(this.#wrap(pc, started, started, stack, call));
      }
    }
    return this.#acquire(opts).then((pc) => this.#wrap(pc, started, e.clock.now(), stack, call));
  }

  #wrap(pc: PooledConnection, started: number, now: number, stack: string | undefined, call: CallOptions | undefined): Lease {
    const e = this.#e;
    const lease = new Lease(this, pc, now, stack, call);
    this.#leases.add(lease);
    if (e.observed('lease:acquired')) e.emit('lease:acquired', { id: pc.id, waitedMs: now - started });
    return lease;
  }

  /** Waits for an exclusive connection; resolves with it in state `leased`. */
  #acquire(opts?: AcquireOptions): Promise<PooledConnection> {
    const e = this.#e;
    if (e.state !== 'open') return Promise.reject(new PoolClosedError());
    if (this.cap <= 0) return Promise.reject(new NoLeaseCapacityError(e.o.max, e.o.lanes));
    if (opts?.signal?.aborted) return Promise.reject(new AcquireAbortedError(opts.signal.reason));
    const now = e.clock.now();
    if (this.#waiters.size === 0) {
      const pc = this.#takeIdle(now);
      if (pc) {
        e.counters.hits++;
        this.#grant(pc, now, now);
        return Promise.resolve(pc);
      }
    }
    if (e.health === 'unavailable') {
      e.counters.error('unavailable');
      return Promise.reject(e.unavailable());
    }
    if (e.waiting() >= e.o.maxWaiting) {
      e.counters.exhausted++;
      return Promise.reject(new PoolExhaustedError(e.o.maxWaiting, e.snapshot()));
    }
    e.counters.misses++;
    if (e.leaseConnections() >= this.cap) {
      e.counters.exhausted++;
      e.emit('pool:exhausted', { pending: this.#waiters.size + 1, snapshot: e.snapshot() });
    }
    return new Promise<PooledConnection>((resolve, reject) => {
      const w: LeaseWaiter = { started: now, resolve, reject, timer: undefined, node: undefined, cleanup: undefined };
      w.node = this.#waiters.push(w);
      const timeoutMs = opts?.timeoutMs ?? e.o.acquireTimeoutMs;
      if (Number.isFinite(timeoutMs)) {
        w.timer = e.clock.setTimeout(() => {
          w.timer = undefined;
          if (!this.#waiters.remove(w.node!)) return;
          w.cleanup?.();
          e.counters.acquireTimeouts++;
          e.counters.error('timeout');
          reject(new AcquireTimeoutError(e.clock.now() - now, e.snapshot(), e.lastError));
        }, timeoutMs);
      }
      const signal = opts?.signal;
      if (signal) {
        const onAbort = (): void => {
          if (!this.#waiters.remove(w.node!)) return;
          if (w.timer) e.clock.clearTimeout(w.timer);
          reject(new AcquireAbortedError(signal.reason));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        w.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      e.pump();
    });
  }

  /** Pops a usable idle connection; expired ones retire, stale ones go to validation. */
  #takeIdle(now: number): PooledConnection | undefined {
    while (this.#idle.length > 0) {
      const pc = this.#idle.pop()!;
      if (pc.expiresAt <= now) {
        this.#e.retire(pc, 'lifetime');
        continue;
      }
      if (now - pc.lastUsedAt > this.#e.o.validateAfterIdleMs) {
        this.validate(pc);
        continue;
      }
      return pc;
    }
    return undefined;
  }

  #grant(pc: PooledConnection, started: number, now: number): void {
    const e = this.#e;
    pc.moveTo(ConnState.Leased);
    pc.lastUsedAt = now;
    e.counters.acquires++;
    e.counters.wait(now - started, started, pc.readyAt);
    if (channels.acquire.hasSubscribers) channels.acquire.publish({ pool: e.o.name, waitedMs: now - started } satisfies AcquireMessage);
  }

  /** Hands idle connections to waiters, oldest waiter first. Called by the pump. */
  serveWaiters(now: number): void {
    while (this.#waiters.size > 0) {
      const pc = this.#takeIdle(now);
      if (!pc) return;
      this.#serveOne(pc, now);
    }
  }

  #serveOne(pc: PooledConnection, now: number): boolean {
    const w = this.#waiters.shift();
    if (!w) return false;
    if (w.timer) this.#e.clock.clearTimeout(w.timer);
    w.cleanup?.();
    this.#grant(pc, w.started, now);
    w.resolve(pc);
    return true;
  }

  /** Fails every waiter with `err` (close, destroy, unavailable). */
  failWaiters(err: RedpoolError): void {
    for (const w of this.#waiters.drain()) {
      if (w.timer) this.#e.clock.clearTimeout(w.timer);
      w.cleanup?.();
      if (err.code === 'ERR_UNAVAILABLE') this.#e.counters.error('unavailable');
      w.reject(err);
    }
  }

  /** Validate-on-borrow and health pings: PING, then idle again or destroyed. */
  validate(pc: PooledConnection): void {
    const e = this.#e;
    this.#unidle(pc);
    pc.moveTo(ConnState.Validating);
    void e.ping(pc, Math.min(e.o.connectTimeoutMs, 1_000)).then((ok) => {
      if (pc.state !== ConnState.Validating) return;
      if (!ok) return e.destroyConn(pc, 'validation');
      this.toIdle(pc);
    });
  }

  /** A lease connection is free: give it to the oldest waiter, or keep it idle. */
  toIdle(pc: PooledConnection, now: number = this.#e.clock.now()): void {
    const e = this.#e;
    if (e.state !== 'open') return e.retire(pc, 'close');
    if (pc.generation < e.generation) return e.retire(pc, 'retarget');
    pc.moveTo(ConnState.Idle);
    if (!this.#serveOne(pc, now)) this.#idle.push(pc);
    e.pump(now);
  }

  /** Removes `pc` from the idle stack if it is there. */
  #unidle(pc: PooledConnection): void {
    const i = this.#idle.indexOf(pc);
    if (i >= 0) this.#idle.splice(i, 1);
  }

  /** Forgets a connection that closed or is being retired. */
  forget(pc: PooledConnection): void {
    this.#unidle(pc);
  }

  /** Empties the idle stack (close/destroy retire its members). */
  takeAllIdle(): PooledConnection[] {
    return this.#idle.splice(0);
  }

  /** Lease handle returned. `reset` puts it back clean; `poisoned` means destroy it. */
  release(lease: Lease<unknown>, pc: PooledConnection, reset: BatchCommand[], poisoned: DestroyReason | undefined): void {
    if (!this.#leases.delete(lease as Lease)) return;
    const e = this.#e;
    const now = e.clock.now();
    const heldMs = now - lease.acquiredAt;
    e.counters.leaseMsTotal += heldMs;
    if (e.observed('lease:released')) e.emit('lease:released', { id: pc.id, heldMs, destroyed: poisoned !== undefined });
    if (pc.state !== ConnState.Leased) return e.pump(now); // died while leased; already forgotten
    pc.lastUsedAt = now;
    if (poisoned || pc.inflight > 0) return e.destroyConn(pc, poisoned ?? 'dirty');
    if (pc.generation < e.generation) return e.destroyConn(pc, 'retarget');
    if (e.state !== 'open') return e.retire(pc, 'close');
    if (pc.expiresAt <= now) return e.retire(pc, 'lifetime');
    if (reset.length === 0) return this.toIdle(pc, now);
    pc.moveTo(ConnState.Resetting);
    (pc.conn as DriverConnection).batch(reset, false).then(
      (res) => {
        if (pc.state !== ConnState.Resetting) return;
        if (res?.some(([err]) => err !== null)) return e.destroyConn(pc, 'dirty');
        this.toIdle(pc);
      },
      () => {
        if (pc.state === ConnState.Resetting) e.destroyConn(pc, 'dirty');
      },
    );
  }

  /** Lease handle destroyed by its holder: the connection is closed, not reused. */
  discard(lease: Lease<unknown>, pc: PooledConnection): void {
    if (!this.#leases.delete(lease as Lease)) return;
    const e = this.#e;
    const heldMs = e.clock.now() - lease.acquiredAt;
    e.counters.leaseMsTotal += heldMs;
    e.emit('lease:released', { id: pc.id, heldMs, destroyed: true });
    if (pc.state === ConnState.Leased) e.destroyConn(pc, 'discarded');
    else e.pump();
  }

  /** Runs a command on a leased connection with a deadline (plus `extraMs` of block time). */
  command(
    pc: PooledConnection,
    name: string,
    args: readonly unknown[],
    buffer: boolean,
    extraMs: number,
    call?: CallOptions,
    startedAt?: number,
  ): Promise<unknown> {
    return this.#run(pc, name, extraMs, call, (conn) => conn.command(name, args, buffer), startedAt);
  }

  /** Runs a pipeline or MULTI/EXEC batch on a leased connection with a deadline. */
  batch(pc: PooledConnection, cmds: BatchCommand[], atomic: boolean, call?: CallOptions): Promise<BatchResult | null> {
    const e = this.#e;
    // As on the shared path (lanes.ts `replied`): a READONLY/MASTERDOWN among the per-command
    // results tells the topology once; the errors stay in their results.
    return this.#run(pc, atomic ? 'exec' : 'pipeline', 0, call, (conn) =>
      conn.batch(cmds, atomic).then((res) => {
        const err = firstReplyError(res);
        if (err) e.replyHint(pc, err);
        return res;
      }),
    );
  }

  /** `startedAt`: when the deadline started (the call, for a command that waited for its lease); default now. */
  #run<T>(
    pc: PooledConnection,
    name: string,
    extraMs: number,
    call: CallOptions | undefined,
    run: (conn: DriverConnection) => Promise<T>,
    startedAt?: number,
  ): Promise<T> {
    const e = this.#e;
    // After close/destroy (or once the socket died) nothing may be written or timed.
    if (e.state === 'closed') return Promise.reject(new PoolClosedError());
    const conn = pc.conn as DriverConnection;
    if (pc.state === ConnState.Closed)
      return Promise.reject(new ConnectionError(`${name.toUpperCase()}: the lease's connection is closed`, 'not-sent'));
    // Fenced: the primary moved after this lease was granted; its node may still take writes.
    if (pc.generation < e.generation)
      return Promise.reject(
        new ConnectionError(
          `${name.toUpperCase()}: the primary moved; this lease's connection is to the old one (nothing was sent)`,
          'not-sent',
        ),
      );
    const timeoutMs = (call?.timeoutMs ?? e.o.commandTimeoutMs) + extraMs;
    const started = startedAt ?? e.clock.now();
    // The wait for the lease used the whole budget: nothing is written, so it cannot have run.
    if (started + timeoutMs <= e.clock.now()) {
      e.counters.commandTimeouts++;
      e.counters.error('timeout');
      return Promise.reject(new CommandTimeoutError(name.toUpperCase(), timeoutMs, 'not-sent', e.snapshot()));
    }
    const report = (error: string | undefined): void => {
      if (channels.command.hasSubscribers)
        channels.command.publish({
          pool: e.o.name,
          command: name,
          durationMs: e.clock.now() - started,
          via: 'lease',
          error,
        } satisfies CommandMessage);
    };
    return new Promise<T>((resolve, reject) => {
      const op: InflightOp = {
        deadline: started + timeoutMs,
        settled: false,
        expire: () => {
          op.settled = true;
          report('ERR_COMMAND_TIMEOUT');
          e.counters.commandTimeouts++;
          e.counters.error('timeout');
          reject(new CommandTimeoutError(name.toUpperCase(), timeoutMs, 'unknown', e.snapshot()));
          // The connection's state is unknown now (a late reply may still come): never reuse it.
          e.destroyConn(pc, 'timeout');
        },
      };
      // An infinite deadline (BLPOP 0 with no command timeout) is tracked but never expires.
      pc.track(op, true);
      e.ensureSweep(op.deadline);
      let pending: Promise<T>;
      try {
        pending = run(conn);
      } catch (err) {
        pending = Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      pending.then(
        (v) => {
          pc.untrack(true);
          if (op.settled) return;
          op.settled = true;
          report(undefined);
          resolve(v);
        },
        (err: unknown) => {
          pc.untrack(true);
          if ((err as RedpoolError).code === 'ERR_REPLY') e.replyHint(pc, err as RedpoolError);
          if (op.settled) return;
          op.settled = true;
          report((err as RedpoolError).code);
          reject(err);
        },
      );
    });
  }
}
