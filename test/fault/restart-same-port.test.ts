/**
 * A2/A3/A4: the server dies (SHUTDOWN NOSAVE or SIGKILL) with the pool idle or with commands in
 * flight, then a new server starts on the same port. Expected: written commands reject with
 * ERR_CONNECTION outcome 'unknown' (never retried unless read-only/idempotent); while the
 * server is down callers get typed errors within their deadline (and fail fast once the pool is
 * unavailable); after the restart the pool reconnects by itself, with its db and client name.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertTyped, eventually, expectOk, expectTyped, settle, sleep } from './lib/guard.js';
import { assertQuiet, describe, fileChecks, scope, serverConnections } from './lib/scope.js';

fileChecks();

const SLACK = 250;

void test('SHUTDOWN NOSAVE while idle, then restart on the same port: typed errors while down, recovery without a pool restart', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const fp = s.pool('restart', { url: server.url, commandTimeoutMs: 400, failureThreshold: 3, db: 2 }, server);
  const { pool } = fp;
  const health: string[] = [];
  pool.on('health', (h) => health.push(`${h.from}->${h.to}`));
  await expectOk(pool.ready(), 2_000, 'ready');
  await expectOk(pool.set('restart:a', '1'), 1_000);

  await settle(
    server.command('SHUTDOWN', 'NOSAVE').catch(() => 'closed'),
    3_000,
    'SHUTDOWN',
  );
  await server.kill(); // reap the exited process (no-op if already gone)
  // Down: every call settles, typed, within its deadline; soon the pool fails fast.
  const errors = new Set<string>();
  for (let i = 0; i < 8; i++) {
    const r = await expectTyped(
      pool.get('restart:a'),
      { code: ['ERR_CONNECTION', 'ERR_COMMAND_TIMEOUT', 'ERR_UNAVAILABLE', 'ERR_ACQUIRE_TIMEOUT'], outcome: ['not-sent', 'unknown'] },
      400 + SLACK,
      `GET ${i} while down`,
    );
    errors.add(r.error.code);
  }
  t.diagnostic(`errors while down: ${[...errors].join(', ')}; health moves: ${health.join(', ')}`);
  assert.ok(errors.has('ERR_UNAVAILABLE'), 'after repeated connect failures the pool fails fast');
  const fast = await expectTyped(
    pool.get('restart:a'),
    { code: 'ERR_UNAVAILABLE', outcome: 'not-sent', name: 'UnavailableError' },
    100,
    'fail fast',
  );
  assert.ok(fast.elapsedMs < 50, `fail-fast took ${fast.elapsedMs} ms`);
  assert.match(fast.error.message, /is unavailable \(\d+ consecutive connect failures\); failing fast/);
  assert.equal(pool.stats().health, 'unavailable');
  const report = await pool.health({ timeoutMs: 100 });
  assert.equal(report.status, 'unavailable');
  assert.ok(report.lastError && /ERR_CONNECTION/.test(report.lastError.code), JSON.stringify(report.lastError));

  const down = performance.now();
  await server.restart();
  const back = performance.now();
  const rec = await eventually(() => pool.set('restart:b', '2'), { timeoutMs: 5_000, attemptMs: 1_000, what: 'SET after restart' });
  t.diagnostic(`restart took ${Math.round(back - down)} ms; first success ${Math.round(rec.elapsedMs)} ms after the port was back`);
  assert.equal(pool.stats().health, 'healthy');
  assert.deepEqual(health.slice(-1), ['unavailable->healthy']);
  // Connection-scoped state restored on the new connections: db 2 and our client name.
  const info = String(await pool.call('CLIENT', 'INFO'));
  assert.match(info, / db=2 /);
  assert.match(info, new RegExp(` name=redpool:${fp.name}:\\d+ `));
  assert.equal(await server.command('SELECT', '2').then(() => 'ok'), 'ok');
  assert.ok((await serverConnections(server, fp.name)) >= 1);
  await assertQuiet(pool);
});

void test('SIGKILL with commands in flight: written commands reject unknown, only read-only ones are retried', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const { pool } = s.pool('kill-inflight', { url: server.url, commandTimeoutMs: 2_000, lanes: 1, max: 2 }, server);
  await expectOk(pool.ready(), 2_000, 'ready');
  await expectOk(pool.set('kill:ctr', '0'), 1_000);
  server.pause(); // hold the replies so the commands are on the wire when the process dies
  const incr = settle(pool.incr('kill:ctr'), 2_000 + SLACK, 'INCR');
  const get = settle(pool.get('kill:ctr'), 2_000 + SLACK, 'GET');
  const idem = settle(pool.with({ idempotent: true }).set('kill:idem', 'x'), 2_000 + SLACK, 'idempotent SET');
  const pipe = settle(pool.pipeline().incr('kill:ctr').incr('kill:ctr').exec(), 2_000 + SLACK, 'pipeline');
  await sleep(50);
  const killedAt = performance.now();
  await server.kill();
  const ri = await incr;
  assert.ok(!ri.ok);
  assertTyped(ri.error, { code: 'ERR_CONNECTION', outcome: 'unknown', name: 'ConnectionError' });
  assert.ok(performance.now() - killedAt < 1_000, 'the loss is reported on close, not at the deadline');
  // A pipeline settles as a whole: either it rejects, or (ioredis semantics) it resolves with a
  // typed per-command error for every entry. Never a partial success made up of stale replies.
  const rp = await pipe;
  if (rp.ok) {
    const entries = rp.value ?? [];
    assert.equal(entries.length, 2);
    for (const [err, value] of entries) {
      assert.ok(value === null || value === undefined);
      assertTyped(err, { code: 'ERR_CONNECTION', outcome: 'unknown' });
    }
  } else assertTyped(rp.error, { code: 'ERR_CONNECTION', outcome: 'unknown' });
  // GET and the idempotent SET may be retried, but with the server gone they fail typed too.
  for (const r of [await get, await idem]) {
    assert.ok(!r.ok);
    assertTyped(r.error, { code: ['ERR_CONNECTION', 'ERR_UNAVAILABLE', 'ERR_COMMAND_TIMEOUT', 'ERR_ACQUIRE_TIMEOUT'] });
  }
  const st = pool.stats();
  t.diagnostic(`retries=${st.retries} ${describe(pool)}`);
  assert.ok(st.retries >= 1, 'the read-only GET and the idempotent SET were retried');

  await server.restart();
  await eventually(() => pool.ping(), { timeoutMs: 5_000, attemptMs: 2_500, what: 'PING after restart' });
  await assertQuiet(pool);
});

void test('server absent at startup: ready() rejects typed (fail) or resolves unavailable (degrade); recovery when it appears', async (t) => {
  const s = scope(t);
  const probe = await s.redis();
  const port = probe.port;
  await probe.stop(); // a port that was just free; nothing listens now
  const failing = s.pool('absent-fail', { host: '127.0.0.1', port, failureThreshold: 2 }).pool;
  const r = await expectTyped(
    failing.ready(),
    { code: 'ERR_CONNECTION', outcome: 'not-sent', name: 'ConnectionError' },
    2_000,
    'ready (fail)',
  );
  assert.match(r.error.message, /ECONNREFUSED/);
  assert.equal((r.error.cause as { code?: string } | undefined)?.code, 'ECONNREFUSED');

  const fp = s.pool('absent-degrade', { host: '127.0.0.1', port, failureThreshold: 2, onUnavailable: 'degrade' });
  const status = await expectOk(fp.pool.ready(), 2_000, 'ready (degrade)');
  assert.equal(status, 'unavailable');
  await expectTyped(fp.pool.get('x'), { code: 'ERR_UNAVAILABLE', outcome: 'not-sent' }, 100, 'fail fast');
  await expectTyped(fp.pool.acquire(), { code: 'ERR_UNAVAILABLE' }, 100, 'acquire fails fast');

  const server = await s.redis({ port });
  fp.server = server;
  const rec = await eventually(() => fp.pool.ping(), { timeoutMs: 6_000, attemptMs: 1_000, what: 'PING once the server exists' });
  t.diagnostic(`first success ${Math.round(rec.elapsedMs)} ms after the server came up`);
  assert.equal(await expectOk(fp.pool.ready(), 2_000), 'healthy');
  await assertQuiet(fp.pool);
});
