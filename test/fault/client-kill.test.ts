/**
 * C1/C2: the server kills pool connections (`CLIENT KILL`), idle or in the middle of work.
 * Expected: idle kills are noticed on the socket's close and replaced with no caller error;
 * kills during a pipeline or a blocking command reject every affected command with
 * ERR_CONNECTION outcome 'unknown' (a pipeline may instead resolve with a typed error per
 * entry); no reply ever reaches the wrong caller; the pool refills by itself.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertTyped, expectOk, settle, sleep } from './lib/guard.js';
import { assertQuiet, describe, fileChecks, namePrefix, scope, serverConnections } from './lib/scope.js';
import { killByName } from './lib/server.js';
import { waitFor } from '../helpers/redis.js';

fileChecks();

void test('CLIENT KILL of idle connections: evicted on close, refilled, no caller error', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const fp = s.pool('kill-idle', { url: server.url, min: 3, max: 4, lanes: 1 }, server);
  const { pool } = fp;
  await expectOk(pool.ready(), 2_000, 'ready');
  await waitFor(() => pool.stats().total === 3, { message: describe(pool) });
  const killed = await killByName(server, namePrefix(fp.name));
  assert.equal(killed, 3);
  await waitFor(() => pool.stats().destroyedBy.error >= 3, { timeoutMs: 2_000, message: describe(pool) });
  // Every command after the kills succeeds: nothing dead is handed out.
  for (let i = 0; i < 20; i++) await expectOk(pool.set(`kill:idle:${i}`, String(i)), 1_000, `SET ${i}`);
  await expectOk(
    pool.withConnection((c) => c.get('kill:idle:3')),
    1_500,
    'lease after kill',
  );
  await waitFor(async () => (await serverConnections(server, fp.name)) >= 3, { timeoutMs: 2_000, message: 'refilled to min' });
  assert.equal(pool.stats().health, 'healthy');
  await assertQuiet(pool);
});

void test('CLIENT KILL then immediate use: read-only commands retried on a fresh connection', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const fp = s.pool('kill-race', { url: server.url, min: 1, lanes: 1 }, server);
  const { pool } = fp;
  await expectOk(pool.ready(), 2_000, 'ready');
  await expectOk(pool.set('kill:race', 'v'), 1_000);
  await killByName(server, namePrefix(fp.name));
  // No wait: the socket may still look open, so the first GET can be written into a dead socket.
  const vals = await Promise.all(Array.from({ length: 10 }, () => expectOk(pool.get('kill:race'), 1_500, 'GET right after kill')));
  assert.deepEqual(vals, Array(10).fill('v'));
  await assertQuiet(pool);
});

void test('CLIENT KILL mid-pipeline (replies held by a delaying proxy): all affected commands fail typed, none misdelivered', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const proxy = await s.proxy(server);
  const fp = s.pool('kill-pipe', { url: proxy.url, min: 1, lanes: 1, max: 2, commandTimeoutMs: 2_000 }, server);
  const { pool } = fp;
  await expectOk(pool.ready(), 2_000, 'ready');
  await proxy.delay(300);
  const pipe = settle(pool.pipeline().set('kp:a', '1').incr('kp:ctr').get('kp:a').exec(), 2_500, 'pipeline');
  const multi = settle(pool.multi().incr('kp:ctr').incr('kp:ctr').exec(), 2_500, 'multi');
  const echoes = Array.from({ length: 10 }, (_, i) =>
    settle(
      pool.set(`kp:e${i}`, `e${i}`).then(() => pool.get(`kp:e${i}`)),
      2_500,
      `echo ${i}`,
    ),
  );
  await sleep(100); // requests reached the server, replies are in the proxy's delay queue
  assert.ok((await killByName(server, namePrefix(fp.name))) >= 1);
  const rp = await pipe;
  if (rp.ok) for (const [err] of rp.value ?? []) assertTyped(err, { code: 'ERR_CONNECTION', outcome: 'unknown' });
  else assertTyped(rp.error, { code: 'ERR_CONNECTION', outcome: 'unknown' });
  const rm = await multi;
  if (rm.ok) for (const [err] of rm.value ?? []) assertTyped(err, { code: 'ERR_CONNECTION', outcome: 'unknown' });
  else assertTyped(rm.error, { code: 'ERR_CONNECTION', outcome: 'unknown' });
  let failed = 0;
  for (const [i, p] of echoes.entries()) {
    const r = await p;
    if (r.ok) assert.equal(r.value, `e${i}`, 'a reply reached the wrong caller');
    else {
      failed++;
      assertTyped(r.error, { code: ['ERR_CONNECTION', 'ERR_COMMAND_TIMEOUT'] });
    }
  }
  t.diagnostic(`echo pairs failed: ${failed}/10; ${describe(pool)}`);
  await proxy.pass();
  const again = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      expectOk(
        pool.set(`kp:f${i}`, `f${i}`).then(() => pool.get(`kp:f${i}`)),
        1_500,
      ),
    ),
  );
  again.forEach((v, i) => assert.equal(v, `f${i}`));
  // The MULTI ran atomically or not at all: the counter moved by a whole transaction.
  const ctr = Number((await server.command('GET', 'kp:ctr')) ?? 0);
  assert.ok([0, 1, 2, 3].includes(ctr), `counter ${ctr}`);
  await assertQuiet(pool);
});

void test('CLIENT KILL of a lease blocked in BLPOP: rejects at once (unknown), the lease connection is replaced', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const fp = s.pool('kill-blpop', { url: server.url, min: 1, lanes: 1, max: 3, commandTimeoutMs: 500 }, server);
  const { pool } = fp;
  await expectOk(pool.ready(), 2_000, 'ready');
  const blpop = settle(pool.blpop('kill:q', 5), 6_000, 'BLPOP');
  await waitFor(async () => Number(((await server.command('INFO', 'clients')) as string).match(/blocked_clients:(\d+)/)?.[1]) === 1, {
    message: 'BLPOP blocked',
  });
  const t0 = performance.now();
  await killByName(server, namePrefix(fp.name));
  const r = await blpop;
  assert.ok(!r.ok, 'BLPOP must fail');
  assertTyped(r.error, { code: 'ERR_CONNECTION', outcome: 'unknown' });
  assert.ok(performance.now() - t0 < 500, 'failed on close, not at the 5.5 s deadline');
  await expectOk(pool.rpush('kill:q', 'x'), 1_000);
  assert.deepEqual(await expectOk(pool.blpop('kill:q', 1), 2_000, 'BLPOP after kill'), ['kill:q', 'x']);
  await assertQuiet(pool);
});
