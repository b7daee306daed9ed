/**
 * Cluster mode of `redpool monitor`: every node of the cluster (from `CLUSTER NODES` through the
 * CLI's cluster pool, re-read each sample so a failover shows as changed roles), each node's
 * INFO through its own one-connection pool, with rates per node between samples.
 */
import { fmtCount } from '../load/format.js';
import { nodePools, openClusterToolPool, readTopology, type TopologyNode } from './cluster.js';
import { sampleFrom, sampleLine, type MonitorSample, type Raw } from './monitor-sample.js';
import { failureMessage, print, printErr, table } from './output.js';

/** One node in a cluster monitor sample. */
export interface ClusterMonitorNode extends Omit<MonitorSample, 'time'> {
  address: string;
  id: string;
  role: 'primary' | 'replica';
  /** Slots served (primaries), from `CLUSTER NODES`. */
  slots: number;
  /** Cluster flags other than the role (`fail`, `fail?`, …). */
  flags: string[];
}

/** One cluster monitor sample (`--json` prints one per line). */
export interface ClusterMonitorSample {
  time: string;
  nodes: ClusterMonitorNode[];
}

/** What {@link monitorCluster} needs from the command line. */
export interface ClusterMonitorRun {
  url: string | undefined;
  display: string;
  intervalMs: number;
  count: number;
  timeoutMs: number;
  json: boolean;
  once: boolean;
  live: boolean;
  signal: AbortSignal;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

const v = (x: number | null): string => (x === null ? '–' : fmtCount(x));
const pct = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(1)} %`);

/** A table, one row per node, for a terminal. */
export function clusterBlock(s: ClusterMonitorSample, header: string): string {
  const cols = ['node', 'role', 'slots', 'clients', 'blocked', 'ops/s', 'cmds/s', 'memory', 'keys', 'hit ratio', 'rejected', 'evicted'];
  const rows = s.nodes.map((n) => [
    n.address + (n.flags.length ? ` [${n.flags.join(',')}]` : ''),
    n.role,
    n.role === 'primary' ? String(n.slots) : '',
    v(n.connectedClients),
    v(n.blockedClients),
    v(n.opsPerSec),
    v(n.commandsPerSec),
    n.usedMemoryHuman ?? '–',
    v(n.keys),
    pct(n.intervalHitRatio ?? n.hitRatio),
    v(n.rejectedConnections),
    v(n.evictedKeys),
  ]);
  return [header, table(cols, rows, { left: 2, indent: '  ' })].join('\n');
}

/** One line per node: the single-node line with the node's address and role after the time. */
export function clusterLines(s: ClusterMonitorSample): string {
  return s.nodes.map((n) => sampleLine({ ...n, time: s.time }).replace(s.time, `${s.time} node=${n.address} role=${n.role}`)).join('\n');
}

/** Runs the cluster monitor loop; resolves with the exit code (1 when any node's sample failed). */
export async function monitorCluster(run: ClusterMonitorRun): Promise<number> {
  const pool = openClusterToolPool(run.url, run.timeoutMs);
  const pools = nodePools(run.url, run.timeoutMs);
  const prev = new Map<string, Raw>();
  let topology: TopologyNode[] = [];
  let failures = 0;
  let drawn = 0;
  try {
    await pool.ready();
    for (let i = 0; i < run.count && !run.signal.aborted; i++) {
      if (i > 0) await run.sleep(run.intervalMs, run.signal);
      if (run.signal.aborted) break;
      topology = (await readTopology(pool, run.timeoutMs)) ?? topology;
      if (topology.length === 0) {
        failures++;
        printErr(`redpool monitor: ${run.display}: no cluster node answered CLUSTER NODES`);
        continue;
      }
      const at = Date.now();
      const infos = await Promise.all(topology.map((n) => pools.info(n.address)));
      const nodes: ClusterMonitorNode[] = [];
      topology.forEach((n, k) => {
        const info = infos[k];
        if (!info) {
          failures++;
          printErr(
            `redpool monitor: ${run.display}: sample of ${n.role} ${n.address} failed: ${failureMessage(new Error(`no INFO within ${run.timeoutMs * 2} ms`))}`,
          );
          return;
        }
        const cur = { at, info };
        const { time: _t, ...s } = sampleFrom(cur, prev.get(n.address));
        void _t;
        prev.set(n.address, cur);
        nodes.push({ address: n.address, id: n.id, role: n.role, slots: n.slots, flags: n.flags, ...s });
      });
      const sample: ClusterMonitorSample = { time: new Date(at).toISOString(), nodes };
      if (run.json) print(JSON.stringify({ target: run.display, cluster: true, ...sample }));
      else if (run.live) {
        if (drawn > 0) process.stdout.write(`\x1b[${drawn}A\x1b[J`);
        const block = clusterBlock(
          sample,
          `redpool monitor · ${run.display} · cluster, ${nodes.length} nodes · ${sample.time} · every ${run.intervalMs / 1000}s (Ctrl-C to stop)`,
        );
        print(block);
        drawn = block.split('\n').length;
      } else if (run.once)
        print(clusterBlock(sample, `redpool monitor · ${run.display} · cluster, ${nodes.length} nodes · ${sample.time}`));
      else print(clusterLines(sample));
    }
    return failures > 0 ? 1 : 0;
  } finally {
    await Promise.all([pool.destroy(), pools.destroy()]);
  }
}
