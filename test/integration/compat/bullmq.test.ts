/**
 * BullMQ on one pool through asIoredis(pool): a Queue, a Worker (concurrency 5) and QueueEvents
 * share a pool of max 6. 200 jobs (some delayed) complete; after a SIGKILL + restart on the same
 * port, jobs added afterwards complete with no glue. CLIENT LIST never shows more than max.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { asIoredis } from '../../../src/compat/index.js';
import { createPool } from '../../../src/index.js';
import { waitFor, withRedis } from '../../helpers/redis.js';
import { crashAndRestart, sampleConnections, serverConnections } from './support.js';

void test('BullMQ: Queue + Worker(concurrency 5) + QueueEvents on one pool of max 6, 200 jobs incl. delayed, recovers after a restart', async (t) => {
  const server = await withRedis(t);
  const pool = createPool({ url: server.url, name: 'bullmq-it', max: 6, lanes: 2, connectTimeoutMs: 1_000, commandTimeoutMs: 5_000 });
  t.after(() => pool.destroy());
  await pool.ready();
  const sampler = sampleConnections(server);
  const connection = asIoredis(pool);
  const queue = new Queue('mail', { connection });
  const completed = new Set<string>();
  const errors: string[] = [];
  const worker = new Worker('mail', async (job) => ({ doubled: (job.data as { n: number }).n * 2 }), { connection, concurrency: 5 });
  worker.on('completed', (job) => completed.add(job.id!));
  worker.on('error', (err) => errors.push(`worker: ${err.message}`));
  queue.on('error', (err) => errors.push(`queue: ${err.message}`));
  const events = new QueueEvents('mail', { connection });
  events.on('error', (err) => errors.push(`events: ${err.message}`));
  const evCompleted = new Set<string>();
  events.on('completed', ({ jobId }) => evCompleted.add(jobId));
  await Promise.all([worker.waitUntilReady(), events.waitUntilReady(), queue.waitUntilReady()]);

  const jobs = Array.from({ length: 200 }, (_, i) => ({
    name: 'send',
    data: { n: i },
    opts: { jobId: `a${i}`, ...(i % 10 === 0 ? { delay: 50 + i } : {}) },
  }));
  await queue.addBulk(jobs.slice(0, 100));
  for (const j of jobs.slice(100)) await queue.add(j.name, j.data, j.opts);
  await waitFor(() => completed.size === 200, { timeoutMs: 30_000, message: `completed ${completed.size}/200` });
  const one = await queue.getJob('a7');
  assert.deepEqual(one?.returnvalue, { doubled: 14 });
  await waitFor(() => evCompleted.size === 200, { timeoutMs: 10_000, message: `QueueEvents saw ${evCompleted.size}/200` });

  await crashAndRestart(server);
  // Jobs added after the restart complete by themselves (the server lost everything: no persistence).
  await waitFor(
    async () => {
      try {
        await queue.add('send', { n: 1 }, { jobId: 'probe' });
        return true;
      } catch {
        return false;
      }
    },
    { timeoutMs: 15_000, intervalMs: 200, message: 'queue.add after restart' },
  );
  for (let i = 0; i < 20; i++) await queue.add('send', { n: i }, { jobId: `b${i}`, ...(i % 5 === 0 ? { delay: 100 } : {}) });
  await waitFor(() => [...Array(20).keys()].every((i) => completed.has(`b${i}`)), { timeoutMs: 30_000, message: 'jobs after restart' });
  await waitFor(() => evCompleted.has('b19'), { timeoutMs: 15_000, message: 'QueueEvents after restart' });

  const { max, samples } = await sampler.stop();
  t.diagnostic(
    `CLIENT LIST max ${max} over ${samples} samples (pool max 6); error events: ${errors.length} ${errors.slice(0, 3).join(' | ')}`,
  );
  assert.ok(max <= 6, `server saw ${max} connections`);
  // ioredis's wording on connection loss: BullMQ recognises it and raises no 'error' events.
  assert.deepEqual(errors, []);
  await worker.close();
  await events.close();
  await queue.close();
  await pool.close();
  assert.equal(await serverConnections(server), 0);
});
