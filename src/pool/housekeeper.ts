/**
 * Periodic upkeep, one timer per pool (HikariCP's HouseKeeper idea): retire connections past
 * their lifetime, close idle lease connections above `min`, PING connections idle longer than
 * the health-check interval (half-open sockets), report leaked leases once each, and refill.
 */
import type { TimerHandle } from '../internal/clock.js';
import { debug, debugEnabled } from '../internal/debug.js';
import type { Engine } from './engine.js';
import { kPinned, type Lease } from './lease.js';
import { ConnState } from './pooled-connection.js';

export class Housekeeper {
  readonly #engine: Engine;
  readonly #onLeak: (lease: Lease, heldMs: number) => void;
  readonly #reported = new WeakSet<Lease>();
  #timer: TimerHandle | undefined;
  #stopped = false;

  constructor(engine: Engine, onLeak: (lease: Lease, heldMs: number) => void) {
    this.#engine = engine;
    this.#onLeak = onLeak;
  }

  start(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.#timer = this.#engine.clock.setTimeout(() => this.#tick(), this.#engine.o.housekeepingIntervalMs, true);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#engine.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#engine.state !== 'open') return;
    this.run(this.#engine.clock.now());
    this.start();
  }

  /** One pass. Public so tests can run it at a chosen time. */
  run(now: number): void {
    const e = this.#engine;
    const o = e.o;
    if (debugEnabled) debug('housekeeper: before %o', e.snapshot());
    let total = e.snapshot().total;
    for (const pc of [...e.leasing.idle]) {
      if (pc.expiresAt <= now) {
        e.retire(pc, 'lifetime');
        total--;
      } else if (o.idleTimeoutMs > 0 && now - pc.lastUsedAt > o.idleTimeoutMs && total > o.min) {
        e.retire(pc, 'idle');
        total--;
      } else if (o.healthCheckIntervalMs > 0 && now - pc.lastUsedAt > o.healthCheckIntervalMs) {
        e.leasing.validate(pc);
      }
    }
    let retiredLane = false;
    for (const pc of [...e.connections()]) {
      if (pc.state !== ConnState.Lane) continue;
      // One lane per pass, so lanes made together do not all leave at once.
      if (!retiredLane && pc.expiresAt <= now) {
        e.retire(pc, 'lifetime');
        retiredLane = true;
      } else if (o.healthCheckIntervalMs > 0 && pc.inflight === 0 && now - pc.lastUsedAt > o.healthCheckIntervalMs) {
        e.checkLane(pc);
      }
    }
    if (o.leakDetectionMs > 0) {
      for (const lease of e.leasing.leases) {
        if (lease[kPinned]) continue; // subscribers hold their lease for the pool's lifetime
        const held = now - lease.acquiredAt;
        if (held > o.leakDetectionMs && !this.#reported.has(lease)) {
          this.#reported.add(lease);
          this.#onLeak(lease, held);
        }
      }
    }
    e.pump();
    if (debugEnabled) debug('housekeeper: after %o', e.snapshot());
  }
}
