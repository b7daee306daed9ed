/**
 * `pool.subscriber()`: a pub/sub connection drawn from the pool's budget.
 *
 * Built on an exclusive lease held in subscriber mode, so the connection is counted where every
 * other connection is (`total`, `leased`, `max − lanes`) with no second budget: the engine never
 * learns a new role, it only keeps a `subscribers` gauge. The lease is pinned (leak detection
 * skips it) and poisoned (SUBSCRIBE marks it dirty), so it is destroyed, never reused, when the
 * subscriber lets go of it.
 *
 * The subscriber remembers what it is subscribed to. When its connection ends it takes a new
 * lease after the pool's reconnect backoff (injected clock), re-runs `CLIENT ID`, resubscribes
 * channels, patterns and shard channels, re-applies `tracking` (CLIENT TRACKING is connection
 * state, so the pool owns it rather than its users), and emits 'connect' again; invalidations
 * sent while it was away are lost, so a near cache flushes on 'disconnect' and on a reconnect. Every change of the
 * subscription set and every (re)connect runs through one queue, so they never interleave.
 * `pool.close()`/`destroy()` close every subscriber.
 */
import { EventEmitter } from 'node:events';
import type { DriverConnection, PushKind } from '../driver/driver.js';
import { ArgumentError, ConfigError, ConnectionError, PoolClosedError, RedpoolError, ReplyError } from '../errors.js';
import type { TimerHandle } from '../internal/clock.js';
import { defaultReconnectBackoff, safeDelay, type BackoffStrategy } from '../resilience/backoff.js';
import { kDispatch } from '../commands/surface.js';
import type { SubscriberCore } from './core.js';
import { kConnection, kPinned, type Lease } from './lease.js';

/** Options of `pool.subscriber()`. */
export interface SubscriberOptions {
  /** Longest wait for a connection per (re)connect attempt, in ms. @default the pool's acquireTimeoutMs */
  connectTimeoutMs?: number;
  /** Delay between reconnect attempts (attempt 1, 2, …). @default the pool's reconnectBackoff (equal jitter 50 ms … 5 s) */
  backoff?: BackoffStrategy;
  /**
   * Server-assisted client-side caching on this connection: `CLIENT TRACKING ON BCAST PREFIX …`
   * is applied on every (re)connect before 'connect' is emitted, and the server's invalidations
   * arrive as 'invalidate' events. Needs a driver that reports invalidation pushes (the ioredis
   * driver over RESP3). @default off
   */
  tracking?: SubscriberTracking;
  /**
   * Liveness check: a PING is sent on the connection this often (ms) while it is ready. A server
   * that is frozen (SIGSTOP, a hung host, a black-holed network) keeps the socket open but never
   * answers, and pushes (messages, invalidations) silently stop: without this check the
   * subscriber would look connected for as long as TCP keeps quiet. `Infinity` turns it off.
   * @default 1000
   */
  pingIntervalMs?: number;
  /**
   * How long a liveness PING may go unanswered, in ms, before the connection is declared lost
   * ('disconnect', then the usual reconnect with backoff). @default 2000
   */
  pingTimeoutMs?: number;
}

/** The `tracking` option of `pool.subscriber()`. */
export interface SubscriberTracking {
  /** Key prefixes to be told about (one PREFIX each); empty: every key. Prefixes must not overlap (the server refuses). */
  prefixes: readonly string[];
  /** Broadcasting mode: the only one a connection that runs no reads of its own can use. @default true */
  bcast?: true;
}

/**
 * Lifecycle of a subscriber: `idle` (no connection yet: it connects on the first subscribe or
 * `ready()`), `connecting`, `ready`, `reconnecting` (connection lost, backing off), `closed` (final).
 */
export type SubscriberState = 'idle' | 'connecting' | 'ready' | 'reconnecting' | 'closed';

/** What 'connect' reports after every (re)connect, once every subscription has been restored. */
export interface SubscriberConnectInfo {
  /** The server's `CLIENT ID` of this connection (for `CLIENT TRACKING … REDIRECT <id>`). */
  clientId: number;
  /** The pool's connection id (as in pool events). */
  connectionId: number;
  /** False for the first connect, true after a loss. */
  reconnect: boolean;
}

/** Events of a {@link Subscriber}. It never emits 'error': an application without listeners cannot be crashed. */
export interface SubscriberEvents {
  /** A message on a channel subscribed with `subscribe`. */
  message: [channel: string, message: string];
  /** The same message as bytes. */
  messageBuffer: [channel: Buffer, message: Buffer];
  /** A message matching a pattern subscribed with `psubscribe`. */
  pmessage: [pattern: string, channel: string, message: string];
  /** The same as bytes (the pattern stays a string, as ioredis reports it). */
  pmessageBuffer: [pattern: string, channel: Buffer, message: Buffer];
  /** A message on a shard channel subscribed with `ssubscribe`. */
  smessage: [channel: string, message: string];
  /** The same as bytes. */
  smessageBuffer: [channel: Buffer, message: Buffer];
  /**
   * Keys another client changed (with `tracking`); `null`: every key may have changed (FLUSHDB,
   * FLUSHALL). Invalidations between a 'disconnect' and the next 'connect' are lost.
   */
  invalidate: [keys: string[] | null];
  /** The same keys as bytes. */
  invalidateBuffer: [keys: Buffer[] | null];
  /** Connected (again), tracking applied and every subscription restored. */
  connect: [info: SubscriberConnectInfo];
  /** The connection ended; messages published until the next 'connect' are lost. */
  disconnect: [info: { error: Error | undefined }];
  /** A (re)connect attempt failed; the next one follows after the backoff. */
  'connect:error': [info: { error: RedpoolError; attempt: number }];
  /** Restoring subscriptions after a reconnect was refused (e.g. ACL); those names were dropped. */
  'subscribe:error': [info: { error: RedpoolError; command: string; names: string[] }];
  /** close() ran (directly or through pool.close()). */
  close: [];
}

/** Validates the `tracking` option into CLIENT arguments (TRACKING ON BCAST PREFIX …). */
function trackingArgs(t: SubscriberTracking | undefined): string[] | undefined {
  if (t === undefined) return undefined;
  if (typeof t !== 'object' || t === null) throw new ConfigError('subscriber.tracking', 'must be an object ({ prefixes, bcast })');
  if ((t as { bcast?: unknown }).bcast !== undefined && (t as { bcast?: unknown }).bcast !== true)
    throw new ConfigError(
      'subscriber.tracking.bcast',
      'must be true (a subscriber runs no reads of its own, so only BCAST tracking applies)',
    );
  const prefixes: unknown = t.prefixes;
  if (!Array.isArray(prefixes)) throw new ConfigError('subscriber.tracking.prefixes', 'must be an array of strings (empty: every key)');
  const out = ['TRACKING', 'ON', 'BCAST'];
  prefixes.forEach((p: unknown, i) => {
    if (typeof p !== 'string') throw new ConfigError(`subscriber.tracking.prefixes[${i}]`, `must be a string, got ${typeof p}`);
    out.push('PREFIX', p);
  });
  return out;
}

/** A duration option: a positive number of ms (`Infinity` allowed: off), or the default. */
function positiveMs(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v > 0) || (Number.isFinite(v) && v > 2 ** 31 - 1))
    throw new ConfigError(name, `must be a positive number of ms (at most 2^31 - 1) or Infinity, got ${String(v)}`);
  return v;
}

type Kind = 'subscribe' | 'psubscribe' | 'ssubscribe';
const UNSUB: Record<Kind, string> = { subscribe: 'unsubscribe', psubscribe: 'punsubscribe', ssubscribe: 'sunsubscribe' };

/** Budget-counted pub/sub connection of a pool. Create with `pool.subscriber()`. */
export class Subscriber extends EventEmitter<SubscriberEvents> {
  readonly #engine: SubscriberCore<Lease>;
  readonly #backoff: BackoffStrategy;
  readonly #timeoutMs: number;
  readonly #onClose: (s: Subscriber) => void;
  readonly #tracking: string[] | undefined;
  readonly #pingIntervalMs: number;
  readonly #pingTimeoutMs: number;
  /** The liveness timer: the next PING, or the deadline of the one in flight. */
  #pingTimer: TimerHandle | undefined;
  readonly #sets: Record<Kind, Set<string>> = { subscribe: new Set(), psubscribe: new Set(), ssubscribe: new Set() };
  #state: SubscriberState = 'idle';
  #lease: Lease | undefined;
  #clientId: number | undefined;
  /** Bumped on every connection change; pushes and close events of older connections are ignored. */
  #gen = 0;
  #attempt = 0;
  #connectedOnce = false;
  #timer: TimerHandle | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  /** @internal Use `pool.subscriber()`. */
  constructor(engine: SubscriberCore<Lease>, opts: SubscriberOptions | undefined, onClose: (s: Subscriber) => void) {
    super();
    if (opts?.connectTimeoutMs !== undefined && !(opts.connectTimeoutMs > 0))
      throw new ConfigError('subscriber.connectTimeoutMs', `must be a positive number of ms, got ${String(opts.connectTimeoutMs)}`);
    if (opts?.backoff !== undefined && typeof opts.backoff?.delay !== 'function')
      throw new ConfigError('subscriber.backoff', 'must be a BackoffStrategy ({ delay(attempt) })');
    this.#tracking = trackingArgs(opts?.tracking);
    this.#pingIntervalMs = positiveMs('subscriber.pingIntervalMs', opts?.pingIntervalMs, 1_000);
    this.#pingTimeoutMs = positiveMs('subscriber.pingTimeoutMs', opts?.pingTimeoutMs, 2_000);
    this.#engine = engine;
    this.#backoff = opts?.backoff ?? engine.o.reconnectBackoff ?? defaultReconnectBackoff();
    this.#timeoutMs = opts?.connectTimeoutMs ?? engine.o.acquireTimeoutMs;
    this.#onClose = onClose;
  }

  /** Current lifecycle state. */
  get state(): SubscriberState {
    return this.#state;
  }

  /** `CLIENT ID` of the current connection; undefined while not connected. */
  get clientId(): number | undefined {
    return this.#state === 'ready' ? this.#clientId : undefined;
  }

  /** Channels subscribed with {@link subscribe} (restored after every reconnect). */
  get channels(): ReadonlySet<string> {
    return this.#sets.subscribe;
  }

  /** Patterns subscribed with {@link psubscribe}. */
  get patterns(): ReadonlySet<string> {
    return this.#sets.psubscribe;
  }

  /** Shard channels subscribed with {@link ssubscribe}. */
  get shardChannels(): ReadonlySet<string> {
    return this.#sets.ssubscribe;
  }

  /** Subscriptions of every kind. */
  get count(): number {
    return this.#sets.subscribe.size + this.#sets.psubscribe.size + this.#sets.ssubscribe.size;
  }

  /**
   * Connects now (without subscribing) and resolves with the connection's info; resolves at once
   * when connected. Rejects with the pool's typed error (UnavailableError, AcquireTimeoutError,
   * PoolClosedError …) when no connection could be had within `connectTimeoutMs`.
   */
  ready(): Promise<SubscriberConnectInfo> {
    return this.#serial(async () => {
      const lease = await this.#ensure();
      return { clientId: this.#clientId!, connectionId: lease.id, reconnect: this.#attempt > 0 };
    });
  }

  /**
   * Subscribes to channels; resolves with the number of subscriptions (all kinds) held. A
   * rejected call leaves no subscription behind; a resolved one is restored after every reconnect.
   */
  subscribe(...channels: Array<string | Buffer>): Promise<number> {
    return this.#add('subscribe', channels);
  }

  /** Subscribes to glob-style patterns (see {@link subscribe}). */
  psubscribe(...patterns: Array<string | Buffer>): Promise<number> {
    return this.#add('psubscribe', patterns);
  }

  /** Subscribes to shard channels (Redis 7; see {@link subscribe}). */
  ssubscribe(...channels: Array<string | Buffer>): Promise<number> {
    return this.#add('ssubscribe', channels);
  }

  /** Unsubscribes from channels (all of them when none are named). Never rejects for a lost connection. */
  unsubscribe(...channels: Array<string | Buffer>): Promise<number> {
    return this.#remove('subscribe', channels);
  }

  /** Unsubscribes from patterns (all of them when none are named). */
  punsubscribe(...patterns: Array<string | Buffer>): Promise<number> {
    return this.#remove('psubscribe', patterns);
  }

  /** Unsubscribes from shard channels (all of them when none are named). */
  sunsubscribe(...channels: Array<string | Buffer>): Promise<number> {
    return this.#remove('ssubscribe', channels);
  }

  /**
   * Lets go of the connection (destroyed, never reused) and forgets every subscription.
   * Idempotent; `pool.close()` calls it. Pending subscribe calls reject with PoolClosedError.
   */
  close(): Promise<void> {
    if (this.#state === 'closed') return Promise.resolve();
    this.#state = 'closed';
    this.#gen++;
    if (this.#timer !== undefined) this.#engine.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stopPing();
    this.#drop();
    for (const set of Object.values(this.#sets)) set.clear();
    this.#onClose(this);
    this.emit('close');
    return this.#queue.then(
      () => undefined,
      () => undefined,
    );
  }

  // ------------------------------------------------------------------ internals

  /** A method, not a field read: the state may change across an await, which TypeScript cannot see. */
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #names(kind: Kind, names: Array<string | Buffer>): string[] {
    const out: string[] = [];
    for (let i = 0; i < names.length; i++) {
      const n = names[i];
      if (typeof n === 'string') out.push(n);
      else if (Buffer.isBuffer(n)) out.push(n.toString());
      else throw new ArgumentError(kind.toUpperCase(), i, 'must be a string or Buffer');
    }
    return out;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #add(kind: Kind, raw: Array<string | Buffer>): Promise<number> {
    let names: string[];
    try {
      if (this.#isClosed()) throw new PoolClosedError('subscriber is closed');
      names = this.#names(kind, raw);
      if (names.length === 0) throw new ArgumentError(kind.toUpperCase(), 0, 'needs at least one name');
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#serial(async () => {
      const set = this.#sets[kind];
      const fresh = [...new Set(names)].filter((n) => !set.has(n));
      const lease = await this.#ensure();
      if (fresh.length > 0) {
        await lease[kDispatch](kind, fresh, false);
        if (this.#lease === lease) for (const n of fresh) set.add(n);
      }
      return this.count;
    });
  }

  #remove(kind: Kind, raw: Array<string | Buffer>): Promise<number> {
    let names: string[];
    try {
      names = this.#names(kind, raw);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#serial(async () => {
      const set = this.#sets[kind];
      const gone = names.length === 0 ? [...set] : names.filter((n) => set.has(n));
      for (const n of gone) set.delete(n);
      const lease = this.#lease;
      if (gone.length > 0 && lease && this.#state === 'ready') {
        // Forgotten either way: a lost connection has nothing to unsubscribe from.
        await lease[kDispatch](UNSUB[kind], gone, false).catch((err: unknown) => {
          if (err instanceof ReplyError) throw err;
        });
      }
      return this.count;
    });
  }

  /** Inside the queue: the current lease, connecting first when there is none. */
  async #ensure(): Promise<Lease> {
    if (this.#isClosed()) throw new PoolClosedError('subscriber is closed');
    if (this.#state === 'ready' && this.#lease) return this.#lease;
    try {
      return await this.#connect();
    } catch (err) {
      if (this.#state === 'connecting') {
        if (this.#tracking && !(err instanceof ConfigError) && !this.#isClosed()) {
          // A tracking subscriber stands for a near cache waiting to serve: it keeps trying on
          // its backoff (the one owner of reconnection), as after a lost connection.
          this.#state = 'reconnecting';
          const error = err instanceof RedpoolError ? err : new RedpoolError('ERR_CONNECTION', String(err));
          this.emit('connect:error', { error, attempt: this.#attempt });
          this.#schedule();
        } else {
          // A first connect that failed leaves nothing to restore: back to idle, the next call tries again.
          this.#state = 'idle';
        }
      }
      throw err;
    }
  }

  /** Inside the queue: takes a lease, reads CLIENT ID, restores every subscription. */
  async #connect(): Promise<Lease> {
    const e = this.#engine;
    if (this.#state !== 'reconnecting') this.#state = 'connecting';
    const lease = await e.acquire({ timeoutMs: this.#timeoutMs });
    if (this.#isClosed()) {
      lease.destroy();
      throw new PoolClosedError('subscriber is closed');
    }
    lease[kPinned] = true;
    const conn = lease[kConnection]() as DriverConnection;
    if (typeof conn.onPush !== 'function') {
      lease.release();
      throw new ConfigError('driver', 'this driver cannot carry pub/sub (no onPush): pool.subscriber() needs the ioredis driver');
    }
    if (this.#tracking && conn.invalidations !== true) {
      lease.release();
      throw new ConfigError(
        'subscriber.tracking',
        conn.protocol === 2
          ? 'this connection speaks RESP2 (the server refused HELLO 3), which has no invalidation pushes: tracking needs RESP3 (Redis ≥ 6 with HELLO allowed); REDIRECT to __redis__:invalidate is not supported'
          : 'this driver cannot report invalidation pushes: tracking needs the ioredis driver (RESP3) on a release with the hook point (see docs/ARCHITECTURE.md)',
      );
    }
    const gen = ++this.#gen;
    this.#lease = lease;
    e.subscribers++;
    conn.onPush((kind, args) => {
      if (gen === this.#gen) this.#push(kind, args);
    });
    conn.onClose((cause) => {
      if (gen === this.#gen) this.#lost(cause);
    });
    try {
      this.#clientId = Number(await lease[kDispatch]('client', ['ID'], false));
      // Tracking is connection state: a new connection has none until it is applied again.
      if (this.#tracking) await lease[kDispatch]('client', this.#tracking, false);
      for (const kind of ['subscribe', 'psubscribe', 'ssubscribe'] as const) {
        const set = this.#sets[kind];
        if (set.size === 0) continue;
        const names = [...set];
        try {
          await lease[kDispatch](kind, names, false);
        } catch (err) {
          if (!(err instanceof ReplyError)) throw err;
          for (const n of names) set.delete(n);
          this.emit('subscribe:error', { error: err, command: kind.toUpperCase(), names });
        }
      }
    } catch (err) {
      if (gen === this.#gen) {
        this.#gen++;
        this.#drop();
      }
      throw err;
    }
    if (gen !== this.#gen) throw new PoolClosedError('subscriber connection was lost while connecting');
    const reconnect = this.#connectedOnce;
    this.#connectedOnce = true;
    this.#state = 'ready';
    this.#attempt = 0;
    this.#armPing(gen);
    this.emit('connect', { clientId: this.#clientId, connectionId: lease.id, reconnect });
    return lease;
  }

  /** Arms the next liveness PING of connection `gen` (see `pingIntervalMs`). */
  #armPing(gen: number): void {
    this.#stopPing();
    if (this.#pingIntervalMs === Infinity) return;
    this.#pingTimer = this.#engine.clock.setTimeout(() => this.#ping(gen), this.#pingIntervalMs, true);
  }

  #stopPing(): void {
    if (this.#pingTimer !== undefined) this.#engine.clock.clearTimeout(this.#pingTimer);
    this.#pingTimer = undefined;
  }

  /**
   * Sends one liveness PING. An answer arms the next one; no answer within `pingTimeoutMs`
   * (confirmed one timer turn later, so a reply already in the socket after a blocked event
   * loop is read first) declares the connection lost.
   */
  #ping(gen: number): void {
    this.#pingTimer = undefined;
    const lease = this.#lease;
    if (gen !== this.#gen || !lease || this.#state !== 'ready') return;
    let answered = false;
    const clock = this.#engine.clock;
    lease[kDispatch]('ping', [], false).then(
      () => {
        answered = true;
        if (gen === this.#gen) this.#armPing(gen);
      },
      (err: unknown) => {
        answered = true;
        if (gen !== this.#gen) return;
        // An error reply is still an answer: the server is alive. Anything else (the command's own
        // deadline, a dead socket) means it is not.
        if (err instanceof ReplyError) this.#armPing(gen);
        else this.#lost(err instanceof Error ? err : new ConnectionError(String(err), 'unknown'));
      },
    );
    this.#pingTimer = clock.setTimeout(
      () => {
        this.#pingTimer = clock.setTimeout(
          () => {
            this.#pingTimer = undefined;
            if (answered || gen !== this.#gen) return;
            this.#lost(new ConnectionError(`liveness PING unanswered for ${this.#pingTimeoutMs}ms (server frozen or unreachable?)`, 'unknown'));
          },
          1,
          true,
        );
      },
      this.#pingTimeoutMs,
      true,
    );
  }

  /** Gives the lease back (destroyed: it was in subscriber mode) and uncounts it. */
  #drop(): void {
    const lease = this.#lease;
    if (!lease) return;
    this.#lease = undefined;
    this.#clientId = undefined;
    this.#engine.subscribers--;
    if (!lease.released) lease.destroy();
  }

  #lost(cause: Error | undefined): void {
    this.#gen++;
    this.#stopPing();
    this.#drop();
    if (this.#isClosed()) return;
    this.#state = 'reconnecting';
    this.emit('disconnect', { error: cause });
    this.#schedule();
  }

  /** Arms the next reconnect attempt after the backoff for the attempt number. */
  #schedule(): void {
    if (this.#timer !== undefined || this.#isClosed()) return;
    const e = this.#engine;
    if (e.state !== 'open') return;
    const delay = safeDelay(this.#backoff, ++this.#attempt, 1_000);
    this.#timer = e.clock.setTimeout(
      () => {
        this.#timer = undefined;
        void this.#serial(async () => {
          if (this.#state !== 'reconnecting') return;
          try {
            await this.#connect();
            return;
          } catch (err) {
            if (this.#isClosed() || e.state !== 'open') return;
            this.#state = 'reconnecting';
            const error = err instanceof RedpoolError ? err : new RedpoolError('ERR_CONNECTION', String(err));
            this.emit('connect:error', { error, attempt: this.#attempt });
            this.#schedule();
          }
        });
      },
      delay,
      true,
    );
  }

  #push(kind: PushKind, a: readonly Buffer[]): void {
    switch (kind) {
      case 'invalidate': {
        if (!this.#tracking) break;
        const keys = a.length === 0 ? null : [...a];
        if (this.listenerCount('invalidateBuffer') > 0) this.emit('invalidateBuffer', keys);
        if (this.listenerCount('invalidate') > 0) this.emit('invalidate', keys && keys.map((k) => k.toString()));
        break;
      }
      case 'message':
        if (this.listenerCount('messageBuffer') > 0) this.emit('messageBuffer', a[0]!, a[1]!);
        if (this.listenerCount('message') > 0) this.emit('message', a[0]!.toString(), a[1]!.toString());
        break;
      case 'smessage':
        if (this.listenerCount('smessageBuffer') > 0) this.emit('smessageBuffer', a[0]!, a[1]!);
        if (this.listenerCount('smessage') > 0) this.emit('smessage', a[0]!.toString(), a[1]!.toString());
        break;
      case 'pmessage': {
        const pattern = a[0]!.toString();
        if (this.listenerCount('pmessageBuffer') > 0) this.emit('pmessageBuffer', pattern, a[1]!, a[2]!);
        if (this.listenerCount('pmessage') > 0) this.emit('pmessage', pattern, a[1]!.toString(), a[2]!.toString());
        break;
      }
    }
  }
}
