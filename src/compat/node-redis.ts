/**
 * `asNodeRedis(pool)`: the node-redis 5 client shape (connect-redis, @keyv/redis, …) as a thin
 * view that owns no connection. camelCase commands with node-redis argument and reply shapes
 * (node-redis-commands.ts), `sendCommand([...])`, `multi().exec()` with bare replies,
 * `scanIterator`, `isOpen`/`isReady`, `subscribe(channel, listener)` on `pool.subscriber()`.
 * `connect()`/`quit()`/`close()`/`destroy()` start and end the view, never the pool. Like the
 * ioredis view, it never emits 'error' and marks its promises handled (docs/ecosystem.md).
 */
import { EventEmitter } from 'node:events';
import commands from '@ioredis/commands';
import type { RedisClientType } from 'redis';
import { blockTimeMs } from '../commands/command-table.js';
import { kDispatch } from '../commands/surface.js';
import { ConnectionError, ReplyError } from '../errors.js';
import type { Pool } from '../pool/pool.js';
import type { Subscriber } from '../pool/subscriber.js';
import { settle } from './coerce.js';
import { NODE_REDIS_COMMANDS, type NodeRedisCommand } from './node-redis-commands.js';
import { requireSingleNode } from './single-node.js';

/** What {@link asNodeRedis} returns: typed as a node-redis 5 client, plus the pool it views. */
export type NodeRedisView = RedisClientType & { readonly pool: Pool };

/** A node-redis pub/sub listener: `(message, channel)`. */
export type NodeRedisListener = (message: string, channel: string) => void;
type Listener = NodeRedisListener;

function plain(name: string): NodeRedisCommand {
  return { command: name, args: (a) => a.flat(Infinity) };
}

/** Shapes by lower-case name, so `SET`/`set`/`mget` take the shape of `set`/`mGet`. */
const BY_LOWER = new Map(Object.entries(NODE_REDIS_COMMANDS).map(([k, v]) => [k.toLowerCase(), v]));

function shape(name: string): NodeRedisCommand {
  return BY_LOWER.get(name.toLowerCase()) ?? plain(name.toLowerCase());
}

/** node-redis's `multi()`: chainable, `exec()` resolves with bare replies, throws on any error reply. */
export class NodeRedisMulti {
  readonly #view: NodeRedisViewImpl;
  readonly #cmds: Array<{ name: string; args: unknown[]; reply: ((r: unknown) => unknown) | undefined }> = [];

  constructor(view: NodeRedisViewImpl) {
    this.#view = view;
  }

  /** Queues raw words, like node-redis's `addCommand`. */
  addCommand(args: unknown[]): this {
    this.#cmds.push({ name: String(args[0]).toLowerCase(), args: args.slice(1), reply: undefined });
    return this;
  }

  /** @internal */
  add(c: NodeRedisCommand, args: unknown[]): this {
    this.#cmds.push({ name: c.command, args: c.args ? c.args(args) : args, reply: c.reply });
    return this;
  }

  /** MULTI/EXEC on one lane; bare replies; a failed command rejects with its error (`replies` attached). */
  exec(): Promise<unknown[]> {
    return settle(this.#run(true), undefined);
  }

  /** The same commands as a pipeline (not atomic). */
  execAsPipeline(): Promise<unknown[]> {
    return settle(this.#run(false), undefined);
  }

  async #run(atomic: boolean): Promise<unknown[]> {
    const ended = this.#view.ended();
    if (ended) throw ended;
    const pool = this.#view.pool;
    const batch = atomic ? pool.multi() : pool.pipeline();
    for (const c of this.#cmds) batch[kDispatch](c.name, c.args, false);
    const res = await batch.exec();
    if (res === null) throw new ReplyError('EXECABORT Transaction discarded because a WATCHed key changed', 'EXEC');
    const replies = res.map(([, v], i) => (this.#cmds[i]!.reply ? this.#cmds[i]!.reply!(v) : v));
    const failed = res.findIndex(([err]) => err !== null);
    if (failed >= 0) throw Object.assign(res[failed]![0]!, { replies, errorIndexes: res.flatMap(([e], i) => (e ? [i] : [])) });
    return replies;
  }
}

/** Backing class of {@link asNodeRedis}. */
export class NodeRedisViewImpl extends EventEmitter {
  readonly pool: Pool;
  #open = true;
  #subscriber: Subscriber | undefined;
  readonly #listeners = new Map<string, Set<Listener>>();
  /** node-redis client options as libraries read them (no credentials). */
  readonly options: { url: string; database: number };

  constructor(pool: Pool) {
    super();
    requireSingleNode(pool, 'asNodeRedis');
    this.pool = pool;
    const o = pool.options;
    this.options = { url: o.path ? `redis+unix://${o.path}` : `redis://${o.host}:${o.port}/${o.db}`, database: o.db };
  }

  /** True until quit()/close()/destroy() (or the pool closing). */
  get isOpen(): boolean {
    return this.#open && this.pool.state === 'open';
  }

  /** Open and the pool not failing fast. */
  get isReady(): boolean {
    return this.isOpen && this.pool.stats().health !== 'unavailable';
  }

  /** @internal A ClientClosed-style error once the view has ended. */
  ended(): Error | undefined {
    return this.isOpen ? undefined : new ConnectionError('The client is closed', 'not-sent');
  }

  /** Starts (or restarts) the view; opens nothing. Resolves with the view. */
  async connect(): Promise<this> {
    if (!this.#open && this.pool.state === 'open') this.#open = true;
    return this;
  }

  #end(): void {
    if (!this.#open) return;
    this.#open = false;
    void this.#subscriber?.close();
    this.#subscriber = undefined;
    this.#listeners.clear();
    queueMicrotask(() => this.emit('end'));
  }

  /** Ends the view; the pool stays open. */
  async quit(): Promise<'OK'> {
    this.#end();
    return 'OK';
  }

  /** node-redis 5 spelling of {@link quit}. */
  async close(): Promise<void> {
    this.#end();
  }

  /** Ends the view at once (same as {@link close}: the view holds nothing). */
  destroy(): void {
    this.#end();
  }

  /** node-redis 4 spelling of {@link destroy}. */
  async disconnect(): Promise<void> {
    this.#end();
  }

  /** Another view of the same pool. */
  duplicate(): NodeRedisView {
    return new NodeRedisViewImpl(this.pool) as unknown as NodeRedisView;
  }

  /** @internal Runs a command with node-redis shapes. */
  run(c: NodeRedisCommand, args: unknown[]): Promise<unknown> {
    return settle(this.#run(c, args), undefined);
  }

  async #run(c: NodeRedisCommand, raw: unknown[]): Promise<unknown> {
    const ended = this.ended();
    if (ended) throw ended;
    const args = c.args ? c.args(raw) : raw;
    let reply: unknown;
    if (blockTimeMs(c.command, args) !== undefined) {
      const lease = await this.pool.acquire();
      try {
        reply = await lease[kDispatch](c.command, args, false);
      } finally {
        lease.release();
      }
    } else reply = await this.pool[kDispatch](c.command, args, false);
    return c.reply ? c.reply(reply) : reply;
  }

  /** Any command as words: `sendCommand(['SET', 'k', 'v'])`. */
  sendCommand(args: unknown[]): Promise<unknown> {
    const [name, ...rest] = args;
    return this.run({ command: String(name).toLowerCase() }, rest);
  }

  /** A MULTI/EXEC transaction; `exec()` resolves with bare replies. */
  multi(): NodeRedisMulti {
    return new NodeRedisMulti(this);
  }

  /** Commands written in one go, not atomic (`exec()` runs them as a pipeline). */
  pipeline(): NodeRedisMulti {
    const m = new NodeRedisMulti(this);
    m.exec = m.execAsPipeline.bind(m);
    return m;
  }

  /** node-redis 5 `scanIterator({ MATCH, COUNT, TYPE })`: yields arrays of keys until the cursor is 0. */
  async *scanIterator(opts?: { MATCH?: string; COUNT?: number; TYPE?: string; cursor?: string }): AsyncGenerator<string[]> {
    let cursor = opts?.cursor ?? '0';
    do {
      const r = (await this.run(NODE_REDIS_COMMANDS.scan!, [cursor, opts])) as { cursor: string; keys: string[] };
      cursor = r.cursor;
      if (r.keys.length > 0) yield r.keys;
    } while (cursor !== '0');
  }

  #sub(): Subscriber {
    if (this.#subscriber) return this.#subscriber;
    const sub = this.pool.subscriber();
    const deliver = (key: string, message: string, channel: string): void => {
      for (const l of this.#listeners.get(key) ?? []) l(message, channel);
    };
    sub.on('message', (channel, message) => deliver(`c:${channel}`, message, channel));
    sub.on('pmessage', (pattern, channel, message) => deliver(`p:${pattern}`, message, channel));
    sub.on('smessage', (channel, message) => deliver(`s:${channel}`, message, channel));
    this.#subscriber = sub;
    return sub;
  }

  async #listen(kind: 'c' | 'p' | 's', names: string | string[], listener: Listener): Promise<void> {
    const ended = this.ended();
    if (ended) throw ended;
    const list = Array.isArray(names) ? names : [names];
    for (const n of list) {
      const key = `${kind}:${n}`;
      let set = this.#listeners.get(key);
      if (!set) this.#listeners.set(key, (set = new Set()));
      set.add(listener);
    }
    const sub = this.#sub();
    await (kind === 'c' ? sub.subscribe(...list) : kind === 'p' ? sub.psubscribe(...list) : sub.ssubscribe(...list));
  }

  async #unlisten(kind: 'c' | 'p' | 's', names: string | string[] | undefined, listener: Listener | undefined): Promise<void> {
    const sub = this.#subscriber;
    if (!sub) return;
    const all = [...this.#listeners.keys()].filter((k) => k.startsWith(`${kind}:`)).map((k) => k.slice(2));
    const list = names === undefined ? all : Array.isArray(names) ? names : [names];
    const gone: string[] = [];
    for (const n of list) {
      const set = this.#listeners.get(`${kind}:${n}`);
      if (listener && set) set.delete(listener);
      if (!listener || !set || set.size === 0) {
        this.#listeners.delete(`${kind}:${n}`);
        gone.push(n);
      }
    }
    if (gone.length === 0) return;
    await (kind === 'c' ? sub.unsubscribe(...gone) : kind === 'p' ? sub.punsubscribe(...gone) : sub.sunsubscribe(...gone));
  }

  /** `subscribe(channel(s), (message, channel) => …)` on this view's `pool.subscriber()`. */
  subscribe(channels: string | string[], listener: Listener): Promise<void> {
    return settle(this.#listen('c', channels, listener), undefined);
  }

  /** Removes `listener` (or every listener) of the channels (all when none given). */
  unsubscribe(channels?: string | string[], listener?: Listener): Promise<void> {
    return settle(this.#unlisten('c', channels, listener), undefined);
  }

  /** Pattern subscription: `pSubscribe('news.*', (message, channel) => …)`. */
  pSubscribe(patterns: string | string[], listener: Listener): Promise<void> {
    return settle(this.#listen('p', patterns, listener), undefined);
  }

  /** Removes pattern subscriptions. */
  pUnsubscribe(patterns?: string | string[], listener?: Listener): Promise<void> {
    return settle(this.#unlisten('p', patterns, listener), undefined);
  }

  /** Shard-channel subscription (Redis 7). */
  sSubscribe(channels: string | string[], listener: Listener): Promise<void> {
    return settle(this.#listen('s', channels, listener), undefined);
  }

  /** Removes shard-channel subscriptions. */
  sUnsubscribe(channels?: string | string[], listener?: Listener): Promise<void> {
    return settle(this.#unlisten('s', channels, listener), undefined);
  }
}

const HAND_WRITTEN = new Set(Object.getOwnPropertyNames(NodeRedisViewImpl.prototype));
function install(name: string, c: NodeRedisCommand): void {
  if (HAND_WRITTEN.has(name)) return;
  if (!Object.prototype.hasOwnProperty.call(NodeRedisViewImpl.prototype, name))
    Object.defineProperty(NodeRedisViewImpl.prototype, name, {
      value: function (this: NodeRedisViewImpl, ...args: unknown[]) {
        return this.run(c, args);
      },
      writable: true,
      configurable: true,
    });
  if (!Object.prototype.hasOwnProperty.call(NodeRedisMulti.prototype, name))
    Object.defineProperty(NodeRedisMulti.prototype, name, {
      value: function (this: NodeRedisMulti, ...args: unknown[]) {
        return this.add(c, args);
      },
      writable: true,
      configurable: true,
    });
}
for (const [name, c] of Object.entries(NODE_REDIS_COMMANDS)) install(name, c);
for (const name of commands.list) {
  if (name === 'monitor' || name === 'multi' || name === 'exec' || name === 'quit') continue;
  install(name, shape(name));
  install(name.toUpperCase(), shape(name));
}

/**
 * A node-redis-5-shaped view of `pool` for libraries that take a node-redis client. Owns no
 * connection; `duplicate()` makes another view. See docs/ecosystem.md.
 * @example
 * app.use(session({ store: new RedisStore({ client: asNodeRedis(pool) }), secret, resave: false, saveUninitialized: false }));
 */
export function asNodeRedis(pool: Pool): NodeRedisView {
  return new NodeRedisViewImpl(pool) as unknown as NodeRedisView;
}
