/**
 * `redpool bench`: load-tests a Redis server through a redpool pool (or, with `compare`, first
 * with a connection per operation and then through the pool), printing a table, JSON, and
 * optionally an HTML report. Without a URL it runs against a throwaway embedded server.
 */
import { constants as fsConstants } from 'node:fs';
import { access, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createPool, RedpoolError, type Pool, type PoolOptions } from '../index.js';
import { fmtBytes, fmtCount, fmtMs } from '../load/format.js';
import { perOperationClient, poolClient, type LoadClient } from '../load/clients.js';
import { renderHtmlReport, type ReportRun } from '../load/report.js';
import { runLoad, type LoadResult, type Workload } from '../load/run-load.js';
import { infoNumber, openToolPool, readInfo, ServerSampler, type InfoFields } from '../load/server-info.js';
import { choice, EXIT, num, parse, str, target, UsageError, type Parsed } from './args.js';
import { benchText, comparison, type BenchOutput, type BenchSettings } from './bench-output.js';
import { isRefusal, print, printErr, printJson, Progress } from './output.js';
import type { RedisServer } from './embedded-server.js';
import { Session, startEmbedded } from './session.js';

export const BENCH_HELP = `Usage: redpool bench [options]

Load-tests Redis through a redpool pool and prints throughput, latency percentiles, errors,
connections opened and peak connected clients. Without --url and without REDIS_URL, a
throwaway redis-server is started on a free loopback port and stopped at the end.

Workloads (--workload):
  small      SET/GET of small values (default)
  mixed      like small, with a share of large values (--large-share, --large-size)
  blocking   some callers loop on BLPOP with a 0.1 s timeout while the others run small
  pubsub     publishers on the pool, subscribers on dedicated connections; delivered msg/s
  compare    small, first with a new connection per operation, then through the pool

Options:
  --url URL              Redis URL (default: $REDIS_URL, else an embedded server)
  --workload NAME        small | mixed | blocking | pubsub | compare (default small)
  --concurrency N        concurrent callers (default 50)
  --duration SECONDS     run length per phase (default 10)
  --ops N                stop after N operations instead of --duration
  --value-size BYTES     size of small values (default 64)
  --keyspace N           distinct keys (default 10000)
  --pool-size N          pool max connections (default 10)
  --lanes N              shared lanes (default: the pool's, 2 for max >= 4)
  --auto-pipelining      let the pool's lanes auto-pipeline
  --large-share F        mixed: share of large-value operations, 0..1 (default 0.05)
  --large-size BYTES     mixed: large value size (default 262144)
  --blocking-callers N   blocking: callers in BLPOP (default 20 % of --concurrency)
  --subscribers N        pubsub: subscriber connections (default 2)
  --json                 print the result as JSON on stdout
  --report FILE.html     write a self-contained HTML report
  --quiet                no progress output
  -h, --help             show this help

Exit codes: 0 done, 1 the run failed, 2 bad arguments, 3 redis-server not installed,
130/143 interrupted. Keys written are prefixed "redpool:bench:".`;

const BENCH_OPTIONS = {
  url: { type: 'string' },
  workload: { type: 'string', short: 'w' },
  concurrency: { type: 'string', short: 'c' },
  duration: { type: 'string', short: 'd' },
  ops: { type: 'string', short: 'n' },
  'value-size': { type: 'string' },
  keyspace: { type: 'string' },
  'pool-size': { type: 'string' },
  lanes: { type: 'string' },
  'auto-pipelining': { type: 'boolean' },
  'large-share': { type: 'string' },
  'large-size': { type: 'string' },
  'blocking-callers': { type: 'string' },
  subscribers: { type: 'string' },
  json: { type: 'boolean' },
  report: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

function settingsFrom(p: Parsed): BenchSettings {
  const workload = choice(p, 'workload', ['small', 'mixed', 'blocking', 'pubsub', 'compare'] as const, 'small');
  const ops = num(p, 'ops', undefined, { min: 1, max: 1e9, integer: true });
  if (ops !== undefined && str(p, 'duration') !== undefined) throw new UsageError('give --duration or --ops, not both');
  const seconds = num(p, 'duration', 10, { min: 0.05, max: 3600 });
  const poolSize = num(p, 'pool-size', 10, { min: 1, max: 10_000, integer: true });
  const lanes = num(p, 'lanes', poolSize < 4 ? 1 : 2, { min: 1, max: 1_000, integer: true });
  if (lanes > poolSize) throw new UsageError(`--lanes (${lanes}) must be <= --pool-size (${poolSize})`);
  const concurrency = num(p, 'concurrency', 50, { min: 1, max: 100_000, integer: true });
  const blockingCallers = num(p, 'blocking-callers', undefined, { min: 1, max: 100_000, integer: true });
  const subscribers = num(p, 'subscribers', 2, { min: 1, max: 1_000, integer: true });
  const leaseCap = poolSize - lanes;
  if (workload === 'blocking') {
    if (concurrency < 2) throw new UsageError('--workload blocking needs --concurrency >= 2');
    if (blockingCallers !== undefined && blockingCallers >= concurrency) throw new UsageError('--blocking-callers must be < --concurrency');
    if (leaseCap < 1) throw new UsageError('--workload blocking needs --pool-size > --lanes (BLPOP runs on exclusive connections)');
  }
  if (workload === 'pubsub' && subscribers > leaseCap) {
    throw new UsageError(
      `--subscribers (${subscribers}) must be <= --pool-size minus --lanes (${leaseCap}): each subscriber holds a connection`,
    );
  }
  return {
    workload,
    concurrency,
    durationMs: ops === undefined ? Math.round(seconds * 1000) : undefined,
    ops,
    valueSize: num(p, 'value-size', 64, { min: 1, max: 512 * 1024 * 1024, integer: true }),
    keyspace: num(p, 'keyspace', 10_000, { min: 1, max: 1e9, integer: true }),
    poolSize,
    lanes,
    autoPipelining: p.values['auto-pipelining'] === true,
    largeShare: num(p, 'large-share', 0.05, { min: 0, max: 1 }),
    largeValueSize: num(p, 'large-size', 256 * 1024, { min: 1, max: 512 * 1024 * 1024, integer: true }),
    blockingCallers,
    subscribers,
  };
}

function poolOptions(url: string, s: BenchSettings): Omit<PoolOptions, 'cluster'> {
  return {
    url,
    name: 'redpool-bench',
    max: s.poolSize,
    lanes: s.lanes,
    // compare opens the whole pool up front: "connections opened" is then exactly the pool size.
    min: s.workload === 'compare' ? s.poolSize : 1,
    autoPipelining: s.autoPipelining,
    maxWaiting: Math.max(10_000, s.concurrency * 2),
    logger: false, // bench reports errors in its own output
  };
}

/** One measured phase; the sampler starts before the client exists, so its connections count. */
async function phase(
  label: string,
  makeClient: () => Promise<LoadClient>,
  owned: LoadClient[],
  workload: Workload,
  s: BenchSettings,
  tool: Pool,
  session: Session,
  progress: Progress,
): Promise<ReportRun> {
  const sampler = new ServerSampler(tool, 100);
  await sampler.start();
  const client = await makeClient();
  if (!owned.includes(client)) owned.push(client);
  const result: LoadResult = await runLoad({
    client,
    workload,
    concurrency: s.concurrency,
    ...(s.ops !== undefined ? { ops: s.ops } : { durationMs: s.durationMs! }),
    valueSize: s.valueSize,
    keyspace: s.keyspace,
    largeShare: s.largeShare,
    largeValueSize: s.largeValueSize,
    ...(s.blockingCallers !== undefined ? { blockingCallers: s.blockingCallers } : {}),
    subscribers: s.subscribers,
    signal: session.signal,
    sampler,
    onProgress: (pr) => {
      const secs = (pr.elapsedMs / 1000).toFixed(1);
      progress.update(
        `${label}: ${secs}s  ${fmtCount(pr.ops)} ops  ${fmtCount(pr.opsPerSec)} ops/s  p99 ${fmtMs(pr.p99Ms)}  errors ${pr.errors}`,
        pr.elapsedMs,
      );
    },
  });
  progress.done();
  await client.close();
  return { label, result };
}

/** Runs `redpool bench` with `argv` (after the command name); resolves with the exit code. */
export async function benchCommand(argv: string[]): Promise<number> {
  const p = parse(argv, BENCH_OPTIONS, 1);
  if (p.values['help']) {
    print(BENCH_HELP);
    return EXIT.ok;
  }
  const s = settingsFrom(p);
  const t = target(p);
  const reportFile = str(p, 'report');
  if (reportFile !== undefined) await checkReportPath(reportFile);
  const json = p.values['json'] === true;
  const quiet = p.values['quiet'] === true;
  const progress = new Progress(!quiet);

  const session = new Session();
  let server: RedisServer | undefined;
  let tool: Pool | undefined;
  const owned: LoadClient[] = [];
  try {
    let url = t.url;
    let display = t.display;
    if (url === undefined) {
      if (!json && !quiet) printErr('redpool bench: no --url and no REDIS_URL: starting a throwaway redis-server');
      server = await startEmbedded();
      url = server.url;
      display = server.url;
    }
    if (session.signal.aborted) return session.interruptedCode!;
    tool = openToolPool(url, 5_000);
    const health = await tool.ready();
    if (health === 'unavailable') {
      const h = await tool.health({ timeoutMs: 2_000 });
      // Auth and TLS failures reached the server: "cannot reach" would send the user to the network.
      printErr(
        isRefusal(h.lastError)
          ? `redpool bench: ${h.lastError!.message}`
          : `redpool bench: cannot reach ${display}: ${h.lastError?.message ?? h.message}`,
      );
      return EXIT.failure;
    }
    const info: InfoFields = await readInfo(tool);

    const runs: ReportRun[] = [];
    if (s.workload === 'compare') {
      runs.push(await phase('connection per op', async () => perOperationClient(url), owned, 'small', s, tool, session, progress));
    }
    if (!session.signal.aborted) {
      const makePool = async (): Promise<LoadClient> => {
        const pool = createPool(poolOptions(url, s));
        const client = poolClient(pool);
        owned.push(client);
        await pool.ready();
        return client;
      };
      const workload: Workload = s.workload === 'compare' ? 'small' : s.workload;
      runs.push(await phase(s.workload === 'compare' ? 'redpool pool' : 'redpool', makePool, owned, workload, s, tool, session, progress));
    }

    const out: BenchOutput = {
      command: 'bench',
      workload: s.workload,
      target: display,
      embedded: server !== undefined,
      redisVersion: info['redis_version'] ?? 'unknown',
      maxclients: infoNumber(info, 'maxclients'),
      settings: s,
      runs: runs.map((r) => ({ label: r.label, ...r.result })),
      ...(s.workload === 'compare' && runs.length === 2 ? { comparison: comparison(runs[0]!.result, runs[1]!.result, s.poolSize) } : {}),
      interrupted: session.signal.aborted,
    };
    if (json) printJson(out);
    else print(benchText(out));
    if (reportFile !== undefined) {
      await writeFile(reportFile, renderHtmlReport(reportOf(out, runs)), 'utf8');
      if (!json) print(`report written to ${reportFile}`);
    }
    if (session.interruptedCode !== undefined) return session.interruptedCode;
    const last = runs[runs.length - 1]?.result;
    if (!last || last.ops === 0) {
      printErr(`redpool bench: no operation succeeded${last?.errorSamples[0] ? `: ${last.errorSamples[0]}` : ''}`);
      return EXIT.failure;
    }
    return EXIT.ok;
  } catch (err) {
    if (err instanceof RedpoolError && err.code === 'ERR_INVALID_OPTION') throw new UsageError(err.message);
    throw err;
  } finally {
    progress.done();
    await Promise.allSettled(owned.map((c) => c.close()));
    await tool?.destroy();
    await server?.stop();
    session.end();
  }
}

/** Fails before the run, not after it, when the report cannot be written where asked. */
async function checkReportPath(file: string): Promise<void> {
  if (file.trim() === '') throw new UsageError('--report needs a file name');
  const dir = path.dirname(path.resolve(file));
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new UsageError(`--report: the directory ${dir} does not exist`);
  try {
    await access(dir, fsConstants.W_OK);
  } catch {
    throw new UsageError(`--report: the directory ${dir} is not writable`);
  }
  if (
    await stat(file).then(
      (s) => s.isDirectory(),
      () => false,
    )
  )
    throw new UsageError(`--report: ${file} is a directory`);
}

function reportOf(out: BenchOutput, runs: ReportRun[]): Parameters<typeof renderHtmlReport>[0] {
  const s = out.settings;
  const settings: Record<string, string> = {
    workload: s.workload,
    concurrency: String(s.concurrency),
    [s.ops !== undefined ? 'operations' : 'duration']:
      s.ops !== undefined ? String(s.ops) : `${(s.durationMs ?? 0) / 1000} s${s.workload === 'compare' ? ' per phase' : ''}`,
    'value size': fmtBytes(s.valueSize),
    keyspace: String(s.keyspace),
    'pool max / lanes': `${s.poolSize} / ${s.lanes}`,
    'auto-pipelining': s.autoPipelining ? 'on' : 'off',
  };
  if (s.workload === 'mixed') settings['large values'] = `${(s.largeShare * 100).toFixed(1)} % × ${fmtBytes(s.largeValueSize)}`;
  const notes: string[] = [];
  if (out.comparison) {
    const c = out.comparison;
    notes.push(`Pool throughput is ${c.throughputRatio.toFixed(1)}× a connection per operation; p99 ${c.p99Ratio.toFixed(1)}× lower.`);
    notes.push(
      `Connections opened: ${c.connectionsOpened.perOperation} with a connection per operation, ${c.connectionsOpened.pool} through the pool (pool size ${c.poolSize}).`,
    );
  }
  if (out.interrupted) notes.push('The run was interrupted; figures cover what ran.');
  return {
    title: `redpool bench · ${s.workload}`,
    target: out.target,
    server: {
      'redis version': out.redisVersion,
      embedded: out.embedded ? 'yes (throwaway redis-server)' : 'no',
      maxclients: String(out.maxclients ?? 'unknown'),
    },
    settings,
    runs,
    notes,
  };
}
