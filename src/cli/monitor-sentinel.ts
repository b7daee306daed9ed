/**
 * Sentinel mode of `redpool monitor`: each sample asks the sentinels (`SENTINEL MASTER` and
 * `REPLICAS`, so a failover shows as swapped roles), reads the INFO of the primary the CLI's
 * Sentinel pool follows and of every replica through their own one-connection pools, and prints
 * one row or line per node (role, replication offset, lag, the single-node figures) under a
 * line with the pool's `stats().sentinel` and how many sentinels answered.
 */
import { fmtCount } from '../load/format.js';
import { infoNumber } from '../load/server-info.js';
import type { SentinelStats } from '../index.js';
import type { ClusterMonitorRun } from './monitor-cluster.js';
import { sampleFrom, sampleLine, type MonitorSample, type Raw } from './monitor-sample.js';
import { print, printErr, table } from './output.js';
import { AddressPools } from './address-pools.js';
import { openSentinelToolPool, replicasOf, viewOfSentinels, type SentinelTarget } from './sentinel.js';

/** One data node in a Sentinel monitor sample. */
export interface SentinelMonitorNode extends Omit<MonitorSample, 'time'> {
  address: string;
  role: 'primary' | 'replica';
  /** `master_repl_offset` (primary) or `slave_repl_offset` (replica), bytes. */
  offset: number | null;
  /** Replica: bytes behind the primary. */
  lagBytes: number | null;
}

/** One Sentinel monitor sample (`--json` prints one per line). */
export interface SentinelMonitorSample {
  time: string;
  /** The primary the pool follows, or null. */
  primary: string | null;
  /** Sentinels that answered `SENTINEL MASTER`, of those given. */
  sentinelsReachable: number;
  sentinelsGiven: number;
  /** The pool's `stats().sentinel`. */
  stats: SentinelStats | null;
  nodes: SentinelMonitorNode[];
}

const v = (x: number | null): string => (x === null ? '–' : fmtCount(x));
const pct = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(1)} %`);

/** The line above the nodes: primary, generation, moves, sentinels. */
function summary(s: SentinelMonitorSample): string {
  const st = s.stats;
  return `  primary ${s.primary ?? '?'}, generation ${st?.generation ?? '?'}, ${st?.changes ?? '?'} moves, sentinels ${s.sentinelsReachable}/${s.sentinelsGiven} answering, subscribed ${st?.subscribed ?? '?'}/${st?.subscriptions ?? '?'}`;
}

/** A table, one row per node, for a terminal. */
export function sentinelBlock(s: SentinelMonitorSample, header: string): string {
  const cols = ['node', 'role', 'offset', 'lag', 'clients', 'blocked', 'ops/s', 'cmds/s', 'memory', 'keys', 'hit ratio', 'rejected'];
  const rows = s.nodes.map((n) => [
    n.address,
    n.role,
    n.offset === null ? '–' : String(n.offset),
    n.role === 'replica' ? `${v(n.lagBytes)} B` : '',
    v(n.connectedClients),
    v(n.blockedClients),
    v(n.opsPerSec),
    v(n.commandsPerSec),
    n.usedMemoryHuman ?? '–',
    v(n.keys),
    pct(n.intervalHitRatio ?? n.hitRatio),
    v(n.rejectedConnections),
  ]);
  return [header, summary(s), table(cols, rows, { left: 2, indent: '  ' })].join('\n');
}

/** One line per node: the single-node line with address, role, offset and lag after the time. */
export function sentinelLines(s: SentinelMonitorSample): string {
  return s.nodes
    .map((n) =>
      sampleLine({ ...n, time: s.time }).replace(
        s.time,
        `${s.time} node=${n.address} role=${n.role} offset=${n.offset ?? '–'}${n.role === 'replica' ? ` lag=${n.lagBytes ?? '–'}B` : ''}`,
      ),
    )
    .join('\n');
}

/** Runs the Sentinel monitor loop; resolves with the exit code (1 when any sample or node failed). */
export async function monitorSentinel(t: SentinelTarget, run: Omit<ClusterMonitorRun, 'url' | 'display'>): Promise<number> {
  const pool = openSentinelToolPool(t, run.timeoutMs);
  const sentinelPools = new AddressPools(t.sentinelAuth, run.timeoutMs);
  const dataPools = new AddressPools(t.data, run.timeoutMs);
  const prev = new Map<string, Raw>();
  let failures = 0;
  let drawn = 0;
  try {
    await pool.ready();
    for (let i = 0; i < run.count && !run.signal.aborted; i++) {
      if (i > 0) await run.sleep(run.intervalMs, run.signal);
      if (run.signal.aborted) break;
      const view = await viewOfSentinels(t, sentinelPools, run.timeoutMs);
      const stats = pool.stats().sentinel ?? null;
      const primary = stats?.primary ?? null;
      if (primary === null) {
        failures++;
        printErr(`redpool monitor: ${t.display}: no primary found for "${t.name}"`);
        continue;
      }
      const replicas = [...replicasOf(view, primary).keys()]
        .filter((a) => a !== primary)
        .sort((x, y) => x.localeCompare(y, 'en', { numeric: true }));
      const list: { address: string; role: 'primary' | 'replica' }[] = [
        { address: primary, role: 'primary' },
        ...replicas.map((address) => ({ address, role: 'replica' as const })),
      ];
      const at = Date.now();
      const infos = await Promise.all(list.map((n) => dataPools.info(n.address)));
      const primaryOffset = infoNumber(infos[0] ?? {}, 'master_repl_offset');
      const nodes: SentinelMonitorNode[] = [];
      list.forEach((n, k) => {
        const info = infos[k];
        if (!info) {
          failures++;
          printErr(`redpool monitor: ${t.display}: sample of ${n.role} ${n.address} failed: no INFO within ${run.timeoutMs * 2} ms`);
          return;
        }
        const cur = { at, info };
        const { time: _t, ...s } = sampleFrom(cur, prev.get(n.address));
        void _t;
        prev.set(n.address, cur);
        const offset = infoNumber(info, n.role === 'primary' ? 'master_repl_offset' : 'slave_repl_offset');
        const lagBytes = n.role === 'replica' && offset !== null && primaryOffset !== null ? Math.max(0, primaryOffset - offset) : null;
        nodes.push({ address: n.address, role: n.role, offset, lagBytes, ...s });
      });
      const sample: SentinelMonitorSample = {
        time: new Date(at).toISOString(),
        primary,
        sentinelsReachable: view.sentinels.filter((s) => s.primary !== null).length,
        sentinelsGiven: view.sentinels.length,
        stats,
        nodes,
      };
      const header = `redpool monitor · ${t.display} · sentinel, ${nodes.length} nodes · ${sample.time}`;
      if (run.json) print(JSON.stringify({ target: t.display, sentinel: true, ...sample }));
      else if (run.live) {
        if (drawn > 0) process.stdout.write(`\x1b[${drawn}A\x1b[J`);
        const block = sentinelBlock(sample, `${header} · every ${run.intervalMs / 1000}s (Ctrl-C to stop)`);
        print(block);
        drawn = block.split('\n').length;
      } else if (run.once) print(sentinelBlock(sample, header));
      else print(`${sample.time} ${summary(sample).trim()}\n${sentinelLines(sample)}`);
    }
    return failures > 0 ? 1 : 0;
  } finally {
    await Promise.all([pool.destroy(), sentinelPools.destroy(), dataPools.destroy()]);
  }
}
