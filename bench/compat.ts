/**
 * Benchmark rows of redpool/compat, one run, one redis-server started here:
 * - BullMQ jobs/s through asIoredis(pool) vs BullMQ on its own ioredis connections (rounds
 *   interleaved, same server, same job count and concurrency);
 * - the view's CPU overhead per command vs the pool's own API (GET, 100 in flight).
 *
 *   node build/bench/compat.js [--jobs N (2000)] [--rounds R (3)] [--commands N (200000)]
 */
import { parseArgs } from 'node:util';
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import { asIoredis } from '../src/compat/index.js';
import { createPool, type Pool } from '../src/index.js';
import { startRedis } from '../test/helpers/redis.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
    commands: { type: 'string', default: '200000' },
  },
});
const JOBS = Number(values.jobs);
const ROUNDS = Number(values.rounds);
const COMMANDS = Number(values.commands);
const CONCURRENCY = 20;

async function bullRound(connection: ConnectionOptions, name: string): Promise<number> {
  const queue = new Queue(name, { connection });
  let done = 0;
  let finish: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (finish = resolve));
  const worker = new Worker(name, async () => 1, { connection, concurrency: CONCURRENCY, autorun: false });
  worker.on('completed', () => {
    if (++done === JOBS) finish();
  });
  await queue.waitUntilReady();
  const started = performance.now();
  void worker.run();
  for (let i = 0; i < JOBS; i += 500)
    await queue.addBulk(Array.from({ length: Math.min(500, JOBS - i) }, (_, j) => ({ name: 'j', data: { i: i + j } })));
  await all;
  const ms = performance.now() - started;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return (JOBS / ms) * 1000;
}

async function cpuPerCommand(run: (i: number) => Promise<unknown>): Promise<number> {
  const inflight = 100;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < COMMANDS) await run(next++);
  };
  const before = process.cpuUsage();
  await Promise.all(Array.from({ length: inflight }, worker));
  const d = process.cpuUsage(before);
  return (d.user + d.system) / COMMANDS;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const server = await startRedis();
try {
  const pool: Pool = createPool({ url: server.url, name: 'bench-compat', max: 8 });
  await pool.ready();
  const view = asIoredis(pool);
  const own: ConnectionOptions = { host: server.host, port: server.port, maxRetriesPerRequest: null };
  const viaView: number[] = [];
  const viaOwn: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Interleaved so drift (page cache, CPU frequency) hits both alike.
    viaView.push(await bullRound(view, `bv${r}`));
    viaOwn.push(await bullRound(own, `bo${r}`));
  }
  await pool.set('bench:k', 'v');
  for (let i = 0; i < 2; i++) {
    await cpuPerCommand(() => pool.get('bench:k')); // warm-up both paths
    await cpuPerCommand(() => view.get('bench:k'));
  }
  const poolUs: number[] = [];
  const viewUs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    poolUs.push(await cpuPerCommand(() => pool.get('bench:k')));
    viewUs.push(await cpuPerCommand(() => view.get('bench:k')));
  }
  await pool.close();
  const fmt = (xs: number[], d = 0): string => xs.map((x) => x.toFixed(d)).join(', ');
  console.log(`| BullMQ ${JOBS} jobs, Worker concurrency ${CONCURRENCY}, addBulk 500 | jobs/s (median of ${ROUNDS}) | rounds |`);
  console.log(`|---|---|---|`);
  console.log(`| through asIoredis(pool), max 8 | ${median(viaView).toFixed(0)} | ${fmt(viaView)} |`);
  console.log(`| BullMQ on its own ioredis connections | ${median(viaOwn).toFixed(0)} | ${fmt(viaOwn)} |`);
  console.log('');
  console.log(`| GET, 100 in flight, ${COMMANDS} commands | CPU µs/command (median of ${ROUNDS}) | rounds |`);
  console.log(`|---|---|---|`);
  console.log(`| pool.get | ${median(poolUs).toFixed(2)} | ${fmt(poolUs, 2)} |`);
  console.log(`| asIoredis(pool).get | ${median(viewUs).toFixed(2)} | ${fmt(viewUs, 2)} |`);
  console.log(`| view overhead | ${(median(viewUs) - median(poolUs)).toFixed(2)} | |`);
} finally {
  await server.stop();
}
