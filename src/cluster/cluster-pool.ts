/**
 * The cluster pool: the same API as a single-node `Pool` (the shared command surface,
 * `pipeline()`, `multi()`, `with()`, leases, `ready()`, `health()`, `stats()`, events, `close()`)
 * over one per-node pool per primary (`nodes.ts`), commands routed by slot with redirects inside
 * the caller's deadline (`router.ts`), pipelines split by node (`batch.ts`), and one connection
 * budget: `max` per node, and `maxTotal` across the cluster through one shared gate.
 *
 * It never imports `pool.ts`: per-node pools come from the factory `createPool` passes in.
 */
import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import type { Redis } from 'ioredis';
import { Batch } from '../commands/batch.js';
import { checkCallOptions } from '../commands/call-options.js';
import { installCommands, kDispatch, kFail } from '../commands/surface.js';
import { commandView } from '../commands/view.js';
import { ArgumentError, CrossSlotError, ForeignLeaseError, PoolClosedError, UnavailableError, type RedpoolError } from '../errors.js';
import { resolveOptions, type PoolOptions, type ResolvedOptions } from '../options.js';
import {
  kBatch,
  kCall,
  type CloseOptions,
  type EventArgs,
  type PoolWithOptions,
  type PrimaryNode,
  type SharedCommands,
} from '../pool/api.js';
import { BudgetGate, budgetShortfall } from '../pool/budget.js';
import type { AcquireOptions, CallOptions, PoolState } from '../pool/core.js';
import type { PoolEvents } from '../pool/events.js';
import { kGuard, type Lease } from '../pool/lease.js';
import { logPoolEvent } from '../pool/log.js';
import type { HealthStatus } from '../pool/stats.js';
import type { SubscriberOptions } from '../pool/subscriber-types.js';
import { commandSlot, keySlot, SLOT_COUNT } from '../topology/cluster/keys.js';
import { parseRedirect } from '../topology/cluster/redirect.js';
import { clusterBatch } from './batch.js';
import { ClusterSubscriber } from './cluster-subscriber.js';
import { ClusterNodes, type MakeNodePool, type NodeEntry } from './nodes.js';
import { Router } from './router.js';
import { aggregateHealth, sumStats, type ClusterHealthReport, type ClusterNodeStats, type ClusterStats } from './stats.js';

export type { ClusterStats, ClusterNodeStats, ClusterHealthReport, ClusterInfo } from './stats.js';
export type { MakeNodePool } from './nodes.js';
export { ClusterSubscriber } from './cluster-subscriber.js';
export type { ClusterSubscriberEvents, SubscriberNode } from './cluster-subscriber.js';

/** Node-pool events the cluster pool re-emits (payload plus `node`, the node id, and `address`). */
const FORWARDED = [
  'connection:created',
  'connection:closed',
  'connection:error',
  'lease:acquired',
  'lease:released',
  'lease:leak',
  'pool:exhausted',
  'health',
  'warning',
] as const satisfies readonly (keyof PoolEvents)[];

/** A pool over a Redis Cluster. Create with `createPool({ cluster: { nodes } })`. */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- merged with the class, which uses Raw
export interface ClusterPool<Raw = Redis> extends SharedCommands {}

/** See the module comment. `Raw`: the driver's raw client type, as `lease.raw` returns it. */
export class ClusterPool<Raw = Redis> extends EventEmitter<EventArgs> {
  readonly #o: ResolvedOptions;
  readonly #gate: BudgetGate;
  readonly #nodes: ClusterNodes;
  readonly #router: Router;
  #state: PoolState = 'open';
  #ready: Promise<HealthStatus> | undefined;
  #closed: Promise<void> | undefined;
  readonly #leases = new WeakSet<Lease<unknown>>();
  readonly #subscribers = new Set<ClusterSubscriber>();
  /** The `maxTotal` shortfall last warned about (one warning per distinct shortfall). */
  #budgetWarning: string | undefined;

  /** Use `createPool({ cluster })`. `make`: the per-node pool factory (`createPool` passes `new Pool(options, { gate })`). */
  constructor(options: PoolOptions, make: MakeNodePool) {
    super();
    this.#o = resolveOptions(options);
    this.#gate = new BudgetGate(this.#o.maxTotal ?? Number.MAX_SAFE_INTEGER);
    this.#nodes = new ClusterNodes(this.#o, options, make, this.#gate, {
      added: (entry) => {
        this.#watch(entry);
        // After the map update that added it has finished (replicas are counted then).
        queueMicrotask(() => this.#checkBudget());
      },
      removed: () => undefined,
    });
    this.#router = new Router(this.#nodes, this.#o, () => this.#state === 'open');
    this.#nodes.refresher.start();
  }

  #watch(entry: NodeEntry): void {
    for (const event of FORWARDED) {
      entry.pool.on(event, (payload: unknown) => {
        if (event === 'connection:error' || (event === 'connection:closed' && (payload as { reason?: string }).reason === 'error')) {
          this.#nodes.suspect(entry, 'connection-error');
          // A replica that just lost a connection (or failed a connect) takes no reads for a while:
          // they would wait on its reconnect; its pool turning healthy again ends that sooner.
          if (entry.role === 'replica') this.#nodes.replicas.penalize(entry);
        } else if (event === 'health' && entry.role === 'replica') {
          if ((payload as { to?: string }).to === 'healthy') this.#nodes.replicas.recovered(entry);
          else this.#nodes.replicas.penalize(entry);
        }
        if (this.listenerCount(event) > 0)
          (this.emit as (e: string, p: unknown) => boolean)(event, { ...(payload as object), node: entry.id, address: entry.address });
      });
    }
  }

  #checkBudget(): void {
    const n = this.#nodes;
    const message = budgetShortfall(this.#o.maxTotal, this.#o.lanes, n.entries.length, n.replicas.entries.length);
    if (message === this.#budgetWarning) return;
    this.#budgetWarning = message;
    if (message === undefined) return;
    const log = this.#o.logger;
    if (log) logPoolEvent(log, { pool: this.#o.name, endpoint: this.#o.endpoint }, 'warning', { message });
    if (this.listenerCount('warning') > 0) this.emit('warning', { message });
  }

  /** The validated options (secrets non-enumerable). */
  get options(): ResolvedOptions {
    return this.#o;
  }

  /** Lifecycle state: 'open' | 'closing' | 'closed'. */
  get state(): PoolState {
    return this.#state;
  }

  /** @internal */
  [kFail](err: Error): Promise<never> {
    return Promise.reject(err);
  }

  /** @internal */
  [kDispatch](name: string, args: unknown[], buffer: boolean): Promise<unknown> {
    if (this.#state !== 'open') return Promise.reject(new PoolClosedError(`pool is ${this.#state}`));
    return this.#router.command(name, args, buffer, undefined);
  }

  /**
   * A view whose commands use per-call options (one deadline across redirects; `readFrom` for
   * this call's reads). A bad option is a `ConfigError` naming it, thrown here.
   */
  with(call: CallOptions): PoolWithOptions {
    checkCallOptions(call);
    return commandView(
      (name, args, buffer) =>
        this.#state !== 'open' ? Promise.reject(new PoolClosedError()) : this.#router.command(name, args, buffer, call),
      (atomic, commands) => this.#batch(atomic, commands, call),
    ) as PoolWithOptions;
  }

  #batch(atomic: boolean, commands: unknown[][] | undefined, call: CallOptions | undefined): Batch {
    return new Batch(
      (cmds, isAtomic) =>
        this.#state !== 'open'
          ? Promise.reject(new PoolClosedError())
          : clusterBatch(this.#nodes, this.#router, this.#o, cmds, isAtomic, call),
      atomic,
      true,
      commands,
    );
  }

  /** Records a pipeline; `exec()` splits it by node and returns the replies in order, one verdict each. */
  pipeline(commands?: unknown[][]): Batch {
    return this.#batch(false, commands, undefined);
  }

  /** Records a MULTI/EXEC transaction; all its keys must share one slot (`ERR_CROSS_SLOT` before sending otherwise). */
  multi(commands?: unknown[][]): Batch {
    return this.#batch(true, commands, undefined);
  }

  /**
   * An exclusive connection. With `{ key }` or `{ slot }` it is on the node serving that slot and
   * refuses commands (and batches) with keys of another slot (`ERR_CROSS_SLOT`, not sent): the
   * place for WATCH/MULTI and blocking commands. Without, it is on any primary, unchecked.
   */
  async acquire(opts?: AcquireOptions): Promise<Lease<Raw>> {
    if (this.#state !== 'open') throw new PoolClosedError(`pool is ${this.#state}`);
    const slot = leaseSlot(opts);
    const clock = this.#o.clock;
    const deadline = clock.now() + (opts?.timeoutMs ?? this.#o.acquireTimeoutMs);
    const entry = (slot === undefined ? this.#nodes.any() : this.#nodes.forSlot(slot)) ?? (await this.#nodes.wait(slot, deadline));
    if (!entry) throw new UnavailableError(`cluster: no reachable primary for ${slot === undefined ? 'a lease' : `slot ${slot}`}`);
    const { key: _k, slot: _s, ...rest } = opts ?? {};
    void _k;
    void _s;
    const lease = (await entry.pool.acquire({ ...rest, timeoutMs: Math.max(1, deadline - clock.now()) })) as Lease<Raw>;
    if (slot !== undefined) lease[kGuard] = slotGuard(slot);
    this.#observe(lease, entry);
    this.#leases.add(lease);
    return lease;
  }

  /**
   * A lease's commands go straight to its node, past the router: a `MOVED` (the slot left that
   * node) still reaches the caller (a lease does not follow it: WATCH state is per connection),
   * but patches the map and asks for a refresh, so the next lease lands on the new owner.
   */
  #observe(lease: Lease<Raw>, entry: NodeEntry): void {
    const dispatch = lease[kDispatch].bind(lease);
    lease[kDispatch] = (name, args, buffer) =>
      dispatch(name, args, buffer).catch((err: unknown) => {
        const r = (err as RedpoolError)?.code === 'ERR_REPLY' ? parseRedirect((err as Error).message) : undefined;
        if (r?.kind === 'moved' && this.#state === 'open') this.#nodes.redirected(r, entry);
        throw err;
      });
  }

  /** Returns a lease (same as `lease.release()`); ForeignLeaseError for a lease of another pool. */
  release(lease: Lease<unknown>): void {
    if (!this.#leases.has(lease)) throw new ForeignLeaseError();
    this.#leases.delete(lease);
    lease.release();
  }

  /** `withConnection({ key }, fn)` (or `(fn, { key })`): a lease pinned to the key's node, released when `fn` settles. */
  withConnection<T>(opts: AcquireOptions, fn: (lease: Lease<Raw>) => T | Promise<T>): Promise<T>;
  withConnection<T>(fn: (lease: Lease<Raw>) => T | Promise<T>, opts?: AcquireOptions): Promise<T>;
  async withConnection<T>(
    a: ((lease: Lease<Raw>) => T | Promise<T>) | AcquireOptions,
    b?: AcquireOptions | ((lease: Lease<Raw>) => T | Promise<T>),
  ): Promise<T> {
    const [fn, opts] = typeof a === 'function' ? [a, b as AcquireOptions | undefined] : [b as (lease: Lease<Raw>) => T | Promise<T>, a];
    const lease = await this.acquire(opts);
    try {
      return await fn(lease);
    } finally {
      this.#leases.delete(lease);
      if (!lease.released) lease.release();
    }
  }

  /**
   * Reads the topology (from the seeds), opens every primary's pool and waits for each to be
   * ready. Resolves 'healthy', or 'degraded' when some node is not; rejects when no seed
   * answers (with `onUnavailable: 'degrade'`: resolves 'unavailable' and keeps refreshing).
   */
  ready(): Promise<HealthStatus> {
    if (this.#state !== 'open') return Promise.reject(new PoolClosedError(`pool is ${this.#state}`));
    this.#ready ??= this.#warm().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  async #warm(): Promise<HealthStatus> {
    const o = this.#o;
    await this.#nodes.wait(undefined, o.clock.now() + o.connectTimeoutMs + o.acquireTimeoutMs);
    if (this.#nodes.entries.length === 0) {
      if (o.onUnavailable === 'degrade') return 'unavailable';
      throw new UnavailableError('cluster: no seed node answered CLUSTER SHARDS', { cause: this.#nodes.lastRefreshError });
    }
    // Replicas warm up too (first reads need no connect) but do not decide the result: reads fall back or fail on their own.
    const replicas = Promise.allSettled(this.#nodes.replicas.entries.map((e) => e.pool.ready()));
    const results = await Promise.allSettled(this.#nodes.entries.map((e) => e.pool.ready()));
    await replicas;
    const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (ok.length === 0 && o.onUnavailable !== 'degrade') throw (results[0] as PromiseRejectedResult).reason;
    return aggregateHealth(
      results.map((r) => (r.status === 'fulfilled' ? r.value : 'unavailable')),
      (this.#nodes.map?.coveredSlots() ?? 0) === SLOT_COUNT,
    );
  }

  /** A fresh statistics snapshot: the aggregate, `nodes` (by node id, labelled by address) and `cluster`. */
  stats(): ClusterStats {
    const map = this.#nodes.map;
    const nodes: Record<string, ClusterNodeStats> = {};
    let covered = 0;
    for (const e of this.#nodes.entries) {
      let slots = 0;
      for (const shard of map?.shards ?? []) if (shard.primary === e.id) for (const [a, b] of shard.slots) slots += b - a + 1;
      covered += slots;
      nodes[e.id] = { ...e.pool.stats(), id: e.id, address: e.address, slots, role: 'primary' };
    }
    // The aggregate health is the primaries' (and slot coverage): a replica down degrades reads only.
    const health = aggregateHealth(
      Object.values(nodes).map((n) => n.health),
      covered === SLOT_COUNT,
    );
    const replicas = this.#nodes.replicas;
    for (const e of replicas.entries)
      nodes[e.id] ??= { ...e.pool.stats(), id: e.id, address: e.address, slots: 0, role: 'replica', replicaOf: replicas.primaryOf(e) };
    const list = [...Object.values(nodes), ...[...this.#nodes.retiring].map((p) => p.stats())];
    const max = Math.min(this.#o.maxTotal ?? Infinity, this.#o.max * Math.max(1, Object.keys(nodes).length));
    return {
      ...sumStats(list, { name: this.#o.name, state: this.#state, health, max }),
      nodes,
      cluster: {
        ...this.#router.counters,
        epoch: this.#nodes.epoch,
        coveredSlots: covered,
        maxTotal: this.#o.maxTotal,
        budgetUsed: this.#gate.used,
        budgetRefused: this.#gate.refused,
        retiring: this.#nodes.retiring.size,
        bootstrapConnections: this.#nodes.bootstrapConnections,
        refresh: this.#nodes.refreshStats(),
      },
    };
  }

  /** PINGs every node (each with its own timeout) and reports the aggregate and each node. Never rejects. */
  async health(opts?: { timeoutMs?: number }): Promise<ClusterHealthReport> {
    const entries = [...this.#nodes.entries, ...this.#nodes.replicas.entries];
    const reports = await Promise.all(entries.map((e) => e.pool.health(opts)));
    const nodes: ClusterHealthReport['nodes'] = {};
    entries.forEach((e, i) => (nodes[e.id] ??= { ...reports[i]!, address: e.address, role: e.role }));
    const stats = this.stats();
    const status = this.#state !== 'open' ? 'unavailable' : stats.health;
    const latencies = reports.flatMap((r) => (r.latencyMs === null ? [] : [r.latencyMs]));
    const bad = reports.filter((r) => r.status !== 'healthy').length;
    const failed = reports.find((r) => r.lastError);
    return {
      status,
      latencyMs: latencies.length === reports.length && latencies.length > 0 ? Math.max(...latencies) : null,
      message:
        this.#state !== 'open'
          ? `pool is ${this.#state}`
          : `${entries.length - bad}/${entries.length} nodes healthy, ${stats.cluster.coveredSlots}/${SLOT_COUNT} slots covered`,
      checkedAt: Date.now(),
      stats,
      lastError: failed?.lastError ?? null,
      nodes,
    };
  }

  /**
   * Every primary of the current slot map, each with commands that go to that node only (past
   * slot routing, on its own pool): for commands about one node's keyspace, such as `SCAN`
   * (through the cluster pool it reaches one node) or `DBSIZE`. A keyed command for a slot the node
   * does not serve gets its `MOVED` error, not followed. A snapshot: a node added later is not in it.
   * @example
   * for (const node of cluster.primaries()) console.log(node.address, await node.commands.dbsize());
   */
  primaries(): PrimaryNode[] {
    if (this.#state !== 'open') throw new PoolClosedError(`pool is ${this.#state}`);
    return this.#nodes.entries.map((entry) => {
      const closed = (): boolean => this.#state !== 'open';
      const commands = commandView(
        (name, args, buffer) => (closed() ? Promise.reject(new PoolClosedError()) : entry.pool[kCall](name, args, buffer, undefined)),
        (atomic, cmds) =>
          new Batch(
            (c, isAtomic) => (closed() ? Promise.reject(new PoolClosedError()) : entry.pool[kBatch](c, isAtomic, undefined)),
            atomic,
            true,
            cmds,
          ),
      ) as PoolWithOptions;
      return { id: entry.id, address: entry.address, commands };
    });
  }

  /**
   * Pub/sub across the cluster: `ssubscribe` routes each shard channel to its slot's primary (one
   * connection per node with shard channels, each a lease of that node's pool) and follows slot
   * moves and failovers; `subscribe`/`psubscribe` use one primary, re-homed when it leaves the
   * map. Connects lazily; the topology is read on first use. See `ClusterSubscriber`.
   */
  subscriber(opts?: SubscriberOptions): ClusterSubscriber {
    if (this.#state !== 'open') throw new PoolClosedError(`pool is ${this.#state}`);
    const sub = new ClusterSubscriber(this.#nodes, this.#o, opts, (s) => this.#subscribers.delete(s));
    this.#subscribers.add(sub);
    return sub;
  }

  /** Graceful shutdown of every node pool (and those still draining). Idempotent. */
  close(opts?: CloseOptions): Promise<void> {
    return this.#shutdown((p) => p.close(opts));
  }

  /** Immediate shutdown of every node pool. Idempotent. */
  destroy(): Promise<void> {
    return this.#shutdown((p) => p.destroy());
  }

  #shutdown(how: (p: NodeEntry['pool']) => Promise<void>): Promise<void> {
    if (this.#state === 'open') this.#state = 'closing';
    // First, so their node subscribers closing with the node pools is not taken for a lost node.
    const subscribers = [...this.#subscribers].map((sub) => sub.close());
    const bootstraps = this.#nodes.close();
    const pools = [...this.#nodes.entries.map((e) => e.pool), ...this.#nodes.replicas.entries.map((e) => e.pool), ...this.#nodes.retiring];
    const done = Promise.all([bootstraps, ...subscribers, ...pools.map(how)]).then(() => {
      if (this.#state !== 'closed') {
        this.#state = 'closed';
        this.emit('pool:closed', {});
      }
    });
    // A destroy() during a close() finishes both: callers of either wait for every pool.
    this.#closed = this.#closed ? Promise.all([this.#closed, done]).then(() => undefined) : done;
    return this.#closed;
  }

  /** Name, seeds, state, nodes (id → address) and the aggregate occupancy (no secrets). */
  toJSON(): Record<string, unknown> {
    const s = this.stats();
    return {
      name: this.#o.name,
      cluster: this.#o.cluster?.nodes.map((n) => `${n.host}:${n.port}`),
      state: this.#state,
      health: s.health,
      nodes: Object.fromEntries(Object.values(s.nodes).map((n) => [n.id, n.address])),
      total: s.total,
      maxTotal: this.#o.maxTotal,
    };
  }

  /** `util.inspect` shows {@link ClusterPool.toJSON}. */
  [inspect.custom](): string {
    return `ClusterPool ${inspect(this.toJSON())}`;
  }
}

installCommands(ClusterPool.prototype, new Set(['multi', 'pipeline']));

/** The slot a lease is pinned to, from `{ key }` or `{ slot }`. */
function leaseSlot(opts: AcquireOptions | undefined): number | undefined {
  if (opts?.key !== undefined) return keySlot(opts.key);
  const slot = opts?.slot;
  if (slot === undefined) return undefined;
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOT_COUNT) throw new ArgumentError('ACQUIRE', 0, 'slot must be an integer 0..16383');
  return slot;
}

/** Refuses commands whose keys are outside `slot` (cross-slot within one command is refused by commandSlot). */
function slotGuard(slot: number): (name: string, args: readonly unknown[]) => void {
  return (name, args) => {
    const s = commandSlot(name, args);
    if (s !== undefined && s !== slot)
      throw new CrossSlotError(
        name.toUpperCase(),
        [0, 0],
        [slot, s],
        `${name.toUpperCase()}: its keys hash to slot ${s}, but this lease is pinned to slot ${slot} (its node); ` +
          'acquire a lease per slot, or use a {hash tag}',
      );
  };
}
