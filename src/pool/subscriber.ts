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
 * `pool.close()`/`destroy()` close every subscriber. Split by concept: the public shapes and the
 * transition table (subscriber-types.ts), option validation and connection checks
 * (subscriber-setup.ts), the liveness PING (subscriber-liveness.ts), pushes into events
 * (subscriber-push.ts); this file is the state machine, the queue and resubscription.
 */
import { EventEmitter } from 'node:events';
import type { DriverConnection } from '../driver/driver.js';
import { ArgumentError, ConfigError, PoolClosedError, RedpoolError, ReplyError } from '../errors.js';
import type { TimerHandle } from '../internal/clock.js';
import { defaultReconnectBackoff, safeDelay, type BackoffStrategy } from '../resilience/backoff.js';
import { kDispatch } from '../commands/surface.js';
import type { SubscriberCore } from './core.js';
import { kConnection, kPinned, type Lease } from './lease.js';
import { Liveness } from './subscriber-liveness.js';
import { emitPush } from './subscriber-push.js';
import { restoreSubscriptions, sendSubscribe, type Sending } from './subscriber-resubscribe.js';
import {
  commandGroups,
  connectionRefusal,
  KINDS,
  positiveMs,
  subscriptionNames,
  trackingArgs,
  UNSUB,
  type Kind,
} from './subscriber-setup.js';
import {
  kResubscribe,
  kShardDropped,
  SUBSCRIBER_TRANSITIONS,
  type SubscriberConnectInfo,
  type SubscriberEvents,
  type SubscriberOptions,
  type SubscriberState,
} from './subscriber-types.js';

export { SUBSCRIBER_TRANSITIONS } from './subscriber-types.js';
export type {
  SubscriberConnectInfo,
  SubscriberEvents,
  SubscriberOptions,
  SubscriberState,
  SubscriberTracking,
} from './subscriber-types.js';

export { kResubscribe, kShardDropped } from './subscriber-types.js';

/** Budget-counted pub/sub connection of a pool. Create with `pool.subscriber()`. */
export class Subscriber extends EventEmitter<SubscriberEvents> {
  readonly #engine: SubscriberCore<Lease>;
  readonly #backoff: BackoffStrategy;
  readonly #timeoutMs: number;
  readonly #onClose: (s: Subscriber) => void;
  readonly #tracking: string[] | undefined;
  readonly #liveness: Liveness;
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
  /** SSUBSCRIBEs in flight (see {@link Sending}). */
  readonly #sending: Sending = { shards: 0 };
  /** @internal See {@link kShardDropped}. */
  [kShardDropped]: (() => void) | undefined;

  /** @internal Use `pool.subscriber()`. */
  constructor(engine: SubscriberCore<Lease>, opts: SubscriberOptions | undefined, onClose: (s: Subscriber) => void) {
    super();
    if (opts?.connectTimeoutMs !== undefined && !(opts.connectTimeoutMs > 0))
      throw new ConfigError('subscriber.connectTimeoutMs', `must be a positive number of ms, got ${String(opts.connectTimeoutMs)}`);
    if (opts?.backoff !== undefined && typeof opts.backoff?.delay !== 'function')
      throw new ConfigError('subscriber.backoff', 'must be a BackoffStrategy ({ delay(attempt) })');
    this.#tracking = trackingArgs(opts?.tracking);
    const pingIntervalMs = positiveMs('subscriber.pingIntervalMs', opts?.pingIntervalMs, 1_000);
    const pingTimeoutMs = positiveMs('subscriber.pingTimeoutMs', opts?.pingTimeoutMs, 2_000);
    this.#engine = engine;
    this.#backoff = opts?.backoff ?? engine.o.reconnectBackoff ?? defaultReconnectBackoff();
    this.#timeoutMs = opts?.connectTimeoutMs ?? engine.o.acquireTimeoutMs;
    this.#onClose = onClose;
    this.#liveness = new Liveness(engine.clock, pingIntervalMs, pingTimeoutMs, {
      isCurrent: (gen) => gen === this.#gen,
      ping: (gen) => {
        const lease = this.#lease;
        return gen === this.#gen && lease && this.#state === 'ready' ? lease[kDispatch]('ping', [], false) : undefined;
      },
      lost: (cause) => this.#lost(cause),
    });
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

  /**
   * Subscribes to shard channels (Redis 7; see {@link subscribe}). Sent as one SSUBSCRIBE per
   * slot, so channels of different slots may be named together; a group the server refuses
   * (e.g. `MOVED` on a cluster node that does not serve the slot) rejects the call, and the
   * groups sent before it stay subscribed.
   */
  ssubscribe(...channels: Array<string | Buffer>): Promise<number> {
    return this.#add('ssubscribe', channels);
  }

  /** @internal See {@link kResubscribe}. */
  [kResubscribe](channels: string[]): Promise<number> {
    return this.#add('ssubscribe', channels, true);
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
    this.#to('closed');
    this.#gen++;
    if (this.#timer !== undefined) this.#engine.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#liveness.stop();
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

  /** Every change of state goes through the table (a staying state is no change). */
  #to(next: SubscriberState): void {
    const from = this.#state;
    if (from === next) return;
    if (!SUBSCRIBER_TRANSITIONS[from].includes(next)) throw new Error(`redpool invariant: subscriber ${from} → ${next}`);
    this.#state = next;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #add(kind: Kind, raw: Array<string | Buffer>, again = false): Promise<number> {
    let names: string[];
    try {
      if (this.#isClosed()) throw new PoolClosedError('subscriber is closed');
      names = subscriptionNames(kind, raw);
      if (names.length === 0) throw new ArgumentError(kind.toUpperCase(), 0, 'needs at least one name');
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#serial(async () => {
      const set = this.#sets[kind];
      const fresh = [...new Set(names)].filter((n) => again || !set.has(n));
      const lease = await this.#ensure();
      for (const group of commandGroups(kind, fresh)) {
        await sendSubscribe(lease, kind, group, this.#sending);
        if (this.#lease === lease) for (const n of group) set.add(n);
      }
      return this.count;
    });
  }

  #remove(kind: Kind, raw: Array<string | Buffer>): Promise<number> {
    let names: string[];
    try {
      names = subscriptionNames(kind, raw);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#serial(async () => {
      const set = this.#sets[kind];
      const gone = names.length === 0 ? [...set] : names.filter((n) => set.has(n));
      for (const n of gone) set.delete(n);
      const lease = this.#lease;
      if (gone.length > 0 && lease && this.#state === 'ready') {
        for (const group of commandGroups(kind, gone)) {
          // Forgotten either way: a lost connection has nothing to unsubscribe from.
          await lease[kDispatch](UNSUB[kind], group, false).catch((err: unknown) => {
            if (err instanceof ReplyError) throw err;
          });
        }
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
          this.#to('reconnecting');
          const error = err instanceof RedpoolError ? err : new RedpoolError('ERR_CONNECTION', String(err));
          this.emit('connect:error', { error, attempt: this.#attempt });
          this.#schedule();
        } else {
          // A first connect that failed leaves nothing to restore: back to idle, the next call tries again.
          this.#to('idle');
        }
      }
      throw err;
    }
  }

  /** Inside the queue: takes a lease, reads CLIENT ID, restores every subscription. */
  async #connect(): Promise<Lease> {
    const e = this.#engine;
    if (this.#state !== 'reconnecting') this.#to('connecting');
    const lease = await e.acquire({ timeoutMs: this.#timeoutMs });
    if (this.#isClosed()) {
      lease.destroy();
      throw new PoolClosedError('subscriber is closed');
    }
    lease[kPinned] = true;
    const conn = lease[kConnection]() as DriverConnection;
    const refusal = connectionRefusal(conn, this.#tracking !== undefined);
    if (refusal) {
      lease.release();
      throw refusal;
    }
    const gen = ++this.#gen;
    this.#lease = lease;
    e.subscribers++;
    conn.onPush!((kind, args) => {
      if (gen !== this.#gen) return;
      if (kind === 'sunsubscribe') {
        if (this.#sending.shards === 0) this[kShardDropped]?.();
      } else emitPush(this, kind, args, this.#tracking !== undefined);
    });
    conn.onClose((cause) => {
      if (gen === this.#gen) this.#lost(cause);
    });
    try {
      this.#clientId = Number(await lease[kDispatch]('client', ['ID'], false));
      // Tracking is connection state: a new connection has none until it is applied again.
      if (this.#tracking) await lease[kDispatch]('client', this.#tracking, false);
      for (const kind of KINDS)
        await restoreSubscriptions(lease, kind, this.#sets[kind], this.#sending, (error, names) =>
          this.emit('subscribe:error', { error, command: kind.toUpperCase(), names }),
        );
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
    this.#to('ready');
    this.#attempt = 0;
    this.#liveness.arm(gen);
    this.emit('connect', { clientId: this.#clientId, connectionId: lease.id, reconnect });
    return lease;
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
    this.#liveness.stop();
    this.#drop();
    if (this.#isClosed()) return;
    this.#to('reconnecting');
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
}
