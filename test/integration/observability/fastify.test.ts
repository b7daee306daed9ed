/**
 * The Fastify plugin against a real redis-server (requests through fastify.inject): decorates
 * fastify.redis, serves the health and metrics routes, flips /health to 503 while the server is
 * down and back when it returns (/health/live stays 200), closes only the pool it created,
 * supports namespaces, and fails registration cleanly when Redis is unreachable.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { ConfigError } from '../../../src/errors.js';
import redpool from '../../../src/fastify/index.js';
import { createPool, type Pool } from '../../../src/pool/pool.js';
import { registerPoolMetrics } from '../../../src/prometheus/index.js';
import { findFreePort } from '../../support/free-port.js';
import { waitFor, withRedis } from '../../helpers/redis.js';
import { sample } from './http-helpers.js';

/**
 * fastify.inject() opens no socket, and the pool's sockets and the redis-server child do not
 * keep Node alive; without a ref'd handle the test process could exit mid-test.
 */
function keepAlive(t: TestContext): void {
  const timer = setInterval(() => undefined, 1_000);
  t.after(() => clearInterval(timer));
}

void test('plugin: decorate, routes, metrics, 503 while Redis is down, back to 200, closes its pool', { timeout: 90_000 }, async (t) => {
  keepAlive(t);
  const server = await withRedis(t);
  const registry = new Registry();
  const app = Fastify();
  t.after(() => app.close());
  await app.register(redpool, {
    poolOptions: { url: server.url, name: 'fastify', max: 4, connectTimeoutMs: 1_000, commandTimeoutMs: 1_000 },
    metrics: registry,
    timeoutMs: 500,
  });
  const metrics = registerPoolMetrics(app.redis, registry);
  t.after(() => metrics.unregister());
  app.get('/visits', async () => ({ visits: await app.redis.incr('visits') }));
  await app.ready();

  assert.deepEqual((await app.inject('/visits')).json(), { visits: 1 });
  const h = await app.inject('/health');
  assert.equal(h.statusCode, 200);
  assert.equal(h.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(h.json<{ status: string }>().status, 'healthy');
  const m = await app.inject('/metrics');
  assert.equal(m.statusCode, 200);
  assert.match(String(m.headers['content-type']), /^text\/plain/);
  assert.equal(sample(m.body, 'redpool_commands_total', { pool: 'fastify' }), app.redis.stats().commands);
  const redis = await app.inject('/health/redis');
  assert.equal(redis.json<{ stats: { name: string } }>().stats.name, 'fastify');
  assert.equal((await app.inject({ method: 'HEAD', url: '/health/live' })).statusCode, 200);

  await server.kill();
  await waitFor(
    async () => {
      assert.equal((await app.inject('/health/live')).statusCode, 200, '/health/live stays up');
      return (await app.inject('/health')).statusCode === 503;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: '/health never turned 503' },
  );
  assert.equal((await app.inject('/health')).json<{ status: string }>().status, 'unavailable');
  assert.equal((await app.inject('/health/ready')).statusCode, 503);

  await server.restart();
  await waitFor(
    async () => {
      const r = await app.inject('/health');
      return r.statusCode === 200 && r.json<{ status: string }>().status === 'healthy';
    },
    { timeoutMs: 30_000, intervalMs: 100, message: '/health never recovered' },
  );
  assert.equal((await app.inject('/health/ready')).statusCode, 200);
  assert.equal((await app.inject('/visits')).statusCode, 200);

  const pool = app.redis;
  await app.close();
  assert.equal(pool.state, 'closed', 'the plugin closed the pool it created');
});

void test('plugin: a pool passed in is not closed; namespaces get their own routes', { timeout: 30_000 }, async (t) => {
  keepAlive(t);
  const server = await withRedis(t);
  const mine = createPool({ url: server.url, name: 'mine', max: 2 });
  t.after(() => mine.close());
  await mine.ready();
  const app = Fastify();
  t.after(() => app.close());
  await app.register(redpool, { pool: mine, namespace: 'cache' });
  await app.register(redpool, { poolOptions: { url: server.url, name: 'queue', max: 2 }, namespace: 'queue' });
  const dup = Fastify();
  t.after(() => dup.close());
  await dup.register(redpool, { pool: mine, namespace: 'cache' });
  await assert.rejects(
    async () => {
      await dup.register(redpool, { pool: mine, namespace: 'cache' });
    },
    (e: unknown) => e instanceof ConfigError && e.option === 'namespace',
  );
  const plain = Fastify();
  t.after(() => plain.close());
  await plain.register(redpool, { pool: mine, routes: false });
  await assert.rejects(
    async () => {
      await plain.register(redpool, { pool: mine, routes: false });
    },
    (e: unknown) => e instanceof ConfigError && e.option === 'namespace',
  );
  await app.ready();

  const ns = app.redis as unknown as Record<string, Pool>;
  assert.equal(ns.cache, mine);
  assert.equal(ns.queue!.options.name, 'queue');
  assert.equal((await app.inject('/health/cache')).json<{ pool: string }>().pool, 'mine');
  assert.equal((await app.inject('/health/queue/ready')).statusCode, 200);
  assert.equal((await app.inject('/health')).statusCode, 404, 'no un-namespaced routes');
  assert.equal((await app.inject('/metrics')).statusCode, 404, 'no metrics without a registry');

  const queue = ns.queue!;
  await app.close();
  assert.equal(queue.state, 'closed');
  assert.equal(mine.state, 'open', 'a pool passed in stays open');
  assert.equal(await mine.ping(), 'PONG');
});

void test('plugin: registration fails when Redis is unreachable or options conflict', { timeout: 30_000 }, async (t) => {
  keepAlive(t);
  const port = await findFreePort('127.0.0.1');
  const app = Fastify();
  t.after(() => app.close());
  await assert.rejects(
    async () => {
      await app.register(redpool, { poolOptions: { url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 500, acquireTimeoutMs: 1_000 } });
    },
    (err: Error & { code?: string }) => typeof err.code === 'string' && err.code.startsWith('ERR_'),
  );
  const unused = createPool({ url: `redis://127.0.0.1:${port}`, max: 1 }); // never connects
  t.after(() => unused.destroy());
  const app2 = Fastify();
  t.after(() => app2.close());
  await assert.rejects(
    async () => {
      await app2.register(redpool, { pool: unused, poolOptions: {} });
    },
    (e: unknown) => e instanceof ConfigError && e.option === 'pool',
  );
});
