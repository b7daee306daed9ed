/**
 * The pool's record of one connection: its role, its state (one value, moved only through the
 * transition table), and the FIFO of operations in flight on it. One record = one socket
 * lifetime; `closed` is final and a replacement is a new record.
 */
import type { DriverConnection } from '../driver/driver.js';
import type { PoolSnapshot } from '../errors.js';
import { debug, debugEnabled } from '../internal/debug.js';
import { channels, type ConnectionStateMessage } from '../observability/diagnostics.js';

/** Connection states, as seen by the pool. */
export const ConnState = {
  /** Being opened (TCP, TLS, handshake). Counts toward `max`. */
  Connecting: 'connecting',
  /** A lease connection, open and unused. */
  Idle: 'idle',
  /** A shared lane, routable. */
  Lane: 'lane',
  /** A shared lane with an overdue reply, excluded from routing while a PING probes it. */
  Probing: 'probing',
  /** Held by an exclusive lease. */
  Leased: 'leased',
  /** Being PINGed before it is handed out (idle longer than the bypass window). */
  Validating: 'validating',
  /** A returned lease whose WATCH/MULTI/db is being reset. */
  Resetting: 'resetting',
  /** Draining: no new work; closes when in-flight work is done. */
  Closing: 'closing',
  /** Final. */
  Closed: 'closed',
} as const;
export type ConnState = (typeof ConnState)[keyof typeof ConnState];

/** Allowed moves. Anything else is a bug and throws. */
export const CONN_TRANSITIONS: { readonly [S in ConnState]: readonly ConnState[] } = {
  connecting: ['idle', 'lane', 'closing', 'closed'],
  idle: ['leased', 'validating', 'closing', 'closed'],
  validating: ['idle', 'leased', 'closing', 'closed'],
  leased: ['idle', 'resetting', 'closing', 'closed'],
  resetting: ['idle', 'closing', 'closed'],
  lane: ['probing', 'closing', 'closed'],
  probing: ['lane', 'closing', 'closed'],
  closing: ['closed'],
  closed: [],
};

/** Role a connection was created for. Roles never change. */
export type Role = 'lane' | 'lease';

/** An operation in flight on a connection, watched for its deadline. */
export interface InflightOp {
  /** Absolute deadline on the pool clock (ms); `Infinity` for none. */
  readonly deadline: number;
  /** True once the caller's promise has been settled (reply, error or timeout). */
  settled: boolean;
  /** Called by the deadline sweep when `deadline` passed. */
  expire(now: number): void;
}

/**
 * Connections per role and state, kept up to date by every move, so the pump and stats read
 * counts in O(1) instead of scanning the pool.
 */
export type Tally = { [R in Role]: { [S in ConnState]: number } };

/**
 * The gauges of a pool snapshot from its tally: `total` records, `laneBusy` lanes with work in
 * flight, `pending` waiting callers.
 */
export function snapshotOf(t: Tally, total: number, laneBusy: number, pending: number): PoolSnapshot {
  const leased = t.lease.leased + t.lease.resetting;
  return {
    total,
    idle: t.lease.idle + t.lease.validating,
    busy: laneBusy + leased,
    lanes: t.lane.lane + t.lane.probing,
    leased,
    connecting: t.lane.connecting + t.lease.connecting,
    pending,
  };
}

/** A zeroed tally. */
export function newTally(): Tally {
  const zero = (): { [S in ConnState]: number } => ({
    connecting: 0,
    idle: 0,
    lane: 0,
    probing: 0,
    leased: 0,
    validating: 0,
    resetting: 0,
    closing: 0,
    closed: 0,
  });
  return { lane: zero(), lease: zero() };
}

let nextId = 1;

export class PooledConnection {
  readonly id = nextId++;
  readonly role: Role;
  readonly createdAt: number;
  /** When this connection retires (creation + lifetime − jitter), or Infinity. */
  readonly expiresAt: number;
  #state: ConnState = ConnState.Connecting;
  conn: DriverConnection | undefined;
  /** Last time work started or ended on it (pool clock, ms). */
  lastUsedAt: number;
  /** When its handshake finished (pool clock, ms); Infinity while connecting. */
  readyAt = Infinity;
  /**
   * Topology generation it was dialled for (always 0 for a single node). Older than the
   * engine's: its node is no longer the primary, so no new work goes to it (fencing).
   */
  generation = 0;
  /**
   * Ops in flight, oldest first, from `#opsHead`. Entries leave from the head once settled and
   * their slot is cleared at once: a settled op still references its caller's promise and so
   * the reply, and under steady load the array seldom drains (measured: 256 KiB replies kept
   * for a few hundred ms were promoted to the old generation, five extra full GCs in 3 s).
   */
  readonly ops: Array<InflightOp | undefined> = [];
  #opsHead = 0;
  /** Unsettled ops in `ops`. For lanes this is the routing weight. */
  inflight = 0;
  /** Ops whose deadline is not the default one (the sweep must look past the head). */
  custom = 0;

  /** Pool name, for diagnostics. */
  readonly pool: string;
  readonly #tally: Tally;

  constructor(pool: string, role: Role, now: number, expiresAt: number, tally: Tally) {
    this.pool = pool;
    this.#tally = tally;
    tally[role].connecting++;
    this.role = role;
    this.createdAt = now;
    this.lastUsedAt = now;
    this.expiresAt = expiresAt;
  }

  get state(): ConnState {
    return this.#state;
  }

  moveTo(next: ConnState): void {
    const prev = this.#state;
    if (!CONN_TRANSITIONS[prev].includes(next)) throw new Error(`redpool invariant: connection ${this.id} ${prev} -> ${next}`);
    this.#state = next;
    const t = this.#tally[this.role];
    t[prev]--;
    t[next]++;
    if (debugEnabled) debug('conn %d (%s): %s -> %s', this.id, this.role, prev, next);
    if (channels.connectionState.hasSubscribers)
      channels.connectionState.publish({ pool: this.pool, id: this.id, role: this.role, prev, next } satisfies ConnectionStateMessage);
  }

  /** Adds an op to the in-flight FIFO. */
  track(op: InflightOp, customDeadline: boolean): void {
    this.ops.push(op);
    this.inflight++;
    if (customDeadline) this.custom++;
  }

  /** Marks one op finished and drops settled ops from the head. */
  untrack(customDeadline: boolean): void {
    this.inflight--;
    if (customDeadline) this.custom--;
    this.compact();
  }

  compact(): void {
    const ops = this.ops;
    let h = this.#opsHead;
    while (h < ops.length && ops[h]!.settled) ops[h++] = undefined;
    if (h === ops.length) {
      ops.length = 0;
      h = 0;
    } else if (h > 1024 && h * 2 > ops.length) {
      ops.splice(0, h);
      h = 0;
    }
    this.#opsHead = h;
  }

  /**
   * Expires overdue ops and returns the earliest deadline still pending (Infinity when none).
   * Without custom deadlines, deadlines grow along the FIFO (same timeout, later start), so the
   * scan stops at the first op still in time, whose deadline is the earliest; otherwise every
   * op is checked.
   */
  sweep(now: number): number {
    const ops = this.ops;
    let next = Infinity;
    for (let i = this.#opsHead; i < ops.length; i++) {
      const op = ops[i]!;
      if (op.settled) continue;
      if (op.deadline <= now) op.expire(now);
      else {
        if (op.deadline < next) next = op.deadline;
        if (this.custom === 0) break;
      }
    }
    return next;
  }
}
