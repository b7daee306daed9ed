/**
 * The cluster's slot map: which node owns each of the 16384 slots, built from `CLUSTER SHARDS`
 * (Redis 7.0+: node ids, roles, health, replication offsets, failed nodes included) or, on older
 * servers, from `CLUSTER SLOTS`. Nodes are keyed by node id, never by `host:port` (in-place
 * upgrades keep addresses and change ids: redis/ioredis#1778). Replies are accepted in RESP2
 * (flat `[k, v, …]` arrays) and RESP3 (maps) shape, strings or Buffers.
 */
import { SLOT_COUNT } from './keys.js';
import type { NodeAddress } from './nat-map.js';

/** Health of a node as `CLUSTER SHARDS` reports it (`CLUSTER SLOTS` only lists reachable ones: `online`). */
export type NodeHealth = 'online' | 'failed' | 'loading';

/** One node of the slot map. */
export interface ClusterNodeInfo {
  /** Node id (40 hex characters), or `?host:port` for a node only known from a redirect. */
  id: string;
  /** Address to dial, after `natMap` translation. */
  host: string;
  port: number;
  /** TLS port when the node announces one (`tls-port`). */
  tlsPort?: number;
  /** Announced hostname (`cluster-announce-hostname`), e.g. for TLS `servername`. */
  hostname?: string;
  role: 'primary' | 'replica';
  health: NodeHealth;
  /** Replication offset; `0` when unknown (from `CLUSTER SLOTS`). */
  replicationOffset: number;
}

/** One shard: its slot ranges, its primary and its replicas (node ids). */
export interface ShardInfo {
  /** Inclusive `[start, end]` ranges. */
  slots: readonly (readonly [number, number])[];
  /** Id of the primary serving the shard, `undefined` while none is online (failover in progress). */
  primary: string | undefined;
  /** Ids of the other nodes of the shard (replicas and failed primaries). */
  replicas: readonly string[];
}

/** Thrown (internally, as a plain Error) when a reply does not have the documented shape. */
function shapeError(what: string): Error {
  return new Error(`unexpected ${what} reply shape`);
}

function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return '';
}

function int(v: unknown): number {
  const n = typeof v === 'number' ? v : Number(str(v));
  return Number.isFinite(n) ? n : NaN;
}

/** RESP2 `[k, v, k, v…]`, a Map or a plain object → Map with string keys. */
function fields(v: unknown): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (Array.isArray(v)) {
    for (let i = 0; i + 1 < v.length; i += 2) out.set(str(v[i]), v[i + 1]);
  } else if (v instanceof Map) {
    for (const [k, val] of v) out.set(str(k), val);
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, val] of Object.entries(v)) out.set(k, val);
  }
  return out;
}

/** Options of the parsers. */
export interface ParseOptions {
  /** Translate announced addresses (see `compileNatMap`). Default: identity. */
  translate?: (announced: NodeAddress) => NodeAddress;
  /**
   * Host of the node that answered: used when a node announces an empty/unknown address (a node
   * that does not know its own IP reports `""` or `?` for itself).
   */
  sourceHost?: string;
}

/** An immutable slot → primary map plus the node table. Build with {@link parseClusterShards} / {@link parseClusterSlots}. */
export class SlotMap {
  /** Nodes by id. */
  readonly nodes: ReadonlyMap<string, ClusterNodeInfo>;
  readonly shards: readonly ShardInfo[];
  /** Which source built it: `'shards'` (CLUSTER SHARDS) or `'slots'` (CLUSTER SLOTS) or `'patched'`. */
  readonly source: 'shards' | 'slots' | 'patched';
  /** Slot → index into {@link shards}; 0xffff = not covered. */
  readonly #owner: Uint16Array;

  constructor(nodes: ReadonlyMap<string, ClusterNodeInfo>, shards: readonly ShardInfo[], source: SlotMap['source']) {
    this.nodes = nodes;
    this.shards = shards;
    this.source = source;
    this.#owner = new Uint16Array(SLOT_COUNT).fill(0xffff);
    shards.forEach((shard, index) => {
      for (const [start, end] of shard.slots) this.#owner.fill(index, start, end + 1);
    });
  }

  /** The shard owning `slot`, `undefined` if the slot is not covered. */
  shardOf(slot: number): ShardInfo | undefined {
    const index = this.#owner[slot];
    return index === undefined || index === 0xffff ? undefined : this.shards[index];
  }

  /** The primary serving `slot` (online), `undefined` if uncovered or mid-failover. */
  primaryOf(slot: number): ClusterNodeInfo | undefined {
    const id = this.shardOf(slot)?.primary;
    return id === undefined ? undefined : this.nodes.get(id);
  }

  /** Online replicas of the shard owning `slot`. */
  replicasOf(slot: number): ClusterNodeInfo[] {
    const shard = this.shardOf(slot);
    if (!shard) return [];
    return shard.replicas.flatMap((id) => {
      const n = this.nodes.get(id);
      return n && n.role === 'replica' && n.health === 'online' ? [n] : [];
    });
  }

  /** Number of slots with an online primary (16384 = fully covered). */
  coveredSlots(): number {
    let n = 0;
    for (let s = 0; s < SLOT_COUNT; s++) if (this.primaryOf(s)) n++;
    return n;
  }

  /** The node with this dial address, if any. */
  nodeAt(host: string, port: number): ClusterNodeInfo | undefined {
    for (const n of this.nodes.values()) if (n.host === host && n.port === port) return n;
    return undefined;
  }

  /**
   * A copy with `slot` moved to the node at `address` (a `MOVED` reply, already translated), so
   * redirected commands do not wait for a refresh. An address no node has is added as a
   * provisional primary with id `?host:port`; a refresh replaces it with the real node.
   */
  withMoved(slot: number, address: NodeAddress): SlotMap {
    if (!Number.isInteger(slot) || slot < 0 || slot >= SLOT_COUNT) throw new RangeError(`slot ${slot} out of range`);
    const nodes = new Map(this.nodes);
    let target = this.nodeAt(address.host, address.port);
    if (!target) {
      target = {
        id: `?${address.host}:${address.port}`,
        host: address.host,
        port: address.port,
        role: 'primary',
        health: 'online',
        replicationOffset: 0,
      };
      nodes.set(target.id, target);
    } else if (target.role !== 'primary') {
      // A replica that answers MOVED for a slot has been promoted.
      target = { ...target, role: 'primary' };
      nodes.set(target.id, target);
    }
    const shards: ShardInfo[] = this.shards.map((shard) => ({ ...shard, slots: removeSlot(shard.slots, slot) }));
    let index = shards.findIndex((s) => s.primary === target.id);
    if (index < 0) index = shards.push({ slots: [], primary: target.id, replicas: [] }) - 1;
    const dest = shards[index] as ShardInfo;
    shards[index] = { ...dest, slots: [...dest.slots, [slot, slot]] };
    for (let i = 0; i < shards.length; i++) {
      const s = shards[i] as ShardInfo;
      if (i !== index && s.replicas.includes(target.id)) shards[i] = { ...s, replicas: s.replicas.filter((r) => r !== target.id) };
    }
    return new SlotMap(nodes, shards, 'patched');
  }
}

function removeSlot(ranges: readonly (readonly [number, number])[], slot: number): [number, number][] {
  const out: [number, number][] = [];
  for (const [a, b] of ranges) {
    if (slot < a || slot > b) out.push([a, b]);
    else {
      if (a < slot) out.push([a, slot - 1]);
      if (slot < b) out.push([slot + 1, b]);
    }
  }
  return out;
}

function slotPairs(flat: unknown, what: string): [number, number][] {
  if (!Array.isArray(flat) || flat.length % 2 !== 0) throw shapeError(what);
  const out: [number, number][] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const a = int(flat[i]);
    const b = int(flat[i + 1]);
    if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && a <= b && b < SLOT_COUNT)) throw shapeError(what);
    out.push([a, b]);
  }
  return out;
}

function announcedHost(endpoint: string, ip: string, opts: ParseOptions): string {
  for (const h of [endpoint, ip]) if (h !== '' && h !== '?') return h;
  return opts.sourceHost ?? '127.0.0.1';
}

/**
 * Builds a {@link SlotMap} from a `CLUSTER SHARDS` reply. The primary of a shard is its online
 * node with role `master`; a shard whose primary failed and is not yet replaced has
 * `primary: undefined` (its slots are reported uncovered, so callers fail fast for those slots
 * only). Throws on a reply that does not have the documented shape.
 */
export function parseClusterShards(reply: unknown, opts: ParseOptions = {}): SlotMap {
  if (!Array.isArray(reply)) throw shapeError('CLUSTER SHARDS');
  const translate = opts.translate ?? ((a: NodeAddress) => a);
  const nodes = new Map<string, ClusterNodeInfo>();
  const shards: ShardInfo[] = [];
  for (const rawShard of reply) {
    const shard = fields(rawShard);
    const slots = slotPairs(shard.get('slots') ?? [], 'CLUSTER SHARDS slots');
    const rawNodes = shard.get('nodes');
    if (!Array.isArray(rawNodes)) throw shapeError('CLUSTER SHARDS nodes');
    let primary: string | undefined;
    const others: string[] = [];
    for (const rawNode of rawNodes) {
      const f = fields(rawNode);
      const id = str(f.get('id'));
      const tlsPort = int(f.get('tls-port'));
      const plainPort = int(f.get('port'));
      const port = Number.isInteger(plainPort) && plainPort > 0 ? plainPort : tlsPort;
      if (!/^[0-9a-f]{40}$/i.test(id) || !Number.isInteger(port)) throw shapeError('CLUSTER SHARDS node');
      const health = str(f.get('health'));
      const hostname = str(f.get('hostname'));
      const addr = translate({ host: announcedHost(str(f.get('endpoint')), str(f.get('ip')), opts), port });
      const node: ClusterNodeInfo = {
        id,
        host: addr.host,
        port: addr.port,
        ...(Number.isInteger(tlsPort) && tlsPort > 0 ? { tlsPort } : {}),
        ...(hostname !== '' ? { hostname } : {}),
        role: str(f.get('role')) === 'master' ? 'primary' : 'replica',
        // 7.0.15 answers `fail` although the documentation says `failed`: accept both.
        health: health === 'fail' || health === 'failed' ? 'failed' : health === 'loading' ? 'loading' : 'online',
        replicationOffset: int(f.get('replication-offset')) || 0,
      };
      nodes.set(id, node);
      if (primary === undefined && node.role === 'primary' && node.health === 'online') primary = id;
      else others.push(id);
    }
    // Shards without slots (a primary just added) are kept: their nodes are known for redirects.
    shards.push({ slots, primary, replicas: others });
  }
  return new SlotMap(nodes, shards, 'shards');
}

/**
 * Builds a {@link SlotMap} from a `CLUSTER SLOTS` reply (servers before 7.0): entries
 * `[start, end, [ip, port, id, …], [replica…]…]`. Health is not reported (`online` assumed),
 * failed nodes are not listed, offsets are 0. Ranges that share a primary form one shard.
 */
export function parseClusterSlots(reply: unknown, opts: ParseOptions = {}): SlotMap {
  if (!Array.isArray(reply)) throw shapeError('CLUSTER SLOTS');
  const translate = opts.translate ?? ((a: NodeAddress) => a);
  const nodes = new Map<string, ClusterNodeInfo>();
  const byPrimary = new Map<string, { slots: [number, number][]; replicas: Set<string> }>();
  for (const entry of reply) {
    if (!Array.isArray(entry) || entry.length < 3) throw shapeError('CLUSTER SLOTS entry');
    const [range] = slotPairs([entry[0], entry[1]], 'CLUSTER SLOTS range');
    const ids: string[] = [];
    entry.slice(2).forEach((rawNode: unknown, i: number) => {
      if (!Array.isArray(rawNode) || rawNode.length < 2) throw shapeError('CLUSTER SLOTS node');
      const port = int(rawNode[1]);
      if (!Number.isInteger(port)) throw shapeError('CLUSTER SLOTS node');
      const ip = str(rawNode[0]);
      const id = rawNode.length > 2 && str(rawNode[2]) !== '' ? str(rawNode[2]) : `?${ip}:${port}`;
      const addr = translate({ host: announcedHost(ip, '', opts), port });
      const meta = fields(rawNode[3]);
      const hostname = str(meta.get('hostname'));
      nodes.set(id, {
        id,
        host: addr.host,
        port: addr.port,
        ...(hostname !== '' ? { hostname } : {}),
        role: i === 0 ? 'primary' : 'replica',
        health: 'online',
        replicationOffset: 0,
      });
      ids.push(id);
    });
    const [primary, ...replicas] = ids;
    if (primary === undefined || range === undefined) continue;
    const group = byPrimary.get(primary) ?? { slots: [], replicas: new Set<string>() };
    group.slots.push(range);
    for (const r of replicas) group.replicas.add(r);
    byPrimary.set(primary, group);
  }
  const shards: ShardInfo[] = [...byPrimary].map(([primary, g]) => ({ slots: g.slots, primary, replicas: [...g.replicas] }));
  return new SlotMap(nodes, shards, 'slots');
}
