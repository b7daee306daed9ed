/**
 * One command (or batch) on the shared path. It is both the caller's pending promise and the
 * in-flight record the deadline sweep watches. `settled` is set exactly once, by whichever of
 * reply, error, timeout or close comes first; the others then do nothing.
 */
import type { BatchCommand, ReplySink } from '../driver/driver.js';
import type { TimerHandle } from '../internal/clock.js';
import type { QueueNode } from '../internal/waiter-queue.js';
import type { InflightOp, PooledConnection } from './pooled-connection.js';

/** Who expires an op when its deadline passes, and hears its reply or error. */
export interface OpOwner {
  expire(op: SharedOp): void;
  replied(op: SharedOp, value: unknown): void;
  errored(op: SharedOp, err: unknown): void;
}

/**
 * The op is the driver's {@link ReplySink} too, so the hot path allocates no callback per
 * command: the driver calls `reply`/`error` on it and the owner finds the lane in `op.lane`.
 */
export class SharedOp implements InflightOp, ReplySink {
  settled = false;
  attempt = 0;
  /** An earlier attempt was written and may have run: every later failure is 'unknown'. */
  ran = false;
  /** Deadline differs from "start + default timeout" (custom timeout or a retry). */
  custom: boolean;
  /** The lane it was written to; undefined while queued (then a timeout means 'not-sent'). */
  lane: PooledConnection | undefined;
  node: QueueNode<SharedOp> | undefined;
  timer: TimerHandle | undefined;
  /** Set for pipelines and transactions: the whole batch is one op. */
  batch: BatchCommand[] | undefined;
  atomic = false;
  /** Set when the command is followed by `WAIT waitFor waitMs` (acknowledged writes). */
  waitFor: number | undefined = undefined;
  waitMs = 0;
  readonly owner: OpOwner;
  readonly name: string;
  readonly args: readonly unknown[];
  readonly buffer: boolean;
  /** Absolute deadline on the pool clock, ms. */
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly started: number;
  readonly idempotent: boolean;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;

  constructor(
    owner: OpOwner,
    name: string,
    args: readonly unknown[],
    buffer: boolean,
    started: number,
    timeoutMs: number,
    custom: boolean,
    idempotent: boolean,
    resolve: (v: unknown) => void,
    reject: (e: unknown) => void,
  ) {
    this.owner = owner;
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
    this.lane = undefined;
    this.node = undefined;
    this.timer = undefined;
    this.batch = undefined;
  }

  expire(): void {
    this.owner.expire(this);
  }

  reply(value: unknown): void {
    this.owner.replied(this, value);
  }

  error(err: unknown): void {
    this.owner.errored(this, err);
  }
}
