/**
 * Cluster benchmark: redpool's cluster pool, ioredis 6 `Cluster` and node-redis 5
 * `createCluster` side by side in one run, on real 3 + 3 clusters of `redis-server` on loopback
 * (test/helpers/topology.ts), one process per cell, clients interleaved. Writes bench/CLUSTER.md.
 *
 *   npx tsc -p tsconfig.json && node build/bench/cluster.js [--quick] [--duration S (4; quick 1.5)] [--rounds N (2; quick 1)]
 *     [--clients a,b] [--no-load] [--no-failover] [--out FILE]
 *
 * Throughput (one cluster for every cell, FLUSHALL between cells): `mixed` — 64 callers, SET/GET
 * 50/50 of 64 B values over 100 000 keys (every slot); `pipeline` — 16 callers, pipelines of 10
 * commands on one hash tag each, tags over every slot. Reported: commands/s, p50/p99 per call,
 * client CPU per command, and the most connections each node saw from the client (`CLIENT LIST
 * TYPE normal`, sampled every 250 ms).
 *
 * Failover (a fresh cluster per cell): 6 workers, one call each every ~5 ms, of the ledger workload
 * of test/fault/lib/cluster-ledger.ts (RPUSH of unique ids + SET/GET echo pairs) over hash tags on
 * every slot, 500 ms per-command deadline; after 1 s the first primary is SIGKILLed (`kill`) or
 * SIGSTOPped (`stop`, thawed only after the observation window). Reported for its slots: when the
 * replica was promoted, the first acknowledged write started after the fault, the longest time
 * without one, and the ledger (duplicates, lost acknowledged writes, calls that never settled).
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startCluster, type RedisCluster } from '../test/helpers/topology.js';
import { CLUSTER_CLIENTS, type ClusterClientId } from './cluster-clients.js';
import { MARK, type CellResult, type ClusterCellSpec, type FailoverOutput, type LoadOutput } from './cluster-protocol.js';
import { renderCluster, type FailoverRow, type LoadRow } from './cluster-results.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const NODE_TIMEOUT_MS = 1_000;
const DEADLINE_MS = 500;

/** A running cell: its lines, its stdin, its end. */
interface CellProcess {
  readLine(prefix: string, timeoutMs: number): Promise<string>;
  send(line: string): void;
  done: Promise<void>;
  kill(): void;
}

function startCell(spec: ClusterCellSpec, cpu: number | undefined, hardMs: number): CellProcess {
  const argv = [process.execPath, path.join(here, 'cluster-cell.js'), JSON.stringify(spec)];
  const [cmd, ...args] = cpu === undefined ? argv : ['taskset', '-c', String(cpu), ...argv];
  const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), hardMs);
  const done = new Promise<void>((resolve) =>
    child.once('close', () => {
      clearTimeout(timer);
      resolve();
    }),
  );
  const it = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async readLine(prefix, timeoutMs) {
      let t: NodeJS.Timeout | undefined;
      const limit = new Promise<never>(
        (_, reject) => (t = setTimeout(() => reject(new Error(`cell: no "${prefix}" within ${timeoutMs} ms`)), timeoutMs)),
      );
      try {
        for (;;) {
          const { value, done: ended } = await Promise.race([it.next(), limit]);
          if (ended) throw new Error(`cell exited before "${prefix}": ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
          if (String(value).startsWith(MARK.result) && !prefix.startsWith(MARK.result)) return String(value); // failed early
          if (String(value).startsWith(prefix)) return String(value).slice(prefix.length);
        }
      } finally {
        clearTimeout(t);
      }
    },
    send: (line) => void child.stdin.write(`${line}\n`),
    done,
    kill: () => void child.kill('SIGKILL'),
  };
}

function parseResult(line: string): CellResult {
  return JSON.parse(line.startsWith(MARK.result) ? line.slice(MARK.result.length) : line) as CellResult;
}

/** Connections of the client under test on one node: `CLIENT LIST TYPE normal` without this probe itself. */
async function clientConnections(cluster: RedisCluster, port: number): Promise<number> {
  const text = String(await cluster.node(port).server.command('CLIENT', 'LIST', 'TYPE', 'normal'));
  return text.split('\n').filter((l) => l.trim() !== '' && !/ cmd=client\|list /.test(l)).length;
}

/** Samples every node every 250 ms until stopped; keeps the maximum per node. */
function sampleConnections(cluster: RedisCluster): { stop(): Promise<number[]> } {
  const peak: number[] = cluster.nodes.map(() => 0);
  let running = true;
  const loop = (async () => {
    while (running) {
      await Promise.all(
        cluster.nodes.map(async (n, i) => {
          const c = await clientConnections(cluster, n.port).catch(() => 0);
          peak[i] = Math.max(peak[i] ?? 0, c);
        }),
      );
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}

async function flushAll(cluster: RedisCluster): Promise<void> {
  await Promise.all(cluster.primaries.map((p) => p.server.command('FLUSHALL')));
  // The previous cell's connections are gone before the next one is measured.
  for (let i = 0; i < 40; i++) {
    const counts = await Promise.all(cluster.nodes.map((n) => clientConnections(cluster, n.port).catch(() => 0)));
    if (counts.every((c) => c === 0)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function loadCell(
  cluster: RedisCluster,
  client: ClusterClientId,
  workload: 'mixed' | 'pipeline',
  durationMs: number,
  cpu: number | undefined,
): Promise<LoadRow> {
  await flushAll(cluster);
  const spec: ClusterCellSpec = {
    kind: 'load',
    client,
    workload,
    seeds: cluster.seeds(),
    durationMs,
    concurrency: workload === 'mixed' ? 64 : 16,
    pipelineSize: 10,
  };
  const cell = startCell(spec, cpu, durationMs + 60_000);
  try {
    const ready = await cell.readLine(MARK.ready, 30_000);
    if (ready.startsWith(MARK.result)) return { client, workload, result: parseResult(ready), connections: [] };
    const sampler = sampleConnections(cluster);
    const line = await cell.readLine(MARK.result, durationMs + 30_000).finally(() => undefined);
    const connections = await sampler.stop();
    return { client, workload, result: parseResult(line), connections };
  } catch (err) {
    return { client, workload, result: { ok: false, unavailable: false, error: (err as Error).message }, connections: [] };
  } finally {
    cell.kill();
    await cell.done;
  }
}

async function role(cluster: RedisCluster, port: number): Promise<string | undefined> {
  const r = await cluster
    .node(port)
    .server.commandWith({ timeoutMs: 300 }, 'ROLE')
    .catch(() => undefined);
  return Array.isArray(r) ? String(r[0]) : undefined;
}

/** The failover cases: fault × where the workload writes. */
const FAILOVER_CASES = [
  { fault: 'kill', scope: 'all' },
  { fault: 'stop', scope: 'all' },
  { fault: 'stop', scope: 'victim' },
] as const;

async function failoverCell(
  client: ClusterClientId,
  { fault, scope }: (typeof FAILOVER_CASES)[number],
  observeMs: number,
  cpu: number | undefined,
): Promise<FailoverRow> {
  const cluster = await startCluster({ nodeTimeoutMs: NODE_TIMEOUT_MS });
  try {
    if (cpu !== undefined) for (const pid of cluster.pids()) spawnSync('taskset', ['-p', '-c', '1', String(pid)]);
    const victim = cluster.primaries[0]!;
    const replica = cluster.replicas.find((r) => r.initialPrimaryId === victim.id)!;
    const [lo, hi] = victim.initialSlots[0]!;
    const auditPorts = [...cluster.nodes.filter((n) => n !== victim).map((n) => n.port), victim.port];
    const spec: ClusterCellSpec = {
      kind: 'failover',
      client,
      fault,
      scope,
      seeds: cluster.seeds(),
      victim: [lo, hi],
      deadlineMs: DEADLINE_MS,
      observeMs,
      auditPorts,
    };
    const cell = startCell(spec, cpu, observeMs + 90_000);
    try {
      const ready = await cell.readLine(MARK.ready, 30_000);
      if (ready.startsWith(MARK.result)) return { client, fault, scope, result: parseResult(ready), promotedMs: null };
      const t0 = performance.now();
      if (fault === 'kill') await victim.server.kill();
      else victim.server.pause();
      cell.send(`fault ${performance.timeOrigin + t0}`);
      let promotedMs: number | null = null;
      while (performance.now() - t0 < observeMs && promotedMs === null) {
        if ((await role(cluster, replica.port)) === 'master') promotedMs = Math.round(performance.now() - t0);
        else await new Promise((r) => setTimeout(r, 50));
      }
      await cell.readLine(MARK.observed, observeMs + 20_000);
      // The audit runs while the old primary is still frozen: a timed-out write found on the new
      // primary was sent there again by the client, not run late by the thawed node.
      cell.send('audit');
      const line = await cell.readLine(MARK.result, 60_000);
      return { client, fault, scope, result: parseResult(line), promotedMs };
    } finally {
      if (victim.server.paused) victim.server.resume();
      cell.kill();
      await cell.done;
    }
  } catch (err) {
    return { client, fault, scope, result: { ok: false, unavailable: false, error: (err as Error).message }, promotedMs: null };
  } finally {
    await cluster.stop();
  }
}

function median<T>(rows: T[], by: (r: T) => number): T | undefined {
  const sorted = [...rows].sort((a, b) => by(a) - by(b));
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      clients: { type: 'string' },
      'no-load': { type: 'boolean' },
      'no-failover': { type: 'boolean' },
      observe: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const quick = values.quick === true;
  const durationMs = Math.round(Number(values.duration ?? (quick ? 1.5 : 4)) * 1000);
  const rounds = Math.max(1, Math.min(5, Number(values.rounds ?? (quick ? 1 : 2))));
  const observeMs = Math.round(Number(values.observe ?? (quick ? 6 : 8)) * 1000);
  if (!(durationMs >= 200 && durationMs <= 60_000)) throw new Error('--duration must be 0.2..60 seconds');
  if (!(observeMs >= 3_000 && observeMs <= 30_000)) throw new Error('--observe must be 3..30 seconds');
  const clients = (values.clients?.split(',') ?? [...CLUSTER_CLIENTS]) as ClusterClientId[];
  for (const c of clients) if (!CLUSTER_CLIENTS.includes(c)) throw new Error(`unknown client ${c}; known: ${CLUSTER_CLIENTS.join(', ')}`);
  const out = values.out ?? path.resolve(here, '../../bench/CLUSTER.md');
  const pin = os.cpus().length >= 2 && spawnSync('taskset', ['-V']).status === 0;
  const cpu = pin ? 0 : undefined;
  const loadBefore = os.loadavg();
  const started = Date.now();
  const log = (msg: string): void => void process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}\n`);

  const loadRows: LoadRow[] = [];
  let redisVersion = 'unknown';
  if (!values['no-load']) {
    const cluster = await startCluster({ nodeTimeoutMs: NODE_TIMEOUT_MS });
    try {
      if (pin) for (const pid of cluster.pids()) spawnSync('taskset', ['-p', '-c', '1', String(pid)]);
      redisVersion = /redis_version:(\S+)/.exec(String(await cluster.nodes[0]!.server.command('INFO', 'server')))?.[1] ?? redisVersion;
      log(`cluster ready in ${cluster.timings.totalMs} ms`);
      const all: LoadRow[] = [];
      for (let round = 0; round < rounds; round++) {
        for (const [wi, workload] of (['mixed', 'pipeline'] as const).entries()) {
          const offset = (round + wi) % clients.length;
          for (const client of [...clients.slice(offset), ...clients.slice(0, offset)]) {
            const row = await loadCell(cluster, client, workload, durationMs, cpu);
            const r = row.result;
            log(
              `${workload} round ${round + 1} ${client}: ${r.ok ? `${(r as LoadOutput).opsPerSec} cmd/s p99 ${(r as LoadOutput).p99Ms.toFixed(2)} ms errors ${(r as LoadOutput).errors}${(r as LoadOutput).firstError ? ` (first: ${(r as LoadOutput).firstError})` : ''}` : r.error}`,
            );
            all.push(row);
          }
        }
      }
      for (const workload of ['mixed', 'pipeline'] as const)
        for (const client of clients) {
          const mine = all.filter((r) => r.client === client && r.workload === workload);
          const ok = mine.filter((r) => r.result.ok);
          loadRows.push(median(ok, (r) => (r.result as LoadOutput).opsPerSec) ?? mine[0]!);
        }
    } finally {
      await cluster.stop();
    }
  }

  const failoverRows: FailoverRow[] = [];
  if (!values['no-failover']) {
    for (const c of FAILOVER_CASES)
      for (const client of clients) {
        const row = await failoverCell(client, c, observeMs, cpu);
        const r = row.result;
        const a = r.ok ? (r as FailoverOutput).ledger.affected : undefined;
        log(
          `failover ${c.fault}/${c.scope} ${client}: ${a ? `promoted ${row.promotedMs} ms, first write ${a.recoveryMs} ms, gap ${a.longestGapMs} ms, dup ${a.duplicates}, lost ${a.lostAcked}, failed-but-ran ${a.failedButHeld}, unsettled ${a.unsettled}` : (r as { error: string }).error}`,
        );
        failoverRows.push(row);
      }
  }

  const md = renderCluster({
    command: `node build/bench/cluster.js ${process.argv.slice(2).join(' ')}`.trim(),
    date: new Date().toISOString(),
    durationMs,
    rounds,
    observeMs,
    deadlineMs: DEADLINE_MS,
    nodeTimeoutMs: NODE_TIMEOUT_MS,
    pinned: pin,
    redisVersion,
    cpus: os.cpus().length,
    loadBefore,
    loadAfter: os.loadavg(),
    wallMs: Date.now() - started,
    clients,
    loadRows,
    failoverRows,
  });
  process.stdout.write(md);
  writeFileSync(out, md);
  log(`wrote ${out}`);
}

await main();
