/**
 * Health routes and the node:http/Express handler against a fake-driver pool: status codes,
 * bodies, path matching, methods, next() passthrough, HEAD, and no secrets in any body.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { createHealthHandler, HealthRoutes, type RedisHealthBody } from '../../../src/http/index.js';
import type { PoolOptions } from '../../../src/options.js';
import { createPool, type Pool } from '../../../src/pool/pool.js';
import { FakeDriver, ManualClock } from '../../../src/testing/index.js';

function fakePool(t: TestContext, over: PoolOptions = {}): { pool: Pool; driver: FakeDriver } {
  const driver = new FakeDriver();
  const pool = createPool({ driver, clock: new ManualClock(), name: 'web', max: 4, ...over, cluster: undefined });
  t.after(() => pool.destroy());
  return { pool, driver };
}

const body = (r: { body: string } | undefined): Record<string, unknown> => JSON.parse(r!.body) as Record<string, unknown>;

void describe('HealthRoutes', () => {
  void test('/health: 200 healthy with the reference body shape; 503 once the pool is closed', async (t) => {
    const { pool } = fakePool(t);
    const routes = new HealthRoutes(pool);
    await pool.ready();
    const ok = await routes.handle('GET', '/health');
    assert.equal(ok!.status, 200);
    assert.equal(ok!.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(ok!.headers['cache-control'], 'no-store');
    const b = body(ok);
    assert.equal(b.status, 'healthy');
    assert.equal(b.pool, 'web');
    const redis = (b.checks as Record<string, Record<string, unknown>>).redis!;
    assert.equal(redis.status, 'healthy');
    assert.equal(typeof redis.latencyMs, 'number');
    await pool.close();
    const down = await routes.handle('GET', '/health');
    assert.equal(down!.status, 503);
    assert.equal(body(down).status, 'unavailable');
  });

  void test('/health/live is 200 even when the pool is closed; /health/ready follows the pool', async (t) => {
    const { pool } = fakePool(t);
    const routes = new HealthRoutes(pool);
    const ready = await routes.handle('GET', '/health/ready');
    assert.equal(ready!.status, 200, 'the first probe warms the pool up');
    assert.deepEqual(body(ready), { status: 'ready', health: 'healthy', state: 'open' });
    await pool.close();
    assert.equal((await routes.handle('GET', '/health/live'))!.status, 200);
    assert.equal(body(await routes.handle('GET', '/health/live')).status, 'alive');
    const notReady = await routes.handle('GET', '/health/ready');
    assert.equal(notReady!.status, 503);
    assert.equal(body(notReady).status, 'not_ready');
  });

  void test('/health/redis: stats, advice, summary, server limits; no user name or password', async (t) => {
    const { pool, driver } = fakePool(t, { url: 'redis://alice:canary-pw-9f8e@127.0.0.1:6390/2' });
    const base = driver.handler;
    driver.handler = (name, args, conn) => {
      if (name === 'info') return '# Clients\r\nconnected_clients:9\r\nmaxclients:10\r\n';
      if (name === 'config') return ['timeout', '0'];
      return base(name, args, conn);
    };
    const routes = new HealthRoutes(pool, { workers: 4 });
    await pool.ready();
    const r = await routes.handle('GET', '/health/redis');
    assert.equal(r!.status, 200);
    assert.doesNotMatch(r!.body, /alice|canary-pw/);
    const b = JSON.parse(r!.body) as RedisHealthBody;
    assert.equal(b.endpoint, 'redis://***@127.0.0.1:6390/2');
    assert.equal(b.stats.name, 'web');
    assert.deepEqual(b.server, { maxclients: 10, connectedClients: 9, timeout: 0 });
    // 4 workers × max 4 = 16 > maxclients 10; 9/10 connected > 80 %.
    assert.deepEqual(
      b.advice.map((a) => a.code),
      ['MAX_ABOVE_MAXCLIENTS', 'SERVER_CLIENTS_HIGH'],
    );
    assert.equal(b.summary, '1 critical, 1 warning: MAX_ABOVE_MAXCLIENTS');
  });

  void test('/health/redis without server info, and with server info failing', async (t) => {
    const { pool } = fakePool(t);
    await pool.ready();
    const off = JSON.parse((await new HealthRoutes(pool, { serverInfo: false }).handle('GET', '/health/redis'))!.body) as RedisHealthBody;
    assert.equal(off.server, null);
    assert.equal(off.summary, 'Pool operating optimally');
    // The fake driver answers INFO/CONFIG with an error reply: the route still answers.
    const failing = JSON.parse((await new HealthRoutes(pool).handle('GET', '/health/redis'))!.body) as RedisHealthBody;
    assert.equal(failing.server, null);
  });

  void test('/metrics: 404 without a registry, the registry text with one', async (t) => {
    const { pool } = fakePool(t);
    assert.equal((await new HealthRoutes(pool).handle('GET', '/metrics'))!.status, 404);
    const registry = { contentType: 'text/plain; version=0.0.4; charset=utf-8', metrics: async () => 'x_total 1\n' };
    const r = await new HealthRoutes(pool, { registry }).handle('GET', '/metrics?x=1');
    assert.equal(r!.status, 200);
    assert.equal(r!.headers['content-type'], registry.contentType);
    assert.equal(r!.body, 'x_total 1\n');
    assert.equal(await new HealthRoutes(pool, { registry, metricsPath: false }).handle('GET', '/metrics'), undefined);
    const failing = {
      contentType: 'text/plain',
      metrics: async (): Promise<string> => {
        throw new Error('collect failed: secret');
      },
    };
    const e = await new HealthRoutes(pool, { registry: failing }).handle('GET', '/metrics');
    assert.equal(e!.status, 500);
    assert.doesNotMatch(e!.body, /secret/);
  });

  void test('path matching: prefix, trailing slash, query; other paths and methods', async (t) => {
    const { pool } = fakePool(t);
    const routes = new HealthRoutes(pool, { prefix: '/_status/', metricsPath: '/internal/metrics' });
    assert.deepEqual(routes.paths, {
      health: '/_status',
      live: '/_status/live',
      ready: '/_status/ready',
      redis: '/_status/redis',
      metrics: '/internal/metrics',
    });
    assert.equal(routes.match('/_status/live/?probe=1'), 'live');
    assert.equal(routes.match('/_status#x'), 'health');
    assert.equal(routes.match('/health'), undefined);
    assert.equal(routes.match('/_status/livex'), undefined);
    assert.equal(await routes.handle('GET', '/other'), undefined);
    const post = await routes.handle('POST', '/_status/live');
    assert.equal(post!.status, 405);
    assert.equal(post!.headers.allow, 'GET, HEAD');
    assert.equal((await routes.handle('HEAD', '/_status/live'))!.status, 200);
    assert.equal(new HealthRoutes(pool, { prefix: '' }).paths.health, '/');
  });
});

void describe('createHealthHandler over node:http', () => {
  async function serve(t: TestContext, handler: http.RequestListener): Promise<string> {
    const server = http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  void test('serves its routes, passes other paths to next(), 404 without next', async (t) => {
    const { pool } = fakePool(t);
    await pool.ready();
    const health = createHealthHandler(pool);
    const withNext = await serve(t, (req, res) => health(req, res, () => res.writeHead(418).end('app')));
    const alone = await serve(t, health);
    const r = await fetch(`${withNext}/health`);
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { status: string }).status, 'healthy');
    const other = await fetch(`${withNext}/users`);
    assert.equal(other.status, 418);
    assert.equal(await other.text(), 'app');
    assert.equal((await fetch(`${alone}/users`)).status, 404);
    const head = await fetch(`${alone}/health/live`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    assert.ok(Number(head.headers.get('content-length')) > 0);
    assert.equal(health.routes.paths.live, '/health/live');
  });
});
