/**
 * Cluster statistics and health: the per-node snapshots (keyed by node id, labelled by the
 * address dialled, never by key) and their aggregate, which has the shape of a single pool's
 * so dashboards and `advice()`-style code read both alike.
 */
import type { HealthReport } from '../health/readiness.js';
import type { PoolState } from '../pool/core.js';
import { Counters, type HealthStatus, type PoolStats } from '../pool/stats.js';
import type { RefresherStats } from '../topology/cluster/refresher.js';
import type { RouteCounters } from './router.js';

/** One node's statistics in {@link ClusterStats.nodes}. */
export interface ClusterNodeStats extends PoolStats {
  /** Node id (`?host:port` while known only from a redirect). */
  id: string;
  /** `host:port` dialled: the label of this node's metrics. */
  address: string;
  /** Slots this node serves in the current map (as primary; `0` for a replica). */
  slots: number;
  /** `'primary'`, or `'replica'`: a pool of `READONLY` connections for reads (`readFrom`). */
  role: 'primary' | 'replica';
  /** For a replica: node id of the primary it follows in the current map. */
  replicaOf?: string | undefined;
}

/** Topology and routing counters of a cluster pool. */
export interface ClusterInfo extends RouteCounters {
  /** Slot-map versions applied (refreshes and MOVED patches). */
  epoch: number;
  /** Slots with a pooled primary (16384: fully covered). */
  coveredSlots: number;
  /** Option `maxTotal` (`undefined`: only `max` per node). */
  maxTotal: number | undefined;
  /** Connections open or being opened across every node, retiring ones included. */
  budgetUsed: number;
  /** Connections not opened because `maxTotal` was reached. */
  budgetRefused: number;
  /** Node pools draining after their node left the map. */
  retiring: number;
  /** One-connection pools opened to read the topology when no pooled node answered (outside the budget). */
  bootstrapConnections: number;
  /** The topology refresher's counters. */
  refresh: RefresherStats;
}

/** `stats()` of a cluster pool: the aggregate (sums; `max` is the sum of per-node ceilings or `maxTotal`), per node, and the topology. */
export interface ClusterStats extends PoolStats {
  nodes: Record<string, ClusterNodeStats>;
  cluster: ClusterInfo;
}

/** `health()` of a cluster pool: the aggregate report plus one per node. */
export interface ClusterHealthReport extends HealthReport {
  nodes: Record<string, HealthReport & { address: string; role: 'primary' | 'replica' }>;
}

/** Worst-of rule: healthy only if every node is; unavailable if none serves (or no node is known). */
export function aggregateHealth(list: readonly HealthStatus[], covered: boolean): HealthStatus {
  if (list.length === 0) return 'unavailable';
  if (list.every((h) => h === 'unavailable')) return 'unavailable';
  return list.every((h) => h === 'healthy') && covered ? 'healthy' : 'degraded';
}

/** Sums every numeric field (and numeric maps, e.g. `errorsBy`) of the node snapshots. */
export function sumStats(
  list: readonly PoolStats[],
  base: { name: string; state: PoolState; health: HealthStatus; max: number },
): PoolStats {
  const zero = { total: 0, idle: 0, busy: 0, lanes: 0, leased: 0, pending: 0, connecting: 0, inflight: 0, subscribers: 0 };
  const out: Record<string, unknown> = { ...zero, ...new Counters().copy() };
  for (const s of list) {
    for (const [k, v] of Object.entries(s)) {
      if (typeof v === 'number') out[k] = ((out[k] as number | undefined) ?? 0) + v;
      else if (typeof v === 'object' && v !== null) {
        const acc = (out[k] ??= {}) as Record<string, number>;
        for (const [kk, vv] of Object.entries(v as Record<string, unknown>)) if (typeof vv === 'number') acc[kk] = (acc[kk] ?? 0) + vv;
      }
    }
  }
  const total = out as unknown as PoolStats;
  return { ...total, ...base, min: list.reduce((n, s) => n + s.min, 0), utilization: base.max > 0 ? total.busy / base.max : 0 };
}
