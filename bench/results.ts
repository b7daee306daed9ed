/**
 * Renders bench/RESULTS.md from the cells of one suite run: per-workload tables, the targets
 * of issue 5 with the ratios measured in this run (met / not met), the redis-benchmark
 * ceiling, the engine micro-benchmark, peer versions, the machine and the command.
 */
import os from 'node:os';
import { fmtMs } from '../src/load/index.js';
import type { LoadResult } from '../src/load/index.js';
import { PEER_INFO, PEERS, peerVersions, POOL_SIZE, type PeerId } from './peers.js';
import type { CellOutput, MicroResult } from './protocol.js';
import type { SuiteWorkload } from './run.js';

/** Facts about the run. */
export interface BenchRun {
  command: string;
  date: string;
  durationMs: number;
  rounds: number;
  quick: boolean;
  pinned: boolean;
  redisVersion: string;
  loadBefore: number[];
  loadAfter: number[];
  wallMs: number;
}

/** One cell's output, tagged. */
export interface CellRecord {
  workload: string;
  peer: PeerId;
  round: number;
  output: CellOutput;
}

/** Parsed `redis-benchmark -q` output. */
export interface Ceiling {
  command: string;
  tests: Record<string, { rps: number; p50Ms: number | null }>;
}

interface Picked {
  result: LoadResult;
  cpuMs: number;
}

type Cell = Picked | { error: string; unavailable: boolean } | undefined;

/** The round with the median throughput (lower median for an even count). */
function pick(cells: CellRecord[], workload: string, peer: PeerId): Cell {
  const mine = cells.filter((c) => c.workload === workload && c.peer === peer);
  const ok = mine.flatMap((c) => (c.output.ok ? [{ result: c.output.result, cpuMs: c.output.cpuMs }] : []));
  if (ok.length === 0) {
    const failed = mine.find((c) => !c.output.ok)?.output;
    return failed && !failed.ok ? { error: failed.error, unavailable: failed.unavailable } : undefined;
  }
  ok.sort((a, b) => a.result.opsPerSec - b.result.opsPerSec);
  return ok[Math.floor((ok.length - 1) / 2)];
}

const isOk = (c: Cell): c is Picked => c !== undefined && 'result' in c;
const n = (x: number): string => Math.round(x).toLocaleString('en-US');
const ratio = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '∞');

function workloadTable(w: SuiteWorkload, cells: CellRecord[]): string {
  const extra = w.spec.workload === 'mixed' ? ['small p99', 'large p99'] : w.spec.workload === 'blocking' ? ['BLPOP/s'] : [];
  const head = ['peer', 'ops/s', 'p50', 'p95', 'p99', 'p99.9', ...extra, 'errors', 'conns opened', 'peak clients', 'client CPU/op'];
  const rows: string[] = [];
  for (const peer of PEERS) {
    if (!w.peers.includes(peer)) continue;
    const c = pick(cells, w.id, peer);
    const label = PEER_INFO[peer].label + (w.id === 'compare' && peer === 'redpool' ? ` (fixed pool of ${POOL_SIZE})` : '');
    if (!isOk(c)) {
      const why = c === undefined ? 'not run' : c.unavailable ? `not available: ${c.error}` : `failed: ${c.error}`;
      rows.push(`| ${label} | ${why} |${' |'.repeat(head.length - 2)}`);
      continue;
    }
    const r = c.result;
    const l = r.latency;
    const ex =
      w.spec.workload === 'mixed'
        ? [fmtMs(r.classes['small']?.latency.p99Ms ?? 0), fmtMs(r.classes['large']?.latency.p99Ms ?? 0)]
        : w.spec.workload === 'blocking'
          ? [n(r.classes['blocking']?.opsPerSec ?? 0)]
          : [];
    const cpuPerOp = r.ops > 0 ? `${((c.cpuMs * 1000) / r.ops).toFixed(1)} µs` : '–';
    rows.push(
      `| ${label} | ${n(r.opsPerSec)} | ${fmtMs(l.p50Ms)} | ${fmtMs(l.p95Ms)} | ${fmtMs(l.p99Ms)} | ${fmtMs(l.p999Ms)} | ${ex.join(' | ')}${ex.length ? ' | ' : ''}${n(r.errors)} | ${r.server?.connectionsOpened ?? '–'} | ${r.server?.peakConnectedClients ?? '–'} | ${cpuPerOp} |`,
    );
  }
  return [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...rows].join('\n');
}

interface Target {
  name: string;
  goal: string;
  measured: string;
  met: boolean | undefined;
}

function targets(cells: CellRecord[], micro: MicroResult | undefined): Target[] {
  const ops = (w: string, p: PeerId): number | undefined => {
    const c = pick(cells, w, p);
    return isOk(c) ? c.result.opsPerSec : undefined;
  };
  const out: Target[] = [];
  const rp = ops('small', 'redpool');
  const singles = (['ioredis', 'ioredis-autopipe', 'node-redis', 'node-redis-6', 'valkey-glide'] as const).flatMap((p) => {
    const v = ops('small', p);
    return v === undefined ? [] : [{ p, v }];
  });
  const fastest = singles.sort((a, b) => b.v - a.v)[0];
  if (rp !== undefined && fastest) {
    const r = rp / fastest.v;
    out.push({
      name: 'small, 500 callers',
      goal: '≥ 0.95× the fastest single-connection peer',
      measured: `${ratio(r)} (${n(rp)} vs ${PEER_INFO[fastest.p].label} ${n(fastest.v)})`,
      met: r >= 0.95,
    });
    for (const variant of ['redpool-autopipe', 'redpool-no-direct', 'redpool-node-redis'] as const) {
      const v = ops('small', variant);
      // Other configurations of redpool, for reference: the target is the default's.
      if (v !== undefined)
        out.push({
          name: `small, 500 callers: ${PEER_INFO[variant].label}`,
          goal: 'for reference: the same ratio for this configuration',
          measured: `${ratio(v / fastest.v)} (${n(v)})`,
          met: undefined,
        });
    }
  }
  const nrp = ops('small', 'node-redis-pool');
  if (rp !== undefined && nrp !== undefined) {
    out.push({
      name: 'small, 500 callers',
      goal: '≥ 3× node-redis createClientPool',
      measured: `${ratio(rp / nrp)} (${n(rp)} vs ${n(nrp)})`,
      met: rp / nrp >= 3,
    });
  }
  // Blocking vs its own baseline, per round (the two cells ran back to back); median of rounds.
  const perRound = [...new Set(cells.map((c) => c.round))]
    .flatMap((round) => {
      const b = cells.find((c) => c.workload === 'blocking' && c.peer === 'redpool' && c.round === round)?.output;
      const s80 = cells.find((c) => c.workload === 'small-80' && c.peer === 'redpool' && c.round === round)?.output;
      if (!b?.ok || !s80?.ok || s80.result.opsPerSec === 0) return [];
      const v = b.result.classes['small']?.opsPerSec ?? 0;
      return [{ v, base: s80.result.opsPerSec, r: v / s80.result.opsPerSec }];
    })
    .sort((a, b) => a.r - b.r);
  if (perRound.length > 0) {
    const mid = perRound[Math.floor((perRound.length - 1) / 2)]!;
    const each = perRound.length > 1 ? `; per round ${perRound.map((x) => ratio(x.r)).join(', ')}` : '';
    out.push({
      name: 'blocking, 20 BLPOP + 80 small',
      goal: "redpool's small throughput ≥ 0.8× its own without BLPOP callers",
      measured: `${ratio(mid.r)} (${n(mid.v)} vs ${n(mid.base)} with 80 callers and no BLPOP, measured right before${each})`,
      met: mid.r >= 0.8,
    });
  }
  const mixed = PEERS.flatMap((p) => {
    const c = pick(cells, 'mixed', p);
    return isOk(c) && c.result.classes['small'] ? [{ p, p99: c.result.classes['small'].latency.p99Ms }] : [];
  }).sort((a, b) => a.p99 - b.p99);
  const mine = mixed.find((m) => m.p === 'redpool');
  if (mine && mixed.length > 1) {
    const best = mixed.find((m) => m.p !== 'redpool')!;
    out.push({
      name: 'mixed, 5 % × 256 KiB, 100 callers',
      goal: "redpool's small-op p99 is the lowest of all peers",
      measured: `${fmtMs(mine.p99)} (rank ${mixed.indexOf(mine) + 1} of ${mixed.length}; best other: ${PEER_INFO[best.p].label} ${fmtMs(best.p99)})`,
      met: mixed[0]!.p === 'redpool',
    });
  }
  const cp = pick(cells, 'compare', 'redpool');
  const po = pick(cells, 'compare', 'per-op');
  if (isOk(cp) && isOk(po)) {
    const r = cp.result.opsPerSec / po.result.opsPerSec;
    out.push({
      name: 'compare, 100 callers',
      goal: '≥ 40× a connection per operation',
      measured: `${ratio(r)} (${n(cp.result.opsPerSec)} vs ${n(po.result.opsPerSec)})`,
      met: r >= 40,
    });
    const opened = cp.result.server?.connectionsOpened;
    out.push({
      name: 'compare, 100 callers',
      goal: `connections opened = pool size (${POOL_SIZE})`,
      measured: `${opened ?? '?'} opened by the pool (${n(po.result.server?.connectionsOpened ?? 0)} by connection per op)`,
      met: opened === POOL_SIZE,
    });
  }
  for (const c of micro?.cases ?? []) {
    if (c.name.includes('100 concurrent')) continue;
    out.push({
      name: `engine: ${c.name}`,
      goal: '< 1 µs CPU (fake driver, baseline subtracted)',
      measured: `${(c.overheadNs / 1000).toFixed(2)} µs`,
      met: c.overheadNs < 1000,
    });
  }
  return out;
}

/** The whole RESULTS.md. */
export function renderResults(input: {
  run: BenchRun;
  suite: readonly SuiteWorkload[];
  cells: CellRecord[];
  ceiling: Ceiling[] | undefined;
  micro: MicroResult | undefined;
}): string {
  const { run, suite, cells, ceiling, micro } = input;
  const cpus = os.cpus();
  const versions = peerVersions();
  const L: string[] = [];
  L.push('# redpool benchmark results', '');
  L.push(`Produced by \`${run.command}\` (\`npm run bench\`) on ${run.date}.`, '');
  L.push(
    `Each cell (peer × workload) ran in its own Node process for ${run.durationMs / 1000} s${run.rounds > 1 ? `, ${run.rounds} rounds (the median round by throughput is shown)` : ''}, peers interleaved (the start of the order rotates per workload), against one \`redis-server\`${run.pinned ? ' pinned to CPU 1 with the clients pinned to CPU 0 (`taskset`)' : ' (no `taskset`: not pinned)'}; the keyspace is flushed between cells. Latency is per operation, call to reply, on the client. "conns opened" is the delta of INFO \`total_connections_received\`, "peak clients" the highest sampled \`connected_clients\` (10 Hz, the sampler's connection excluded). "client CPU/op" is the cell's user+system CPU divided by its operations.${run.quick ? ' **Quick mode: short cells, for smoke testing only.**' : ''}`,
    '',
  );

  L.push('## Targets', '', '| workload | target | measured in this run | |', '| --- | --- | --- | --- |');
  for (const t of targets(cells, micro))
    L.push(`| ${t.name} | ${t.goal} | ${t.measured} | ${t.met === undefined ? '–' : t.met ? 'met' : '**not met**'} |`);
  L.push('');

  for (const w of suite) {
    L.push(`## ${w.title}`, '', workloadTable(w, cells), '');
  }

  if (ceiling) {
    L.push(
      '## Ceiling: redis-benchmark on the same server',
      '',
      'The C client, pinned like the cells. Without pipelining (`-P 1`, 500 connections, one request in flight each) the server spends its time on per-request reads and writes; the pipelined run shows what the server can do when requests arrive in batches, as they do from a multiplexing client.',
      '',
      '| command | test | requests/s | p50 |',
      '| --- | --- | ---: | ---: |',
    );
    for (const c of ceiling)
      for (const [t, v] of Object.entries(c.tests))
        L.push(`| \`${c.command}\` | ${t} | ${n(v.rps)} | ${v.p50Ms === null ? '–' : `${v.p50Ms} ms`} |`);
    L.push('');
  }
  if (micro) {
    L.push(
      '## Engine overhead without sockets (`node --expose-gc build/bench/micro.js`)',
      '',
      `FakeDriver from \`src/testing\` with a handler that answers at once; CPU from \`process.cpuUsage()\`, each case alternates with its baseline in a process of its own, after a warm-up; the minimum of ${micro.repeats} repeats of each is kept (noise only adds time), each repeat over the iteration count shown.`,
      '',
      '| case | iterations | CPU/op | baseline | baseline CPU/op | pool overhead |',
      '| --- | ---: | ---: | --- | ---: | ---: |',
    );
    for (const c of micro.cases)
      L.push(`| ${c.name} | ${n(c.iterations)} | ${c.nsPerOp} ns | ${c.baseline} | ${c.baselineNsPerOp} ns | **${c.overheadNs} ns** |`);
    L.push('');
  }

  L.push('## Peers', '', '| peer | configuration |', '| --- | --- |');
  for (const p of PEERS) L.push(`| ${PEER_INFO[p].label} | ${PEER_INFO[p].what} |`);
  L.push('', '| package | version |', '| --- | --- |');
  for (const [k, v] of Object.entries(versions)) L.push(`| ${k} | ${v} |`);
  const glide = versions['@valkey/valkey-glide'];
  L.push(
    '',
    glide && glide !== 'not installed'
      ? `valkey-glide ${glide} runs through its prebuilt native binding (\`@valkey/valkey-glide-linux-x64-gnu\`, a devDependency). Under \`blocking\` its errors are client-side request timeouts of the small commands queued behind BLPOP on its single connection.`
      : 'valkey-glide: not installed here; its cells are marked not available (it needs the prebuilt native binding for this platform).',
    '',
  );

  const leader = [...PEERS]
    .map((p) => ({ p, c: pick(cells, 'small', p) }))
    .filter((x) => isOk(x.c))
    .sort((a, b) => (b.c as Picked).result.opsPerSec - (a.c as Picked).result.opsPerSec)[0];
  L.push('## Notes', '');
  if (leader)
    L.push(
      `- **\`small\` is led by ${PEER_INFO[leader.p].label}** in this run. Per command, what a multiplexing client pays is its own CPU (compare the client CPU/op column); redpool's lanes write a turn's commands in one write and, on the ioredis driver, send plain commands without building an ioredis \`Command\` (the direct path: compare \`redpool\` with \`redpool (direct path off)\`). Plain ioredis (one connection, no auto-pipelining) writes each command separately. See docs/ARCHITECTURE.md and docs/benchmarks.md.`,
    );
  L.push(
    '- **Noise.** This is a shared 2-core machine; other processes run during the suite (see the load average below). Cells of one workload are interleaved so that they see the same conditions as far as possible, but compare rows within one run, not across runs.',
  );
  L.push(
    "- **redpool with `autoPipelining`** is slower than redpool's default: it asks for ioredis's own batching, which turns the direct path off and adds ioredis's pipeline objects (GC), while the lanes already send a turn's commands in one write.",
  );
  L.push(
    '- **Single-connection peers under `blocking`** stall by design: a BLPOP occupies their only connection for up to 0.1 s, and every small command queued behind it waits (p50 in seconds).',
  );
  L.push('');
  L.push('## Machine', '');
  L.push(`- CPU: ${cpus.length} × ${cpus[0]?.model ?? 'unknown'} (${os.arch()})`);
  L.push(`- OS: ${os.type()} ${os.release()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM`);
  L.push(`- Node ${process.version}; redis-server ${run.redisVersion}`);
  L.push(
    `- Load average before / after: ${run.loadBefore.map((x) => x.toFixed(2)).join(' ')} / ${run.loadAfter.map((x) => x.toFixed(2)).join(' ')} (other processes on the machine add noise; compare ratios within this run, not across runs)`,
  );
  L.push(`- Suite wall time: ${(run.wallMs / 1000).toFixed(0)} s`, '');
  return L.join('\n');
}
