/**
 * Periodic upkeep, one timer per pool (HikariCP's HouseKeeper idea): retire connections past
 * their lifetime, close idle lease connections above `min`, PING connections idle longer than
 * the health-check interval (half-open sockets), report leaked leases once each, and refill.
 */
import type { TimerHandle } from '../internal/clock.js';
import { debug, debugEnabled } from '../internal/debug.js';
import type { HeldLease, HousekeeperCore } from './core.js';
import { ConnState } from './pooled-connection.js';

export class Housekeeper<L extends HeldLease = HeldLease> {
  readonly #engine: HousekeeperCore<L>;
  readonly #onLeak: (lease: L, heldMs: number) => void;
  readonly #reported = new WeakSet<L>();
  #timer: TimerHandle | undefined;
  #stopped = false;

  constructor(engine: HousekeeperCore<L>, onLeak: (lease: L, heldMs: number) => void) {
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
    // NODE_DEBUG=redpool: one line for a pass that changed something, none for an idle pool's
    // pass every housekeepingIntervalMs (it printed two multi-line snapshots a second).
    const before = debugEnabled ? e.snapshot() : undefined;
    let total = e.snapshot().total;
    for (const pc of [...e.idleLeaseConnections()]) {
      if (pc.expiresAt <= now) {
        e.retire(pc, 'lifetime');
        total--;
      } else if (o.idleTimeoutMs > 0 && now - pc.lastUsedAt > o.idleTimeoutMs && total > o.min) {
        e.retire(pc, 'idle');
        total--;
      } else if (o.healthCheckIntervalMs > 0 && now - pc.lastUsedAt > o.healthCheckIntervalMs) {
        e.validate(pc);
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
      for (const lease of e.outstandingLeases()) {
        const held = now - lease.acquiredAt;
        if (held > o.leakDetectionMs && !this.#reported.has(lease)) {
          this.#reported.add(lease);
          this.#onLeak(lease, held);
        }
      }
    }
    e.pump();
    if (before) {
      const changed = snapshotChanges(before, e.snapshot());
      if (changed !== '') debug('housekeeper: %s', changed);
    }
  }
}

/** `total 4 -> 3, idle 2 -> 1`: the fields of a pool snapshot that differ, or ''. */
export function snapshotChanges<T extends object>(before: T, after: T): string {
  const parts: string[] = [];
  for (const key of Object.keys(after) as Array<keyof T>) {
    if (before[key] !== after[key]) parts.push(`${String(key)} ${String(before[key])} -> ${String(after[key])}`);
  }
  return parts.join(', ');
}
