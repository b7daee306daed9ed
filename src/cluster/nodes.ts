/**
 * The cluster's nodes as the router sees them: the current {@link SlotMap}, one per-node pool per
 * primary that serves slots (keyed by node id, never by address), a slot → node table for the
 * hot path, and the one {@link TopologyRefresher}. A map update creates pools for new primaries
 * and drains the pools of nodes that no longer serve slots (their connections go back to the
 * shared budget as they close); a `MOVED` patches the map at once and asks for a refresh.
 *
 * Topology loads run `CLUSTER SHARDS` (fallback `CLUSTER SLOTS` on servers before 7.0) on an
 * existing lane of a pooled, reachable primary; only when none is reachable (start, or every
 * pooled node down) is a seed or a known replica asked through a one-connection pool of its own,
 * outside the data budget, closed right after (counted in `bootstrapConnections`).
 */
import type { DriverConnection } from '../driver/driver.js';
import { ReplyError } from '../errors.js';
import type { Clock } from '../internal/clock.js';
import type { PoolOptions, ResolvedOptions, TlsOptions } from '../options.js';
import { kCall, type NodePool } from '../pool/api.js';
import { BudgetGate } from '../pool/budget.js';
import { SLOT_COUNT } from '../topology/cluster/keys.js';
import { compileNatMap, type NodeAddress } from '../topology/cluster/nat-map.js';
import type { Redirect } from '../topology/cluster/redirect.js';
import { TopologyRefresher, type RefreshReason, type RefresherStats } from '../topology/cluster/refresher.js';
import { parseClusterShards, parseClusterSlots, type ClusterNodeInfo, type SlotMap } from '../topology/cluster/slot-map.js';
import { ClusterReplicas, readonlySetup } from './replicas.js';

/**
 * Makes one per-node pool (a `Pool` in production, a fake in unit tests). `setup`: a step each
 * new connection runs before it is used (a replica's `READONLY`).
 */
export type MakeNodePool = (options: PoolOptions, gate: BudgetGate, setup?: (conn: DriverConnection) => Promise<void>) => NodePool;

/** One pooled node: a primary, or a replica reads go to (`readFrom`). */
export interface NodeEntry {
  /** Node id, or `?host:port` while it is only known from a redirect. */
  readonly id: string;
  /** `host:port` dialled (after natMap): the label of its stats and metrics. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly pool: NodePool;
  /** What the pool is for: a primary's (every command) or a replica's (`READONLY` reads). */
  readonly role: 'primary' | 'replica';
}

/** Hooks of {@link ClusterNodes}. */
export interface NodesHooks {
  added(entry: NodeEntry): void;
  removed(entry: NodeEntry): void;
}

interface Source extends NodeAddress {
  pool?: NodePool;
}

/** Deadline of `CLUSTER SHARDS` on a pooled node's existing lane, ms. */
const POOLED_SOURCE_TIMEOUT_MS = 1000;

const isUnknownSubcommand = (err: unknown): boolean => err instanceof ReplyError && /unknown (sub)?command/i.test(err.message);

/** See the module comment. */
export class ClusterNodes {
  readonly #o: ResolvedOptions;
  readonly #input: PoolOptions;
  readonly #make: MakeNodePool;
  readonly #gate: BudgetGate;
  readonly #hooks: NodesHooks;
  readonly #translate: (a: NodeAddress) => NodeAddress;
  readonly #seeds: readonly NodeAddress[];
  readonly refresher: TopologyRefresher<Source, SlotMap>;
  /** The replicas reads go to under `readFrom` (pools only once replica reads are enabled). */
  readonly replicas: ClusterReplicas<NodeEntry>;
  #map: SlotMap | undefined;
  readonly #entries = new Map<string, NodeEntry>();
  #list: NodeEntry[] = [];
  #bySlot: (NodeEntry | undefined)[] = new Array<NodeEntry | undefined>(SLOT_COUNT);
  readonly #retiring = new Set<NodePool>();
  /** One-connection pools of topology loads in progress (destroyed by close() too). */
  readonly #bootstraps = new Set<NodePool>();
  #rr = 0;
  #closed = false;
  /** Slot-map versions applied (refreshes and MOVED patches). */
  epoch = 0;
  /** One-connection pools opened to read the topology when no pooled node could answer. */
  bootstrapConnections = 0;
  /** The last refresh error (every source failed), cleared by a successful one. */
  lastRefreshError: unknown;

  constructor(o: ResolvedOptions, input: PoolOptions, make: MakeNodePool, gate: BudgetGate, hooks: NodesHooks) {
    this.#o = o;
    this.#input = input;
    this.#make = make;
    this.#gate = gate;
    this.#hooks = hooks;
    const c = o.cluster!;
    this.#translate = compileNatMap(c.natMap);
    this.#seeds = c.nodes.map((n) => ({ host: n.host, port: n.port }));
    this.refresher = new TopologyRefresher<Source, SlotMap>({
      clock: o.clock,
      sources: () => this.#sources(),
      load: (s) => this.#load(s),
      onUpdate: (map) => this.#apply(map),
      onError: (err) => (this.lastRefreshError = err),
      minIntervalMs: c.minRefreshIntervalMs ?? 1000,
      periodMs: c.refreshIntervalMs ?? 30_000,
      sourceTimeoutMs: (s) => this.#sourceTimeoutMs(s),
      sourceKey: (s) => `${s.host}:${s.port}`,
    });
    this.replicas = new ClusterReplicas<NodeEntry>(
      {
        clock: o.clock,
        make: (info) => {
          const pool = this.#make(this.#nodeOptions(info, info), this.#gate, readonlySetup);
          const entry: NodeEntry = {
            id: info.id,
            address: `${info.host}:${info.port}`,
            host: info.host,
            port: info.port,
            pool,
            role: 'replica',
          };
          this.#hooks.added(entry);
          return entry;
        },
        retire: (entry) => this.#drain(entry),
      },
      o.readFrom !== 'primary',
    );
  }

  get clock(): Clock {
    return this.#o.clock;
  }

  /** The current slot map, `undefined` before the first load. */
  get map(): SlotMap | undefined {
    return this.#map;
  }

  /** Pooled primaries. */
  get entries(): readonly NodeEntry[] {
    return this.#list;
  }

  /** Pools still draining after their node left the map. */
  get retiring(): ReadonlySet<NodePool> {
    return this.#retiring;
  }

  /** Refresh counters. */
  refreshStats(): RefresherStats {
    return this.refresher.stats();
  }

  /** The pooled primary serving `slot`, or `undefined` (no map yet, slot uncovered, mid-failover). */
  forSlot(slot: number): NodeEntry | undefined {
    return this.#bySlot[slot];
  }

  /** A pooled primary for a keyless command (round robin), `undefined` before the first map. */
  any(): NodeEntry | undefined {
    const list = this.#list;
    if (list.length === 0) return undefined;
    this.#rr = (this.#rr + 1) % list.length;
    return list[this.#rr];
  }

  /**
   * Waits (within `deadline`, on the pool clock) for a map in which `slot` (or, for `undefined`,
   * any slot) has a pooled primary, asking for a refresh each round. Resolves `undefined` at the
   * deadline, or when the refresher is closed.
   */
  async wait(slot: number | undefined, deadline: number): Promise<NodeEntry | undefined> {
    const find = (): NodeEntry | undefined => (slot === undefined ? this.any() : this.forSlot(slot));
    for (;;) {
      const found = find();
      if (found || this.#closed) return found;
      const remaining = deadline - this.clock.now();
      if (remaining <= 0) return undefined;
      const reason: RefreshReason = this.#map ? 'uncovered' : 'initial';
      await this.#within(
        this.refresher.request(reason).catch(() => this.#pause(Math.min(remaining, 100))),
        remaining,
      );
    }
  }

  /** Requests a refresh and waits for it (or its failure, or `deadline`). Never rejects. */
  refreshed(reason: RefreshReason, deadline: number): Promise<void> {
    const remaining = deadline - this.clock.now();
    if (remaining <= 0 || this.#closed) return Promise.resolve();
    return this.#within(
      this.refresher.request(reason).catch(() => this.#pause(Math.min(remaining, 100))),
      remaining,
    );
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms, true));
  }

  /** `p`, or nothing after `ms` (never rejects). */
  #within(p: Promise<unknown>, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.clock.setTimeout(resolve, ms, true);
      const done = (): void => {
        this.clock.clearTimeout(timer);
        resolve();
      };
      p.then(done, done);
    });
  }

  /**
   * Applies a redirect answered by `from`: a MOVED patches the map now (and asks for a refresh);
   * returns the pooled node to retry on (created if the address is new). An ASK to a node we
   * pool changes nothing (a migration in progress is normal); only an ASK to a node we do not
   * know asks for a refresh.
   */
  redirected(r: Redirect, from: NodeEntry): NodeEntry {
    const addr = this.#translate({ host: r.host === '' ? from.host : r.host, port: r.port });
    if (r.kind === 'moved') {
      this.refresher.hint('moved');
      if (this.#map) {
        this.#map = this.#map.withMoved(r.slot, addr);
        this.epoch++;
        // A replica the MOVED names is a primary now: no replica reads on it from here on.
        this.replicas.apply(this.#map);
      }
    }
    let target = this.#list.find((e) => e.host === addr.host && e.port === addr.port);
    if (!target) {
      if (r.kind === 'ask') this.refresher.hint('ask-unknown-node');
      const info = this.#map?.nodeAt(addr.host, addr.port);
      target = this.#add(info?.id ?? `?${addr.host}:${addr.port}`, addr, info);
    }
    if (r.kind === 'moved') this.#bySlot[r.slot] = target;
    return target;
  }

  #sources(): Source[] {
    const pooled: Source[] = [];
    for (const e of this.#list) if (e.pool.stats().health !== 'unavailable') pooled.push({ host: e.host, port: e.port, pool: e.pool });
    if (pooled.length > 0) return pooled;
    const out = new Map<string, Source>();
    for (const n of this.#map?.nodes.values() ?? []) if (n.health !== 'failed') out.set(`${n.host}:${n.port}`, n);
    for (const s of this.#seeds) out.set(`${s.host}:${s.port}`, s);
    return [...out.values()];
  }

  /**
   * A pooled node answers on a lane it already has: 1 s is ample, whatever `connectTimeoutMs`
   * is (a frozen node must not hold a refresh for a connect timeout). A bootstrap source must
   * connect first.
   */
  #sourceTimeoutMs(source: Source): number {
    return source.pool ? POOLED_SOURCE_TIMEOUT_MS : Math.min(this.#o.connectTimeoutMs + POOLED_SOURCE_TIMEOUT_MS, 5000);
  }

  /**
   * A node's command deadline or broken connection: a refresh hint, and the node is asked last
   * by the next loads (it may be frozen), until it answers one again.
   */
  suspect(entry: NodeEntry, reason: 'timeout' | 'connection-error'): void {
    this.refresher.noteFailure({ host: entry.host, port: entry.port });
    this.refresher.hint(reason);
  }

  async #load(source: Source): Promise<SlotMap> {
    const parse = { translate: this.#translate, sourceHost: source.host };
    const timeoutMs = this.#sourceTimeoutMs(source);
    let pool = source.pool;
    let bootstrap: NodePool | undefined;
    if (!pool) {
      this.bootstrapConnections++;
      const opts: PoolOptions = { ...this.#nodeOptions(source, undefined), max: 1, min: 0, lanes: 1, logger: false };
      pool = bootstrap = this.#make(opts, new BudgetGate(1));
      this.#bootstraps.add(bootstrap);
    }
    try {
      try {
        return parseClusterShards(await pool[kCall]('cluster', ['shards'], false, { timeoutMs }), parse);
      } catch (err) {
        if (!isUnknownSubcommand(err)) throw err;
        return parseClusterSlots(await pool[kCall]('cluster', ['slots'], false, { timeoutMs }), parse);
      }
    } finally {
      if (bootstrap) {
        this.#bootstraps.delete(bootstrap);
        void bootstrap.destroy();
      }
    }
  }

  /** Options of one per-node pool: the user's, with this node's address and TLS name. */
  #nodeOptions(addr: NodeAddress, info: ClusterNodeInfo | undefined): PoolOptions {
    // readFrom is the cluster's routing: a node pool serves one node (and would refuse it).
    const { cluster: _c, maxTotal: _m, readFrom: _r, ...rest } = this.#input;
    void _c;
    void _m;
    void _r;
    const out: PoolOptions = { ...rest, host: addr.host, port: addr.port };
    if (rest.tls) {
      const tls: TlsOptions = rest.tls === true ? {} : { ...rest.tls };
      // Certificates name the announced host, not the (NAT-translated) address dialled.
      if (tls.servername === undefined && info?.hostname) tls.servername = info.hostname;
      out.tls = tls;
      if (info?.tlsPort && addr.port === info.port) out.port = info.tlsPort;
    }
    return out;
  }

  #add(id: string, addr: NodeAddress, info: ClusterNodeInfo | undefined): NodeEntry {
    const pool = this.#make(this.#nodeOptions(addr, info), this.#gate);
    const entry: NodeEntry = { id, address: `${addr.host}:${addr.port}`, host: addr.host, port: addr.port, pool, role: 'primary' };
    this.#entries.set(id, entry);
    this.#list = [...this.#entries.values()];
    this.#hooks.added(entry);
    return entry;
  }

  #retire(entry: NodeEntry): void {
    this.#entries.delete(entry.id);
    this.#list = [...this.#entries.values()];
    this.#drain(entry);
  }

  /** Closes a pool whose node left the map (or left read routing); its connections go back to the budget. */
  #drain(entry: NodeEntry): void {
    this.#retiring.add(entry.pool);
    const t = this.#o.commandTimeoutMs;
    void entry.pool.close({ timeoutMs: Number.isFinite(t) ? t : 5000 }).finally(() => this.#retiring.delete(entry.pool));
    this.#hooks.removed(entry);
  }

  /** A new map from a refresh: pools follow the primaries that serve slots. */
  #apply(map: SlotMap): void {
    if (this.#closed) return;
    this.lastRefreshError = undefined;
    this.#map = map;
    this.epoch++;
    const wanted = new Map<string, ClusterNodeInfo>();
    for (const shard of map.shards) {
      const info = shard.primary === undefined ? undefined : map.nodes.get(shard.primary);
      if (info && shard.slots.length > 0) wanted.set(info.id, info);
    }
    for (const entry of [...this.#entries.values()]) {
      const info = wanted.get(entry.id);
      if (info && info.host === entry.host && info.port === entry.port) continue;
      // Known only from a redirect: adopt it under its real id instead of re-dialling.
      const real = entry.id.startsWith('?') ? [...wanted.values()].find((n) => n.host === entry.host && n.port === entry.port) : undefined;
      if (real && !this.#entries.has(real.id)) {
        this.#entries.delete(entry.id);
        this.#entries.set(real.id, { ...entry, id: real.id });
        continue;
      }
      this.#retire(entry);
    }
    this.#list = [...this.#entries.values()];
    for (const info of wanted.values()) if (!this.#entries.has(info.id)) this.#add(info.id, info, info);
    const bySlot = new Array<NodeEntry | undefined>(SLOT_COUNT);
    for (const shard of map.shards) {
      const entry = shard.primary === undefined ? undefined : this.#entries.get(shard.primary);
      if (!entry) continue;
      for (const [a, b] of shard.slots) bySlot.fill(entry, a, b + 1);
    }
    this.#bySlot = bySlot;
    this.replicas.apply(map);
  }

  /** Stops refreshing and drops a topology load's own connection; the façade closes the node pools. */
  close(): Promise<void> {
    this.#closed = true;
    this.refresher.close();
    return Promise.all([...this.#bootstraps].map((p) => p.destroy())).then(() => undefined);
  }
}
