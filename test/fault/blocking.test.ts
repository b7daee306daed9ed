/**
 * B6: blocking commands near the deadline. Expected: the deadline of a blocking command is its
 * own block time plus `commandTimeoutMs`, so BLPOP with a 1 s block under a 200 ms command
 * deadline returns null after ~1 s (no spurious timeout); blocking commands run on exclusive
 * leases, so a blocked BLPOP never delays shared-lane traffic; on a frozen server the blocking
 * command still settles at block + deadline with ERR_COMMAND_TIMEOUT 'unknown'.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectOk, expectTyped, settle } from './lib/guard.js';
import { assertQuiet, fileChecks, scope } from './lib/scope.js';

fileChecks();

void test('BLPOP with a block time longer than commandTimeoutMs: null at the block time, lanes unaffected', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const { pool } = s.pool('blocking', { url: server.url, commandTimeoutMs: 200, lanes: 1, max: 3 }, server);
  await expectOk(pool.ready(), 2_000, 'ready');
  const t0 = performance.now();
  const blpop = settle(pool.blpop('blk:empty', 1), 1_000 + 200 + 250, 'BLPOP 1');
  // Shared traffic is not behind the BLPOP.
  for (let i = 0; i < 10; i++) await expectOk(pool.incr('blk:ctr'), 200, `INCR ${i} while BLPOP blocks`);
  const r = await blpop;
  assert.ok(r.ok, `BLPOP failed: ${String((r as { error?: unknown }).error)}`);
  assert.equal(r.value, null);
  const took = performance.now() - t0;
  assert.ok(took >= 950 && took < 1_000 + 200 + 250, `BLPOP took ${Math.round(took)} ms`);
  assert.equal(pool.stats().commandTimeouts, 0);
  await assertQuiet(pool);
});

void test('BLPOP on a frozen server: settles at block time + deadline (unknown), the lease connection is discarded', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const { pool } = s.pool('blocking-frozen', { url: server.url, commandTimeoutMs: 200, lanes: 1, max: 3 }, server);
  await expectOk(pool.ready(), 2_000, 'ready');
  await expectOk(
    pool.withConnection((c) => c.ping()),
    1_000,
    'warm a lease connection',
  );
  server.pause();
  const r = await expectTyped(
    pool.blpop('blk:frozen', 0.5),
    { code: 'ERR_COMMAND_TIMEOUT', outcome: 'unknown' },
    500 + 200 + 250,
    'BLPOP on a frozen server',
  );
  assert.ok(r.elapsedMs >= 650, `timed out early: ${Math.round(r.elapsedMs)} ms`);
  server.resume();
  assert.equal(await expectOk(pool.blpop('blk:frozen', 0.1), 1_500, 'BLPOP after SIGCONT'), null);
  assert.ok(pool.stats().destroyedBy.timeout >= 1);
  await assertQuiet(pool);
});
