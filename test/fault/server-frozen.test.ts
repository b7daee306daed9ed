/**
 * B1 / C4-like: the server process is frozen with SIGSTOP for longer than the command deadline,
 * then thawed with SIGCONT. Sockets stay open (the kernel still ACKs), nothing is answered.
 * Expected: every command settles at its deadline with ERR_COMMAND_TIMEOUT whose outcome says
 * whether it was written; the overdue lane is probed and replaced; a non-idempotent write is not
 * retried; after SIGCONT the pool recovers by itself and no late reply reaches another caller.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertTyped, eventually, expectOk, expectTyped, settle, sleep } from './lib/guard.js';
import { assertQuiet, describe, fileChecks, scope } from './lib/scope.js';

fileChecks();

const DEADLINE = 300;
const SLACK = 250;

void test('SIGSTOP longer than the deadline: typed timeouts at the deadline, no retry of writes, recovery after SIGCONT', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const { pool } = s.pool('frozen', { url: server.url, commandTimeoutMs: DEADLINE, max: 3, lanes: 1 }, server);
  await expectOk(pool.ready(), 2_000, 'ready');
  await expectOk(pool.set('frozen:ctr', '0'), 1_000);

  server.pause();
  const started = performance.now();
  // Written before anyone knows the server is frozen: outcome unknown, never retried.
  const incr = settle(pool.incr('frozen:ctr'), DEADLINE + SLACK, 'INCR on frozen server');
  const sets = Array.from({ length: 5 }, (_, i) => settle(pool.set(`frozen:k${i}`, `v${i}`), DEADLINE + SLACK, `SET ${i}`));
  const r = await incr;
  assert.ok(!r.ok);
  const e = assertTyped(r.error, { code: 'ERR_COMMAND_TIMEOUT', outcome: 'unknown', name: 'CommandTimeoutError' });
  assert.match(e.message, /INCR timed out after 300ms \(outcome unknown/);
  for (const p of sets) {
    const x = await p;
    assert.ok(!x.ok, 'SET on a frozen server must fail');
    assertTyped(x.error, { code: 'ERR_COMMAND_TIMEOUT', outcome: 'unknown' });
  }
  assert.ok(performance.now() - started < DEADLINE + SLACK, 'all settled by the deadline + slack');
  assert.equal(pool.stats().retries, 0, 'a written non-idempotent command is never retried');

  // While frozen, new commands still settle at their deadline (connect hangs: not sent).
  const late = await expectTyped(
    pool.get('frozen:k0'),
    { code: ['ERR_COMMAND_TIMEOUT', 'ERR_ACQUIRE_TIMEOUT', 'ERR_UNAVAILABLE', 'ERR_CONNECT_TIMEOUT'] },
    DEADLINE + SLACK,
    'GET while frozen',
  );
  assert.ok(late.elapsedMs < DEADLINE + SLACK);
  const health = await expectOk(pool.health({ timeoutMs: 100 }), 1_000, 'health()');
  assert.notEqual(health.status, 'healthy', `health while frozen: ${health.message}`);
  assert.equal(health.latencyMs, null);

  await sleep(300); // frozen for well over the deadline in total
  server.resume();
  const thawed = performance.now();
  const rec = await eventually(() => pool.get('frozen:k0'), { timeoutMs: 3_000, attemptMs: DEADLINE + SLACK, what: 'GET after SIGCONT' });
  t.diagnostic(`recovered ${Math.round(performance.now() - thawed)} ms after SIGCONT; ${describe(pool)}`);

  // The server may have executed the buffered INCR when it woke up, but at most once.
  const ctr = Number(await server.command('GET', 'frozen:ctr'));
  assert.ok(ctr === 0 || ctr === 1, `INCR executed ${ctr} times`);
  // Replies land on the right callers: unique echo per key.
  const echoes = await Promise.all(
    Array.from({ length: 20 }, (_, i) => pool.set(`frozen:e${i}`, `e${i}`).then(() => pool.get(`frozen:e${i}`))),
  );
  echoes.forEach((v, i) => assert.equal(v, `e${i}`));
  assert.ok(rec.value === null || rec.value === 'v0');
  assert.ok(pool.stats().commandTimeouts >= 6);
  await assertQuiet(pool);
});

void test('SIGSTOP with a lease held: the lease command times out (unknown) and its connection is discarded', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const { pool } = s.pool('frozen-lease', { url: server.url, commandTimeoutMs: DEADLINE, max: 3, lanes: 1 }, server);
  await expectOk(pool.ready(), 2_000, 'ready');
  const lease = await expectOk(pool.acquire(), 1_000, 'acquire');
  await expectOk(lease.ping(), 500);
  server.pause();
  await expectTyped(lease.incr('frozen:lease'), { code: 'ERR_COMMAND_TIMEOUT', outcome: 'unknown' }, DEADLINE + SLACK, 'lease INCR');
  lease.release();
  server.resume();
  await eventually(() => pool.withConnection((c) => c.ping()), { timeoutMs: 3_000, attemptMs: 1_500, what: 'lease after SIGCONT' });
  assert.ok(pool.stats().destroyedBy.timeout >= 1, 'the timed-out lease connection was destroyed, not reused');
  await assertQuiet(pool);
});
