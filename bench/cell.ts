/**
 * One benchmark cell: one peer × one workload in a fresh process (so GC and JIT state never
 * leak between peers). Reads its spec as JSON from argv[2]; prints one line
 * `@@RESULT <json>` on stdout. Used by bench/run.ts; runnable by hand for debugging:
 *   node build/bench/cell.js '{"peer":"redpool","workload":"small","url":"redis://127.0.0.1:6379","durationMs":2000,"concurrency":500}'
 */
import { openToolPool, runLoad, ServerSampler, type LoadClient } from '../src/load/index.js';
import { createPeer, PeerUnavailableError } from './peers.js';
import { RESULT_MARK, type CellOutput, type CellSpec } from './protocol.js';

async function runCell(spec: CellSpec): Promise<CellOutput> {
  const tool = openToolPool(spec.url, 5_000);
  let client: LoadClient | undefined;
  try {
    await tool.ready();
    const sampler = new ServerSampler(tool, 100);
    await sampler.start();
    client = await createPeer(spec.peer, spec.url, { fixedPool: spec.fixedPool === true });
    const cpu0 = process.cpuUsage();
    const result = await runLoad({
      client,
      workload: spec.workload,
      concurrency: spec.concurrency,
      durationMs: spec.durationMs,
      maxDurationMs: spec.durationMs + 15_000,
      ...(spec.blockingCallers !== undefined ? { blockingCallers: spec.blockingCallers } : {}),
      ...(spec.largeShare !== undefined ? { largeShare: spec.largeShare } : {}),
      ...(spec.largeValueSize !== undefined ? { largeValueSize: spec.largeValueSize } : {}),
      sampler,
      sampleIntervalMs: 500,
    });
    const cpu = process.cpuUsage(cpu0);
    return { ok: true, result, cpuMs: Math.round((cpu.user + cpu.system) / 1000) };
  } catch (err) {
    return { ok: false, unavailable: err instanceof PeerUnavailableError, error: err instanceof Error ? err.message : String(err) };
  } finally {
    await client?.close().catch(() => undefined);
    await tool.destroy();
  }
}

const spec = JSON.parse(process.argv[2] ?? '{}') as CellSpec;
const out = await runCell(spec);
process.stdout.write(`${RESULT_MARK}${JSON.stringify(out)}\n`);
// Peers may leave sockets or timers behind (that is their business, not this measurement's).
setTimeout(() => process.exit(0), 200).unref();
