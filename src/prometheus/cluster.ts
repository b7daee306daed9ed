/**
 * The per-node families of a cluster pool (`createPool({ cluster })`), registered beside the pool
 * families: series per node labelled `node` (node id), `address` (the `host:port` dialled) and
 * `role` (`primary`, or `replica` for the `READONLY` pools of `readFrom`), never by key, plus the routing counters. A single-node pool has no series in them. The pool
 * families themselves carry the cluster's aggregate (`stats()` sums the nodes).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ClusterStats } from '../cluster/stats.js';
import type { PoolStats } from '../pool/stats.js';

type Labels = Record<string, string>;

/** What the families read: each registered pool's labels and its (cached) stats snapshot. */
export interface ClusterSource {
  entries(): Iterable<{ labels: Labels; stats(): PoolStats }>;
}

const nodesOf = (s: PoolStats): ClusterStats['nodes'] | undefined => (s as Partial<ClusterStats>).nodes;

/** Node gauges: [suffix, help, read]. */
const NODE_GAUGES: ReadonlyArray<[string, string, (n: ClusterStats['nodes'][string]) => number]> = [
  [
    'node_connections',
    'Cluster: open connections plus those being opened, per node (stats.nodes[id].total); never above max.',
    (n) => n.total,
  ],
  ['node_leased', 'Cluster: connections held by leases, per node (stats.nodes[id].leased).', (n) => n.leased],
  ['node_pending', 'Cluster: callers waiting for a lease or lane, per node (stats.nodes[id].pending).', (n) => n.pending],
  ['node_slots', 'Cluster: hash slots the node serves in the current map (stats.nodes[id].slots).', (n) => n.slots],
];

/** Registers the cluster families; returns them for the caller's bookkeeping (names, dispose). */
export function clusterFamilies(registry: Registry, prefix: string, base: readonly string[], source: ClusterSource): object[] {
  const out: object[] = [];
  const nodeLabels = [...base, 'node', 'address', 'role'];
  for (const [suffix, help, read] of NODE_GAUGES) {
    out.push(
      new Gauge({
        name: prefix + suffix,
        help,
        labelNames: nodeLabels,
        registers: [registry],
        collect() {
          this.reset();
          for (const e of source.entries())
            for (const n of Object.values(nodesOf(e.stats()) ?? {}))
              this.set({ ...e.labels, node: n.id, address: n.address, role: n.role }, read(n));
        },
      }),
    );
  }
  out.push(
    new Gauge({
      name: `${prefix}node_health`,
      help: 'Cluster: 1 for the current health status of each node (healthy, degraded, unavailable), else 0.',
      labelNames: [...nodeLabels, 'status'],
      registers: [registry],
      collect() {
        this.reset();
        for (const e of source.entries())
          for (const n of Object.values(nodesOf(e.stats()) ?? {}))
            for (const status of ['healthy', 'degraded', 'unavailable'])
              this.set({ ...e.labels, node: n.id, address: n.address, role: n.role, status }, n.health === status ? 1 : 0);
      },
    }),
  );
  out.push(
    new Counter({
      name: `${prefix}cluster_redirects_total`,
      help: 'Cluster: commands sent on after a MOVED, an ASK, or a node that could not take them (kind moved|ask|rerouted).',
      labelNames: [...base, 'kind'],
      registers: [registry],
      collect() {
        this.reset();
        for (const e of source.entries()) {
          const c = (e.stats() as Partial<ClusterStats>).cluster;
          if (!c) continue;
          for (const kind of ['moved', 'ask', 'rerouted'] as const) this.inc({ ...e.labels, kind }, c[kind]);
        }
      },
    }),
  );
  return out;
}
