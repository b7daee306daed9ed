/**
 * C7/C4: a peer that accepts TCP and never answers (a proxy in blackhole mode), at connect time
 * and on an established connection (half-open). Expected: connects end at `connectTimeoutMs`
 * with a typed ERR_CONNECT_TIMEOUT (no hang, no slot pinned); a half-open lane is detected by
 * the command deadline (probe, then replace) or, when idle, by the health check PING — before a
 * caller trips over it; the pool recovers by itself when traffic flows again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertTyped, eventually, expectOk, expectTyped, settle, sleep } from './lib/guard.js';
import { assertQuiet, describe, fileChecks, scope } from './lib/scope.js';
import { waitFor } from '../helpers/redis.js';

fileChecks();

const SLACK = 250;

void test('blackholed connect: ConnectTimeoutError at connectTimeoutMs, ready() settles, no pinned slot, recovery', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const proxy = await s.proxy(server);
  await proxy.blackhole();
  const fp = s.pool('blackhole-connect', { url: proxy.url, connectTimeoutMs: 300, acquireTimeoutMs: 700, failureThreshold: 3 }, server);
  const { pool } = fp;
  const dialErrors: string[] = [];
  pool.on('connection:error', (e) => dialErrors.push((e.error as Error & { code: string }).code));
  const r = await expectTyped(
    pool.ready(),
    { code: 'ERR_CONNECT_TIMEOUT', outcome: 'not-sent', name: 'ConnectTimeoutError' },
    700 + 300 + SLACK,
    'ready() through a blackhole',
  );
  assert.match(r.error.message, /^connect to redis:\/\/127\.0\.0\.1:\d+ timed out after 300ms \(the server did not answer the handshake/);
  assert.ok(dialErrors.length >= 1 && dialErrors.every((c) => c === 'ERR_CONNECT_TIMEOUT'), dialErrors.join());
  // Nothing stays "connecting" beyond one connect timeout.
  await waitFor(() => pool.stats().connecting === 0 || pool.stats().health === 'unavailable', {
    timeoutMs: 1_000,
    message: describe(pool),
  });
  const cmd = await expectTyped(
    pool.get('bh:x'),
    { code: ['ERR_CONNECT_TIMEOUT', 'ERR_UNAVAILABLE', 'ERR_ACQUIRE_TIMEOUT', 'ERR_COMMAND_TIMEOUT'], outcome: 'not-sent' },
    400 + SLACK,
    'GET through a blackhole',
  );
  t.diagnostic(`GET while blackholed: ${cmd.error.code} after ${Math.round(cmd.elapsedMs)} ms; dial attempts ${dialErrors.length}`);
  await proxy.pass();
  const rec = await eventually(() => pool.set('bh:x', '1'), {
    timeoutMs: 6_000,
    attemptMs: 1_000,
    what: 'SET after the blackhole cleared',
  });
  t.diagnostic(`recovered ${Math.round(rec.elapsedMs)} ms after the blackhole cleared`);
  await assertQuiet(pool);
});

void test('half-open lane (blackhole on an established connection): timeout at the deadline, lane probed and replaced', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const proxy = await s.proxy(server);
  const fp = s.pool('halfopen', { url: proxy.url, commandTimeoutMs: 300, connectTimeoutMs: 300, lanes: 1, max: 3 }, server);
  const { pool } = fp;
  await expectOk(pool.ready(), 2_000, 'ready');
  await expectOk(pool.set('ho:ctr', '0'), 500);
  await proxy.blackhole();
  const writes = [settle(pool.incr('ho:ctr'), 300 + SLACK, 'INCR'), settle(pool.set('ho:k', 'v'), 300 + SLACK, 'SET')];
  for (const w of writes) {
    const r = await w;
    assert.ok(!r.ok);
    assertTyped(r.error, { code: 'ERR_COMMAND_TIMEOUT', outcome: 'unknown' });
    assert.ok(r.elapsedMs < 300 + SLACK);
  }
  await waitFor(() => pool.stats().destroyedBy.timeout >= 1, {
    timeoutMs: 1_500,
    message: `half-open lane not replaced: ${describe(pool)}`,
  });
  await proxy.pass();
  await eventually(() => pool.get('ho:ctr'), { timeoutMs: 4_000, attemptMs: 300 + SLACK, what: 'GET after the blackhole cleared' });
  // The blackholed INCR never reached the server.
  assert.equal(await server.command('GET', 'ho:ctr'), '0');
  assert.equal(pool.stats().retries, 0);
  await assertQuiet(pool);
});

void test('idle half-open lane: the health-check PING finds it before a caller does', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const proxy = await s.proxy(server);
  const fp = s.pool(
    'halfopen-idle',
    { url: proxy.url, healthCheckIntervalMs: 200, connectTimeoutMs: 300, lanes: 1, max: 2, min: 1 },
    server,
  );
  const { pool } = fp;
  await expectOk(pool.ready(), 2_000, 'ready');
  await proxy.blackhole();
  await waitFor(() => pool.stats().destroyedBy.validation >= 1, {
    timeoutMs: 2_500,
    message: `idle half-open lane not detected: ${describe(pool)}`,
  });
  await proxy.pass();
  await sleep(50);
  const r = await eventually(() => pool.get('hoi:x'), { timeoutMs: 3_000, attemptMs: 500, what: 'GET after recovery' });
  t.diagnostic(`first GET after the blackhole cleared took ${Math.round(r.elapsedMs)} ms; ${describe(pool)}`);
  await assertQuiet(pool);
});
