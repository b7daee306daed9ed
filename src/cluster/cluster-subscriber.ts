/**
 * `clusterPool.subscriber()`: pub/sub across a cluster, built from per-node subscribers (each a
 * pinned lease of its node's pool, so `max` per node and `maxTotal` hold as for every lease).
 *
 * - Shard channels (`ssubscribe`, Redis 7): each is routed by its slot to the slot's primary,
 *   over one subscriber connection per node that holds subscriptions (closed when its last one
 *   goes; the classic ones share it on their node). They follow slot moves: a `MOVED` answer to SSUBSCRIBE patches the map and is
 *   followed (bounded by `maxRedirections`, inside `connectTimeoutMs`); a `sunsubscribe` the
 *   server pushes when a slot migrates away makes the node's channels be re-sent after a topology
 *   refresh (held ones are re-subscribed in place, moved ones answer MOVED and go to the new
 *   owner); a node that leaves the map (its pool retires, closing its subscriber) has its channels
 *   re-routed; and a periodic reconcile (on the pool clock) re-routes any channel whose owner in
 *   the current map is not where it is subscribed, and retries the ones that could not be placed.
 * - Classic channels and patterns (`subscribe`/`psubscribe`): on one primary (cluster PUBLISH
 *   reaches every node; one that already has a subscriber connection is preferred), re-homed on
 *   another when that node leaves the map.
 *
 * Messages published while a subscription moves are lost, as across any reconnect; 'disconnect'
 * and 'connect' (with the node) say when. It never emits 'error'.
 */
import { EventEmitter } from 'node:events';
import { ArgumentError, PoolClosedError, RedpoolError, ReplyError, UnavailableError } from '../errors.js';
import type { TimerHandle } from '../internal/clock.js';
import type { ResolvedOptions } from '../options.js';
import { kResubscribe, kShardDropped, type Subscriber } from '../pool/subscriber.js';
import { subscriptionNames } from '../pool/subscriber-setup.js';
import type { SubscriberOptions } from '../pool/subscriber-types.js';
import { groupBySlot, keySlot } from '../topology/cluster/keys.js';
import { parseRedirect } from '../topology/cluster/redirect.js';
import type { ClusterSubscriberEvents, SubscriberNode } from './cluster-subscriber-types.js';
import type { ClusterNodes, NodeEntry } from './nodes.js';

export type { ClusterSubscriberEvents, SubscriberNode } from './cluster-subscriber-types.js';

/** A node's subscriber (its shard channels, and the classic ones when it is their home) and the node. */
interface NodeSub {
  readonly entry: NodeEntry;
  readonly sub: Subscriber;
  /** Set before the cluster subscriber closes it itself: its 'close' is then no loss. */
  retired: boolean;
}

/** Pub/sub on a cluster pool. Create with `clusterPool.subscriber()`. See the module comment. */
export class ClusterSubscriber extends EventEmitter<ClusterSubscriberEvents> {
  readonly #nodes: ClusterNodes;
  readonly #o: ResolvedOptions;
  readonly #opts: SubscriberOptions | undefined;
  readonly #timeoutMs: number;
  readonly #onClose: (s: ClusterSubscriber) => void;
  readonly #channels = new Set<string>();
  readonly #patterns = new Set<string>();
  /** Shard channels wanted, and the node id each is subscribed on (absent: not placed yet). */
  readonly #wanted = new Map<string, string | undefined>();
  /** The node each shard channel was last placed on (kept while unplaced), for 'shard:moved'. */
  readonly #last = new Map<string, string>();
  readonly #subs = new Map<string, NodeSub>();
  /** The home of the classic channels and patterns (one of #subs). */
  #classic: NodeSub | undefined;
  #closed = false;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: TimerHandle | undefined;
  #epoch = -1;

  /** @internal Use `clusterPool.subscriber()`. */
  constructor(nodes: ClusterNodes, o: ResolvedOptions, opts: SubscriberOptions | undefined, onClose: (s: ClusterSubscriber) => void) {
    super();
    if (opts?.tracking !== undefined)
      throw new ArgumentError('SUBSCRIBER', 0, 'tracking is per node: a cluster subscriber does not take it (use a node pool subscriber)');
    this.#nodes = nodes;
    this.#o = o;
    this.#opts = opts;
    this.#timeoutMs = opts?.connectTimeoutMs ?? o.acquireTimeoutMs;
    this.#onClose = onClose;
    this.#arm();
  }

  /** Channels subscribed with {@link subscribe}. */
  get channels(): ReadonlySet<string> {
    return this.#channels;
  }

  /** Patterns subscribed with {@link psubscribe}. */
  get patterns(): ReadonlySet<string> {
    return this.#patterns;
  }

  /** Shard channels subscribed with {@link ssubscribe} (placed or waiting for an owner). */
  get shardChannels(): ReadonlySet<string> {
    return new Set(this.#wanted.keys());
  }

  /** Subscriptions of every kind. */
  get count(): number {
    return this.#channels.size + this.#patterns.size + this.#wanted.size;
  }

  /** Node id → the shard channels subscribed there now (for diagnostics and tests). */
  placement(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [ch, node] of this.#wanted) if (node !== undefined) (out[node] ??= []).push(ch);
    return out;
  }

  /** The node the classic channels and patterns are on, if any. */
  get classicNode(): string | undefined {
    return this.#classic?.entry.id;
  }

  /** Subscribes to channels on one primary (PUBLISH reaches every node); resolves with {@link count}. */
  subscribe(...channels: Array<string | Buffer>): Promise<number> {
    return this.#classicAdd('subscribe', channels);
  }

  /** Subscribes to patterns on one primary (see {@link subscribe}). */
  psubscribe(...patterns: Array<string | Buffer>): Promise<number> {
    return this.#classicAdd('psubscribe', patterns);
  }

  /** Unsubscribes from channels (all when none are named). */
  unsubscribe(...channels: Array<string | Buffer>): Promise<number> {
    return this.#classicRemove('subscribe', channels);
  }

  /** Unsubscribes from patterns (all when none are named). */
  punsubscribe(...patterns: Array<string | Buffer>): Promise<number> {
    return this.#classicRemove('psubscribe', patterns);
  }

  /**
   * Subscribes to shard channels, each on the primary of its slot (channels of several slots and
   * nodes may be named together). Rejects when a slot has no reachable primary within
   * `connectTimeoutMs` or the server refuses; the channels placed before stay subscribed.
   */
  ssubscribe(...channels: Array<string | Buffer>): Promise<number> {
    let names: string[];
    try {
      if (this.#closed) throw new PoolClosedError('subscriber is closed');
      names = subscriptionNames('ssubscribe', channels);
      if (names.length === 0) throw new ArgumentError('SSUBSCRIBE', 0, 'needs at least one name');
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#serial(async () => {
      const fresh = [...new Set(names)].filter((n) => this.#wanted.get(n) === undefined);
      const deadline = this.#o.clock.now() + this.#timeoutMs;
      for (const group of groupBySlot(fresh)) await this.#place(group, deadline, false);
      return this.count;
    });
  }

  /** Unsubscribes from shard channels (all when none are named); a node left with none lets go of its connection. */
  sunsubscribe(...channels: Array<string | Buffer>): Promise<number> {
    let names: string[];
    try {
      names = subscriptionNames('ssubscribe', channels);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#serial(async () => {
      const gone = names.length === 0 ? [...this.#wanted.keys()] : names.filter((n) => this.#wanted.has(n));
      const byNode = new Map<string, string[]>();
      for (const ch of gone) {
        const node = this.#wanted.get(ch);
        this.#wanted.delete(ch);
        this.#last.delete(ch);
        if (node !== undefined) (byNode.get(node) ?? byNode.set(node, []).get(node)!).push(ch);
      }
      for (const [node, list] of byNode) await this.#unplace(node, list);
      return this.count;
    });
  }

  /** Closes every node subscriber (their leases are destroyed) and forgets every subscription. Idempotent. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const subs = [...this.#subs.values()];
    this.#subs.clear();
    this.#classic = undefined;
    this.#wanted.clear();
    this.#last.clear();
    this.#channels.clear();
    this.#patterns.clear();
    this.#onClose(this);
    const closing = subs.map((s) => {
      s.retired = true;
      return s.sub.close();
    });
    this.emit('close');
    return Promise.all([this.#queue.catch(() => undefined), ...closing]).then(() => undefined);
  }

  // ------------------------------------------------------------------ internals

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #isClosed(): boolean {
    return this.#closed;
  }

  /** The subscriber on `entry`'s node, opened (and wired to this one's events) when there is none. */
  #nodeSub(entry: NodeEntry): NodeSub {
    const had = this.#subs.get(entry.id);
    if (had && had.entry.pool === entry.pool) return had;
    if (had) this.#orphaned(had, true);
    const sub = entry.pool.subscriber(this.#opts);
    const ns: NodeSub = { entry, sub, retired: false };
    this.#subs.set(entry.id, ns);
    const at: SubscriberNode = { node: entry.id, address: entry.address };
    sub.on('smessage', (c, m) => this.listenerCount('smessage') > 0 && this.emit('smessage', c, m));
    sub.on('smessageBuffer', (c, m) => this.listenerCount('smessageBuffer') > 0 && this.emit('smessageBuffer', c, m));
    sub.on('message', (c, m) => this.listenerCount('message') > 0 && this.emit('message', c, m));
    sub.on('messageBuffer', (c, m) => this.listenerCount('messageBuffer') > 0 && this.emit('messageBuffer', c, m));
    sub.on('pmessage', (p, c, m) => this.listenerCount('pmessage') > 0 && this.emit('pmessage', p, c, m));
    sub.on('pmessageBuffer', (p, c, m) => this.listenerCount('pmessageBuffer') > 0 && this.emit('pmessageBuffer', p, c, m));
    sub[kShardDropped] = () => this.#dropped(ns);
    sub.on('connect', (info) => this.emit('connect', { ...info, ...at }));
    sub.on('disconnect', (info) => this.emit('disconnect', { ...info, ...at }));
    sub.on('connect:error', (info) => this.emit('connect:error', { ...info, ...at }));
    sub.on('subscribe:error', (info) => {
      // Refused on restore: no longer held there; the reconcile tries to place them again.
      for (const n of info.names) if (this.#wanted.get(n) === entry.id) this.#wanted.set(n, undefined);
      this.emit('subscribe:error', info);
    });
    sub.on('close', () => {
      if (ns.retired || this.#closed) return;
      // Closed under us: its node pool retired (the node left the map) or closed.
      this.#orphaned(ns, false);
    });
    return ns;
  }

  /** `ns` is gone (or going): its shard channels are unplaced, its classic ones homeless; the reconcile re-places them. */
  #orphaned(ns: NodeSub, close: boolean): void {
    ns.retired = true;
    if (this.#subs.get(ns.entry.id) === ns) this.#subs.delete(ns.entry.id);
    for (const [ch, node] of this.#wanted) if (node === ns.entry.id) this.#wanted.set(ch, undefined);
    if (this.#classic === ns) this.#classic = undefined;
    if (close) void ns.sub.close();
    this.#kick();
  }

  /** The server dropped some of a node's shard channels: refresh, then re-send them all (see module comment). */
  #dropped(ns: NodeSub): void {
    if (this.#closed) return;
    void this.#serial(async () => {
      const deadline = this.#o.clock.now() + this.#timeoutMs;
      await this.#nodes.refreshed('moved', deadline);
      const mine = [...this.#wanted].filter(([, node]) => node === ns.entry.id).map(([ch]) => ch);
      for (const group of groupBySlot(mine)) {
        const owner = this.#nodes.forSlot(keySlot(group[0]!));
        if (owner && owner.id !== ns.entry.id) {
          await this.#unplace(ns.entry.id, group);
          for (const ch of group) this.#wanted.set(ch, undefined);
        }
        await this.#place(group, deadline, owner?.id === ns.entry.id).catch((err: unknown) => this.#placeFailed(group, err));
      }
    });
  }

  /**
   * Subscribes one slot's channels on the slot's owner, following MOVED (bounded) and waiting for
   * an owner until `deadline`. `again`: re-send on a node that may already hold them.
   */
  async #place(group: string[], deadline: number, again: boolean): Promise<void> {
    const slot = keySlot(group[0]!);
    let entry = this.#nodes.forSlot(slot);
    let redirects = 0;
    for (;;) {
      if (this.#isClosed()) throw new PoolClosedError('subscriber is closed');
      entry ??= await this.#nodes.wait(slot, deadline);
      if (!entry) throw new UnavailableError(`cluster: no reachable primary for slot ${slot} (shard channel ${group[0]!})`);
      const ns = this.#nodeSub(entry);
      try {
        await (again ? ns.sub[kResubscribe](group) : ns.sub.ssubscribe(...group));
      } catch (err) {
        const r = err instanceof ReplyError ? parseRedirect(err.message) : undefined;
        // A re-send answered MOVED: the node still lists them; they live elsewhere now.
        if (again && r) await ns.sub.sunsubscribe(...group).catch(() => undefined);
        this.#retireIfEmpty(ns);
        if (r?.kind === 'moved' && redirects++ < (this.#o.cluster?.maxRedirections ?? 5)) {
          entry = this.#nodes.redirected(r, entry);
          again = false;
          continue;
        }
        if (err instanceof ReplyError || this.#o.clock.now() >= deadline || this.#isClosed()) throw err;
        // No connection to the node: ask for a new map and try its owner then.
        await this.#nodes.refreshed('connection-error', deadline);
        entry = this.#nodes.forSlot(slot);
        continue;
      }
      for (const ch of group) {
        this.#wanted.set(ch, entry.id);
        const from = this.#last.get(ch);
        this.#last.set(ch, entry.id);
        if (from !== undefined && from !== entry.id) this.emit('shard:moved', { channel: ch, from, to: entry.id });
      }
      return;
    }
  }

  #placeFailed(group: string[], err: unknown): void {
    if (this.#closed) return;
    for (const ch of group) if (this.#wanted.has(ch)) this.#wanted.set(ch, undefined);
    const error = err instanceof RedpoolError ? err : new RedpoolError('ERR_CONNECTION', String(err));
    this.emit('subscribe:error', { error, command: 'SSUBSCRIBE', names: group });
  }

  /** Unsubscribes `list` on node `id` (errors ignored: forgotten either way); closes a node sub left empty. */
  async #unplace(id: string, list: string[]): Promise<void> {
    const ns = this.#subs.get(id);
    if (!ns) return;
    await ns.sub.sunsubscribe(...list).catch(() => undefined);
    this.#retireIfEmpty(ns);
  }

  /** Lets go of a node's connection once it holds nothing (its lease goes back to the budget). */
  #retireIfEmpty(ns: NodeSub): void {
    if (ns.sub.count > 0 || ns.retired) return;
    ns.retired = true;
    if (this.#subs.get(ns.entry.id) === ns) this.#subs.delete(ns.entry.id);
    if (this.#classic === ns) this.#classic = undefined;
    void ns.sub.close();
  }

  #classicAdd(kind: 'subscribe' | 'psubscribe', raw: Array<string | Buffer>): Promise<number> {
    let names: string[];
    try {
      if (this.#closed) throw new PoolClosedError('subscriber is closed');
      names = subscriptionNames(kind, raw);
      if (names.length === 0) throw new ArgumentError(kind.toUpperCase(), 0, 'needs at least one name');
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#serial(async () => {
      const ns = await this.#classicSub();
      await (kind === 'subscribe' ? ns.sub.subscribe(...names) : ns.sub.psubscribe(...names));
      const set = kind === 'subscribe' ? this.#channels : this.#patterns;
      for (const n of names) set.add(n);
      return this.count;
    });
  }

  #classicRemove(kind: 'subscribe' | 'psubscribe', raw: Array<string | Buffer>): Promise<number> {
    let names: string[];
    try {
      names = subscriptionNames(kind, raw);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#serial(async () => {
      const set = kind === 'subscribe' ? this.#channels : this.#patterns;
      const gone = names.length === 0 ? [...set] : names.filter((n) => set.has(n));
      for (const n of gone) set.delete(n);
      const ns = this.#classic;
      if (ns && gone.length > 0) {
        await (kind === 'subscribe' ? ns.sub.unsubscribe(...gone) : ns.sub.punsubscribe(...gone)).catch(() => undefined);
        if (this.#channels.size + this.#patterns.size === 0) this.#classic = undefined;
        this.#retireIfEmpty(ns);
      }
      return this.count;
    });
  }

  /** The classic home, chosen (a node with a subscriber first) and given every channel and pattern when there is none. */
  async #classicSub(): Promise<NodeSub> {
    const had = this.#classic;
    if (had && !had.retired && this.#live(had)) return had;
    if (had) this.#classic = undefined;
    const entry =
      [...this.#subs.values()].find((ns) => this.#live(ns))?.entry ??
      this.#nodes.any() ??
      (await this.#nodes.wait(undefined, this.#o.clock.now() + this.#timeoutMs));
    if (!entry) throw new UnavailableError('cluster: no reachable primary for a subscriber');
    const ns = this.#nodeSub(entry);
    try {
      if (this.#channels.size > 0) await ns.sub.subscribe(...this.#channels);
      if (this.#patterns.size > 0) await ns.sub.psubscribe(...this.#patterns);
    } catch (err) {
      this.#retireIfEmpty(ns);
      throw err;
    }
    this.#classic = ns;
    return ns;
  }

  /** Whether `ns`'s node is still a pooled primary of the map (the same pool). */
  #live(ns: NodeSub): boolean {
    return this.#nodes.entries.some((e) => e.id === ns.entry.id && e.pool === ns.entry.pool);
  }

  /** The periodic reconcile, on the pool clock (unref'd). */
  #arm(): void {
    if (this.#closed) return;
    const period = Math.min(this.#o.cluster?.minRefreshIntervalMs ?? 1000, 1000);
    this.#timer = this.#o.clock.setTimeout(
      () => {
        this.#timer = undefined;
        this.#kick();
        this.#arm();
      },
      period,
      true,
    );
  }

  /** Queues a reconcile when something may be out of place (map changed, orphans, unplaced channels). */
  #kick(): void {
    if (this.#closed) return;
    const epoch = this.#nodes.epoch;
    const unplaced = [...this.#wanted.values()].some((n) => n === undefined);
    const classicGone = this.#classic === undefined && this.#channels.size + this.#patterns.size > 0;
    if (epoch === this.#epoch && !unplaced && !classicGone) return;
    void this.#serial(() => this.#reconcile(epoch));
  }

  /** Inside the queue: every shard channel on its slot's owner, the classic subscriber on a live primary. */
  async #reconcile(epoch: number): Promise<void> {
    if (this.#closed) return;
    const deadline = this.#o.clock.now() + this.#timeoutMs;
    const misplaced: string[] = [];
    for (const [ch, node] of this.#wanted) {
      const owner = this.#nodes.forSlot(keySlot(ch));
      const held = node === undefined ? undefined : this.#subs.get(node);
      if (node === undefined || !owner || owner.id !== node || !held || held.entry.pool !== owner.pool) misplaced.push(ch);
    }
    for (const group of groupBySlot(misplaced)) {
      const from = this.#wanted.get(group[0]!);
      if (from !== undefined) await this.#unplace(from, group);
      await this.#place(group, deadline, false).catch((err: unknown) => this.#placeFailed(group, err));
    }
    const c = this.#classic;
    if (this.#channels.size + this.#patterns.size > 0 && !(c && !c.retired && this.#live(c))) {
      if (c) this.#orphaned(c, true);
      await this.#classicSub().catch((err: unknown) => {
        if (this.#closed) return;
        const error = err instanceof RedpoolError ? err : new RedpoolError('ERR_CONNECTION', String(err));
        this.emit('subscribe:error', { error, command: 'SUBSCRIBE', names: [...this.#channels, ...this.#patterns] });
      });
    }
    if (![...this.#wanted.values()].some((n) => n === undefined)) this.#epoch = epoch;
  }
}
