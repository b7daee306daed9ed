/**
 * One deadline from the call, for every path: a blocking command that first waits for a lease
 * spends that wait out of its deadline (commandTimeoutMs + block time, counted from the call),
 * not a fresh one started when the lease is granted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectOk, expectTyped, sleep } from './lib/guard.js';
import { fileChecks, scope } from './lib/scope.js';

fileChecks();

void test('BLPOP after a 900 ms wait for the only lease, server frozen after the send: settles ~1500 ms after the call', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  // max 2, lanes 1: exactly one lease connection.
  const { pool } = s.pool(
    'blk-deadline',
    { url: server.url, commandTimeoutMs: 1_000, acquireTimeoutMs: 2_000, lanes: 1, max: 2, min: 0 },
    server,
  );
  await expectOk(pool.ready(), 2_000, 'ready');
  const lease = await expectOk(pool.acquire(), 1_000, 'acquire the only lease');
  const t0 = performance.now();
  const blpop = expectTyped(
    pool.blpop('blk:deadline', 0.5),
    { code: 'ERR_COMMAND_TIMEOUT', outcome: 'unknown' },
    1_500 + 900 + 500,
    'BLPOP',
  );
  await sleep(900);
  lease.release();
  // The lease is back and BLPOP is written at once; freeze the server right after the send.
  await sleep(30);
  server.pause();
  const r = await blpop;
  const tookMs = performance.now() - t0;
  server.resume();
  assert.ok(tookMs >= 1_400, `settled early: ${Math.round(tookMs)} ms`);
  assert.ok(tookMs < 1_800, `deadline restarted after the lease wait: settled ${Math.round(tookMs)} ms after the call (expected ~1500)`);
  assert.ok(r.error.message.includes('1500ms'), r.error.message);
});
