/** Result shape (also the `--json` output) and the text rendering of `redpool bench`. */
import { fmtBytes, fmtCount, fmtMs, fmtRatio } from '../load/format.js';
import type { LoadResult, Workload } from '../load/run-load.js';
import { table } from './output.js';

/** Validated settings of a bench run (`settings` in the `--json` output). */
export interface BenchSettings {
  workload: Workload | 'compare';
  concurrency: number;
  durationMs: number | undefined;
  ops: number | undefined;
  valueSize: number;
  keyspace: number;
  poolSize: number;
  lanes: number;
  autoPipelining: boolean;
  largeShare: number;
  largeValueSize: number;
  blockingCallers: number | undefined;
  subscribers: number;
}

/** The before/after figures of `--workload compare`. */
export interface Comparison {
  /** Pool ops/s divided by connection-per-op ops/s. */
  throughputRatio: number;
  /** Connection-per-op p99 divided by pool p99 (how many times lower the pool's p99 is). */
  p99Ratio: number;
  connectionsOpened: { perOperation: number; pool: number };
  peakConnectedClients: { perOperation: number; pool: number };
  poolSize: number;
}

/** What `redpool bench --json` prints. */
export interface BenchOutput {
  command: 'bench';
  workload: BenchSettings['workload'];
  /** Redacted URL. */
  target: string;
  embedded: boolean;
  redisVersion: string;
  maxclients: number | null;
  settings: BenchSettings;
  runs: Array<{ label: string } & LoadResult>;
  comparison?: Comparison;
  interrupted: boolean;
}

/** Before/after figures from the two phases of `compare`. */
export function comparison(perOp: LoadResult, pool: LoadResult, poolSize: number): Comparison {
  return {
    throughputRatio: perOp.opsPerSec > 0 ? pool.opsPerSec / perOp.opsPerSec : Infinity,
    p99Ratio: pool.latency.p99Ms > 0 ? perOp.latency.p99Ms / pool.latency.p99Ms : 0,
    connectionsOpened: { perOperation: perOp.server?.connectionsOpened ?? 0, pool: pool.server?.connectionsOpened ?? 0 },
    peakConnectedClients: { perOperation: perOp.server?.peakConnectedClients ?? 0, pool: pool.server?.peakConnectedClients ?? 0 },
    poolSize,
  };
}

/** The human-readable result of a bench run. */
export function benchText(out: BenchOutput): string {
  const s = out.settings;
  const lines: string[] = [];
  lines.push(`redpool bench · ${s.workload} · ${out.target}${out.embedded ? ' (embedded)' : ''} · redis ${out.redisVersion}`);
  const planned = s.ops !== undefined ? `${s.ops} ops` : `${(s.durationMs ?? 0) / 1000} s${s.workload === 'compare' ? ' per phase' : ''}`;
  // An interrupted run says how long it ran, not how long it was meant to.
  const ran = out.runs.reduce((sum, r) => sum + r.durationMs, 0) / 1000;
  const length = out.interrupted ? `${ran.toFixed(1)} s (interrupted; planned ${planned})` : planned;
  let line2 = `${s.concurrency} callers · ${length} · ${fmtBytes(s.valueSize)} values · ${s.keyspace} keys · pool max ${s.poolSize}, lanes ${s.lanes}`;
  if (s.autoPipelining) line2 += ', auto-pipelining';
  if (s.workload === 'mixed') line2 += ` · ${(s.largeShare * 100).toFixed(1)} % × ${fmtBytes(s.largeValueSize)}`;
  lines.push(line2, '');
  const header = ['client', 'ops/s', 'p50', 'p95', 'p99', 'p99.9', 'errors', 'conns opened', 'peak clients'];
  const rows = out.runs.map((r) => [
    r.label,
    fmtCount(r.opsPerSec),
    fmtMs(r.latency.p50Ms),
    fmtMs(r.latency.p95Ms),
    fmtMs(r.latency.p99Ms),
    fmtMs(r.latency.p999Ms),
    String(r.errors),
    String(r.server?.connectionsOpened ?? '–'),
    String(r.server?.peakConnectedClients ?? '–'),
  ]);
  lines.push(table(header, rows));
  const run = out.runs[out.runs.length - 1];
  if (run && (s.workload === 'mixed' || s.workload === 'blocking' || s.workload === 'pubsub')) {
    lines.push(
      '',
      table(
        ['class', 'ops', 'ops/s', 'p50', 'p99', 'max', 'errors'],
        Object.entries(run.classes).map(([name, c]) => [
          name,
          fmtCount(c.ops),
          fmtCount(c.opsPerSec),
          fmtMs(c.latency.p50Ms),
          fmtMs(c.latency.p99Ms),
          fmtMs(c.latency.maxMs),
          String(c.errors),
        ]),
      ),
    );
    if (s.workload === 'pubsub')
      lines.push(`ops/s above = messages delivered per second over ${s.subscribers} subscribers; latency = publish → delivery`);
  }
  if (out.comparison) {
    const c = out.comparison;
    lines.push(
      '',
      `pool vs connection per op: ${fmtRatio(c.throughputRatio)} throughput, p99 ${fmtRatio(c.p99Ratio)} lower; ` +
        `connections opened ${c.connectionsOpened.perOperation} → ${c.connectionsOpened.pool} (pool size ${c.poolSize})`,
    );
  }
  for (const r of out.runs) for (const e of r.errorSamples) lines.push(`error (${r.label}): ${e}`);
  if (out.interrupted) lines.push('', 'interrupted: figures cover what ran');
  return lines.join('\n');
}
