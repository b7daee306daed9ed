/**
 * Shared lanes: the hot path. Ordinary commands go to the routable lane with the fewest
 * commands in flight and pipeline there; callers queue only while no lane is routable. A lane
 * whose reply is overdue leaves routing and is PINGed; a late PING destroys it. Failures go
 * through the one retry decision (resilience/classify.ts) and keep their original deadline.
 *
 * Invariant: a lane is in `#routable` iff its state is `lane`. Every caller's promise settles
 * exactly once (`op.settled` guards the reply, the error, the timeout and the close paths).
 */
import { isReadOnly } from '../commands/command-table.js';
import type { BatchCommand, BatchResult, DriverConnection } from '../driver/driver.js';
import {
  AcquireTimeoutError,
  CommandTimeoutError,
  NotReplicatedError,
  PoolClosedError,
  PoolExhaustedError,
  RedpoolError,
} from '../errors.js';
import { WaiterQueue } from '../internal/waiter-queue.js';
import { channels, type CommandMessage } from '../observability/diagnostics.js';
import { safeDelay } from '../resilience/backoff.js';
import { attemptMayHaveRun, retryDecision, worstOutcome } from '../resilience/classify.js';
import type { CallOptions, LaneCore } from './core.js';
import { ConnState, type PooledConnection } from './pooled-connection.js';
import { SharedOp } from './shared-op.js';

export class Lanes {
  readonly #e: LaneCore;
  /** Routable lanes (state `lane`). */
  #routable: PooledConnection[] = [];
  readonly #waiters = new WaiterQueue<SharedOp>();

  constructor(engine: LaneCore) {
    this.#e = engine;
  }

  /** Routable lanes right now. */
  get routable(): number {
    return this.#routable.length;
  }

  /** Callers waiting for a lane. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Routable lanes with at least one command in flight. */
  busy(): number {
    let n = 0;
    for (const l of this.#routable) if (l.inflight > 0) n++;
    return n;
  }

  /** Commands in flight on routable lanes. */
  inflight(): number {
    let n = 0;
    for (const l of this.#routable) n += l.inflight;
    return n;
  }

  /** Runs one command on the least-loaded lane. */
  command(name: string, args: readonly unknown[], buffer: boolean, call?: CallOptions): Promise<unknown> {
    const e = this.#e;
    if (e.state !== 'open') return Promise.reject(new PoolClosedError());
    const timeoutMs = call?.timeoutMs ?? e.o.commandTimeoutMs;
    const custom = call?.timeoutMs !== undefined;
    const idempotent = call?.idempotent === true;
    const now = e.clock.now();
    const replicas = call?.waitReplicas ?? 0;
    return new Promise((resolve, reject) => {
      const op = new SharedOp(this, name, args, buffer, now, timeoutMs, custom, idempotent, resolve, reject);
      if (replicas > 0 && !isReadOnly(name)) {
        // One write with its WAIT, on one lane: WAIT counts this connection's writes so far.
        op.waitFor = replicas;
        op.waitMs = call?.waitTimeoutMs ?? 100;
        op.batch = [
          [buffer ? `${name}Buffer` : name, ...args],
          ['wait', replicas, op.waitMs],
        ];
      }
      this.#route(op);
    });
  }

  /** Runs a pipeline or MULTI/EXEC batch on one lane (one write, so it cannot interleave). */
  batch(cmds: BatchCommand[], atomic: boolean, call?: CallOptions): Promise<BatchResult | null> {
    const e = this.#e;
    if (e.state !== 'open') return Promise.reject(new PoolClosedError());
    const timeoutMs = call?.timeoutMs ?? e.o.commandTimeoutMs;
    const now = e.clock.now();
    return new Promise((resolve, reject) => {
      const op = new SharedOp(
        this,
        atomic ? 'exec' : 'pipeline',
        [],
        false,
        now,
        timeoutMs,
        call?.timeoutMs !== undefined,
        call?.idempotent === true,
        resolve as (v: unknown) => void,
        reject,
      );
      op.batch = cmds;
      op.atomic = atomic;
      this.#route(op);
    });
  }

  /** A lane finished its handshake (or passed its probe): make it routable and serve waiters. */
  add(lane: PooledConnection): void {
    this.#routable.push(lane);
    this.serveWaiters();
  }

  /** Takes a lane out of routing (closing, destroyed, probing). */
  remove(lane: PooledConnection): void {
    const i = this.#routable.indexOf(lane);
    if (i >= 0) this.#routable.splice(i, 1);
  }

  /** Hands queued callers to routable lanes. Called by the pump. */
  serveWaiters(): void {
    if (this.#waiters.size === 0 || this.#routable.length === 0) return;
    const e = this.#e;
    const now = e.clock.now();
    while (this.#waiters.size > 0 && this.#routable.length > 0) {
      const op = this.#waiters.shift()!;
      op.node = undefined;
      if (op.timer) e.clock.clearTimeout(op.timer);
      op.timer = undefined;
      const lane = this.#pick()!;
      e.counters.wait(now - op.started, op.started, lane.readyAt);
      this.#send(lane, op);
    }
  }

  /** Fails every queued caller with `err` (close, destroy, unavailable). */
  failWaiters(err: RedpoolError): void {
    for (const op of this.#waiters.drain()) {
      if (op.timer) this.#e.clock.clearTimeout(op.timer);
      op.settled = true;
      if (err.code === 'ERR_UNAVAILABLE') this.#e.counters.error('unavailable');
      // Queued retries are here too: their outcome is the worst over their attempts.
      op.reject(worstOutcome(err, op.ran));
    }
  }

  /** Forgets every lane (destroy). */
  clear(): void {
    this.#routable = [];
  }

  #pick(): PooledConnection | undefined {
    const lanes = this.#routable;
    let best = lanes[0];
    for (let i = 1; i < lanes.length; i++) if (lanes[i]!.inflight < best!.inflight) best = lanes[i];
    return best;
  }

  #route(op: SharedOp): void {
    const lane = this.#pick();
    if (lane) this.#send(lane, op);
    else this.#wait(op);
  }

  #send(lane: PooledConnection, op: SharedOp): void {
    const e = this.#e;
    op.lane = lane;
    lane.track(op, op.custom);
    e.ensureSweep(op.deadline);
    const conn = lane.conn as DriverConnection;
    try {
      if (op.batch)
        conn.batch(op.batch, op.atomic).then(
          (v) => this.replied(op, v),
          (err: unknown) => this.errored(op, err),
        );
      else if (conn.send) conn.send(op.name, op.args, op.buffer, op);
      else
        conn.command(op.name, op.args, op.buffer).then(
          (v) => this.replied(op, v),
          (err: unknown) => this.errored(op, err),
        );
    } catch (err) {
      // A driver that throws instead of rejecting must not strand a tracked op; reported a
      // microtask later, as the driver contract promises (never inside #send).
      queueMicrotask(() => this.errored(op, err instanceof Error ? err : new Error(String(err))));
    }
  }

  /** The driver's reply for `op` (on `op.lane`). */
  replied(op: SharedOp, value: unknown): void {
    if (op.waitFor !== undefined && !op.settled) {
      const res = value as BatchResult | null;
      const [err, reply] = res?.[0] ?? [new RedpoolError('ERR_CONNECTION', 'empty reply to a command with WAIT'), undefined];
      if (err) return this.errored(op, err);
      const acks = res?.[1]?.[0] ? -1 : res?.[1]?.[1];
      if (typeof acks !== 'number' || acks < op.waitFor) {
        op.lane!.untrack(op.custom);
        this.#e.counters.commands++;
        this.#reject(op, new NotReplicatedError(op.name.toUpperCase(), Math.max(0, Number(acks) || 0), op.waitFor, op.waitMs));
        return this.#drained(op.lane!);
      }
      value = reply;
    }
    const e = this.#e;
    const lane = op.lane!;
    lane.untrack(op.custom);
    e.counters.commands++;
    // A pipeline's per-command errors come back as results: a READONLY/MASTERDOWN among them
    // tells the topology as a rejected command would (once per batch; the results stay the
    // caller's). Not for a command sent with WAIT: `value` is that command's own reply by now.
    if (op.batch && op.waitFor === undefined && Array.isArray(value))
      for (const [err] of value as BatchResult)
        if (err && (err as RedpoolError).code === 'ERR_REPLY') {
          e.replyHint(lane, err as RedpoolError);
          break;
        }
    if (!op.settled) {
      op.settled = true;
      if (channels.command.hasSubscribers) this.#publish(op, undefined);
      op.resolve(value);
    }
    this.#drained(lane);
  }

  /** A draining (closing) lane with nothing left in flight is QUIT. */
  #drained(lane: PooledConnection): void {
    if (lane.inflight === 0 && lane.state === ConnState.Closing) this.#e.finishDrain(lane);
  }

  /** The driver's error for `op` (on `op.lane`): retried or reported by #failed. */
  errored(op: SharedOp, err: unknown): void {
    const e = this.#e;
    const lane = op.lane!;
    lane.untrack(op.custom);
    // A connection error means this lane is gone or going: take it out before a retry
    // can be routed back to it.
    if ((err as RedpoolError).code === 'ERR_CONNECTION' && lane.state === ConnState.Lane) e.destroyConn(lane, 'error');
    // READONLY/MASTERDOWN: the topology (if any) hears it, and a replica lane leaves routing.
    else if ((err as RedpoolError).code === 'ERR_REPLY') e.replyHint(lane, err as RedpoolError);
    this.#failed(op, err);
    this.#drained(lane);
  }

  #failed(op: SharedOp, err: unknown): void {
    if (op.settled) return;
    const e = this.#e;
    const error = err instanceof RedpoolError ? err : new RedpoolError('ERR_CONNECTION', String(err), { cause: err });
    if (error.code === 'ERR_REPLY') e.counters.commands++;
    op.ran ||= attemptMayHaveRun(error);
    const decision = retryDecision({ command: op.name, error, idempotent: op.idempotent });
    const remaining = op.deadline - e.clock.now();
    // "Not executed" replies (LOADING, TRYAGAIN, …) are retried with backoff until the deadline:
    // they provably did not run, and a restart or failover outlasts a few quick retries.
    const withinBudget = decision === 'backoff' || op.attempt < e.o.retries;
    // A retry that would start at or after the deadline is not made: it could only time out
    // with outcome 'unknown', where the caller now knows for sure the command did not run.
    const delay = decision === 'backoff' ? safeDelay(e.backoff, op.attempt + 1, 100) : 0;
    if (decision !== 'no' && withinBudget && delay < remaining && e.state === 'open') {
      op.attempt++;
      op.lane = undefined;
      e.counters.retries++;
      // A retry keeps the original deadline, so it no longer sorts with fresh ops.
      op.custom = true;
      if (decision === 'now') this.#route(op);
      else {
        op.timer = e.clock.setTimeout(() => {
          op.timer = undefined;
          if (op.settled) return;
          // Timers may fire late: past the deadline, report the failure instead of sending.
          if (e.clock.now() >= op.deadline || e.state !== 'open') this.#reject(op, error);
          else this.#route(op);
        }, delay);
      }
      return;
    }
    this.#reject(op, error);
  }

  /** Settles `op` with its final error. */
  #reject(op: SharedOp, error: RedpoolError): void {
    const e = this.#e;
    op.settled = true;
    const replied = error.code === 'ERR_REPLY' || error.code === 'ERR_NOT_REPLICATED';
    e.counters.error(replied ? 'reply' : error.code === 'ERR_UNAVAILABLE' ? 'unavailable' : 'connection');
    if (channels.command.hasSubscribers) this.#publish(op, error.code);
    op.reject(worstOutcome(error, op.ran));
  }

  #publish(op: SharedOp, error: string | undefined): void {
    const e = this.#e;
    channels.command.publish({
      pool: e.o.name,
      command: op.name,
      durationMs: e.clock.now() - op.started,
      via: 'lane',
      error,
    } satisfies CommandMessage);
  }

  /** The deadline passed: by the sweep (in flight) or the waiter timer (queued). */
  expire(op: SharedOp): void {
    if (op.settled) return;
    const e = this.#e;
    op.settled = true;
    if (op.node) this.#waiters.remove(op.node);
    if (op.timer) e.clock.clearTimeout(op.timer);
    e.counters.commandTimeouts++;
    e.counters.error('timeout');
    const lane = op.lane;
    if (channels.command.hasSubscribers) this.#publish(op, 'ERR_COMMAND_TIMEOUT');
    // A command that never reached a lane timed out because no lane was there: say why. A retry
    // waiting for a lane is 'unknown' all the same when an earlier attempt may have run.
    const unsent = !lane && !op.ran;
    op.reject(
      new CommandTimeoutError(
        op.name.toUpperCase(),
        op.timeoutMs,
        unsent ? 'not-sent' : 'unknown',
        e.snapshot(),
        lane ? undefined : e.lastError,
      ),
    );
    if (lane && lane.state === ConnState.Lane) this.#probe(lane);
  }

  #wait(op: SharedOp): void {
    const e = this.#e;
    if (e.health === 'unavailable') {
      op.settled = true;
      e.counters.error('unavailable');
      op.reject(worstOutcome(e.unavailable(), op.ran));
      return;
    }
    if (e.waiting() >= e.o.maxWaiting) {
      op.settled = true;
      e.counters.exhausted++;
      op.reject(worstOutcome(new PoolExhaustedError(e.o.maxWaiting, e.snapshot()), op.ran));
      return;
    }
    op.node = this.#waiters.push(op);
    const queuedAt = e.clock.now();
    const untilDeadline = op.deadline - queuedAt;
    // Decided now, not when the timer fires: timer and clock may disagree by a fraction of a ms.
    const deadlineFirst = untilDeadline <= e.o.acquireTimeoutMs;
    op.timer = e.clock.setTimeout(
      () => {
        op.timer = undefined;
        if (op.settled) return;
        if (deadlineFirst) return this.expire(op);
        op.settled = true;
        this.#waiters.remove(op.node!);
        e.counters.acquireTimeouts++;
        e.counters.error('timeout');
        op.reject(worstOutcome(new AcquireTimeoutError(e.clock.now() - queuedAt, e.snapshot(), e.lastError), op.ran));
      },
      Math.max(0, deadlineFirst ? untilDeadline : e.o.acquireTimeoutMs),
    );
    e.pump();
  }

  /** A lane's reply is overdue: stop routing to it and PING it; destroy it if the PING is late too. */
  #probe(lane: PooledConnection): void {
    const e = this.#e;
    lane.moveTo(ConnState.Probing);
    this.remove(lane);
    const t = e.o.commandTimeoutMs;
    const probeMs = Math.min(2_000, Math.max(100, Number.isFinite(t) ? t : 2_000));
    void e.ping(lane, probeMs).then((ok) => {
      if (lane.state !== ConnState.Probing) return;
      if (ok) {
        lane.moveTo(ConnState.Lane);
        this.add(lane);
      } else e.destroyConn(lane, 'timeout');
    });
    e.pump();
  }
}
