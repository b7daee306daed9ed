/**
 * The public pool: the typed ioredis command surface on shared lanes, exclusive leases,
 * readiness, health, stats and shutdown. Routing rules (decision 2 of the design):
 * ordinary commands → least-loaded lane; blocking commands → a lease, automatically;
 * commands that change connection state → refused with {@link LeaseRequiredError}.
 */
import type { Channel } from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import type { RedisCommander } from 'ioredis';
import { checkArgs } from '../commands/arguments.js';
import { Batch } from '../commands/batch.js';
import { blockTimeMs, COMMAND_NAMES, refusedOnShared, STATE_CHANGING } from '../commands/command-table.js';
import { installCommands, kDispatch, kFail } from '../commands/surface.js';
import { ioredisDriver } from '../driver/ioredis-driver.js';
import {
  ForeignLeaseError,
  PoolClosedError,
  LeaseReleasedError,
  LeaseRequiredError,
  RedpoolError,
} from '../errors.js';
import { optionWarnings, resolveOptions, type PoolOptions, type ResolvedOptions } from '../options.js';
import { adviseFromStats, type Advice, type AdviceOptions, type ServerLimits } from '../health/advice.js';
import { channels } from '../observability/diagnostics.js';
import { Engine, type AcquireOptions, type CallOptions } from './engine.js';
import type { PoolEvents } from './events.js';
import { Housekeeper } from './housekeeper.js';
import { Lease } from './lease.js';
import { Subscriber, type SubscriberOptions } from './subscriber.js';
import type { HealthStatus, PoolStats } from './stats.js';

/** Commands the shared API refuses; they are not on the {@link Pool} type either. */
type RefusedCommand =
  | 'select' | 'watch' | 'unwatch' | 'exec' | 'discard' | 'subscribe' | 'psubscribe' | 'ssubscribe'
  | 'unsubscribe' | 'punsubscribe' | 'sunsubscribe' | 'monitor' | 'auth' | 'hello' | 'reset' | 'quit'
  | 'readonly' | 'readwrite' | 'asking' | 'swapdb';

/** The shared command surface: every ioredis command except those that need a lease. */
export type SharedCommands = Omit<RedisCommander, RefusedCommand | 'multi' | 'pipeline'>;

/** Health report returned by {@link Pool.health}. */
export interface HealthReport {
  /** healthy: PING answered and no recent failures; degraded: answered but failing partly, or not answered while lanes live; unavailable: failing fast. */
  status: HealthStatus;
  /** Round trip of the health PING in ms, or null when it failed. */
  latencyMs: number | null;
  /** One line for humans. */
  message: string;
  /** When the check ran (ms since the epoch). */
  checkedAt: number;
  /** Pool statistics at check time. */
  stats: PoolStats;
  /** The last connection error, redacted (code and message only), or null. */
  lastError: { code: string; message: string } | null;
}

/** Server settings read at `ready()` (CONFIG GET), when permitted. */
export interface ServerFacts {
  /** Server `maxclients`. */
  maxclients?: number;
  /** Server idle `timeout` in seconds (0 = never). */
  timeout?: number;
  /** True when CONFIG GET was refused (ACL, renamed command, managed service). */
  configDenied?: boolean;
}

/** Options of {@link Pool.close}. */
export interface CloseOptions {
  /** After this many ms, in-flight work is abandoned and sockets destroyed. @default 10000 */
  timeoutMs?: number;
}

type Kind = 0 | 1 | 2; // 0 plain, 1 refused (maybe), 2 blocking (maybe)
const KIND = new Map<string, Kind>();
for (const name of COMMAND_NAMES) KIND.set(name, 0);
for (const name of STATE_CHANGING) KIND.set(name, 1);
KIND.set('client', 1);
for (const name of ['blpop', 'brpop', 'brpoplpush', 'blmove', 'blmpop', 'bzpopmin', 'bzpopmax', 'bzmpop', 'xread', 'xreadgroup', 'wait', 'waitaof'])
  KIND.set(name, 2);

const EVENT_CHANNELS: Partial<Record<keyof PoolEvents, Channel>> = {
  'connection:created': channels.connectionCreated,
  'connection:closed': channels.connectionClosed,
  'connection:error': channels.connectionError,
  health: channels.health,
  'pool:exhausted': channels.exhausted,
  'lease:leak': channels.leak,
};

/** Events the logger hook writes a line for (see #onEvent). */
const LOGGED: ReadonlySet<keyof PoolEvents> = new Set(['connection:created', 'connection:closed', 'connection:error', 'health', 'lease:leak', 'warning']);

type EventArgs = { [K in keyof PoolEvents]: [PoolEvents[K]] };

/** A pool of Redis connections. Create with {@link createPool}. */
export interface Pool extends SharedCommands {}

export class Pool extends EventEmitter<EventArgs> {
  readonly #engine: Engine;
  readonly #housekeeper: Housekeeper;
  readonly #o: ResolvedOptions;
  #ready: Promise<HealthStatus> | undefined;
  #server: ServerFacts = {};
  readonly #subscribers = new Set<Subscriber>();

  constructor(options?: PoolOptions | string) {
    super();
    this.#o = resolveOptions(options);
    this.#engine = new Engine(
      this.#o,
      this.#o.driver ?? ioredisDriver(),
      (event, payload) => this.#onEvent(event, payload),
      (event) => this.listenerCount(event) > 0 || (EVENT_CHANNELS[event]?.hasSubscribers ?? false) || (this.#o.logger !== undefined && LOGGED.has(event)),
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
    if (log) {
      const base = { pool: this.#o.name, endpoint: this.#o.endpoint };
      switch (event) {
        case 'connection:created': log.info({ ...base, ...payload }, 'redis_connected'); break;
        case 'connection:closed': {
          const p = payload as PoolEvents['connection:closed'];
          log.info({ ...base, id: p.id, role: p.role, reason: p.reason, error: p.error?.message }, 'redis_disconnected');
          break;
        }
        case 'connection:error': {
          const p = payload as PoolEvents['connection:error'];
          log.warn({ ...base, id: p.id, error: p.error.message, code: (p.error as RedpoolError).code }, 'redis_connect_failed');
          break;
        }
        case 'health': {
          const p = payload as PoolEvents['health'];
          (p.to === 'healthy' ? log.info : log.warn).call(log, { ...base, from: p.from, to: p.to, error: p.error?.message }, 'redis_health');
          break;
        }
        case 'lease:leak': log.warn({ ...base, ...payload }, 'redis_lease_leak'); break;
        case 'warning': log.warn({ ...base, ...payload }, 'redis_pool_warning'); break;
        default: break;
      }
    }
    if (this.listenerCount(event) > 0) (this.emit as (e: string, p: unknown) => boolean)(event, payload);
  }

  /** The validated options. Secrets are non-enumerable and never printed. */
  get options(): ResolvedOptions {
    return this.#o;
  }

  /** Lifecycle state: 'open' | 'closing' | 'closed'. */
  get state(): string {
    return this.#engine.state;
  }

  [kFail](err: Error): Promise<never> {
    return Promise.reject(err);
  }

  [kDispatch](name: string, args: unknown[], buffer: boolean): Promise<unknown> {
    return this.#dispatch(name, args, buffer, undefined);
  }

  #dispatch(name: string, args: unknown[], buffer: boolean, call: CallOptions | undefined): Promise<unknown> {
    const kind = KIND.get(name);
    try {
      if (kind !== 0) {
        const refused = refusedOnShared(name, args);
        if (refused) throw new LeaseRequiredError(refused);
        const block = blockTimeMs(name, args);
        if (block !== undefined) {
          checkArgs(name, args);
          return this.#blocking(name, args, buffer, call);
        }
      }
      checkArgs(name, args);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#engine.lanes.command(name, args, buffer, call);
  }

  async #blocking(name: string, args: unknown[], buffer: boolean, call: CallOptions | undefined): Promise<unknown> {
    const waitMs = Math.min(this.#o.acquireTimeoutMs, call?.timeoutMs ?? this.#o.commandTimeoutMs);
    const lease = await this.#engine.leasing.acquireLease({ timeoutMs: waitMs }, call);
    try {
      return await lease[kDispatch](name, args, buffer);
    } finally {
      lease.release();
    }
  }

  /**
   * A view of this pool whose commands use per-call options.
   * @example await pool.with({ timeoutMs: 200, idempotent: true }).incr('hits')
   */
  with(call: CallOptions): SharedCommands & { pipeline(commands?: unknown[][]): Batch; multi(commands?: unknown[][]): Batch } {
    const view = Object.create(PoolView.prototype) as PoolView;
    view.dispatch = (name, args, buffer) => this.#dispatch(name, args, buffer, call);
    view.batch = (atomic, commands) => this.#batch(atomic, commands, call);
    return view as unknown as SharedCommands & { pipeline(commands?: unknown[][]): Batch; multi(commands?: unknown[][]): Batch };
  }

  #batch(atomic: boolean, commands: unknown[][] | undefined, call: CallOptions | undefined): Batch {
    return new Batch((cmds, isAtomic) => this.#engine.lanes.batch(cmds, isAtomic, call), atomic, true, commands);
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
  acquire(opts?: AcquireOptions): Promise<Lease> {
    return this.#engine.leasing.acquireLease(opts);
  }

  /** Returns a lease. Throws ForeignLeaseError for a lease of another pool, LeaseReleasedError on double release. */
  release(lease: Lease): void {
    if (!(lease instanceof Lease)) throw new ForeignLeaseError();
    if (!this.#engine.leasing.owns(lease)) {
      if (lease.released) throw new LeaseReleasedError();
      throw new ForeignLeaseError();
    }
    lease.release();
  }

  /**
   * Runs `fn` with an exclusive connection and releases it when `fn` settles or throws (even
   * synchronously). If `fn` leaves commands in flight, the connection is destroyed, not reused.
   */
  async withConnection<T>(fn: (lease: Lease) => T | Promise<T>, opts?: AcquireOptions): Promise<T> {
    const lease = await this.#engine.leasing.acquireLease(opts);
    try {
      return await fn(lease);
    } finally {
      if (!lease.released) lease.release();
    }
  }

  /**
   * Opens `min` connections (at least one lane) and checks Redis answers. Resolves with the
   * health status; with `onUnavailable: 'fail'` (default) rejects with the connect error when
   * Redis cannot be reached, with 'degrade' resolves 'unavailable' and keeps recovering.
   */
  ready(): Promise<HealthStatus> {
    if (this.#engine.state !== 'open') return Promise.reject(new PoolClosedError(`pool is ${this.#engine.state}`));
    this.#ready ??= this.#warm();
    return this.#ready;
  }

  async #warm(): Promise<HealthStatus> {
    const o = this.#o;
    try {
      await this.#engine.lanes.command('ping', [], false, { timeoutMs: Math.max(o.connectTimeoutMs, o.acquireTimeoutMs) });
      if (o.validateWrites) {
        const key = `redpool:probe:${process.pid}:${Math.random().toString(36).slice(2)}`;
        await this.#engine.lanes.command('set', [key, 'ok', 'PX', 10_000], false);
        const v = await this.#engine.lanes.command('get', [key], false);
        await this.#engine.lanes.command('del', [key], false);
        if (v !== 'ok') throw new RedpoolError('ERR_CONNECTION', `write/read probe returned ${String(v)}`);
      }
      await this.#settleConnecting();
      await this.#learnServer();
      return this.#engine.dialer.health;
    } catch (err) {
      this.#ready = undefined; // a later ready() may try again
      if (o.onUnavailable === 'degrade') return this.#engine.dialer.health === 'healthy' ? 'degraded' : this.#engine.dialer.health;
      throw this.#engine.dialer.lastError ?? err;
    }
  }

  /**
   * Reads `maxclients` and `timeout` (when CONFIG is permitted) and warns about settings the
   * server will defeat: a pool larger than the server admits, or an idle timeout longer than the
   * server's (the server would close our idle connections first).
   */
  async #learnServer(): Promise<void> {
    const facts: ServerFacts = {};
    for (const key of ['maxclients', 'timeout'] as const) {
      try {
        const reply = (await this.#engine.lanes.command('config', ['GET', key], false, { timeoutMs: 1_000 })) as string[];
        const v = Number(reply?.[1]);
        if (Number.isFinite(v)) facts[key] = v;
      } catch {
        // CONFIG may be disabled or denied by ACL; the checks below just do not run.
        facts.configDenied = true;
      }
    }
    this.#server = facts;
    const o = this.#o;
    if (facts.maxclients !== undefined && o.max > facts.maxclients)
      this.#onEvent('warning', { message: `max (${o.max}) is above the server's maxclients (${facts.maxclients}): connections beyond it will be refused` });
    else if (facts.maxclients !== undefined && o.max > facts.maxclients * 0.8)
      this.#onEvent('warning', { message: `max (${o.max}) is above 80% of the server's maxclients (${facts.maxclients}); other clients and processes share that limit` });
    if (facts.timeout !== undefined && facts.timeout > 0) {
      const serverMs = facts.timeout * 1000;
      if (o.idleTimeoutMs === 0 || o.idleTimeoutMs >= serverMs)
        this.#onEvent('warning', { message: `idleTimeoutMs (${o.idleTimeoutMs}) is not below the server's timeout (${facts.timeout}s): the server will close idle connections first` });
      if (o.healthCheckIntervalMs === 0 || o.healthCheckIntervalMs >= serverMs)
        this.#onEvent('warning', { message: `healthCheckIntervalMs (${o.healthCheckIntervalMs}) is not below the server's timeout (${facts.timeout}s): idle lanes will be closed by the server` });
    }
  }

  /** What `ready()` learnt about the server (empty before ready or when CONFIG is denied). */
  get server(): Readonly<ServerFacts> {
    return this.#server;
  }

  /** Resolves when no connection is still being opened (bounded by connectTimeoutMs). */
  #settleConnecting(): Promise<void> {
    this.#engine.pump();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.#engine.snapshot().connecting === 0 || this.#engine.state !== 'open') {
          this.off('connection:created', check);
          this.off('connection:error', check);
          this.#o.clock.clearTimeout(timer);
          resolve();
        }
      };
      const timer = this.#o.clock.setTimeout(() => {
        this.off('connection:created', check);
        this.off('connection:error', check);
        resolve();
      }, this.#o.connectTimeoutMs);
      this.on('connection:created', check);
      this.on('connection:error', check);
      check();
    });
  }

  /** Runs a PING with its own timeout and reports health. Never rejects. */
  async health(opts?: { timeoutMs?: number }): Promise<HealthReport> {
    const timeoutMs = opts?.timeoutMs ?? Math.min(this.#o.commandTimeoutMs, 2_000);
    const clock = this.#o.clock;
    const start = clock.now();
    let latencyMs: number | null = null;
    let failure: RedpoolError | undefined;
    try {
      await this.#engine.lanes.command('ping', [], false, { timeoutMs });
      latencyMs = clock.now() - start;
    } catch (err) {
      failure = err instanceof RedpoolError ? err : new RedpoolError('ERR_CONNECTION', String(err));
    }
    const stats = this.#engine.stats();
    const last = this.#engine.dialer.lastError ?? failure;
    let status: HealthStatus = this.#engine.dialer.health;
    if (failure) status = stats.lanes > 0 && status !== 'unavailable' ? 'degraded' : 'unavailable';
    if (this.#engine.state !== 'open') status = 'unavailable';
    const message =
      this.#engine.state !== 'open' ? `pool is ${this.#engine.state}`
      : failure ? `PING failed: ${failure.message}`
      : status === 'healthy' ? `PING ${latencyMs!.toFixed(1)}ms`
      : `PING ${latencyMs!.toFixed(1)}ms, but ${this.#engine.dialer.consecutiveFailures} recent connect failures`;
    return {
      status,
      latencyMs,
      message,
      checkedAt: Date.now(),
      stats,
      lastError: last ? { code: last.code, message: last.message } : null,
    };
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
   * Throws PoolClosedError once the pool is closing.
   * @example
   * const sub = pool.subscriber();
   * sub.on('message', (channel, message) => { … });
   * await sub.subscribe('news');
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
    this.#closeSubscribers();
    return this.#engine.close(opts?.timeoutMs ?? 10_000);
  }

  /** Immediate shutdown: pending work fails, sockets are dropped. Idempotent. */
  destroy(): Promise<void> {
    this.#housekeeper.stop();
    this.#closeSubscribers();
    return this.#engine.destroy();
  }

  /** Runs one housekeeping pass now (tests and tools). */
  housekeep(): void {
    this.#housekeeper.run(this.#o.clock.now());
  }

  toJSON(): Record<string, unknown> {
    const s = this.#engine.snapshot();
    return { name: this.#o.name, endpoint: this.#o.endpoint, state: this.#engine.state, health: this.#engine.dialer.health, max: this.#o.max, ...s };
  }

  [inspect.custom](): string {
    return `Pool ${inspect(this.toJSON())}`;
  }
}

installCommands(Pool.prototype, new Set(['multi', 'pipeline']));

/** Backing class of `pool.with(…)` views: the command surface with bound per-call options. */
class PoolView {
  declare dispatch: (name: string, args: unknown[], buffer: boolean) => Promise<unknown>;
  declare batch: (atomic: boolean, commands: unknown[][] | undefined) => Batch;
  [kDispatch](name: string, args: unknown[], buffer: boolean): Promise<unknown> {
    return this.dispatch(name, args, buffer);
  }
  [kFail](err: Error): Promise<never> {
    return Promise.reject(err);
  }
  pipeline(commands?: unknown[][]): Batch {
    return this.batch(false, commands);
  }
  multi(commands?: unknown[][]): Batch {
    return this.batch(true, commands);
  }
}
installCommands(PoolView.prototype, new Set(['multi', 'pipeline']));

/**
 * Creates a pool. Options are validated now (ConfigError names the option); no connection is
 * opened until `ready()` or the first command.
 * @example
 * const redis = createPool({ url: process.env.REDIS_URL, max: 20 });
 * await redis.ready();
 * await redis.set('user:1', json, 'EX', 3600);
 */
export function createPool(options?: PoolOptions | string): Pool {
  return new Pool(options);
}
