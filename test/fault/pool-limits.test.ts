/**
 * I15/I21/I22: bounded queues and shutdown under faults. Expected: while Redis hangs, at most
 * `maxWaiting` callers queue (the rest get ERR_POOL_EXHAUSTED at once) and the queued ones time
 * out at their deadline; `close()` while connections are still being opened (blackhole) settles
 * within its own timeout and leaves nothing behind; calls after close fail with ERR_POOL_CLOSED.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertTyped, expectTyped, settle } from './lib/guard.js';
import { fileChecks, scope } from './lib/scope.js';
import { waitFor } from '../helpers/redis.js';

fileChecks();

void test('bounded waiter queue while Redis hangs: maxWaiting queue, the rest rejected at once', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const proxy = await s.proxy(server);
  await proxy.blackhole();
  const { pool } = s.pool(
    'maxwaiting',
    { url: proxy.url, maxWaiting: 5, commandTimeoutMs: 400, connectTimeoutMs: 1_000, acquireTimeoutMs: 1_000, failureThreshold: 100 },
    server,
  );
  const ops = Array.from({ length: 20 }, (_, i) => settle(pool.get(`mw:${i}`), 400 + 250, `GET ${i}`));
  const results = await Promise.all(ops);
  const codes = results.map((r) =>
    r.ok
      ? 'ok'
      : assertTyped(r.error, { code: ['ERR_POOL_EXHAUSTED', 'ERR_COMMAND_TIMEOUT', 'ERR_ACQUIRE_TIMEOUT'], outcome: 'not-sent' }).code,
  );
  const exhausted = codes.filter((c) => c === 'ERR_POOL_EXHAUSTED').length;
  t.diagnostic(`codes: ${JSON.stringify(codes.reduce<Record<string, number>>((a, c) => ({ ...a, [c]: (a[c] ?? 0) + 1 }), {}))}`);
  assert.equal(exhausted, 15);
  for (const r of results.filter((x) => !x.ok && (x.error as { code: string }).code === 'ERR_POOL_EXHAUSTED'))
    assert.ok(r.elapsedMs < 50, 'rejected at once');
  await proxy.pass();
});

void test('close() while connections are being opened (blackhole): settles, nothing left; later calls fail typed', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const proxy = await s.proxy(server);
  await proxy.blackhole();
  const { pool } = s.pool(
    'close-connecting',
    { url: proxy.url, min: 3, max: 4, connectTimeoutMs: 5_000, acquireTimeoutMs: 5_000, commandTimeoutMs: 5_000 },
    server,
  );
  const pending = settle(pool.get('cc:x'), 2_000, 'GET pending at close');
  const ready = settle(pool.ready(), 2_000, 'ready pending at close');
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(pool.stats().connecting >= 1);
  const closed = await settle(pool.close({ timeoutMs: 300 }), 300 + 500, 'close() with connects in flight');
  assert.ok(closed.ok);
  const g = await pending;
  assert.ok(!g.ok);
  assertTyped(g.error, { code: ['ERR_POOL_CLOSED', 'ERR_CONNECTION'], outcome: 'not-sent' });
  assert.ok(!(await ready).ok);
  assert.deepEqual(
    { total: pool.stats().total, connecting: pool.stats().connecting, state: pool.stats().state },
    { total: 0, connecting: 0, state: 'closed' },
  );
  await expectTyped(pool.get('cc:x'), { code: 'ERR_POOL_CLOSED', outcome: 'not-sent', name: 'PoolClosedError' }, 100, 'GET after close');
  await expectTyped(pool.acquire(), { code: 'ERR_POOL_CLOSED' }, 100, 'acquire after close');
  await waitFor(() => proxy.connections === 0, {
    timeoutMs: 1_000,
    message: `${proxy.connections} socket(s) left open at the proxy after close()`,
  });
});

void test(
  'a queued command whose deadline is shorter than acquireTimeoutMs fails as a command timeout, reporting the real wait',
  {},
  async (t) => {
    const s = scope(t);
    const server = await s.redis();
    const proxy = await s.proxy(server);
    await proxy.blackhole();
    const { pool } = s.pool(
      'deadline-vs-acquire',
      { url: proxy.url, commandTimeoutMs: 300, connectTimeoutMs: 1_000, acquireTimeoutMs: 1_000, failureThreshold: 100 },
      server,
    );
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => settle(pool.get(`dva:${i}`), 300 + 250, `GET ${i}`)));
    for (const r of results) {
      assert.ok(!r.ok);
      const e = assertTyped(r.error, { code: 'ERR_COMMAND_TIMEOUT', outcome: 'not-sent' });
      assert.match(e.message, /timed out after 300ms/);
    }
    await proxy.pass();
  },
);
