/**
 * /health over node:http against a real redis-server: healthy → (server killed) 503
 * unavailable → (restarted on the same port) 200 healthy, while /health/live stays 200 the
 * whole time and /health/ready follows /health. A frozen server (SIGSTOP) turns /health away
 * from healthy too — degraded (200) or unavailable (503) — and back after SIGCONT.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { createHealthHandler } from '../../../src/http/index.js';
import { createPool } from '../../../src/pool/pool.js';
import { waitFor, withRedis } from '../../helpers/redis.js';
import { get, listen } from './http-helpers.js';

void test('node:http /health flips to 503 when redis-server dies and back to 200 when it returns', { timeout: 90_000 }, async (t) => {
  const server = await withRedis(t);
  const pool = createPool({ url: server.url, name: 'flip', max: 4, connectTimeoutMs: 1_000, commandTimeoutMs: 1_000 });
  t.after(() => pool.destroy());
  const base = await listen(t, http.createServer(createHealthHandler(pool, { timeoutMs: 500 })));
  await pool.ready();

  const healthy = await get(`${base}/health`);
  assert.equal(healthy.status, 200);
  assert.equal(healthy.body.status, 'healthy');
  assert.equal((await get(`${base}/health/ready`)).status, 200);

  await server.kill();
  const down = await waitFor(
    async () => {
      const live = await get(`${base}/health/live`);
      assert.equal(live.status, 200, '/health/live stays up while Redis is down');
      const h = await get(`${base}/health`);
      return h.status === 503 ? h : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: '/health never turned 503' },
  );
  assert.ok(down);
  assert.equal(down.body.status, 'unavailable');
  const redis = (down.body.checks as Record<string, Record<string, unknown>>).redis!;
  assert.equal(redis.latencyMs, null);
  assert.equal(typeof redis.message, 'string');
  const notReady = await get(`${base}/health/ready`);
  assert.equal(notReady.status, 503);
  assert.equal(notReady.body.status, 'not_ready');
  const redisRoute = await get(`${base}/health/redis`);
  assert.equal(redisRoute.status, 503);
  assert.ok((redisRoute.body.advice as Array<{ code: string }>).some((a) => a.code === 'POOL_UNAVAILABLE'));

  await server.restart();
  const up = await waitFor(
    async () => {
      assert.equal((await get(`${base}/health/live`)).status, 200);
      const h = await get(`${base}/health`);
      return h.status === 200 && h.body.status === 'healthy' ? h : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: '/health never recovered' },
  );
  assert.ok(up);
  assert.equal(up.body.status, 'healthy');
  assert.equal((await get(`${base}/health/ready`)).status, 200);
  assert.equal(await pool.get('missing'), null, 'the pool serves again');
});

void test('a frozen server (SIGSTOP) is not healthy; SIGCONT brings it back', { timeout: 90_000 }, async (t) => {
  const server = await withRedis(t);
  t.after(() => {
    if (server.paused) server.resume();
  });
  const pool = createPool({ url: server.url, name: 'frozen', max: 4, connectTimeoutMs: 1_000, commandTimeoutMs: 1_000 });
  t.after(() => pool.destroy());
  const base = await listen(t, http.createServer(createHealthHandler(pool, { timeoutMs: 300 })));
  await pool.ready();
  assert.equal((await get(`${base}/health`)).body.status, 'healthy');

  server.pause();
  const bad = await waitFor(
    async () => {
      const h = await get(`${base}/health`);
      return h.body.status !== 'healthy' ? h : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 100 },
  );
  assert.ok(bad);
  // The PING times out with lanes still open: degraded (200). Once reconnects fail: 503.
  if (bad.body.status === 'degraded') assert.equal(bad.status, 200);
  else {
    assert.equal(bad.body.status, 'unavailable');
    assert.equal(bad.status, 503);
  }
  assert.equal((await get(`${base}/health/live`)).status, 200);

  server.resume();
  await waitFor(async () => (await get(`${base}/health`)).body.status === 'healthy', {
    timeoutMs: 30_000,
    intervalMs: 100,
    message: 'never healthy again after SIGCONT',
  });
});
