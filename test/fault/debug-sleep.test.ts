/**
 * B2/B3/B4/A6: a slow server. `DEBUG SLEEP` within and past the deadline, `CLIENT PAUSE WRITE`
 * (writes are held, then run late), and a Lua script stuck in a loop (`-BUSY`). Expected: a slow
 * reply within the deadline succeeds; past it the caller gets ERR_COMMAND_TIMEOUT 'unknown' at
 * the deadline although the server may still run the command later (timed out != not
 * executed), at most once; the overdue lane is probed and replaced; the pool recovers by itself.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { respCommand } from '../support/resp-mini.js';
import { assertTyped, eventually, expectOk, expectTyped, settle, sleep } from './lib/guard.js';
import { assertQuiet, describe, fileChecks, scope } from './lib/scope.js';
import { waitFor } from '../helpers/redis.js';

fileChecks();

const SLACK = 250;

void test('DEBUG SLEEP shorter than the deadline: the command succeeds, no spurious timeout', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const { pool } = s.pool('sleep-ok', { url: server.url, commandTimeoutMs: 600 }, server);
  await expectOk(pool.ready(), 2_000, 'ready');
  const sleeping = server.command('DEBUG', 'SLEEP', '0.2');
  await sleep(20);
  const t0 = performance.now();
  assert.equal(await expectOk(pool.set('sleep:ok', 'v'), 600 + SLACK, 'SET during a short sleep'), 'OK');
  assert.ok(performance.now() - t0 >= 100, 'the reply really waited for the sleep');
  await sleeping;
  assert.equal(pool.stats().commandTimeouts, 0);
  await assertQuiet(pool);
});

void test('DEBUG SLEEP past the deadline: timeout (unknown) at the deadline, the write still runs once, lane replaced', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const { pool } = s.pool('sleep-late', { url: server.url, commandTimeoutMs: 300, connectTimeoutMs: 300 }, server);
  await expectOk(pool.ready(), 2_000, 'ready');
  const sleeping = respCommand(server.target(), ['DEBUG', 'SLEEP', '1'], { timeoutMs: 3_000 });
  await sleep(20);
  const r = await expectTyped(
    pool.set('sleep:late', 'written'),
    { code: 'ERR_COMMAND_TIMEOUT', outcome: 'unknown' },
    300 + SLACK,
    'SET during a long sleep',
  );
  t.diagnostic(`timed out after ${Math.round(r.elapsedMs)} ms (deadline 300)`);
  assert.ok(r.elapsedMs >= 280, 'not before the deadline');
  await sleeping;
  // Timed out is not "not executed": the server ran the SET when it woke up.
  await waitFor(async () => (await server.command('GET', 'sleep:late')) === 'written', {
    timeoutMs: 1_000,
    message: 'the timed-out SET ran late',
  });
  await eventually(() => pool.get('sleep:late'), { timeoutMs: 2_000, attemptMs: 300 + SLACK, what: 'GET after the sleep' });
  assert.ok(
    pool.stats().destroyedBy.timeout + pool.stats().destroyedBy.error >= 1 || pool.stats().created >= 2,
    `overdue lane was not replaced: ${describe(pool)}`,
  );
  await assertQuiet(pool);
});

void test('CLIENT PAUSE WRITE: a write times out (unknown) and runs at most once; reads keep working', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const { pool } = s.pool('pause-write', { url: server.url, commandTimeoutMs: 300, lanes: 1, max: 3 }, server);
  await expectOk(pool.ready(), 2_000, 'ready');
  await expectOk(pool.set('pause:ctr', '0'), 500);
  await server.command('CLIENT', 'PAUSE', '800', 'WRITE');
  const r = await expectTyped(
    pool.incr('pause:ctr'),
    { code: 'ERR_COMMAND_TIMEOUT', outcome: 'unknown' },
    300 + SLACK,
    'INCR during CLIENT PAUSE WRITE',
  );
  assert.ok(r.elapsedMs < 300 + SLACK);
  // Reads are not paused; the blocked lane was taken out of rotation, so a fresh one serves them.
  assert.equal(
    await expectOk(
      eventually(() => pool.get('pause:ctr'), { timeoutMs: 1_000, attemptMs: 300 + SLACK }).then((x) => x.value),
      1_500,
      'GET while paused',
    ),
    '0',
  );
  await sleep(700); // the pause ends
  const ctr = Number(await server.command('GET', 'pause:ctr'));
  assert.ok(ctr === 0 || ctr === 1, `INCR ran ${ctr} times`);
  assert.equal(await expectOk(pool.incr('pause:ctr'), 500), ctr + 1);
  assert.equal(pool.stats().retries, 0, 'the written INCR was not retried');
  await assertQuiet(pool);
});

void test('busy Lua script (-BUSY): typed failure within the deadline, recovery after SCRIPT KILL', async (t) => {
  const s = scope(t);
  const server = await s.redis({ args: ['--busy-reply-threshold', '50'] });
  const { pool } = s.pool('busy', { url: server.url, commandTimeoutMs: 400 }, server);
  await expectOk(pool.ready(), 2_000, 'ready');
  const script = respCommand(server.target(), ['EVAL', 'while true do end', '0'], { timeoutMs: 5_000 }).catch((e: unknown) => e);
  await sleep(100);
  const r = await settle(pool.get('busy:x'), 400 + SLACK, 'GET during a busy script');
  assert.ok(!r.ok, 'GET must fail while a script is busy');
  const e = assertTyped(r.error, { code: ['ERR_REPLY', 'ERR_COMMAND_TIMEOUT'] });
  if (e.code === 'ERR_REPLY') assert.equal(e.prefix, 'BUSY');
  t.diagnostic(`during BUSY: ${e.code} after ${Math.round(r.elapsedMs)} ms, retries=${pool.stats().retries}`);
  assert.equal(await server.command('SCRIPT', 'KILL'), 'OK');
  const killed = await script;
  assert.match(String(killed), /killed by user|UNKILLABLE|ERR/i);
  await eventually(() => pool.get('busy:x'), { timeoutMs: 2_000, attemptMs: 400 + SLACK, what: 'GET after SCRIPT KILL' });
  await assertQuiet(pool);
});
