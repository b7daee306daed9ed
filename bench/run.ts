/**
 * The benchmark suite: redpool and its peers through the same workloads, one process per cell
 * (peer × workload), peers interleaved, against one redis-server started here. Where `taskset`
 * exists, the server is pinned to CPU 1 and the clients to CPU 0. Writes bench/RESULTS.md.
 *
 *   node build/bench/run.js [--quick] [--duration S (5; quick 1.5)] [--rounds N (2; quick 1)] [--workloads a,b] [--peers a,b] [--out FILE]
 *   node build/bench/run.js --render bench/out/last-run.json   (re-render RESULTS.md from saved cells)
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedis, type RedisProcess } from '../test/support/redis-process.js';
import { RESULT_MARK, type CellOutput, type CellSpec, type MicroResult } from './protocol.js';
import { PEERS, type PeerId } from './peers.js';
import { renderResults, type BenchRun, type CellRecord, type Ceiling } from './results.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** A workload of the suite: the load options and which peers run it. */
export interface SuiteWorkload {
  id: string;
  title: string;
  spec: Omit<CellSpec, 'peer' | 'url' | 'durationMs'>;
  peers: readonly PeerId[];
  /**
   * Workloads of one group run peer by peer, back to back (peer A: w1, w2; peer B: w1, w2 …), so
   * a ratio between them (blocking vs its own baseline) compares cells measured minutes apart
   * at most seconds apart.
   */
  group?: string;
}

const ALL = PEERS;
export const SUITE: readonly SuiteWorkload[] = [
  { id: 'small', title: 'small, 500 concurrent callers (SET/GET 64 B)', spec: { workload: 'small', concurrency: 500 }, peers: ALL },
  {
    id: 'small-80',
    title: 'small, 80 callers (baseline of blocking, each peer run right before its blocking cell)',
    spec: { workload: 'small', concurrency: 80 },
    peers: ALL,
    group: 'blocking',
  },
  {
    id: 'blocking',
    title: 'blocking: 20 callers in BLPOP (0.1 s timeout) + 80 running small',
    spec: { workload: 'blocking', concurrency: 100, blockingCallers: 20 },
    peers: ALL,
    group: 'blocking',
  },
  {
    id: 'mixed',
    title: 'mixed: 5 % of operations on 256 KiB values, 100 callers',
    spec: { workload: 'mixed', concurrency: 100, largeShare: 0.05, largeValueSize: 256 * 1024 },
    peers: ALL,
  },
  {
    id: 'compare',
    title: 'compare: connection per operation vs a fixed pool of 10, 100 callers',
    spec: { workload: 'small', concurrency: 100, fixedPool: true },
    peers: ['per-op', 'redpool'],
  },
];

function hasTaskset(): boolean {
  return os.cpus().length >= 2 && spawnSync('taskset', ['-V']).status === 0;
}

/** Runs `argv` (optionally pinned to `cpu`) and resolves with stdout; kills it after `timeoutMs`. */
function run(argv: string[], cpu: number | undefined, timeoutMs: number): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const [cmd, ...args] = cpu === undefined ? argv : ['taskset', '-c', String(cpu), ...argv];
  return new Promise((resolve) => {
    const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
  });
}

async function runCell(spec: CellSpec, cpu: number | undefined): Promise<CellOutput> {
  const r = await run([process.execPath, path.join(here, 'cell.js'), JSON.stringify(spec)], cpu, spec.durationMs + 60_000);
  const line = r.stdout.split('\n').find((l) => l.startsWith(RESULT_MARK));
  if (!line) return { ok: false, unavailable: false, error: `cell exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` };
  return JSON.parse(line.slice(RESULT_MARK.length)) as CellOutput;
}

/** `redis-benchmark -q -t set,get` with the given extra flags: requests per second and p50 per test. */
async function redisBenchmark(server: RedisProcess, cpu: number | undefined, flags: string[]): Promise<Ceiling | undefined> {
  const argv = [
    'redis-benchmark',
    '-h',
    server.host,
    '-p',
    String(server.port),
    '-q',
    '-t',
    'set,get',
    ...flags,
    '-d',
    '64',
    '-r',
    '10000',
  ];
  const r = await run(argv, cpu, 120_000);
  const out: Ceiling = { command: argv.join(' ').replace(` -p ${server.port}`, ''), tests: {} };
  // Lines look like "SET: 81234.57 requests per second, p50=2.871 msec" (the \r progress before it is dropped).
  for (const line of r.stdout.split(/[\r\n]+/)) {
    const m = /^(SET|GET): ([\d.]+) requests per second(?:, p50=([\d.]+) msec)?/.exec(line.trim());
    if (m) out.tests[m[1]!] = { rps: Number(m[2]), p50Ms: m[3] === undefined ? null : Number(m[3]) };
  }
  return Object.keys(out.tests).length ? out : undefined;
}

/** The ceiling: redis-benchmark as the issue asks (-c 500, no pipelining), and pipelined. */
async function ceiling(server: RedisProcess, cpu: number | undefined, requests: number): Promise<Ceiling[] | undefined> {
  if (spawnSync('redis-benchmark', ['--version']).status !== 0) return undefined;
  const out: Ceiling[] = [];
  for (const flags of [
    ['-c', '500', '-n', String(requests)],
    ['-c', '50', '-P', '16', '-n', String(requests * 4)],
  ]) {
    await server.command('FLUSHALL');
    const c = await redisBenchmark(server, cpu, flags);
    if (c) out.push(c);
  }
  return out;
}

async function micro(cpu: number | undefined, quick: boolean): Promise<MicroResult | undefined> {
  const r = await run([process.execPath, '--expose-gc', path.join(here, 'micro.js'), quick ? '--quick' : ''], cpu, 300_000);
  const line = r.stdout.split('\n').find((l) => l.startsWith(RESULT_MARK));
  return line ? (JSON.parse(line.slice(RESULT_MARK.length)) as MicroResult) : undefined;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      workloads: { type: 'string' },
      peers: { type: 'string' },
      out: { type: 'string' },
      'no-micro': { type: 'boolean' },
      render: { type: 'string' },
    },
  });
  if (values.render !== undefined) {
    // Re-render RESULTS.md from a saved run (bench/out/last-run.json) without measuring again.
    const saved = JSON.parse(readFileSync(values.render, 'utf8')) as {
      run: BenchRun;
      cells: CellRecord[];
      ceiling: Ceiling[] | undefined;
      micro: MicroResult | undefined;
    };
    const ids = new Set(saved.cells.map((c) => c.workload));
    const target = values.out ?? path.resolve(here, '../../bench/RESULTS.md');
    writeFileSync(target, renderResults({ ...saved, suite: SUITE.filter((w) => ids.has(w.id)) }));
    process.stderr.write(`wrote ${target}\n`);
    return;
  }
  const quick = values.quick === true;
  const durationMs = Math.round(Number(values.duration ?? (quick ? 1.5 : 5)) * 1000);
  const rounds = Math.max(1, Math.min(5, Number(values.rounds ?? (quick ? 1 : 2))));
  const onlyW = values.workloads?.split(',');
  const onlyP = values.peers?.split(',') as PeerId[] | undefined;
  const out = values.out ?? path.resolve(here, '../../bench/RESULTS.md');
  if (!(durationMs >= 200 && durationMs <= 120_000)) throw new Error('--duration must be 0.2..120 seconds');

  const pin = hasTaskset();
  const clientCpu = pin ? 0 : undefined;
  const loadBefore = os.loadavg();
  const server = await startRedis({ args: ['--maxclients', '10000'] });
  const stop = (): void => void server.stop().then(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    if (pin) spawnSync('taskset', ['-p', '-c', '1', String(server.pid)]);
    const info = String(await server.command('INFO', 'server'));
    const redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    const cells: CellRecord[] = [];
    const workloads = SUITE.filter((w) => !onlyW || onlyW.includes(w.id));
    const started = Date.now();
    // Steps: a workload alone, or a group of workloads run peer by peer.
    const steps: SuiteWorkload[][] = [];
    for (const w of workloads) {
      const last = steps[steps.length - 1];
      if (w.group !== undefined && last?.[0]?.group === w.group) last.push(w);
      else steps.push([w]);
    }
    for (let round = 0; round < rounds; round++) {
      for (const [si, step] of steps.entries()) {
        const peers = step[0]!.peers.filter((p) => !onlyP || onlyP.includes(p));
        // Interleave: rotate the start so no peer always runs first (or right after a heavy one).
        const offset = (si + round) % peers.length;
        const order = [...peers.slice(offset), ...peers.slice(0, offset)];
        for (const peer of order) {
          for (const w of step) {
            await server.command('FLUSHALL');
            const spec: CellSpec = { ...w.spec, peer, url: server.url, durationMs };
            const t0 = Date.now();
            const output = await runCell(spec, clientCpu);
            const res = output.ok
              ? `${output.result.opsPerSec} ops/s p99 ${output.result.latency.p99Ms} ms errors ${output.result.errors}`
              : output.error;
            process.stderr.write(
              `[${((Date.now() - started) / 1000).toFixed(0)}s] ${w.id} round ${round + 1} ${peer}: ${res} (${Date.now() - t0} ms)\n`,
            );
            cells.push({ workload: w.id, peer, round, output });
          }
        }
      }
    }
    await server.command('FLUSHALL');
    const ceil = await ceiling(server, clientCpu, quick ? 50_000 : 200_000);
    const microResult = values['no-micro'] ? undefined : await micro(clientCpu, quick);
    const runInfo: BenchRun = {
      command: `node build/bench/run.js ${process.argv.slice(2).join(' ')}`.trim(),
      date: new Date().toISOString(),
      durationMs,
      rounds,
      quick,
      pinned: pin,
      redisVersion,
      loadBefore,
      loadAfter: os.loadavg(),
      wallMs: Date.now() - started,
    };
    writeFileSync(out, renderResults({ run: runInfo, suite: workloads, cells, ceiling: ceil, micro: microResult }));
    // The raw cells, for inspection (bench/out is not committed).
    mkdirSync(path.resolve(here, '../../bench/out'), { recursive: true });
    writeFileSync(
      path.resolve(here, '../../bench/out/last-run.json'),
      JSON.stringify({ run: runInfo, cells, ceiling: ceil, micro: microResult }),
    );
    process.stderr.write(`wrote ${out}\n`);
  } finally {
    await server.stop();
  }
}

await main();
