/**
 * `asIoredis(pool)`: what ioredis-consuming libraries accept (BullMQ, socket.io's adapter,
 * @fastify/redis, redlock, graphql-redis-subscriptions …), as a thin view that owns no
 * connection. Routing: ordinary commands → the pool's shared lanes; blocking commands → a lease
 * per call (held by the view, so `disconnect()` can abort them as ioredis would); the subscribe
 * family → one `pool.subscriber()` per view, made on first use. `duplicate()` is another view.
 * `connect()`/`disconnect()`/`quit()` start and end the view, never the pool.
 *
 * Decisions, written down in docs/ecosystem.md:
 * - `status` follows the pool's health: 'ready', 'reconnecting' while unavailable, 'end' after
 *   the view ends; 'close'/'reconnecting'/'connect'/'ready'/'end' are emitted on those moves.
 *   The view never emits 'error' (ioredis does on every failed reconnect; BullMQ turns that
 *   into Worker 'error' events, which crash a process without a listener).
 * - Fire-and-forget: every promise the view returns is marked handled, so an un-awaited
 *   `publish` during an outage cannot crash a default Node process; callers that await still
 *   get the typed error. With `offlineQueue: true` a call that finds the pool unavailable
 *   waits for it to recover, up to its deadline (`commandTimeoutMs`), then runs once.
 */
import { EventEmitter } from 'node:events';
import commands from '@ioredis/commands';
import type { Redis } from 'ioredis';
import { blockTimeMs } from '../commands/command-table.js';
import { kDispatch } from '../commands/surface.js';
import { ConfigError, ConnectionError, LeaseRequiredError, RedpoolError } from '../errors.js';
import type { Pool } from '../pool/pool.js';
import type { Subscriber, SubscriberEvents } from '../pool/subscriber.js';
import { CONNECTION_CLOSED, coerce, ioredisError, settle, splitCallback } from './coerce.js';
import { IoredisBatch, type BatchContext } from './ioredis-batch.js';
import { scanStream, type ScanStreamOptions } from './scan-stream.js';
import { runScript, scriptArgs, scriptCache, scriptDef, type ScriptCache, type ScriptDef } from './scripts.js';
import { requireSingleNode } from './single-node.js';

/** Options of {@link asIoredis}. */
export interface AsIoredisOptions {
  /** Prefix added to every key (ioredis's `keyPrefix`). BullMQ refuses views with one. @default '' */
  keyPrefix?: string;
  /**
   * Hold calls that find the pool unavailable until it recovers, up to the command deadline
   * (`commandTimeoutMs`), like ioredis's offline queue; then run them once. @default false
   */
  offlineQueue?: boolean;
  /** Shown as `options.connectionName` (the pool's connections keep their own names). */
  connectionName?: string;
}

/** ioredis statuses a view goes through. */
export type ViewStatus = 'ready' | 'reconnecting' | 'end';

/**
 * What {@link asIoredis} returns: typed as an ioredis 6 client (so libraries typed against
 * ioredis accept it), plus the pool it views. `duplicate()` returns another view (typed `Redis`).
 * Not implemented at runtime: `monitor`, Cluster-only members, `stream`/`condition` internals.
 */
export type IoredisView = Redis & {
  /** The pool behind this view. */
  readonly pool: Pool;
  /** node_redis 3 / ioredis 4 spelling of `call` (socket.io's adapter uses it); a trailing callback is honoured. */
  send_command(command: string, ...args: unknown[]): Promise<unknown>;
};

const SUB_COMMANDS = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe']);
/** Commands the view answers or routes itself (never the plain fast path). */
const SLOW = new Set([...SUB_COMMANDS, 'client', 'select', 'quit']);
const noop = (): void => undefined;
const rethrow = (err: unknown): never => {
  throw ioredisError(err);
};
const SUB_EVENTS = ['message', 'messageBuffer', 'pmessage', 'pmessageBuffer', 'smessage', 'smessageBuffer'] as const;

const kHealth = Symbol('redpool.compat.health');

/** One 'health' and one 'pool:closed' listener per pool, whatever the number of views (no listener-count warnings). */
interface Hub {
  readonly views: Set<IoredisViewImpl>;
  /** Calls held by `offlineQueue`, woken when the pool is available again. */
  readonly held: Set<() => void>;
}
const hubs = new WeakMap<Pool, Hub>();
function hubOf(pool: Pool): Hub {
  let hub = hubs.get(pool);
  if (!hub) {
    const h: Hub = { views: new Set(), held: new Set() };
    pool.on('health', (e) => {
      for (const v of [...h.views]) v[kHealth](e.to);
      if (e.to !== 'unavailable') for (const wake of [...h.held]) wake();
    });
    pool.on('pool:closed', () => {
      for (const v of [...h.views]) v.disconnect();
    });
    hubs.set(pool, h);
    hub = h;
  }
  return hub;
}

/** Backing class of {@link asIoredis}. */
export class IoredisViewImpl extends EventEmitter {
  readonly pool: Pool;
  readonly #opts: AsIoredisOptions;
  readonly #cache: ScriptCache;
  /** Scripts defined on this view (ioredis keeps them per client). */
  readonly #scripts = new Map<string, ScriptDef>();
  readonly #leases = new Set<{ destroy(): void }>();
  #subscriber: Subscriber | undefined;
  #status: ViewStatus = 'ready';
  readonly #hub: Hub;
  readonly isCluster = false;
  /** ioredis options as libraries read them (no credentials). */
  readonly options: Record<string, unknown>;
  readonly #batchCtx: BatchContext;
  /** Neither keyPrefix nor offlineQueue: the fast path applies. */
  readonly #plain: boolean;

  constructor(pool: Pool, opts: AsIoredisOptions = {}) {
    super();
    requireSingleNode(pool, 'asIoredis');
    if (opts.keyPrefix !== undefined && typeof opts.keyPrefix !== 'string')
      throw new ConfigError('asIoredis.keyPrefix', 'must be a string');
    this.pool = pool;
    this.#opts = opts;
    this.#cache = scriptCache(pool);
    this.#plain = !opts.keyPrefix && opts.offlineQueue !== true;
    const o = pool.options;
    this.options = {
      host: o.host,
      port: o.port,
      ...(o.path ? { path: o.path } : {}),
      db: o.db,
      keyPrefix: opts.keyPrefix ?? '',
      connectionName: opts.connectionName,
      maxRetriesPerRequest: null,
      enableOfflineQueue: opts.offlineQueue === true,
      enableReadyCheck: true,
      lazyConnect: false,
      commandTimeout: Number.isFinite(o.commandTimeoutMs) ? o.commandTimeoutMs : undefined,
    };
    this.#batchCtx = { pool, scripts: this.#scripts, cache: this.#cache, prefix: (n, a) => this.#prefix(n, a), check: () => this.#ended() };
    this.#hub = hubOf(pool);
    this.#hub.views.add(this);
    if (pool.state !== 'open' || pool.stats().health === 'unavailable') this.#status = pool.state === 'open' ? 'reconnecting' : 'end';
  }

  /** ioredis status: 'ready', 'reconnecting' (pool unavailable) or 'end' (view ended or pool closed). */
  get status(): ViewStatus {
    if (this.#status !== 'end' && this.pool.state !== 'open') this.#end();
    return this.#status;
  }

  /** Libraries (BullMQ) write 'end' after quit(); the view honours it and ignores other values. */
  set status(value: string) {
    if (value === 'end') this.#end();
  }

  // ---------------------------------------------------------------- lifecycle

  /** @internal Pool health moved (from the per-pool hub). */
  [kHealth](to: string): void {
    if (this.#status === 'end') return;
    if (to === 'unavailable' && this.#status === 'ready') {
      this.#status = 'reconnecting';
      this.emit('close');
      this.emit('reconnecting', 0);
    } else if (to !== 'unavailable' && this.#status === 'reconnecting') {
      this.#status = 'ready';
      this.emit('connect');
      this.emit('ready');
    }
  }

  #end(): void {
    if (this.#status === 'end') return;
    this.#status = 'end';
    this.#hub.views.delete(this);
    for (const l of this.#leases) l.destroy(); // aborts blocking calls, as a closed socket would
    this.#leases.clear();
    void this.#subscriber?.close();
    this.#subscriber = undefined;
    queueMicrotask(() => {
      this.emit('close');
      this.emit('end');
    });
  }

  #ended(): Error | undefined {
    return this.status === 'end' ? new ConnectionError(CONNECTION_CLOSED, 'not-sent') : undefined;
  }

  /** Starts (or restarts) the view; opens nothing. Resolves at once. */
  connect(cb?: (err: Error | null) => void): Promise<void> {
    if (this.#status === 'end' && this.pool.state === 'open') {
      this.#status = this.pool.stats().health === 'unavailable' ? 'reconnecting' : 'ready';
      this.#hub.views.add(this);
      queueMicrotask(() => {
        this.emit('connect');
        if (this.#status === 'ready') this.emit('ready');
      });
    }
    return settle(Promise.resolve(), cb as never);
  }

  /** Ends the view (its blocking calls and subscriptions too); the pool stays open. */
  disconnect(_reconnect?: boolean): void {
    this.#end();
  }

  /** Ends the view like {@link disconnect}; resolves 'OK'. */
  quit(cb?: (err: Error | null, res?: string) => void): Promise<'OK'> {
    this.#end();
    return settle(Promise.resolve('OK' as const), cb as never);
  }

  /** Another view of the same pool with the same options (plus `override`). */
  duplicate(override?: AsIoredisOptions): IoredisView {
    return new IoredisViewImpl(this.pool, { ...this.#opts, ...override }) as unknown as IoredisView;
  }

  // ---------------------------------------------------------------- commands

  #prefix(name: string, args: unknown[]): unknown[] {
    const p = this.#opts.keyPrefix;
    if (!p) return args;
    let idx: number[];
    try {
      idx = commands.getKeyIndexes(name, args as string[]);
    } catch {
      return args;
    }
    if (idx.length === 0) return args;
    const out = args.slice();
    for (const i of idx) {
      const k = out[i];
      out[i] = Buffer.isBuffer(k) ? Buffer.concat([Buffer.from(p), k]) : `${p}${String(k)}`;
    }
    return out;
  }

  /** Every command method funnels here (see the bottom of the file). */
  [kDispatch](name: string, raw: unknown[], buffer: boolean): Promise<unknown> {
    // Fast path (no callback, no prefix, no offline queue, not a script/sub/blocking command):
    // two promises over the pool's own call, which keeps the view's cost per command small.
    if (
      this.#plain &&
      this.#status === 'ready' &&
      typeof raw[raw.length - 1] !== 'function' &&
      !SLOW.has(name) &&
      !this.#scripts.has(name)
    ) {
      const args = coerce(name, raw);
      if (blockTimeMs(name, args) === undefined) {
        const p = this.pool[kDispatch](name, args, buffer).then(undefined, rethrow);
        p.catch(noop);
        return p;
      }
      return this.#slow(name, args, buffer);
    }
    return this.#slow(name, raw, buffer);
  }

  #slow(name: string, raw: unknown[], buffer: boolean): Promise<unknown> {
    const cb = splitCallback(raw);
    return settle(this.#run(name, raw, buffer), cb);
  }

  async #run(name: string, raw: unknown[], buffer: boolean): Promise<unknown> {
    const ended = this.#ended();
    if (ended) throw ended;
    const args = coerce(name, raw);
    if (SUB_COMMANDS.has(name)) return this.#sub(name as keyof Subscriber & string, args);
    const local = this.#local(name, args);
    if (local !== undefined) return local;
    const sent = this.#prefix(name, args);
    const started = Date.now();
    for (;;) {
      try {
        return await this.#send(name, sent, buffer);
      } catch (err) {
        if (await this.#held(err, started)) continue;
        throw ioredisError(err);
      }
    }
  }

  /** With `offlineQueue`: waits for the pool to recover within the deadline; true to try again. */
  async #held(err: unknown, started: number): Promise<boolean> {
    if (!this.#opts.offlineQueue || (err as RedpoolError).code !== 'ERR_UNAVAILABLE') return false;
    const left = this.pool.options.commandTimeoutMs - (Date.now() - started);
    if (!(left > 0) || this.#status === 'end') return false;
    if (this.pool.stats().health !== 'unavailable') return true;
    const held = this.#hub.held;
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        held.delete(wake);
        resolve(ok);
      };
      const wake = (): void => done(true);
      const timer = setTimeout(() => done(false), Math.min(left, 2 ** 31 - 1));
      held.add(wake);
    });
  }

  /** Answers that need no round trip (or that the view must keep to itself). */
  #local(name: string, args: unknown[]): unknown {
    switch (name) {
      case 'client': {
        const sub = String(args[0] ?? '').toLowerCase();
        // Naming a shared lane would rename it for everyone: the view keeps the name to itself.
        if (sub === 'setname') {
          this.options.connectionName = String(args[1] ?? '');
          return 'OK';
        }
        if (sub === 'getname') return this.options.connectionName ?? null;
        if (sub === 'setinfo') return 'OK';
        return undefined;
      }
      case 'select':
        if (Number(args[0]) === this.pool.options.db) return 'OK';
        throw new LeaseRequiredError('SELECT');
      case 'quit':
        this.#end();
        return 'OK';
      default:
        return undefined;
    }
  }

  #send(name: string, args: unknown[], buffer: boolean): Promise<unknown> {
    const script = this.#scripts.get(name);
    if (script) return runScript((n, a, b) => this.#send(n, this.#prefix(n, a), b), this.#cache, script, scriptArgs(script, args), buffer);
    if (blockTimeMs(name, args) !== undefined) return this.#blocking(name, args, buffer);
    return this.pool[kDispatch](name, args, buffer);
  }

  /** A blocking command on a lease this view holds for the call (aborted by disconnect()). */
  async #blocking(name: string, args: unknown[], buffer: boolean): Promise<unknown> {
    const lease = await this.pool.acquire();
    if (this.#status === 'end') {
      lease.release();
      throw new ConnectionError(CONNECTION_CLOSED, 'not-sent');
    }
    this.#leases.add(lease);
    try {
      return await lease[kDispatch](name, args, buffer);
    } finally {
      this.#leases.delete(lease);
      if (!lease.released) lease.release();
    }
  }

  async #sub(name: string, args: unknown[]): Promise<number> {
    let sub = this.#subscriber;
    if (!sub) {
      if (name.includes('unsubscribe')) return 0;
      sub = this.#subscriber = this.pool.subscriber();
      for (const ev of SUB_EVENTS) sub.on(ev, (...a: SubscriberEvents[typeof ev]) => this.emit(ev, ...a));
    }
    try {
      return await (sub[name as 'subscribe'] as (...n: unknown[]) => Promise<number>).apply(
        sub,
        args.map((a) => (Buffer.isBuffer(a) ? a : String(a))),
      );
    } catch (err) {
      throw ioredisError(err);
    }
  }

  /** ioredis's generic command call: `call('GET', 'k')` or `call('GET', ['k'])`. */
  call(command: string, ...args: unknown[]): Promise<unknown> {
    return this[kDispatch](
      String(command).toLowerCase(),
      args.length === 1 && Array.isArray(args[0]) ? [...(args[0] as unknown[])] : args,
      false,
    );
  }

  /** {@link call} with Buffer replies. */
  callBuffer(command: string, ...args: unknown[]): Promise<unknown> {
    return this[kDispatch](
      String(command).toLowerCase(),
      args.length === 1 && Array.isArray(args[0]) ? [...(args[0] as unknown[])] : args,
      true,
    );
  }

  /** node_redis 3 / ioredis 4 spelling of {@link call} (socket.io's adapter uses it). */
  send_command(command: string, ...args: unknown[]): Promise<unknown> {
    return this.call(command, ...args);
  }

  /**
   * ioredis's `sendCommand(command)` takes a Command object; given a `{ name, args }` object
   * (or an array `[name, ...args]`) the view runs it the same way.
   */
  sendCommand(command: { name: string; args?: unknown[] } | unknown[]): Promise<unknown> {
    if (Array.isArray(command)) return this.call(String(command[0]), ...command.slice(1));
    return this.call(command.name, ...(command.args ?? []));
  }

  /**
   * Registers a Lua script as a command (also on `multi()`/`pipeline()`): EVALSHA, EVAL on
   * NOSCRIPT. The script cache is the pool's, shared by every view.
   */
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number; readOnly?: boolean }): void {
    const def = scriptDef(name, definition);
    this.#scripts.set(name, def);
    const run =
      (buffer: boolean) =>
      (...args: unknown[]): Promise<unknown> =>
        this[kDispatch](name, args, buffer);
    Object.defineProperty(this, name, { value: run(false), configurable: true, writable: true, enumerable: false });
    Object.defineProperty(this, `${name}Buffer`, { value: run(true), configurable: true, writable: true, enumerable: false });
  }

  /** A MULTI/EXEC transaction on one lane (commands may also be given up front). */
  multi(commands?: unknown[][] | { pipeline?: boolean }): IoredisBatch {
    return new IoredisBatch(this.#batchCtx, true, Array.isArray(commands) ? commands : undefined);
  }

  /** A pipeline written in one go on one lane. */
  pipeline(commands?: unknown[][]): IoredisBatch {
    return new IoredisBatch(this.#batchCtx, false, commands);
  }

  #scanExec = (name: string, args: unknown[]): Promise<unknown> => this[kDispatch](name, args, false);

  /** Readable of key batches (SCAN). */
  scanStream(opts?: ScanStreamOptions): ReturnType<typeof scanStream> {
    return scanStream(this.#scanExec, 'scan', undefined, opts);
  }

  /** Readable of field/value batches (HSCAN). */
  hscanStream(key: string, opts?: ScanStreamOptions): ReturnType<typeof scanStream> {
    return scanStream(this.#scanExec, 'hscan', key, opts);
  }

  /** Readable of member batches (SSCAN). */
  sscanStream(key: string, opts?: ScanStreamOptions): ReturnType<typeof scanStream> {
    return scanStream(this.#scanExec, 'sscan', key, opts);
  }

  /** Readable of member/score batches (ZSCAN). */
  zscanStream(key: string, opts?: ScanStreamOptions): ReturnType<typeof scanStream> {
    return scanStream(this.#scanExec, 'zscan', key, opts);
  }
}

// Every ioredis command (and its …Buffer twin) funnels into [kDispatch].
for (const name of commands.list) {
  if (name === 'monitor' || Object.prototype.hasOwnProperty.call(IoredisViewImpl.prototype, name)) continue;
  for (const [key, buffer] of [
    [name, false],
    [`${name}Buffer`, true],
  ] as const) {
    if (Object.prototype.hasOwnProperty.call(IoredisViewImpl.prototype, key)) continue;
    Object.defineProperty(IoredisViewImpl.prototype, key, {
      value: function (this: IoredisViewImpl, ...args: unknown[]) {
        return this[kDispatch](name, args, buffer);
      },
      writable: true,
      configurable: true,
    });
  }
}

/**
 * An ioredis-shaped view of `pool` for libraries that take an ioredis client. Owns no
 * connection; `duplicate()` makes another view. See docs/ecosystem.md.
 * @example
 * const queue = new Queue('mail', { connection: asIoredis(pool) });
 */
export function asIoredis(pool: Pool, options?: AsIoredisOptions): IoredisView {
  return new IoredisViewImpl(pool, options) as unknown as IoredisView;
}
