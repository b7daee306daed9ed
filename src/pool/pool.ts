/**
 * The public pool, a façade: the typed ioredis command surface on shared lanes, exclusive
 * leases, readiness, health, stats, events and shutdown. It decides nothing itself: routing is
 * `commands/routing.ts` (ordinary commands → least-loaded lane; blocking → a lease,
 * automatically; connection-state commands → refused with `LeaseRequiredError`), readiness and
 * health policy are `health/readiness.ts` and `health/server.ts`, and the engine does the work.
 */
import { LOGGED_EVENTS, logPoolEvent, outageLogger } from './log.js';
import type { Channel } from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import type { Redis } from 'ioredis';
import { ClusterPool } from '../cluster/cluster-pool.js';
import { Batch } from '../commands/batch.js';
import { checkCallOptions } from '../commands/call-options.js';
import { batchRunsOnReplica, runsOnReplica } from '../commands/command-table.js';
import { routeShared } from '../commands/routing.js';
import { installCommands, kDispatch, kFail } from '../commands/surface.js';
import { commandView } from '../commands/view.js';
import { ioredisDriver } from '../driver/ioredis-driver.js';
import type { BatchCommand, BatchResult, Driver, DriverConnection } from '../driver/driver.js';
import { ConfigError, ForeignLeaseError, PoolClosedError, LeaseReleasedError } from '../errors.js';
import { optionWarnings, resolveOptions, type ClusterOptions, type PoolOptions, type ResolvedOptions } from '../options.js';
import { adviseFromStats, type Advice, type AdviceOptions } from '../health/advice.js';
import { healthReport, learnServerLimits, warm, type HealthReport } from '../health/readiness.js';
import { serverWarnings, type ServerLimits } from '../health/server.js';
import { channels } from '../observability/diagnostics.js';
import { kBatch, kCall, type CloseOptions, type EventArgs, type PoolWithOptions, type SharedCommands } from './api.js';
import { BudgetGate } from './budget.js';
import { fixedEndpoint, type EngineTopology } from './endpoint-source.js';
import type { AcquireOptions, CallOptions, PoolState } from './core.js';
import { Engine } from './engine.js';
import type { PoolEvents } from './events.js';
import { Housekeeper } from './housekeeper.js';
import { kRun, Lease, type RawClientOf } from './lease.js';
import { Subscriber, type SubscriberOptions } from './subscriber.js';
import { dataNodeLabel, SentinelTopology } from '../topology/sentinel/pool-topology.js';
import { SentinelReads } from '../topology/sentinel/reads.js';
import type { HealthStatus, PoolStats } from './stats.js';

export type { HealthReport } from '../health/readiness.js';
export type { SharedCommands, PoolWithOptions, CloseOptions, EventArgs } from './api.js';

/**
 * Server settings read at `ready()` (CONFIG GET), when permitted.
 * @deprecated Same type as {@link ServerLimits}; use that name.
 */
export type ServerFacts = ServerLimits;

const EVENT_CHANNELS: Partial<Record<keyof PoolEvents, Channel>> = {
  'connection:created': channels.connectionCreated,
  'connection:closed': channels.connectionClosed,
  'connection:error': channels.connectionError,
  health: channels.health,
  'pool:exhausted': channels.exhausted,
  'lease:leak': channels.leak,
};

/** A pool of Redis connections. Create with {@link createPool}. */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- merged with the class, which uses Raw
export interface Pool<Raw = Redis> extends SharedCommands {}

/**
 * A pool of Redis connections. Create with {@link createPool}. `Raw`: the raw client type of the
 * driver in use, as `lease.raw` returns it.
 */
export class Pool<Raw = Redis> extends EventEmitter<EventArgs> {
  readonly #engine: Engine;
  readonly #housekeeper: Housekeeper<Lease>;
  readonly #o: ResolvedOptions;
  #ready: Promise<HealthStatus> | undefined;
  /** The default log (no `logger` option): one stderr line per outage and per recovery. */
  readonly #outage: (event: string, payload: Record<string, unknown>) => void;
  readonly #logCtx: { pool: string; endpoint: string };
  readonly #subscribers = new Set<Subscriber>();
  /** With the `sentinel` option: where the primary is, and the moves that re-target the engine. */
  readonly #topology: SentinelTopology | undefined;
  /** With the `sentinel` option: the replicas and which reads go to them (`topology/sentinel/reads.ts`). */
  readonly #reads: SentinelReads | undefined;
  #server: ServerLimits = {};

  /**
   * Internal use by composing pools (a cluster's per-node pools, a Sentinel pool's replicas):
   * `internal.gate`, the shared connection budget; `internal.setup`, a step every new connection
   * runs after the handshake and before it is used (a cluster replica's `READONLY`), rejecting
   * with a `not-sent` error to refuse the connection; `internal.topology`, a Sentinel replica's
   * fixed endpoint and role check.
   */
  constructor(
    options?: PoolOptions | string,
    internal?: { gate?: BudgetGate | undefined; setup?: (conn: DriverConnection) => Promise<void>; topology?: EngineTopology },
  ) {
    super();
    this.#o = resolveOptions(options);
    if (this.#o.cluster) throw new ConfigError('cluster', 'a Pool serves one endpoint: create a cluster pool with createPool({ cluster })');
    const clock = this.#o.clock;
    this.#logCtx = { pool: this.#o.name, endpoint: this.#o.endpoint };
    this.#outage = outageLogger(this.#logCtx, () => clock.now());
    const o = this.#o;
    // Sentinel with maxTotal: the primary and every replica draw from one gate.
    const gate = internal?.gate ?? (o.sentinel && o.maxTotal !== undefined ? new BudgetGate(o.maxTotal) : undefined);
    const label = (h: string, p: number): string => dataNodeLabel(o, h, p);
    this.#reads = o.sentinel
      ? new SentinelReads({
          o,
          input: options as PoolOptions,
          gate,
          label,
          make: (opts, parts) => new Pool(opts, parts),
          warning: (message) => this.#onEvent('warning', { message }),
          primary: {
            command: (name, args, buffer, call) => this.#engine.command(name, args, buffer, call),
            batch: (cmds, call) => this.#engine.batch(cmds, false, call),
            snapshot: () => this.#engine.snapshot(),
          },
        })
      : undefined;
    this.#topology = o.sentinel
      ? new SentinelTopology(
          { sentinel: o.sentinel, clock, pool: o.name, connectTimeoutMs: o.connectTimeoutMs, label },
          {
            retarget: (generation) => this.#engine.retarget(generation),
            changed: (event) => {
              this.#onEvent('topology:primary-changed', event);
              this.#reads?.primaryMoved();
            },
            warning: (message) => this.#onEvent('warning', { message }),
            replicas: (list) => this.#reads?.update(list),
          },
        )
      : undefined;
    if (this.#topology) this.#reads?.attach(this.#topology);
    this.#engine = new Engine(
      this.#o,
      this.#o.driver ?? ioredisDriver(),
      (event, payload) => this.#onEvent(event, payload),
      (event) =>
        this.listenerCount(event) > 0 ||
        (EVENT_CHANNELS[event]?.hasSubscribers ?? false) ||
        (this.#o.logger
          ? LOGGED_EVENTS.has(event)
          : this.#o.logger === undefined && (event === 'health' || event === 'topology:primary-changed')),
      { gate, topology: internal?.topology ?? this.#topology ?? setupOnly(o, internal?.setup) },
    );
    this.#housekeeper = new Housekeeper(this.#engine, (lease, heldMs) => {
      const stack = lease.acquireStack ?? '';
      this.#onEvent('lease:leak', { id: lease.id, heldMs, stack });
    });
    for (const message of optionWarnings(this.#o)) queueMicrotask(() => this.#onEvent('warning', { message }));
    this.#housekeeper.start();
  }

  #onEvent<K extends keyof PoolEvents>(event: K, payload: PoolEvents[K]): void {
    const ch = EVENT_CHANNELS[event];
    if (ch?.hasSubscribers) ch.publish({ pool: this.#o.name, ...payload });
    const log = this.#o.logger;
    if (log) logPoolEvent(log, this.#logCtx, event, payload as unknown as Record<string, unknown>);
    else if (log === undefined) this.#outage(event, payload as unknown as Record<string, unknown>);
    if (this.listenerCount(event) > 0) (this.emit as (e: string, p: unknown) => boolean)(event, payload);
  }

  /** The validated options. Secrets are non-enumerable and never printed. */
  get options(): ResolvedOptions {
    return this.#o;
  }

  /** Lifecycle state: 'open' | 'closing' | 'closed'. */
  get state(): PoolState {
    return this.#engine.state;
  }

  /** @internal */
  [kFail](err: Error): Promise<never> {
    return Promise.reject(err);
  }

  /** @internal */
  [kDispatch](name: string, args: unknown[], buffer: boolean): Promise<unknown> {
    return this.#dispatch(name, args, buffer, undefined);
  }

  /** @internal */
  [kCall](name: string, args: unknown[], buffer: boolean, call: CallOptions | undefined): Promise<unknown> {
    return this.#dispatch(name, args, buffer, call);
  }

  /** @internal */
  [kBatch](cmds: BatchCommand[], atomic: boolean, call: CallOptions | undefined): Promise<BatchResult | null> {
    return this.#engine.batch(cmds, atomic, call);
  }

  #dispatch(name: string, args: unknown[], buffer: boolean, call: CallOptions | undefined): Promise<unknown> {
    try {
      if (routeShared(name, args) === 'lease') return this.#blocking(name, args, buffer, call);
    } catch (err) {
      return Promise.reject(err);
    }
    const reads = this.#reads; // undefined but for Sentinel: the single-node path pays one check
    if (reads !== undefined) {
      const mode = reads.mode(call);
      if (mode !== 'primary' && runsOnReplica(name)) return reads.command(name, args, buffer, call, mode);
    }
    return this.#engine.command(name, args, buffer, call);
  }

  async #blocking(name: string, args: unknown[], buffer: boolean, call: CallOptions | undefined): Promise<unknown> {
    // One deadline from the call: the wait for a lease spends the same budget as the command.
    const calledAt = this.#o.clock.now();
    const waitMs = Math.min(this.#o.acquireTimeoutMs, call?.timeoutMs ?? this.#o.commandTimeoutMs);
    const lease = await this.#engine.acquire({ timeoutMs: waitMs }, call);
    try {
      return await lease[kRun](name, args, buffer, calledAt);
    } finally {
      lease.release();
    }
  }

  /**
   * A view of this pool whose commands use per-call options.
   * @example await pool.with({ timeoutMs: 200, idempotent: true }).incr('hits')
   */
  with(call: CallOptions): PoolWithOptions {
    checkCallOptions(call);
    return commandView(
      (name, args, buffer) => this.#dispatch(name, args, buffer, call),
      (atomic, commands) => this.#batch(atomic, commands, call),
    ) as PoolWithOptions;
  }

  #batch(atomic: boolean, commands: unknown[][] | undefined, call: CallOptions | undefined): Batch {
    return new Batch((cmds, isAtomic) => this.#runBatch(cmds, isAtomic, call), atomic, true, commands);
  }

  /** A pipeline of reads may go to a replica (Sentinel); a transaction never does. */
  #runBatch(cmds: BatchCommand[], atomic: boolean, call: CallOptions | undefined): Promise<BatchResult | null> {
    const reads = this.#reads;
    if (reads !== undefined && !atomic) {
      const mode = reads.mode(call);
      if (mode !== 'primary' && batchRunsOnReplica(cmds.map((c) => c[0].replace(/Buffer$/, '')))) return reads.batch(cmds, call, mode);
    }
    return this.#engine.batch(cmds, atomic, call);
  }

  /** Records a pipeline; `exec()` writes it in one go on one lane. */
  pipeline(commands?: unknown[][]): Batch {
    return this.#batch(false, commands, undefined);
  }

  /** Records a MULTI/EXEC transaction; runs atomically on one lane. For WATCH, use a lease. */
  multi(commands?: unknown[][]): Batch {
    return this.#batch(true, commands, undefined);
  }

  /**
   * Waits for an exclusive connection. Release it with `lease.release()`, `pool.release(lease)`
   * or `await using`. Rejects with AcquireTimeoutError (with a snapshot), PoolExhaustedError,
   * AcquireAbortedError, UnavailableError or PoolClosedError.
   */
  acquire(opts?: AcquireOptions): Promise<Lease<Raw>> {
    return this.#engine.acquire(opts) as Promise<Lease<never>>;
  }

  /** Returns a lease. Throws ForeignLeaseError for a lease of another pool, LeaseReleasedError on double release. */
  release(lease: Lease<unknown>): void {
    if (!(lease instanceof Lease)) throw new ForeignLeaseError();
    if (!this.#engine.ownsLease(lease)) {
      if (lease.released) throw new LeaseReleasedError();
      throw new ForeignLeaseError();
    }
    lease.release();
  }

  /**
   * Runs `fn` with an exclusive connection and releases it when `fn` settles or throws (even
   * synchronously). If `fn` leaves commands in flight, the connection is destroyed, not reused.
   * Also `withConnection({ key }, fn)`, the cluster form (the key is ignored on one node).
   */
  withConnection<T>(fn: (lease: Lease<Raw>) => T | Promise<T>, opts?: AcquireOptions): Promise<T>;
  withConnection<T>(opts: AcquireOptions, fn: (lease: Lease<Raw>) => T | Promise<T>): Promise<T>;
  async withConnection<T>(
    a: ((lease: Lease<Raw>) => T | Promise<T>) | AcquireOptions,
    b?: AcquireOptions | ((lease: Lease<Raw>) => T | Promise<T>),
  ): Promise<T> {
    const [fn, opts] = typeof a === 'function' ? [a, b as AcquireOptions | undefined] : [b as (lease: Lease<Raw>) => T | Promise<T>, a];
    const lease = (await this.#engine.acquire(opts)) as Lease<never> as Lease<Raw>;
    try {
      return await fn(lease);
    } finally {
      if (!lease.released) lease.release();
    }
  }

  /**
   * Opens `min` connections (at least one lane) and checks Redis answers PONG (and, with
   * `validateWrites`, reads back what it wrote). Resolves with the health status: 'healthy' or
   * 'degraded'; with `onUnavailable: 'degrade'` also 'unavailable' (the pool keeps recovering).
   * With `onUnavailable: 'fail'` (default) rejects with the connect error when Redis cannot be
   * reached; a close or destroy meanwhile rejects with PoolClosedError.
   */
  ready(): Promise<HealthStatus> {
    if (this.#engine.state !== 'open') return Promise.reject(new PoolClosedError(`pool is ${this.#engine.state}`));
    // A failed check (also one that resolves under 'degrade') does not stick: a later ready() tries again.
    this.#ready ??= warm(
      this.#engine,
      this.#o,
      (listener) => this.#onConnection(listener),
      () => this.#learnServer(),
      () => {
        this.#ready = undefined;
      },
    ).then(async (status) => {
      await this.#reads?.warm(); // never rejects: a replica down does not fail readiness
      return status;
    });
    return this.#ready;
  }

  #onConnection(listener: () => void): () => void {
    this.on('connection:created', listener);
    this.on('connection:error', listener);
    return () => {
      this.off('connection:created', listener);
      this.off('connection:error', listener);
    };
  }

  /** Learns the server's limits and warns about settings the server will defeat. */
  async #learnServer(): Promise<void> {
    this.#server = await learnServerLimits(this.#engine);
    for (const message of serverWarnings(this.#server, this.#o)) this.#onEvent('warning', { message });
  }

  /** What `ready()` learnt about the server (empty before ready or when CONFIG is denied). */
  get server(): Readonly<ServerLimits> {
    return this.#server;
  }

  /** Runs a PING with its own timeout (PONG only) and reports health. Never rejects. */
  health(opts?: { timeoutMs?: number }): Promise<HealthReport> {
    return healthReport(this.#engine, this.#o.clock, opts?.timeoutMs ?? Math.min(this.#o.commandTimeoutMs, 2_000));
  }

  /**
   * Recommendations from the numbers this pool has seen (utilization, exhaustion, waits,
   * timeouts) and what `ready()` learnt about the server (maxclients, idle timeout). Pass an
   * earlier `stats()` as `previous` to judge only what happened since. Rules: docs/observability.md.
   */
  advice(opts?: Omit<AdviceOptions, 'pool'> & { server?: ServerLimits }): Advice[] {
    const server: ServerLimits = { ...this.#server, ...opts?.server };
    return adviseFromStats(this.#engine.stats(), server, { ...opts, pool: this.#o });
  }

  /** A fresh statistics snapshot; cheap enough to call per request. */
  stats(): PoolStats {
    return this.#engine.stats();
  }

  /**
   * A pub/sub connection drawn from this pool's budget: an exclusive lease held in subscriber
   * mode (counted in `leased` and `subscribers`), resubscribed after every reconnect with the
   * reconnect backoff, closed by `close()`. It connects on its first subscribe (or `ready()`).
   * With `tracking` the pool also applies `CLIENT TRACKING ON BCAST PREFIX …` on each of its
   * (re)connects and the subscriber emits 'invalidate'. Throws PoolClosedError once the pool is closing.
   * @example
   * const sub = pool.subscriber();
   * sub.on('message', (channel, message) => { … });
   * await sub.subscribe('news');
   * @example
   * const tracked = pool.subscriber({ tracking: { prefixes: ['user:'] } });
   * tracked.on('invalidate', (keys) => { … }); // null: every key
   * tracked.on('disconnect', () => { … }); // invalidations until the next 'connect' are lost
   * await tracked.ready();
   */
  subscriber(opts?: SubscriberOptions): Subscriber {
    if (this.#engine.state !== 'open') throw new PoolClosedError(`pool is ${this.#engine.state}`);
    const sub = new Subscriber(this.#engine, opts, (s) => this.#subscribers.delete(s));
    this.#subscribers.add(sub);
    return sub;
  }

  #closeSubscribers(): void {
    for (const sub of [...this.#subscribers]) void sub.close();
  }

  /** Graceful shutdown: new work is refused, in-flight work finishes, then QUIT. Idempotent. */
  close(opts?: CloseOptions): Promise<void> {
    this.#housekeeper.stop();
    this.#topology?.close();
    this.#closeSubscribers();
    const timeoutMs = opts?.timeoutMs ?? 10_000;
    if (this.#reads) return Promise.all([this.#engine.close(timeoutMs), this.#reads.close(timeoutMs, false)]).then(() => undefined);
    return this.#engine.close(timeoutMs);
  }

  /** Immediate shutdown: pending work fails, sockets are dropped. Idempotent. */
  destroy(): Promise<void> {
    this.#housekeeper.stop();
    this.#topology?.close();
    this.#closeSubscribers();
    if (this.#reads) return Promise.all([this.#engine.destroy(), this.#reads.close(undefined, true)]).then(() => undefined);
    return this.#engine.destroy();
  }

  /** Runs one housekeeping pass now (tests and tools). */
  housekeep(): void {
    this.#housekeeper.run(this.#o.clock.now());
  }

  /** Name, endpoint, state, health, max and the occupancy snapshot (no secrets). */
  toJSON(): Record<string, unknown> {
    const s = this.#engine.snapshot();
    return {
      name: this.#o.name,
      endpoint: this.#o.endpoint,
      state: this.#engine.state,
      health: this.#engine.health,
      max: this.#o.max,
      ...s,
    };
  }

  /** `util.inspect` shows {@link Pool.toJSON}. */
  [inspect.custom](): string {
    return `Pool ${inspect(this.toJSON())}`;
  }
}

installCommands(Pool.prototype, new Set(['multi', 'pipeline']));

/**
 * Creates a pool. Options are validated now (ConfigError names the option); no connection is
 * opened until `ready()` or the first command.
 * @example
 * const redis = createPool({ url: process.env.REDIS_URL, max: 20 });
 * await redis.ready();
 * await redis.set('user:1', json, 'EX', 3600);
 */
export function createPool<D extends Driver | undefined = undefined>(
  options: PoolOptions & { cluster: ClusterOptions; driver?: D },
): ClusterPool<RawClientOf<D>>;
export function createPool<D extends Driver | undefined = undefined>(
  options?: (PoolOptions & { cluster?: undefined; driver?: D }) | string,
): Pool<RawClientOf<D>>;
/**
 * Options whose `cluster` is not known at compile time (a plain `PoolOptions`): either kind of
 * pool, as at runtime. Narrow with `instanceof ClusterPool`, or type the options with or without
 * `cluster` to get one kind.
 */
export function createPool<D extends Driver | undefined = undefined>(
  options?: (PoolOptions & { driver?: D }) | string,
): Pool<RawClientOf<D>> | ClusterPool<RawClientOf<D>>;
export function createPool(options?: PoolOptions | string): Pool | ClusterPool {
  if (typeof options === 'object' && options !== null && options.cluster !== undefined)
    return new ClusterPool(options, (o, gate, setup) => new Pool(o, { gate, setup }));
  return new Pool(options);
}

/** The fixed endpoint with `setup` as its post-connect step: no generations, no hints. */
function setupOnly(o: ResolvedOptions, setup: ((conn: DriverConnection) => Promise<void>) | undefined): EngineTopology | undefined {
  return setup ? { endpoint: fixedEndpoint(o.host, o.port), verify: (conn) => setup(conn) } : undefined;
}
