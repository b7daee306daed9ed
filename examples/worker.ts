/**
 * A queue worker: BLPOP consumers on one pool (blocking commands run on exclusive leases
 * automatically, so they never stall other commands), a node:http health endpoint for the
 * orchestrator, graceful shutdown, and a pool-size recommendation from the measured numbers.
 *
 *   npm run build && npx tsc -p tsconfig.json && node build/examples/worker.js                 # self-check, exits
 *   REDIS_URL=redis://127.0.0.1:6379 node build/examples/worker.js             # against your Redis
 *   node build/examples/worker.js --serve                                      # consume until SIGTERM
 *
 * Without REDIS_URL a throwaway redis-server is started (and stopped at the end). The default
 * run enqueues a bounded batch of jobs, consumes them with 4 consumers, checks /health, prints
 * stats and advice, and exits 0 when every job was processed exactly once.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPool, adviseFromStats, summarizeAdvice, recommendPoolSize, installShutdown } from 'redpool';
import { createHealthHandler } from 'redpool/http';
import { startRedisServer } from 'redpool/testing';

const serve = process.argv.includes('--serve');
const JOBS = 200;
const CONSUMERS = 4;
const QUEUE = `example:worker:jobs:${process.pid}`;

const embedded = process.env['REDIS_URL'] ? undefined : await startRedisServer();
const url = process.env['REDIS_URL'] ?? embedded!.url;
// Each consumer holds a lease while it blocks: max = consumers + lanes (+1 spare).
const pool = createPool({ url, name: 'worker-example', max: CONSUMERS + 3, lanes: 2 });
await pool.ready();

const health = http.createServer(createHealthHandler(pool));
await new Promise<void>((resolve) => health.listen(serve ? Number(process.env['PORT'] ?? 8081) : 0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(health.address() as AddressInfo).port}`;
console.log(`health on ${base}/health (pool ${pool.options.name}, Redis ${pool.options.endpoint})`);

let stopping = false;
const seen = new Map<string, number>();

async function consumer(id: number): Promise<void> {
  while (!stopping) {
    // 1 s block so a stop request is noticed within a second.
    const job = await pool.blpop(QUEUE, 1);
    if (!job) {
      if (!serve) return; // queue drained: the self-check is done
      continue;
    }
    const [, payload] = job;
    seen.set(payload, (seen.get(payload) ?? 0) + 1);
    await pool.hincrby(`${QUEUE}:done`, `consumer-${id}`, 1);
  }
}

async function closeAll(): Promise<void> {
  await new Promise<void>((resolve) => {
    health.closeAllConnections();
    health.close(() => resolve());
  });
  await pool.close({ timeoutMs: 5_000 });
  await embedded?.stop();
}

if (serve) {
  installShutdown(pool, {
    beforeClose: () => {
      stopping = true; // consumers finish their current BLPOP (≤ 1 s) and stop
    },
    exit: (code) => void closeAll().finally(() => process.exit(code)),
  });
  await Promise.all(Array.from({ length: CONSUMERS }, (_, i) => consumer(i)));
} else {
  let failures = 0;
  const started = Date.now();
  try {
    await pool.rpush(QUEUE, ...Array.from({ length: JOBS }, (_, i) => `job-${i}`));
    await Promise.all(Array.from({ length: CONSUMERS }, (_, i) => consumer(i)));
    const elapsedMs = Date.now() - started;
    const once = [...seen.values()].every((n) => n === 1);
    if (seen.size !== JOBS || !once) failures++;
    console.log(`${seen.size === JOBS && once ? 'ok  ' : 'FAIL'} processed ${seen.size}/${JOBS} jobs exactly once in ${elapsedMs} ms`);
    const perConsumer = await pool.hgetall(`${QUEUE}:done`);
    console.log(`     per consumer: ${JSON.stringify(perConsumer)}`);

    const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5_000) });
    if (res.status !== 200) failures++;
    console.log(`${res.status === 200 ? 'ok  ' : 'FAIL'} GET /health -> ${res.status} ${await res.text()}`);

    const s = pool.stats();
    console.log(`     stats: connections=${s.total} lanes=${s.lanes} leases granted=${s.acquires} commands=${s.commands} waits=${s.waits}`);
    const advice = adviseFromStats(s, undefined, { pool: pool.options });
    console.log(`     advice: ${summarizeAdvice(advice)}`);
    for (const a of advice) console.log(`       ${a.level} ${a.code}: ${a.message}`);

    // Little's law from what we measured: leases per second × average hold time.
    const rps = (s.acquires / Math.max(1, elapsedMs)) * 1000;
    const holdMs = s.acquires > 0 ? s.leaseMsTotal / s.acquires : 1;
    const size = recommendPoolSize({ rps, latencyMs: Math.max(0.1, holdMs), workers: 1 });
    console.log(`     sizing: ${size.explanation}`);
    await pool.del(QUEUE, `${QUEUE}:done`);
  } catch (err) {
    failures++;
    console.log(`FAIL ${(err as Error).message}`);
  } finally {
    stopping = true;
    await closeAll();
  }
  console.log(failures === 0 ? 'self-check: ok' : `self-check: ${failures} failure(s)`);
  process.exitCode = failures === 0 ? 0 : 1;
}
