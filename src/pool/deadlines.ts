/**
 * The deadline sweep: one timer per pool that expires overdue in-flight operations (no timer per
 * command). It is armed at the earliest pending deadline; a shorter per-call timeout re-arms it
 * earlier. Invariant: while any op with a finite deadline is in flight, a sweep is armed at or
 * before the earliest such deadline, so an op expires when its deadline passes, not up to a
 * sweep period later, and a busy pool with fast replies wakes about once per `commandTimeoutMs`.
 */
import type { Clock, TimerHandle } from '../internal/clock.js';
import type { PooledConnection } from './pooled-connection.js';

/** The one sweep timer of a pool and the rule that arms it. */
export class DeadlineSweep {
  readonly #clock: Clock;
  readonly #connections: () => Iterable<PooledConnection>;
  #timer: TimerHandle | undefined;
  /** When the armed sweep fires (clock ms); Infinity while none is armed. */
  #at = Infinity;
  #stopped = false;

  /** `connections`: every connection record of the pool, read at each sweep. */
  constructor(clock: Clock, connections: () => Iterable<PooledConnection>) {
    this.#clock = clock;
    this.#connections = connections;
  }

  /** Makes sure a sweep runs no later than `deadline` (clock ms; Infinity: no-op). One comparison when already armed earlier. */
  ensure(deadline: number): void {
    if (this.#stopped || !Number.isFinite(deadline) || deadline >= this.#at) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#at = deadline;
    this.#timer = this.#clock.setTimeout(() => this.#sweep(), Math.max(1, Math.ceil(deadline - this.#clock.now())), true);
  }

  /** Clears the timer for good (the pool is closed). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = Infinity;
  }

  /** Expires overdue ops on every busy connection, then re-arms at the earliest deadline left. */
  #sweep(): void {
    this.#timer = undefined;
    this.#at = Infinity;
    const now = this.#clock.now();
    let next = Infinity;
    for (const pc of this.#connections()) {
      if (pc.inflight > 0) {
        next = Math.min(next, pc.sweep(now));
        pc.lastUsedAt = now;
      }
    }
    this.ensure(next);
  }
}
