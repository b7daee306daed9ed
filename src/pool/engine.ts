/**
 * The pool engine: owns every connection, opens and closes them, and runs the pump, which
 * serves waiting callers and opens connections (only the pump and the unavailable-probe timer
 * open any). When nobody waits, fast paths hand out connections directly: a command to the
 * least-loaded lane, an idle lease connection to `acquire()`, a returned one to the oldest lease
 * waiter. Shared lanes (`lanes.ts`) and exclusive leases (`leasing.ts`) keep their own queues;
 * the engine composes them under one budget and gives each a small view of itself (`core.ts`).
 *
 * Invariants (checked by the property test):
 * - connections in every state, connecting included, never exceed `max`;
 * - lease connections never exceed `max − lanes`, so shared traffic always keeps its lanes;
 * - a connection is routable (lanes), idle (leasing), leased, or in transit — never two of these;
 * - close() resolves only when every connection has closed; no timer outlives it.
 */
import { failures } from './log.js';
import type { BatchCommand, BatchResult, Driver, DriverConnection } from '../driver/driver.js';
import { UnavailableError, PoolClosedError, type PoolSnapshot, type RedpoolError } from '../errors.js';
import type { Clock, TimerHandle } from '../internal/clock.js';
import { debug } from '../internal/debug.js';
import type { ResolvedOptions } from '../options.js';
import { defaultBackoff, defaultReconnectBackoff, type BackoffStrategy } from '../resilience/backoff.js';
import { BudgetGate, type BudgetMember } from './budget.js';
import { DeadlineSweep } from './deadlines.js';
import { Dialer } from './dialer.js';
import type { EngineTopology } from './endpoint-source.js';
import { fenceOlderThan, onNotPrimaryReply } from './fencing.js';
import { pingConnection } from './ping.js';
import type { AcquireOptions, CallOptions, Emit, HousekeeperCore, LaneCore, LeaseCore } from './core.js';
import { POOL_TRANSITIONS, type PoolState } from './pool-state.js';
import type { PoolEvents } from './events.js';
import { kPinned, type Lease } from './lease.js';
import { Lanes } from './lanes.js';
import { Leasing } from './leasing.js';
import { ConnState, newTally, PooledConnection, snapshotOf, type Role, type Tally } from './pooled-connection.js';
import { Counters, type DestroyReason, type HealthStatus, type PoolStats } from './stats.js';

export type { AcquireOptions, CallOptions } from './core.js';
export { POOL_TRANSITIONS, type PoolState } from './pool-state.js';

/** Whether anyone (listener, logger, diagnostics subscriber) would see `event`. */
type Observed = (event: keyof PoolEvents) => boolean;

/** What a composing pool hands the engine besides its options. */
export interface EngineParts {
  /** A cluster's shared connection budget. @default a gate of size `max` */
  gate?: BudgetGate;
  /** Where to dial and how to verify a new connection (Sentinel). @default the fixed endpoint of the options */
  topology?: EngineTopology;
}

export class Engine implements LaneCore, LeaseCore, HousekeeperCore<Lease>, BudgetMember {
  readonly o: ResolvedOptions;
  readonly clock: Clock;
  readonly counters = new Counters();
  readonly dialer: Dialer;
  readonly backoff: BackoffStrategy;
  readonly lanes: Lanes;
  readonly leasing: Leasing;
  readonly emit: Emit;
  /** Hot paths (lease acquire/release) build event payloads only when this says someone looks. */
  readonly observed: Observed;
  /** Gauge: `pool.subscriber()` connections open now (each is also a lease: see subscriber.ts). */
  subscribers = 0;
  /** The topology this engine follows (Sentinel); undefined for a single node. */
  readonly topology: EngineTopology | undefined;
  generation = 0; // topology generation (0 for a single node); changed only by retarget()
  #state: PoolState = 'open';
  readonly #all = new Set<PooledConnection>();
  /** Live connections by role and state (closed ones leave `#all`; their tally row is unused). */
  readonly #tally: Tally = newTally();
  readonly #closeReasons = new Map<PooledConnection, DestroyReason>();
  /** Dials in progress; close/destroy abort them instead of waiting up to connectTimeoutMs. */
  readonly #dials = new Map<PooledConnection, AbortController>();
  readonly #sweep: DeadlineSweep;
  #dialTimer: TimerHandle | undefined;
  #closeTimer: TimerHandle | undefined;
  #closed: Promise<void> | undefined;
  #resolveClosed: (() => void) | undefined;
  /** A token per connection (spawn takes, #forget gives): its own gate of size `max`, or a cluster's shared one. */
  readonly #gate: BudgetGate;

  /**
   * `parts.gate`: a cluster's shared connection budget (default: a gate of size `max`);
   * `parts.topology`: where to dial and how to verify (Sentinel; default: the fixed endpoint).
   */
  constructor(o: ResolvedOptions, driver: Driver, emit: Emit, observed: Observed = () => true, parts: EngineParts = {}) {
    this.o = o;
    this.topology = parts.topology;
    this.#gate = parts.gate ?? new BudgetGate(o.max);
    this.#gate.join(this);
    this.clock = o.clock;
    this.#sweep = new DeadlineSweep(o.clock, () => this.#all);
    this.emit = emit;
    this.observed = observed;
    this.backoff = o.backoff ?? defaultBackoff();
    this.lanes = new Lanes(this);
    this.leasing = new Leasing(this);
    this.dialer = new Dialer(o, driver, this.counters, o.reconnectBackoff ?? defaultReconnectBackoff(), {
      onHealth: (from, to, cause) => {
        this.emit('health', { from, to, error: cause });
        if (to === 'unavailable') this.#failFast();
      },
      topology: parts.topology,
    });
  }

  get state(): PoolState {
    return this.#state;
  }

  /** The dialer's view of Redis: healthy, degraded or unavailable. */
  get health(): HealthStatus {
    return this.dialer.health;
  }

  /** The last connect error (redacted), if any. */
  get lastError(): RedpoolError | undefined {
    return this.dialer.lastError;
  }

  /** Connect failures in a row. */
  get consecutiveFailures(): number {
    return this.dialer.consecutiveFailures;
  }

  // ---------------------------------------------------------------- what the façade calls

  /** Runs one command on the least-loaded lane. */
  command(name: string, args: readonly unknown[], buffer: boolean, call?: CallOptions): Promise<unknown> {
    return this.lanes.command(name, args, buffer, call);
  }

  /** Runs a pipeline or MULTI/EXEC batch on one lane. */
  batch(cmds: BatchCommand[], atomic: boolean, call?: CallOptions): Promise<BatchResult | null> {
    return this.lanes.batch(cmds, atomic, call);
  }

  /** Grants an exclusive lease. */
  acquire(opts?: AcquireOptions, call?: CallOptions): Promise<Lease> {
    return this.leasing.acquireLease(opts, call);
  }

  /** Whether `lease` is an outstanding lease of this pool. */
  ownsLease(lease: unknown): boolean {
    return this.leasing.owns(lease);
  }

  // ---------------------------------------------------------------- what the housekeeper reads

  idleLeaseConnections(): readonly PooledConnection[] {
    return this.leasing.idle;
  }

  outstandingLeases(): Iterable<Lease> {
    // Subscribers hold their lease for the pool's lifetime on purpose: never a leak.
    return [...this.leasing.leases].filter((lease) => !lease[kPinned]);
  }

  validate(pc: PooledConnection): void {
    this.leasing.validate(pc);
  }

  #moveTo(next: PoolState): void {
    const prev = this.#state;
    if (!POOL_TRANSITIONS[prev].includes(next)) throw new Error(`redpool invariant: pool ${prev} -> ${next}`);
    this.#state = next;
    debug('pool %s: %s -> %s', this.o.name, prev, next);
  }

  /** Callers waiting for a lane or a lease (bounded together by `maxWaiting`). */
  waiting(): number {
    return this.lanes.waiting + this.leasing.waiting;
  }

  // ---------------------------------------------------------------- deadlines

  /** Makes sure a deadline sweep runs no later than `deadline` (clock ms; see deadlines.ts). */
  ensureSweep(deadline: number): void {
    this.#sweep.ensure(deadline);
  }

  /** PINGs `pc` with its own timer; resolves false on error or timeout. Never rejects. */
  ping(pc: PooledConnection, timeoutMs: number): Promise<boolean> {
    return pingConnection(this.clock, pc, timeoutMs);
  }

  // ---------------------------------------------------------------- the pump

  /** Live (not closing) connections of `role`, connecting ones included. */
  #live(role: Role): number {
    const t = this.#tally[role];
    return t.connecting + t.idle + t.lane + t.probing + t.leased + t.validating + t.resetting;
  }

  /** Lease connections that count against the lease budget. */
  leaseConnections(): number {
    return this.#live('lease');
  }

  #activeLanes(): number {
    return this.#live('lane');
  }

  /**
   * Serves waiting callers and opens new connections. Runs after every event. Order: lane
   * waiters, lease waiters, then dial lanes, leases for uncovered waiters, and up to `min`.
   */
  pump(now: number = this.clock.now()): void {
    if (this.#state !== 'open') return;
    this.lanes.serveWaiters();
    this.leasing.serveWaiters(now);
    if (this.dialer.health === 'unavailable') {
      // One probe at a time: a dial still in flight decides first (its outcome pumps again).
      if (this.dialer.dialing > 0) return;
      return this.#scheduleDial(this.dialer.nextDialAt - now, true);
    }
    if (!this.dialer.mayDial(now)) return this.#scheduleDial(this.dialer.nextDialAt - now, false);
    const o = this.o;
    for (let lanes = this.#activeLanes(); lanes < o.lanes && this.#all.size < o.max && this.#gate.tryTake(this, 'lane'); lanes++)
      this.#spawn('lane');
    let leases = this.leaseConnections();
    const opening = this.#tally.lease.connecting + this.#tally.lease.validating;
    for (
      let uncovered = this.leasing.waiting - opening;
      uncovered > 0 && leases < this.leasing.cap && this.#all.size < o.max && this.#gate.tryTake(this, 'lease');
      uncovered--, leases++
    )
      this.#spawn('lease');
    for (; this.#all.size < o.min && leases < this.leasing.cap && this.#gate.tryTake(this, 'lease'); leases++) this.#spawn('lease');
    if (this.leasing.idle.length > 0 && this.leasing.waiting === 0 && this.#gate.starved(this)) this.shed();
  }

  /** Arms one timer for when dialling is allowed again (backoff) or for the unavailable probe. */
  #scheduleDial(delayMs: number, probe: boolean): void {
    if (this.#dialTimer !== undefined) return;
    // While unavailable the probe always runs: it is how the pool learns Redis is back, even
    // when a lane still lives and nobody waits (leases fail fast until then).
    const wanted = probe || this.#activeLanes() < this.o.lanes || this.leasing.waiting > 0 || this.#all.size < this.o.min;
    if (!wanted) return;
    this.#dialTimer = this.clock.setTimeout(
      () => {
        this.#dialTimer = undefined;
        if (this.#state !== 'open') return;
        if (probe && this.dialer.health === 'unavailable') {
          // One probe at a time: its outcome decides when Redis is back.
          const role = this.#activeLanes() < this.o.lanes ? 'lane' : 'lease';
          if (!this.dialer.mayProbe(this.clock.now())) this.pump();
          else if (this.#all.size < this.o.max && this.#gate.tryTake(this, role)) this.#spawn(role);
          return;
        }
        this.pump();
      },
      Math.max(0, delayMs),
      true,
    );
  }

  /** Lanes wanted and not opened: what the shared budget keeps for this engine. */
  lanesMissing(): number {
    return this.#state === 'open' ? Math.max(0, this.o.lanes - this.#activeLanes()) : 0;
  }

  /** The shared budget wants a token back: close the least recently used idle lease connection. */
  shed(): boolean {
    const pc = this.leasing.idle[0];
    if (!pc || this.#state !== 'open') return false;
    this.retire(pc, 'idle');
    return true;
  }

  /** Forgets a connection record; its budget token goes back (once: only if it was still known). */
  #forget(pc: PooledConnection): boolean {
    if (!this.#all.delete(pc)) return false;
    this.#gate.give(this);
    return true;
  }

  #spawn(role: Role): void {
    const now = this.clock.now();
    const life = this.o.maxLifetimeMs;
    // Up to 10 % jitter so connections made together do not all retire together.
    const expiresAt = life > 0 ? now + life - Math.random() * life * 0.1 : Infinity;
    const pc = new PooledConnection(this.o.name, role, now, expiresAt, this.#tally);
    this.#all.add(pc);
    const dial = new AbortController();
    this.#dials.set(pc, dial);
    this.dialer
      .dial(() => this.clock.now(), dial.signal)
      .then(
        ({ conn, generation }) => {
          this.#dials.delete(pc);
          pc.generation = generation;
          this.#connected(pc, conn);
        },
        (err: unknown) => {
          this.#dials.delete(pc);
          this.#forget(pc);
          pc.moveTo(ConnState.Closed);
          if (this.#state === 'open') this.emit('connection:error', { id: pc.id, role, error: err as Error });
          this.#afterForget();
          this.pump();
        },
      );
  }

  #connected(pc: PooledConnection, conn: DriverConnection): void {
    pc.conn = conn;
    conn.onClose((cause) => this.#onClosed(pc, cause));
    const stale = pc.generation < this.generation;
    if (this.#state !== 'open' || stale) {
      // Connected after close() began (counted as created and closed, like any other), or
      // dialled for the node the topology has just left: never used.
      this.#closeReasons.set(pc, stale ? 'retarget' : 'close');
      pc.moveTo(ConnState.Closing);
      this.finishDrain(pc);
      if (stale) this.pump();
      return;
    }
    this.dialer.setHealth('healthy');
    const now = this.clock.now();
    pc.lastUsedAt = now;
    pc.readyAt = now;
    // Move out of `connecting` before telling anyone: listeners (ready()) read the counts.
    if (pc.role === 'lane') {
      pc.moveTo(ConnState.Lane);
      this.lanes.add(pc);
    } else this.leasing.toIdle(pc);
    this.emit('connection:created', { id: pc.id, role: pc.role, connectMs: now - pc.createdAt });
    this.pump();
  }

  /** The socket ended (our close/destroy or the server's doing). Final for this record. */
  #onClosed(pc: PooledConnection, cause: Error | undefined): void {
    const reason = this.#closeReasons.get(pc) ?? 'error';
    this.#closeReasons.delete(pc);
    if (pc.state !== ConnState.Closed) pc.moveTo(ConnState.Closed);
    if (!this.#forget(pc)) return;
    this.lanes.remove(pc);
    this.leasing.forget(pc);
    this.counters.destroyed++;
    this.counters.destroyedBy[reason]++;
    if (reason === 'error') {
      this.counters.error('connection');
      if (this.#state === 'open' && this.dialer.health === 'healthy') this.dialer.setHealth('degraded', cause);
    }
    this.emit('connection:closed', { id: pc.id, role: pc.role, reason, error: cause });
    this.#afterForget();
    this.pump();
  }

  /** Graceful close of one connection (QUIT); lanes drain their in-flight work first. */
  retire(pc: PooledConnection, reason: DestroyReason): void {
    if (pc.state === ConnState.Closing || pc.state === ConnState.Closed) return;
    this.#closeReasons.set(pc, reason);
    this.lanes.remove(pc);
    this.leasing.forget(pc);
    pc.moveTo(ConnState.Closing);
    if (pc.inflight === 0) this.finishDrain(pc);
  }

  /** QUITs a connection whose work is done (destroys it if QUIT fails). */
  finishDrain(pc: PooledConnection): void {
    const conn = pc.conn;
    if (conn) conn.close().catch(() => conn.destroy());
  }

  /** Drops a connection now; its in-flight commands fail with outcome 'unknown'. */
  destroyConn(pc: PooledConnection, reason: DestroyReason): void {
    if (pc.state === ConnState.Closed) return;
    if (!this.#closeReasons.has(pc)) this.#closeReasons.set(pc, reason);
    this.lanes.remove(pc);
    pc.conn?.destroy();
  }

  /**
   * Topology (Sentinel) moved the pool to the node of `generation`: older connections are fenced
   * (`fencing.ts`: no new work to them; in-flight work keeps its verdict; active leases fail
   * their next command `not-sent`), then the pump refills on the new endpoint at once.
   */
  retarget(generation: number): void {
    if (generation <= this.generation) return;
    this.generation = generation;
    this.dialer.retargeted();
    if (this.#state !== 'open') return;
    if (this.#dialTimer !== undefined) this.clock.clearTimeout(this.#dialTimer); // a backoff earned on the old node
    this.#dialTimer = undefined;
    fenceOlderThan(this.#all, generation, this.leasing.leases, this);
    this.pump();
  }

  replyHint(pc: PooledConnection, error: RedpoolError): void {
    onNotPrimaryReply(this.topology, pc, error, this);
  }

  // ---------------------------------------------------------------- degraded mode

  unavailable(): UnavailableError {
    return new UnavailableError(
      `Redis at ${this.o.endpoint} is unavailable (${failures(this.dialer.consecutiveFailures, 'consecutive connect failure')}); failing fast`,
      this.dialer.lastError ? { cause: this.dialer.lastError } : undefined,
    );
  }

  /** Unavailable with no routable lane: waiters fail now instead of at their timeout. */
  #failFast(): void {
    if (this.lanes.routable > 0) return; // lanes still serve; only new dials fail
    const err = this.unavailable();
    this.lanes.failWaiters(err);
    this.leasing.failWaiters(err);
  }

  // ---------------------------------------------------------------- housekeeping

  /** Every connection record (read-only use). */
  connections(): Iterable<PooledConnection> {
    return this.#all;
  }

  /** Health-checks an idle lane with a PING; destroys it if the PING fails or is late. */
  checkLane(pc: PooledConnection): void {
    void this.ping(pc, Math.min(this.o.connectTimeoutMs, 2_000)).then((ok) => {
      if (!ok && (pc.state === ConnState.Lane || pc.state === ConnState.Probing)) this.destroyConn(pc, 'validation');
    });
  }

  // ---------------------------------------------------------------- lifecycle

  /** Graceful close: refuse new work, let in-flight work finish, QUIT; destroy at the deadline. */
  close(timeoutMs: number): Promise<void> {
    if (this.#closed) return this.#closed;
    this.#closed = new Promise<void>((resolve) => (this.#resolveClosed = resolve));
    this.#moveTo('closing');
    // Armed first: a driver may report a close synchronously, finishing close() inside the loop.
    if (Number.isFinite(timeoutMs)) this.#closeTimer = this.clock.setTimeout(() => void this.destroy(), timeoutMs);
    this.#failAllWaiters(new PoolClosedError('pool is closing'));
    this.#abortDials();
    for (const pc of this.leasing.takeAllIdle()) this.retire(pc, 'close');
    for (const pc of [...this.#all]) if (pc.state === ConnState.Lane || pc.state === ConnState.Probing) this.retire(pc, 'close');
    this.#afterForget();
    return this.#closed;
  }

  /** Immediate: fail everything, drop every socket. Idempotent. */
  destroy(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => (this.#resolveClosed = resolve));
    if (this.#state === 'open') this.#moveTo('closing');
    this.#failAllWaiters(new PoolClosedError('pool was destroyed'));
    this.#abortDials();
    this.leasing.takeAllIdle();
    this.lanes.clear();
    for (const pc of [...this.#all]) this.destroyConn(pc, 'close');
    this.#afterForget();
    return this.#closed;
  }

  /** Connections still being opened serve nobody once closing: stop dialling them. */
  #abortDials(): void {
    for (const dial of this.#dials.values()) dial.abort();
  }

  #failAllWaiters(err: PoolClosedError): void {
    this.lanes.failWaiters(err);
    this.leasing.failWaiters(err);
  }

  /** When closing and nothing is left (connecting ones included): clear timers, resolve close(). */
  #afterForget(): void {
    if (this.#state !== 'closing' || this.#all.size > 0) return;
    this.#sweep.stop();
    for (const t of [this.#dialTimer, this.#closeTimer]) if (t !== undefined) this.clock.clearTimeout(t);
    this.#dialTimer = this.#closeTimer = undefined;
    this.#moveTo('closed');
    this.#gate.leave(this);
    this.emit('pool:closed', {});
    this.#resolveClosed?.();
  }

  // ---------------------------------------------------------------- stats

  snapshot(): PoolSnapshot {
    return snapshotOf(this.#tally, this.#all.size, this.lanes.busy(), this.waiting());
  }

  stats(): PoolStats {
    const s = this.snapshot();
    return {
      name: this.o.name,
      state: this.#state,
      health: this.dialer.health,
      max: this.o.max,
      min: this.o.min,
      ...s,
      inflight: this.lanes.inflight(),
      subscribers: this.subscribers,
      utilization: s.busy / this.o.max,
      ...this.counters.copy(),
      ...(this.topology?.stats ? { sentinel: this.topology.stats() } : {}),
    };
  }
}
