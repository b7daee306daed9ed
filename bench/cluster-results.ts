/** Renders bench/CLUSTER.md from the rows bench/cluster.ts measured. */
import { CLUSTER_CLIENT_INFO, type ClusterClientId } from './cluster-clients.js';
import type { CellResult, FailoverOutput, LoadOutput } from './cluster-protocol.js';
import type { LedgerGroup } from '../test/fault/lib/cluster-ledger.js';

/** One throughput cell (the median round). `connections`: most client connections seen per node, in node order (primaries, then replicas). */
export interface LoadRow {
  client: ClusterClientId;
  workload: 'mixed' | 'pipeline';
  result: CellResult;
  connections: number[];
}

/** One failover cell. `promotedMs`: fault → the replica answers ROLE master (null: not within the window). */
export interface FailoverRow {
  client: ClusterClientId;
  fault: 'kill' | 'stop';
  /** Where the workload wrote: every slot, or only the faulted primary's. */
  scope: 'all' | 'victim';
  result: CellResult;
  promotedMs: number | null;
}

/** Everything the page shows. */
export interface ClusterRun {
  command: string;
  date: string;
  durationMs: number;
  rounds: number;
  observeMs: number;
  deadlineMs: number;
  nodeTimeoutMs: number;
  pinned: boolean;
  redisVersion: string;
  cpus: number;
  loadBefore: number[];
  loadAfter: number[];
  wallMs: number;
  clients: ClusterClientId[];
  loadRows: LoadRow[];
  failoverRows: FailoverRow[];
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (v: number | null | undefined): string =>
  v === null || v === undefined || Number.isNaN(v) ? '—' : v < 10 ? `${v.toFixed(2)} ms` : `${Math.round(v)} ms`;
const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' / ');

function failed(r: CellResult): string | undefined {
  if (r.ok) return undefined;
  return r.unavailable ? `not available: ${r.error}` : `failed: ${r.error}`;
}

function codes(g: LedgerGroup): string {
  const entries = Object.entries(g.codes).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return 'none';
  return entries
    .slice(0, 3)
    .map(([c, n]) => `${c.replace(/\|/g, '/')} ×${n}`)
    .join('; ');
}

function loadTable(run: ClusterRun, workload: LoadRow['workload']): string[] {
  const rows = run.loadRows.filter((r) => r.workload === workload);
  const base = rows.find((r) => r.client === 'redpool' && r.result.ok) ?? rows.find((r) => r.result.ok);
  const baseOps = base?.result.ok ? (base.result as LoadOutput).opsPerSec : NaN;
  const out = [
    `| client | commands/s | vs ${base ? CLUSTER_CLIENT_INFO[base.client].label : '—'} | p50 | p99 | client CPU / command | errors | client connections per node (peak, primaries · replicas) |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of rows) {
    const label = CLUSTER_CLIENT_INFO[r.client].label;
    const why = failed(r.result);
    if (why) {
      out.push(`| ${label} | ${why.replace(/\|/g, '/')} | | | | | | |`);
      continue;
    }
    const o = r.result as LoadOutput;
    const c = r.connections;
    const conns = c.length ? `${c.slice(0, 3).join(' ')} · ${c.slice(3).join(' ')}` : '—';
    out.push(
      `| ${label} | ${fmt(o.opsPerSec)} | ${(o.opsPerSec / baseOps).toFixed(2)}× | ${ms(o.p50Ms)} | ${ms(o.p99Ms)} | ${o.cpuUsPerOp.toFixed(1)} µs | ${o.errors} | ${conns} |`,
    );
  }
  return out;
}

function failoverTable(run: ClusterRun, fault: FailoverRow['fault'], scope: FailoverRow['scope']): string[] {
  const out = [
    '| client | replica promoted | first write acknowledged (its slots) | longest without an ack (its slots) | calls on its slots: acked · failed · never settled | failed calls whose write ran | duplicates | acknowledged writes lost | errors seen (its slots) | other slots: acked · failed · never settled |',
    '| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- | --- |',
  ];
  for (const r of run.failoverRows.filter((x) => x.fault === fault && x.scope === scope)) {
    const label = CLUSTER_CLIENT_INFO[r.client].label;
    const why = failed(r.result);
    if (why) {
      out.push(`| ${label} | ${ms(r.promotedMs)} | ${why.replace(/\|/g, '/')} | | | | | | | |`);
      continue;
    }
    const { affected: a, others: o, total } = (r.result as FailoverOutput).ledger;
    const recovered = a.recoveryMs === null ? `none within ${run.observeMs / 1000} s` : ms(a.recoveryMs);
    out.push(
      `| ${label} | ${ms(r.promotedMs)} | ${recovered} | ${ms(a.longestGapMs)} | ${a.acked} · ${a.notExecuted + a.unknown + a.misdelivered} · ${a.unsettled} | ${total.failedButHeld} | ${total.duplicates} | ${total.lostAcked} | ${codes(a)} | ${scope === 'victim' ? 'no load there' : `${o.acked} · ${o.notExecuted + o.unknown + o.misdelivered} · ${o.unsettled}`} |`,
    );
  }
  return out;
}

/** The markdown page. */
export function renderCluster(run: ClusterRun): string {
  const lines = [
    '# Cluster benchmark',
    '',
    `Produced by \`${run.command}\` on ${run.date} (${(run.wallMs / 1000).toFixed(0)} s wall), redis-server ${run.redisVersion},`,
    `${run.cpus} CPUs${run.pinned ? ' (clients pinned to CPU 0, servers to CPU 1 with taskset)' : ''}, load average before ${load(run.loadBefore)}, after ${load(run.loadAfter)}.`,
    `Topology: 3 primaries + 3 replicas on loopback (test/helpers/topology.ts), \`cluster-node-timeout ${run.nodeTimeoutMs}\`. One process per cell; clients interleaved. Method: the header of bench/cluster.ts.`,
    'The machine is shared with other work: throughput varies between runs; client CPU per command and the failover columns are the robust figures.',
    '',
    '| client | configuration |',
    '| --- | --- |',
    ...run.clients.map((c) => `| ${CLUSTER_CLIENT_INFO[c].label} | ${CLUSTER_CLIENT_INFO[c].what} |`),
    '',
  ];
  if (run.loadRows.length) {
    lines.push(
      `## Throughput (median of ${run.rounds} round${run.rounds > 1 ? 's' : ''}, ${run.durationMs / 1000} s each)`,
      '',
      '### mixed: 64 callers, SET/GET 50/50, 64 B values, 100 000 keys over every slot',
      '',
      ...loadTable(run, 'mixed'),
      '',
      '### pipeline: 16 callers, pipelines of 10 commands (SET/GET) on one hash tag each, tags over every slot',
      '',
      ...loadTable(run, 'pipeline'),
      '',
      'Latency is per call (one command, or one whole pipeline). Connections per node are in node order: the three primaries, then their replicas.',
      '',
    );
  }
  if (run.failoverRows.length) {
    lines.push(
      `## Failover recovery (one fresh cluster per cell, ${run.observeMs / 1000} s observed after the fault)`,
      '',
      `6 workers, one call every ~5 ms each (RPUSH of unique ids and SET/GET echo pairs over hash tags on every slot), per-command deadline ${run.deadlineMs} ms (node-redis 5 has none for written commands: its calls are bounded by the workload's guard of ${run.deadlineMs * 4 + 1000} ms and counted as never settled). Times are from the fault.`,
      '',
      '### Killed primary (SIGKILL)',
      '',
      ...failoverTable(run, 'kill', 'all'),
      '',
      '### Frozen primary (SIGSTOP for the whole window and the audit, SIGCONT after it)',
      '',
      ...failoverTable(run, 'stop', 'all'),
      '',
      '### Frozen primary, load only on its slots (the writer of research/scale-out.md §4)',
      '',
      "With load on every slot, the healthy primaries answer `CLUSTERDOWN` while the frozen one is failing over (`cluster-require-full-coverage yes`, the default), and that reply makes ioredis refresh its slot map. Writing only to the frozen primary's slots takes that hint away:",
      '',
      ...failoverTable(run, 'stop', 'victim'),
      '',
      '"Failed calls whose write ran": RPUSH calls that failed (or never settled) whose id is on the cluster when audited (for SIGSTOP, before the old primary is thawed, so the write reached the new primary: it was sent again after the call had failed, or the call failed after it ran). A caller that retries such a failure writes twice. "Duplicates" are ids the cluster holds twice (LLEN − distinct ids): a write that ran twice. "Acknowledged writes lost" after a SIGKILL can include writes the killed primary acknowledged but had not replicated yet (Redis replication is asynchronous): that is the server, not the client.',
      '',
    );
  }
  return lines.join('\n');
}
