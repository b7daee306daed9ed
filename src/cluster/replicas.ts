/**
 * The replicas a cluster pool reads from (`readFrom: 'replica' | 'preferReplica'`): one per-node
 * pool per online replica of every shard that serves slots, keyed by node id like the primaries'
 * pools and drawing on the same budget (`max` per node, `maxTotal` across primaries and replicas).
 * Every connection of a replica pool sends `READONLY` after its handshake, before it is used (a
 * connection-setup step of the node pool, not a shared-API command: `READONLY` changes
 * connection state and is refused on lanes), so the replica serves reads of its shard's slots
 * instead of answering `MOVED`.
 *
 * Replica pools exist only once replica reads are enabled: at construction when the pool's
 * `readFrom` is not `'primary'`, or at the first call that asks for a replica with
 * `pool.with({ readFrom })`. A pool that never reads from replicas opens nothing to them.
 *
 * They follow the slot map as the primaries do: a refresh creates pools for new online replicas
 * (a failed primary that came back as a replica becomes a read target) and drains those of nodes
 * that are no longer online replicas (a promoted replica is a primary now: its reads go to its
 * primary pool; a `MOVED` patch that promotes one drops it at once). A replica whose read failed
 * (connection lost, not taken, deadline) is skipped for {@link REPLICA_PENALTY_MS}, or until its
 * pool reports healthy again, so later reads do not spend their deadline on it.
 */
import type { DriverConnection } from '../driver/driver.js';
import { ConnectionError } from '../errors.js';
import type { Clock } from '../internal/clock.js';
import { SLOT_COUNT } from '../topology/cluster/keys.js';
import type { ClusterNodeInfo, SlotMap } from '../topology/cluster/slot-map.js';

/** What this module needs of a node entry (`nodes.ts`'s `NodeEntry`, which imports this module). */
export interface ReplicaEntry {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly pool: { readonly state: string };
}

/** How long a replica whose read failed is left out of read routing, ms (its pool turning healthy ends it sooner). */
export const REPLICA_PENALTY_MS = 5000;

/**
 * The setup step of every replica-pool connection: `READONLY` and a `PING` in one write. A
 * refusal of either refuses the connection (`not-sent`): above all `-LOADING` from a replica
 * still loading its primary's data (`READONLY` is allowed while loading, a read is not), so the
 * replica's pool stays unavailable — its reads go elsewhere — until it can serve them.
 */
export async function readonlySetup(conn: DriverConnection): Promise<void> {
  let res: Awaited<ReturnType<DriverConnection['batch']>>;
  try {
    res = await conn.batch([['readonly'], ['ping']], false);
  } catch (err) {
    throw new ConnectionError('READONLY + PING on a cluster replica failed', 'not-sent', { cause: err });
  }
  const failed = res?.find(([e]) => e !== null)?.[0];
  if (!res || failed)
    throw new ConnectionError('a cluster replica refused READONLY or PING (loading?)', 'not-sent', { cause: failed ?? undefined });
}

/** What {@link ClusterReplicas} needs from the node table. */
export interface ReplicaHost<E extends ReplicaEntry> {
  readonly clock: Clock;
  /** Creates the pool of a replica (with {@link readonlySetup}) and its entry. */
  make(info: ClusterNodeInfo): E;
  /** Drains a replica pool that left read routing (its connections go back to the budget). */
  retire(entry: E): void;
}

/** See the module comment. */
export class ClusterReplicas<E extends ReplicaEntry> {
  readonly #host: ReplicaHost<E>;
  #enabled: boolean;
  #map: SlotMap | undefined;
  readonly #entries = new Map<string, E>();
  #list: E[] = [];
  /** Slot → the replicas of the shard serving it (shared arrays, one per shard). */
  #bySlot: (readonly E[] | undefined)[] = new Array<readonly E[] | undefined>(SLOT_COUNT);
  /** Replica → clock time until which it is left out of routing. */
  readonly #penalty = new Map<E, number>();
  #rr = 0;

  constructor(host: ReplicaHost<E>, enabled: boolean) {
    this.#host = host;
    this.#enabled = enabled;
  }

  /** Whether replica pools are kept (see the module comment). */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Pooled replicas. */
  get entries(): readonly E[] {
    return this.#list;
  }

  /** Starts keeping replica pools (idempotent): the first replica read of a `readFrom: 'primary'` pool. */
  enable(): void {
    if (this.#enabled) return;
    this.#enabled = true;
    if (this.#map) this.apply(this.#map);
  }

  /** A new or patched slot map: pools follow its online replicas. */
  apply(map: SlotMap): void {
    this.#map = map;
    if (!this.#enabled) return;
    const wanted = new Map<string, ClusterNodeInfo>();
    for (const shard of map.shards) {
      if (shard.slots.length === 0) continue;
      for (const id of shard.replicas) {
        const n = map.nodes.get(id);
        if (n && n.role === 'replica' && n.health === 'online') wanted.set(id, n);
      }
    }
    for (const entry of [...this.#entries.values()]) {
      const info = wanted.get(entry.id);
      if (info && info.host === entry.host && info.port === entry.port) continue;
      this.#entries.delete(entry.id);
      this.#penalty.delete(entry);
      this.#host.retire(entry);
    }
    for (const info of wanted.values()) if (!this.#entries.has(info.id)) this.#entries.set(info.id, this.#host.make(info));
    this.#list = [...this.#entries.values()];
    const bySlot = new Array<readonly E[] | undefined>(SLOT_COUNT);
    for (const shard of map.shards) {
      const list = shard.replicas.flatMap((id) => this.#entries.get(id) ?? []);
      if (list.length === 0) continue;
      for (const [a, b] of shard.slots) bySlot.fill(list, a, b + 1);
    }
    this.#bySlot = bySlot;
  }

  /** Replicas known for `slot` (any slot for `undefined`), usable or not. */
  known(slot: number | undefined): number {
    return slot === undefined ? this.#list.length : (this.#bySlot[slot]?.length ?? 0);
  }

  /**
   * The next usable replica for `slot` (of any shard for a keyless command), round robin, skipping
   * those in `skip`, those penalized and closed pools; `undefined` when none is left.
   */
  pick(slot: number | undefined, skip?: readonly E[]): E | undefined {
    const list = slot === undefined ? this.#list : this.#bySlot[slot];
    if (!list || list.length === 0) return undefined;
    const start = this.#rr++;
    // The clock is read only while some replica is penalized (the hot path has none).
    const now = this.#penalty.size > 0 ? this.#host.clock.now() : undefined;
    for (let k = 0; k < list.length; k++) {
      const e = list[(start + k) % list.length]!;
      if (skip?.includes(e) || e.pool.state !== 'open') continue;
      if (now !== undefined) {
        const until = this.#penalty.get(e);
        if (until !== undefined) {
          if (until > now) continue;
          this.#penalty.delete(e);
        }
      }
      return e;
    }
    return undefined;
  }

  /** Leaves `entry` out of read routing for {@link REPLICA_PENALTY_MS}. */
  penalize(entry: E): void {
    if (this.#entries.get(entry.id) === entry) this.#penalty.set(entry, this.#host.clock.now() + REPLICA_PENALTY_MS);
  }

  /** `entry`'s pool is healthy again: it takes reads at once. */
  recovered(entry: E): void {
    this.#penalty.delete(entry);
  }

  /** The primary a pooled replica follows in the current map (node id), for stats. */
  primaryOf(entry: E): string | undefined {
    return this.#map?.shards.find((s) => s.replicas.includes(entry.id))?.primary;
  }
}
