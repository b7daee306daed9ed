/**
 * One cell of bench/cluster.ts in its own process: one client × one workload (throughput) or one
 * client × one fault (failover). Reads its spec as JSON from argv[2]; talks to the runner by
 * lines: it prints `@@READY` when warmed up, `@@OBSERVED` when a failover run's observation
 * window is over, and `@@RESULT <json>` at the end; the runner writes `fault <epoch ms>` and
 * `audit` on stdin.
 */
import { createInterface } from 'node:readline';
import { LatencyRecorder } from '../src/load/index.js';
import { ClusterLedger, readClusterList, redpoolVerdict, tagsCovering } from '../test/fault/lib/cluster-ledger.js';
import { createClusterClient, type ClusterBenchClient } from './cluster-clients.js';
import {
  MARK,
  type CellResult,
  type ClusterCellSpec,
  type FailoverOutput,
  type FailoverSpec,
  type LoadOutput,
  type LoadSpec,
} from './cluster-protocol.js';

/** Keys of the mixed workload: spread over every slot. */
const KEYSPACE = 100_000;
const VALUE = 'x'.repeat(64);
/** Bound on the operations of one cell, whatever the duration. */
const MAX_OPS = 5_000_000;

async function load(client: ClusterBenchClient, spec: LoadSpec): Promise<LoadOutput> {
  const lat = new LatencyRecorder();
  let ops = 0;
  let errors = 0;
  let firstError: string | undefined;
  let n = 0;
  let recording = false;
  const one = async (): Promise<void> => {
    const i = n++;
    const t0 = performance.now();
    let count = 1;
    try {
      if (spec.workload === 'mixed') {
        const key = `k:${(i * 7919) % KEYSPACE}`;
        await (i % 2 === 0 ? client.set(key, VALUE) : client.get(key));
      } else {
        // One hash tag per pipeline (every client can send it as one batch); tags vary over all slots.
        const tag = `{p${i % 4096}}`;
        const cmds: string[][] = [];
        for (let j = 0; j < spec.pipelineSize; j++) cmds.push(j % 2 === 0 ? ['set', `${tag}:${j}`, VALUE] : ['get', `${tag}:${j - 1}`]);
        count = cmds.length;
        await client.pipeline(cmds);
      }
    } catch (err) {
      if (recording) errors++;
      firstError ??= (err as Error).message;
    }
    if (recording) {
      lat.record(performance.now() - t0);
      ops += count;
    }
  };
  const until = { at: performance.now() + 300 };
  const callers = async (): Promise<void> => {
    while (performance.now() < until.at && n < MAX_OPS) await one();
  };
  // Warm-up (connections, JIT), not recorded.
  await Promise.all(Array.from({ length: spec.concurrency }, callers));
  process.stdout.write(`${MARK.ready}\n`);
  recording = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  until.at = t0 + spec.durationMs;
  await Promise.all(Array.from({ length: spec.concurrency }, callers));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const s = lat.summary();
  return {
    ok: true,
    ops,
    errors,
    firstError,
    opsPerSec: Math.round(ops / (elapsed / 1000)),
    p50Ms: s.p50Ms,
    p99Ms: s.p99Ms,
    cpuUsPerOp: ops === 0 ? NaN : Math.round(((cpu.user + cpu.system) / ops) * 100) / 100,
  };
}

async function failover(client: ClusterBenchClient, spec: FailoverSpec, lines: AsyncIterator<string>): Promise<FailoverOutput> {
  const readLine = async (prefix: string): Promise<string> => {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) throw new Error(`runner closed stdin before "${prefix}"`);
      if (value.startsWith(prefix)) return value.slice(prefix.length);
    }
  };
  const [lo, hi] = spec.victim;
  const hit = (slot: number): boolean => slot >= lo && slot <= hi;
  const ledger = new ClusterLedger(client, {
    workers: 6,
    deadlineMs: spec.deadlineMs,
    guardMs: spec.deadlineMs * 4 + 1_000,
    maxOps: 200_000,
    paceMs: 5,
    prefix: `fo-${spec.client}-${spec.fault}-${spec.scope}`,
    tags: spec.scope === 'all' ? tagsCovering(48) : tagsCovering(16, hit),
    ...(spec.client === 'redpool' ? { verdict: redpoolVerdict } : {}),
  });
  ledger.start();
  await new Promise((r) => setTimeout(r, 1_000));
  process.stdout.write(`${MARK.ready}\n`);
  const faultEpoch = Number(await readLine('fault '));
  ledger.markFault(faultEpoch - performance.timeOrigin);
  await new Promise((r) => setTimeout(r, spec.observeMs));
  await ledger.stop();
  process.stdout.write(`${MARK.observed}\n`);
  await readLine('audit');
  return { ok: true, ledger: await ledger.audit((key) => readClusterList(spec.auditPorts, key), hit) };
}

async function run(spec: ClusterCellSpec): Promise<CellResult> {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  let client: ClusterBenchClient | undefined;
  try {
    client = await createClusterClient(spec.client, spec.seeds, spec.kind === 'failover' ? { deadlineMs: spec.deadlineMs } : {});
    return spec.kind === 'load' ? await load(client, spec) : await failover(client, spec, lines);
  } catch (err) {
    return { ok: false, unavailable: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    await Promise.race([client?.close().catch(() => undefined), new Promise((r) => setTimeout(r, 2_000))]);
  }
}

const out = await run(JSON.parse(process.argv[2] ?? '{}') as ClusterCellSpec);
process.stdout.write(`${MARK.result}${JSON.stringify(out)}\n`, () => process.exit(0));
