/**
 * C3: the server's idle `timeout` closes idle connections (`CONFIG SET timeout 1`). Expected:
 * closed connections are noticed and replaced with zero caller-visible errors; with
 * `healthCheckIntervalMs` below the server timeout, idle connections are PINGed and never
 * closed by the server at all.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectOk, sleep } from './lib/guard.js';
import { assertQuiet, describe, fileChecks, scope, serverConnections } from './lib/scope.js';
import { waitFor } from '../helpers/redis.js';

fileChecks();

void test('server timeout 1 s closes idle connections: replaced, no caller error', async (t) => {
  const s = scope(t);
  const server = await s.redis({ args: ['--timeout', '1'] });
  const fp = s.pool('idle-closed', { url: server.url, min: 2, max: 4, lanes: 1, healthCheckIntervalMs: 0 }, server);
  const { pool } = fp;
  await expectOk(pool.ready(), 2_000, 'ready');
  await waitFor(() => pool.stats().total === 2, { message: describe(pool) });
  // Redis checks idle clients in its cron: closed between 1 and ~2.5 s of idleness.
  await waitFor(() => pool.stats().destroyedBy.error >= 2, {
    timeoutMs: 4_000,
    intervalMs: 50,
    message: `server never closed idle connections: ${describe(pool)}`,
  });
  for (let i = 0; i < 10; i++) await expectOk(pool.set(`idle:${i}`, String(i)), 1_000, `SET ${i}`);
  await expectOk(
    pool.withConnection((c) => c.ping()),
    1_500,
    'lease after idle close',
  );
  assert.equal(pool.stats().errorsBy.timeout, 0);
  await assertQuiet(pool);
});

void test('health checks below the server timeout keep idle connections alive', async (t) => {
  const s = scope(t);
  const server = await s.redis({ args: ['--timeout', '1'] });
  const fp = s.pool('idle-pinged', { url: server.url, min: 2, max: 4, lanes: 1, healthCheckIntervalMs: 300 }, server);
  const { pool } = fp;
  await expectOk(pool.ready(), 2_000, 'ready');
  await waitFor(() => pool.stats().total === 2, { message: describe(pool) });
  await sleep(2_500);
  const st = pool.stats();
  assert.equal(st.destroyedBy.error, 0, `server closed pinged connections: ${describe(pool)}`);
  assert.equal(await serverConnections(server, fp.name), 2);
  await expectOk(pool.get('idle:x'), 1_000);
  await assertQuiet(pool);
});

void test('server awareness: warns when the pool idles connections longer than the server timeout', async (t) => {
  const s = scope(t);
  const server = await s.redis({ args: ['--timeout', '1'] });
  const fp = s.pool('idle-warn', { url: server.url, idleTimeoutMs: 30_000, healthCheckIntervalMs: 0 }, server);
  const warnings: string[] = [];
  fp.pool.on('warning', (w) => warnings.push(w.message));
  await expectOk(fp.pool.ready(), 2_000, 'ready');
  await sleep(50);
  assert.ok(
    warnings.some((w) => /timeout/i.test(w)),
    `no warning about the server timeout: ${JSON.stringify(warnings)}`,
  );
});
