/**
 * The replicas a Sentinel pool reads from: one single-node pool per usable replica (as the
 * sentinels list them in `SENTINEL REPLICAS`), each behind a fixed-endpoint topology whose role
 * check (`ROLE` on every new connection) requires `slave`, linked (`connected`) to the current
 * primary. The list is replaced on every discovery the pool's Sentinel topology runs (start,
 * `+switch-master`, replica events, `pollMs`, hints); a replica that leaves the list, is
 * flagged down (`s_down`/`o_down`/`disconnected`, `master-link-status:err`) or becomes the
 * primary has its pool closed (in-flight reads finish or time out; its connections go back to
 * the budget), and one that appears gets a new pool.
 *
 * Pools are created only once the set is {@link ReplicaSet.activate activated} (the pool's
 * `readFrom` is not `'primary'`, or the first call that asks for a replica): a pool that never
 * reads from replicas opens nothing for them.
 */
export type { ReplicaStats } from '../../pool/stats.js';
import type { BatchCommand, BatchResult, DriverConnection } from '../../driver/driver.js';
import { ConnectionError, RedpoolError } from '../../errors.js';
import type { Clock } from '../../internal/clock.js';
import type { CallOptions } from '../../pool/core.js';
import type { Endpoint, EngineTopology, TopologyHint } from '../../pool/endpoint-source.js';
import type { HealthStatus, PoolStats, ReplicaStats } from '../../pool/stats.js';
import type { NodeAddress } from '../cluster/nat-map.js';
import { parseRole, type ReplicaInfo } from './discovery.js';

/** What the set needs of one replica's pool (a single-node `Pool` is one). */
export interface ReplicaPool {
  readonly state: 'open' | 'closing' | 'closed';
  /** One shared-path command with per-call options. */
  call(name: string, args: unknown[], buffer: boolean, call: CallOptions): Promise<unknown>;
  /** One pipeline (never atomic) on a lane. */
  batch(cmds: BatchCommand[], call: CallOptions): Promise<BatchResult | null>;
  ready(): Promise<HealthStatus>;
  stats(): PoolStats;
  close(opts?: { timeoutMs?: number }): Promise<void>;
  destroy(): Promise<void>;
}

/** Builds the pool of one replica (the Sentinel pool passes `new Pool(options, { gate, topology })`). */
export type MakeReplicaPool = (address: NodeAddress, topology: EngineTopology) => ReplicaPool;

/** A replica with a pool. */
export interface ReplicaNode {
  readonly address: NodeAddress;
  readonly key: string;
  readonly pool: ReplicaPool;
  reads: number;
  failures: number;
  inflight: number;
  /** Until then (pool clock) it is picked only when nothing else is left: it just failed. */
  suspectUntil: number;
}

/** After a failed read (or connect), how long a replica is tried last, ms. */
export const SUSPECT_MS = 1_000;

/** Options of {@link ReplicaSet}. */
export interface ReplicaSetOptions {
  readonly make: MakeReplicaPool;
  readonly clock: Clock;
  /** The primary the pool writes to now (a replica must follow it). */
  primary(): NodeAddress | undefined;
  /** Ask the topology for a fresh listing (rate-limited there); also starts the first discovery. */
  refresh(): void;
  /** Credential-free label of a data node, for errors. */
  label(host: string, port: number): string;
  /** How long a removed replica's in-flight reads may take before its pool is destroyed, ms. */
  readonly drainMs: number;
}

const key = (a: NodeAddress): string => `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
const text = (v: unknown): string => (typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

/** See the module comment. */
export class ReplicaSet {
  readonly #o: ReplicaSetOptions;
  readonly #nodes = new Map<string, ReplicaNode>();
  readonly #draining = new Map<string, ReplicaNode>();
  #listed: ReplicaInfo[] = [];
  #loaded = false;
  readonly #onLoad: Array<() => void> = [];
  #active = false;
  #closed = false;
  #rr = 0;

  constructor(options: ReplicaSetOptions) {
    this.#o = options;
  }

  /** Whether a listing has arrived since the pool started. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** Replicas with a pool (read targets). */
  get size(): number {
    return this.#nodes.size;
  }

  /** From now on usable replicas get pools (idempotent); before the first listing, asks for one. */
  activate(): void {
    if (this.#active || this.#closed) return;
    this.#active = true;
    if (this.#loaded) this.#apply();
    else this.#o.refresh();
  }

  /** A new listing from the sentinels. */
  update(list: readonly ReplicaInfo[]): void {
    if (this.#closed) return;
    this.#listed = [...list];
    this.#loaded = true;
    if (this.#active) this.#apply();
    for (const fn of this.#onLoad.splice(0)) fn();
  }

  /** The primary moved: the node that is the primary now stops taking reads at once. */
  primaryMoved(): void {
    if (this.#active) this.#apply();
    this.#o.refresh();
  }

  /** Resolves once a listing arrived, or after `ms` (never rejects). */
  whenLoaded(ms: number): Promise<void> {
    if (this.#loaded || this.#closed || ms <= 0) return Promise.resolve();
    this.activate();
    return new Promise<void>((resolve) => {
      const timer = this.#o.clock.setTimeout(done, ms, true);
      const o = this.#o;
      function done(): void {
        o.clock.clearTimeout(timer);
        resolve();
      }
      this.#onLoad.push(done);
    });
  }

  /**
   * The read target: the replica with the fewest reads in flight among those not in `tried`
   * (recently failed ones last), round-robin among equals; undefined when none is left.
   */
  pick(tried: ReadonlySet<ReplicaNode>): ReplicaNode | undefined {
    const now = this.#o.clock.now();
    const nodes = [...this.#nodes.values()];
    let best: ReplicaNode | undefined;
    let bestScore = Infinity;
    const n = nodes.length;
    const start = this.#rr++ % Math.max(1, n);
    for (let i = 0; i < n; i++) {
      const node = nodes[(start + i) % n]!;
      if (tried.has(node) || node.pool.state !== 'open') continue;
      const score = node.inflight + (node.suspectUntil > now ? 1e9 : 0);
      if (score < bestScore) {
        best = node;
        bestScore = score;
      }
    }
    return best;
  }

  /** Replicas with a pool not in `tried`. */
  left(tried: ReadonlySet<ReplicaNode>): number {
    let n = 0;
    for (const node of this.#nodes.values()) if (!tried.has(node) && node.pool.state === 'open') n++;
    return n;
  }

  /** Warms every replica's pool (errors ignored: a replica down must not fail `ready()`). */
  async warm(ms: number): Promise<void> {
    await this.whenLoaded(ms);
    await Promise.allSettled([...this.#nodes.values()].map((n) => n.pool.ready()));
  }

  /** One row per listed replica and per draining one. */
  stats(): ReplicaStats[] {
    const rows: ReplicaStats[] = [];
    if (!this.#active) return rows; // nothing read from replicas yet: no row claims one is down
    const row = (node: ReplicaNode, state: ReplicaStats['state']): ReplicaStats => {
      const s = node.pool.stats();
      return {
        address: node.key,
        state,
        health: state === 'up' ? s.health : undefined,
        reads: node.reads,
        failures: node.failures,
        inflight: node.inflight,
        connections: s.total,
      };
    };
    for (const node of this.#nodes.values()) rows.push(row(node, 'up'));
    const primary = this.#o.primary();
    for (const r of this.#listed)
      if (!this.#nodes.has(key(r.address)) && !this.#draining.has(key(r.address)) && !(primary && key(primary) === key(r.address)))
        rows.push({ address: key(r.address), state: 'down', health: undefined, reads: 0, failures: 0, inflight: 0, connections: 0 });
    for (const node of this.#draining.values()) rows.push(row(node, 'draining'));
    return rows;
  }

  /** Closes every replica pool (graceful within `timeoutMs`, or destroyed). */
  async close(timeoutMs: number | undefined, destroy: boolean): Promise<void> {
    this.#closed = true;
    for (const fn of this.#onLoad.splice(0)) fn();
    const all = [...this.#nodes.values(), ...this.#draining.values()];
    this.#nodes.clear();
    await Promise.all(all.map((n) => (destroy ? n.pool.destroy() : n.pool.close(timeoutMs === undefined ? undefined : { timeoutMs }))));
  }

  /** Pools for usable replicas that follow no other primary; pools of the others close. */
  #apply(): void {
    if (this.#closed) return;
    const primary = this.#o.primary();
    const want = new Map<string, NodeAddress>();
    for (const r of this.#listed) if (r.usable && !(primary && key(primary) === key(r.address))) want.set(key(r.address), r.address);
    for (const [k, node] of this.#nodes) if (!want.has(k)) this.#drain(node);
    for (const [k, address] of want) if (!this.#nodes.has(k) && !this.#draining.has(k)) this.#add(k, address);
  }

  #add(k: string, address: NodeAddress): void {
    // The topology's hook is set before any dial and finds the node through `ref`.
    const ref: { node?: ReplicaNode } = {};
    const topology = replicaTopology(address, this.#o, (reason) => {
      if (ref.node) ref.node.suspectUntil = this.#o.clock.now() + SUSPECT_MS;
      if (reason === 'role' || reason === 'masterdown') this.#o.refresh();
    });
    const node: ReplicaNode = {
      address,
      key: k,
      pool: this.#o.make(address, topology),
      reads: 0,
      failures: 0,
      inflight: 0,
      suspectUntil: -Infinity,
    };
    ref.node = node;
    this.#nodes.set(k, node);
  }

  #drain(node: ReplicaNode): void {
    this.#nodes.delete(node.key);
    this.#draining.set(node.key, node);
    void node.pool.close({ timeoutMs: this.#o.drainMs }).finally(() => {
      if (this.#draining.get(node.key) === node) this.#draining.delete(node.key);
      if (this.#active) this.#apply(); // it may be wanted again by now
    });
  }
}

/**
 * The fixed-endpoint topology of one replica's pool: generation 0, and a role check that lets
 * a connection serve only when the node is a replica whose link to the current primary is up.
 */
export function replicaTopology(
  address: NodeAddress,
  o: Pick<ReplicaSetOptions, 'primary' | 'label'>,
  hinted: (reason: TopologyHint) => void,
): EngineTopology {
  const label = o.label(address.host, address.port);
  const ep: Endpoint = { host: address.host, port: address.port, generation: 0, label };
  return {
    endpoint: { current: () => ep },
    async verify(conn: DriverConnection): Promise<void> {
      let reply: unknown;
      let role: ReturnType<typeof parseRole>;
      try {
        reply = await conn.command('role', [], false);
        role = parseRole(reply);
      } catch (err) {
        if (err instanceof RedpoolError) throw err;
        throw new ConnectionError(`${label}: unexpected ROLE reply`, 'not-sent', { cause: err });
      }
      if (role.role !== 'replica') throw new ConnectionError(`${label} is a ${role.role}, not a replica (ROLE)`, 'not-sent');
      const primary = o.primary();
      if (primary && role.primary && key(role.primary) !== key(primary))
        throw new ConnectionError(`${label} replicates ${key(role.primary)}, not the current primary ${key(primary)} (ROLE)`, 'not-sent');
      const link = Array.isArray(reply) ? text(reply[3]) : '';
      if (link !== 'connected') throw new ConnectionError(`${label}: its link to the primary is ${link || 'unknown'} (ROLE)`, 'not-sent');
    },
    hint: (reason) => hinted(reason),
  };
}
