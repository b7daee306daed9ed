/**
 * @fastify/redis 9 + @fastify/rate-limit 11 with redpool/fastify on one pool: redpool's plugin
 * serves the health routes, @fastify/redis takes `client: asIoredis(pool)` (status 'ready', no
 * own connection), rate-limit runs its Lua through `defineCommand` with boolean arguments. After a
 * SIGKILL + restart (scripts gone: NOSCRIPT → EVAL) limiting works again by itself.
 *
 * @fastify/redis is loaded without its types: it and redpool/fastify both declare
 * `FastifyInstance.redis` with different types, which one TypeScript program cannot merge (see
 * docs/ecosystem.md). At runtime they share `fastify.redis` through namespaces.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import rateLimit from '@fastify/rate-limit';
import Fastify from 'fastify';
import { asIoredis } from '../../../src/compat/index.js';
import { redpoolFastify } from '../../../src/fastify/index.js';
import { createPool } from '../../../src/index.js';
import { waitFor, withRedis } from '../../helpers/redis.js';
import { crashAndRestart, sampleConnections, serverConnections } from './support.js';

const FASTIFY_REDIS: string = '@fastify/redis';

void test('@fastify/redis + @fastify/rate-limit with redpool/fastify: limits per window, health route, recovers after a restart', async (t) => {
  const server = await withRedis(t);
  const pool = createPool({ url: server.url, name: 'fastify-it', max: 3, connectTimeoutMs: 500, commandTimeoutMs: 1_000 });
  t.after(() => pool.destroy());
  await pool.ready();
  const sampler = sampleConnections(server);
  const fastifyRedis = ((await import(FASTIFY_REDIS)) as { default: Parameters<typeof app.register>[0] }).default;
  const app = Fastify();
  t.after(() => app.close());
  await app.register(redpoolFastify, { pool, namespace: 'pool' });
  const client = asIoredis(pool);
  await app.register(fastifyRedis, { client, namespace: 'io' });
  assert.equal((app.redis as unknown as Record<string, unknown>).io, client, '@fastify/redis decorated the view');
  await app.register(rateLimit, { redis: client, max: 3, timeWindow: 60_000, nameSpace: 'rl:' });
  app.get('/', async () => ({ ok: true }));
  await app.ready();

  const burst = async (): Promise<number[]> => {
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await app.inject({ method: 'GET', url: '/' })).statusCode);
    return codes;
  };
  assert.deepEqual(await burst(), [200, 200, 200, 429, 429]);
  assert.equal((await app.inject({ method: 'GET', url: '/health/pool' })).statusCode, 200);

  await crashAndRestart(server);
  // The counters were lost with the data; after the restart the limit applies again from zero.
  await waitFor(async () => (await app.inject({ method: 'GET', url: '/' })).statusCode === 200, {
    timeoutMs: 10_000,
    intervalMs: 100,
    message: 'rate limit after restart',
  });
  assert.deepEqual(await burst(), [200, 200, 429, 429, 429]);
  assert.equal((await app.inject({ method: 'GET', url: '/health/pool' })).statusCode, 200);

  const { max, samples } = await sampler.stop();
  t.diagnostic(`CLIENT LIST max ${max} over ${samples} samples (pool max 3)`);
  assert.ok(max <= 3, `server saw ${max} connections`);
  await app.close();
  assert.equal(pool.state, 'open', 'neither plugin closes a pool it was given');
  await pool.close();
  assert.equal(await serverConnections(server), 0);
});
