/**
 * C5: the connection breaks in the middle of a reply: reset (RST), close (FIN) or hang after N
 * bytes of server→client data. Expected: the partial reply is discarded, the affected commands
 * fail typed (ERR_CONNECTION / ERR_COMMAND_TIMEOUT, outcome 'unknown'), the connection is
 * destroyed, no stale bytes or late replies reach another caller (every successful reply echoes
 * the value written for its own unique key), and the pool recovers when traffic flows again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TruncateAction } from '../helpers/fault-proxy.js';
import { assertTyped, eventually, expectOk, settle, type Settled } from './lib/guard.js';
import { assertQuiet, describe, fileChecks, scope } from './lib/scope.js';
import { waitFor } from '../helpers/redis.js';

fileChecks();

const BIG = 'x'.repeat(64 * 1024);

async function midReply(t: import('node:test').TestContext, then: TruncateAction): Promise<void> {
  const s = scope(t);
  const server = await s.redis();
  const proxy = await s.proxy(server);
  const fp = s.pool(`cut-${then}`, { url: proxy.url, commandTimeoutMs: 400, connectTimeoutMs: 300, lanes: 2, max: 4, min: 1 }, server);
  const { pool } = fp;
  await expectOk(pool.ready(), 2_000, 'ready');
  await expectOk(pool.set('cut:big', BIG), 1_000);
  await expectOk(pool.set('cut:ctr', '0'), 500);
  await proxy.truncateReplyAfter(1_000, then);
  const big = settle(pool.get('cut:big'), 400 * 4 + 400, 'GET big');
  const incr = settle(pool.incr('cut:ctr'), 400 + 400, 'INCR');
  const echoes: Array<Promise<Settled<string | null>>> = [];
  for (let i = 0; i < 30; i++)
    echoes.push(
      settle(
        pool.set(`cut:e${i}`, `v${i}`).then(() => pool.get(`cut:e${i}`)),
        2 * 400 + 400,
        `echo ${i}`,
      ),
    );
  const rb = await big;
  if (rb.ok) assert.equal(rb.value, BIG, 'a truncated reply was delivered');
  else
    assertTyped(rb.error, {
      code: ['ERR_CONNECTION', 'ERR_COMMAND_TIMEOUT', 'ERR_UNAVAILABLE', 'ERR_ACQUIRE_TIMEOUT', 'ERR_CONNECT_TIMEOUT'],
    });
  const ri = await incr;
  if (!ri.ok) assertTyped(ri.error, { code: ['ERR_CONNECTION', 'ERR_COMMAND_TIMEOUT'], outcome: 'unknown' });
  let ok = 0;
  for (const [i, p] of echoes.entries()) {
    const r = await p;
    if (r.ok) {
      ok++;
      assert.equal(r.value, `v${i}`, `reply for key ${i} reached the wrong caller`);
    } else
      assertTyped(r.error, {
        code: ['ERR_CONNECTION', 'ERR_COMMAND_TIMEOUT', 'ERR_UNAVAILABLE', 'ERR_ACQUIRE_TIMEOUT', 'ERR_CONNECT_TIMEOUT'],
      });
  }
  t.diagnostic(`${then}: big ${rb.ok ? 'ok' : (rb.error as { code: string }).code}, echoes ok ${ok}/30; ${describe(pool)}`);
  // INCR ran at most once, and the caller was told when it was unsure.
  const ctr = Number(await server.command('GET', 'cut:ctr'));
  assert.ok(ctr === 0 || ctr === 1);
  if (ri.ok) assert.equal(ri.value, 1);
  await proxy.pass();
  const got = await eventually(() => pool.get('cut:big'), { timeoutMs: 4_000, attemptMs: 900, what: 'GET big after recovery' });
  assert.equal(got.value, BIG);
  // The broken connection is destroyed: at once on RST/FIN, after the probe PING times out on a hang.
  await waitFor(() => pool.stats().destroyed >= 1, { timeoutMs: 1_500, message: `broken connection kept: ${describe(pool)}` });
  await assertQuiet(pool);
}

void test('reset mid-reply (RST after 1000 bytes): typed failures, no misdelivered reply, recovery', (t) => midReply(t, 'reset'));
void test('close mid-reply (FIN after 1000 bytes): typed failures, no misdelivered reply, recovery', (t) => midReply(t, 'close'));
void test('hang mid-reply (nothing after 1000 bytes): deadline, probe, replace, recovery', (t) => midReply(t, 'hang'));

void test('reset of every connection (RST) while idle and while busy', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const proxy = await s.proxy(server);
  const fp = s.pool('rst-all', { url: proxy.url, commandTimeoutMs: 1_000, lanes: 1, max: 3, min: 2 }, server);
  const { pool } = fp;
  await expectOk(pool.ready(), 2_000, 'ready');
  proxy.resetAll();
  await eventually(() => pool.ping(), { timeoutMs: 2_000, attemptMs: 1_200, what: 'PING after idle RST' });
  await proxy.delay(200);
  const inflight = Array.from({ length: 5 }, (_, i) => settle(pool.incr(`rst:${i}`), 1_500, `INCR ${i}`));
  await new Promise((r) => setTimeout(r, 50));
  proxy.resetAll();
  for (const p of inflight) {
    const r = await p;
    assert.ok(!r.ok, 'an INCR whose connection was reset cannot have been answered');
    assertTyped(r.error, { code: 'ERR_CONNECTION', outcome: 'unknown' });
  }
  assert.equal(pool.stats().retries, 0, 'written INCRs are not retried');
  await proxy.pass();
  await eventually(() => pool.ping(), { timeoutMs: 2_000, attemptMs: 1_200, what: 'PING after busy RST' });
  await assertQuiet(pool);
});
