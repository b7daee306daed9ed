/**
 * D1: the server's `maxclients` is reached. Redis answers a new connection with
 * `-ERR max number of clients reached` and closes it. Expected: the new connection fails with a
 * typed ERR_CONNECTION (not-sent) naming the cause, existing connections keep serving, new
 * connections are retried with backoff (no tight loop), waiting callers time out at their
 * deadline, and the pool recovers by itself once capacity is back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Lease } from '../../src/pool/lease.js';
import type { RedisProcess } from '../support/redis-process.js';
import { assertTyped, eventually, expectOk, settle, sleep } from './lib/guard.js';
import { assertQuiet, describe, fileChecks, scope } from './lib/scope.js';
import { waitFor } from '../helpers/redis.js';

fileChecks();

/** Raises maxclients again; the harness's own connection needs the slot the test just freed. */
async function raiseMaxclients(server: RedisProcess): Promise<void> {
  await eventually(() => server.command('CONFIG', 'SET', 'maxclients', '100'), {
    timeoutMs: 3_000,
    attemptMs: 1_000,
    what: 'CONFIG SET maxclients 100',
  });
}

void test('maxclients reached: typed connect error, lanes keep serving, bounded dialling, recovery', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const fp = s.pool('maxclients', { url: server.url, min: 1, max: 6, lanes: 1, acquireTimeoutMs: 800, failureThreshold: 100 }, server);
  const { pool } = fp;
  const dialFailures: string[] = [];
  pool.on('connection:error', (e) => dialFailures.push(e.error.message));
  await expectOk(pool.ready(), 2_000, 'ready');
  const leases: Lease[] = [await expectOk(pool.acquire(), 1_000, 'acquire 1')];
  // lane + 1 lease + the harness's own CONFIG SET connection = 3 clients
  await server.command('CONFIG', 'SET', 'maxclients', '3');
  leases.push(await expectOk(pool.acquire(), 1_000, 'acquire 2 (last slot)'));
  const r = await settle(pool.acquire({ timeoutMs: 800 }), 800 + 300, 'acquire beyond maxclients');
  assert.ok(!r.ok, 'acquire must fail while the server refuses connections');
  const e = assertTyped(r.error, { code: 'ERR_ACQUIRE_TIMEOUT', outcome: 'not-sent' });
  const cause = e.cause as Error & { code?: string };
  // Redis sends "-ERR max number of clients reached" and closes at once; the reply usually
  // loses the race with our handshake write (EPIPE/ECONNRESET), so the message says both.
  assertTyped(cause, { code: 'ERR_CONNECTION', outcome: 'not-sent', message: /max number of clients reached|maxclients reached/ });
  t.diagnostic(`dial attempts during an 800 ms wait: ${dialFailures.length}; ${describe(pool)}`);
  assert.ok(dialFailures.length >= 1 && dialFailures.length <= 12, `dial attempts not bounded by backoff: ${dialFailures.length}`);
  // Existing connections are unaffected.
  for (let i = 0; i < 5; i++) await expectOk(pool.incr('maxc:ctr'), 500, `INCR ${i} on the lane`);
  await expectOk(leases[0]!.ping(), 500, 'existing lease');

  // Free one slot for the harness connection, then raise the limit.
  leases.pop()!.destroy();
  await raiseMaxclients(server);
  const rec = await eventually(() => pool.acquire({ timeoutMs: 800 }), {
    timeoutMs: 5_000,
    attemptMs: 1_200,
    what: 'acquire after raising maxclients',
  });
  leases.push(rec.value);
  t.diagnostic(`acquire recovered ${Math.round(rec.elapsedMs)} ms after maxclients was raised`);
  for (const l of leases) l.release();
  await waitFor(() => pool.stats().health !== 'unavailable', { timeoutMs: 3_000, message: describe(pool) });
  await assertQuiet(pool);
});

void test('maxclients reached long enough to turn the pool unavailable: leases recover once capacity is back', {}, async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const fp = s.pool('maxclients-ff', { url: server.url, min: 1, max: 6, lanes: 1, acquireTimeoutMs: 800, failureThreshold: 3 }, server);
  const { pool } = fp;
  await expectOk(pool.ready(), 2_000, 'ready');
  const held = await expectOk(pool.acquire(), 1_000, 'acquire 1');
  await server.command('CONFIG', 'SET', 'maxclients', '2');
  const first = await settle(pool.acquire({ timeoutMs: 800 }), 1_100, 'acquire beyond maxclients');
  assert.ok(!first.ok);
  const e = assertTyped(first.error, { code: ['ERR_ACQUIRE_TIMEOUT', 'ERR_UNAVAILABLE'] });
  t.diagnostic(`beyond maxclients: ${e.code} after ${Math.round(first.elapsedMs)} ms; ${describe(pool)}`);
  await expectOk(pool.get('maxc:x'), 500, 'the lane still serves');
  await sleep(1_000); // no caller waiting any more; any probe scheduled while one was has run
  held.destroy();
  await raiseMaxclients(server);
  const rec = await eventually(
    async () => {
      const l = await pool.acquire({ timeoutMs: 800 });
      l.release();
    },
    { timeoutMs: 3_000, attemptMs: 1_200, what: 'acquire after raising maxclients' },
  );
  t.diagnostic(`acquire recovered after ${Math.round(rec.elapsedMs)} ms; ${describe(pool)}`);
  await assertQuiet(pool);
});
