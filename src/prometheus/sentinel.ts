/**
 * The replica families of a Sentinel pool that reads from replicas (`createPool({ sentinel,
 * readFrom })`): one series per replica labelled `address` (`host:port` as the sentinels
 * announce it), read from `stats().sentinel.replicas`, plus the routing counters. The pool
 * families themselves are the primary's (a Sentinel pool's `stats()` is its primary's, with the
 * replicas under `sentinel`). Other pools have no series in them.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { PoolStats, ReplicaRouterStats, ReplicaStats } from '../pool/stats.js';

type Labels = Record<string, string>;

/** What the families read: each registered pool's labels and its (cached) stats snapshot. */
export interface SentinelSource {
  entries(): Iterable<{ labels: Labels; stats(): PoolStats }>;
}

const REPLICA_GAUGES: ReadonlyArray<[string, string, (r: ReplicaStats) => number]> = [
  ['replica_connections', 'Sentinel: open connections (connecting ones included) to each replica; never above max.', (r) => r.connections],
  ['replica_inflight', 'Sentinel: reads in flight on each replica.', (r) => r.inflight],
  [
    'replica_up',
    "Sentinel: 1 while the replica is a read target (state 'up'), else 0 (down or draining).",
    (r) => (r.state === 'up' ? 1 : 0),
  ],
];

const REPLICA_COUNTERS: ReadonlyArray<[string, string, (r: ReplicaStats) => number]> = [
  ['replica_reads_total', 'Sentinel: reads (commands and pipelines) each replica answered.', (r) => r.reads],
  ['replica_failures_total', 'Sentinel: reads that failed on each replica and were tried elsewhere.', (r) => r.failures],
];

/** Registers the replica families; returns them for the caller's bookkeeping (names, dispose). */
export function sentinelFamilies(registry: Registry, prefix: string, base: readonly string[], source: SentinelSource): object[] {
  const labelNames = [...base, 'address'];
  const each = (fn: (labels: Labels, r: ReplicaStats) => void): void => {
    for (const e of source.entries()) for (const r of e.stats().sentinel?.replicas ?? []) fn({ ...e.labels, address: r.address }, r);
  };
  const out: object[] = [];
  for (const [suffix, help, read] of REPLICA_GAUGES)
    out.push(
      new Gauge({
        name: prefix + suffix,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          each((labels, r) => this.set(labels, read(r)));
        },
      }),
    );
  for (const [suffix, help, read] of REPLICA_COUNTERS)
    out.push(
      new Counter({
        name: prefix + suffix,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          each((labels, r) => this.inc(labels, read(r)));
        },
      }),
    );
  out.push(
    new Counter({
      name: `${prefix}replica_routing_total`,
      help: "Sentinel read routing: reads served by a replica, 'preferReplica' reads served by the primary, retries on another node, ERR_NO_REPLICA (kind replica|fallback|retried|no_replica).",
      labelNames: [...base, 'kind'],
      registers: [registry],
      collect() {
        this.reset();
        for (const e of source.entries()) {
          const c: ReplicaRouterStats | undefined = e.stats().sentinel?.reads;
          if (!c) continue;
          this.inc({ ...e.labels, kind: 'replica' }, c.replicaReads);
          this.inc({ ...e.labels, kind: 'fallback' }, c.primaryFallbacks);
          this.inc({ ...e.labels, kind: 'retried' }, c.retried);
          this.inc({ ...e.labels, kind: 'no_replica' }, c.noReplica);
        }
      },
    }),
  );
  return out;
}
