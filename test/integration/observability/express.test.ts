/**
 * createHealthHandler as Express middleware on a real listening server: the app's own routes
 * pass through, /metrics serves the registry, and /health flips to 503 while redis-server is
 * down and back to 200 when it returns, with /health/live at 200 throughout.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import express from 'express';
import { Registry } from 'prom-client';
import { createHealthHandler } from '../../../src/http/index.js';
import { createPool } from '../../../src/pool/pool.js';
import { registerPoolMetrics } from '../../../src/prometheus/index.js';
import { waitFor, withRedis } from '../../helpers/redis.js';
import { get, listen, sample } from './http-helpers.js';

void test('Express: middleware routes, pass-through, metrics, and the /health flip', { timeout: 90_000 }, async (t) => {
  const server = await withRedis(t);
  const pool = createPool({ url: server.url, name: 'express', max: 4, connectTimeoutMs: 1_000, commandTimeoutMs: 1_000 });
  t.after(() => pool.destroy());
  const registry = new Registry();
  const metrics = registerPoolMetrics(pool, registry);
  t.after(() => metrics.unregister());

  const app = express();
  app.use(createHealthHandler(pool, { registry, timeoutMs: 500 }));
  app.get('/hello', async (_req, res) => {
    res.json({ hello: await pool.incr('hello') });
  });
  const base = await listen(t, http.createServer(app));
  await pool.ready();

  assert.deepEqual((await get(`${base}/hello`)).body, { hello: 1 });
  assert.equal((await get(`${base}/nope`)).status, 404, "Express's own 404");
  const h = await get(`${base}/health`);
  assert.equal(h.status, 200);
  assert.equal(h.body.status, 'healthy');
  const m = await get(`${base}/metrics`);
  assert.equal(m.status, 200);
  assert.equal(sample(m.text, 'redpool_commands_total', { pool: 'express' }), pool.stats().commands);
  const r = await get(`${base}/health/redis?verbose=1`);
  assert.equal(r.status, 200);
  assert.equal((r.body.stats as { name: string }).name, 'express');
  assert.ok(Array.isArray(r.body.advice));

  await server.kill();
  await waitFor(
    async () => {
      assert.equal((await get(`${base}/health/live`)).status, 200, '/health/live stays up');
      return (await get(`${base}/health`)).status === 503;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: '/health never turned 503' },
  );
  assert.equal((await get(`${base}/health/ready`)).status, 503);
  assert.equal((await get(`${base}/metrics`)).status, 200, 'metrics still scrape while Redis is down');

  await server.restart();
  await waitFor(
    async () => {
      const x = await get(`${base}/health`);
      return x.status === 200 && x.body.status === 'healthy';
    },
    { timeoutMs: 30_000, intervalMs: 100, message: '/health never recovered' },
  );
  assert.deepEqual((await get(`${base}/hello`)).body, { hello: 1 }, 'a fresh server: data was not persisted');
});
