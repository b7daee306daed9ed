/**
 * The outcome of a retried call is the worst over all its attempts. The proxy lets the command
 * reach Redis (it runs), swallows the reply and resets the socket, and refuses new connections,
 * so the retry fails fast (ERR_UNAVAILABLE, or a timeout while waiting for a lane). The caller
 * must hear 'unknown' — the first attempt ran — never 'not-sent'.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { assertTyped, expectOk, settle } from './lib/guard.js';
import { fileChecks, scope } from './lib/scope.js';

fileChecks();

async function swallowThenRefuse(
  t: TestContext,
  label: string,
  run: (pool: import('../../src/pool/pool.js').Pool) => Promise<unknown>,
): Promise<{ error: Error & { code: string; outcome?: string }; server: import('../support/redis-process.js').RedisProcess }> {
  const s = scope(t);
  const server = await s.redis();
  const proxy = await s.proxy(server);
  // One lane, no lease connections: the retry has nowhere to go but a new connect.
  const { pool } = s.pool(label, { url: proxy.url, lanes: 1, max: 2, min: 0, commandTimeoutMs: 600, retries: 2 }, server);
  await expectOk(pool.ready(), 2_000, 'ready');
  await proxy.refuse();
  await proxy.truncateReplyAfter(0, 'reset');
  const r = await settle(run(pool), 600 + 250, label);
  assert.ok(!r.ok, `${label} succeeded although its reply was swallowed`);
  const error = assertTyped(r.error, { code: ['ERR_UNAVAILABLE', 'ERR_CONNECTION', 'ERR_COMMAND_TIMEOUT', 'ERR_ACQUIRE_TIMEOUT'] });
  await proxy.pass();
  return { error, server };
}

void test('idempotent RPUSH whose reply was swallowed, retry refused: outcome unknown (LLEN = 1)', async (t) => {
  const { error, server } = await swallowThenRefuse(t, 'swallow-rpush', (pool) => pool.with({ idempotent: true }).rpush('l2', 'x'));
  assert.equal(Number(await server.command('LLEN', 'l2')), 1, 'the first attempt ran');
  assert.equal(
    error.outcome,
    'unknown',
    `${error.code} reported outcome ${String(error.outcome)} although the first attempt ran: ${error.message}`,
  );
});

void test('GET (read-only, retried) whose reply was swallowed, retry refused: outcome unknown', async (t) => {
  const { error } = await swallowThenRefuse(t, 'swallow-get', (pool) => pool.get('k'));
  assert.equal(error.outcome, 'unknown', `${error.code} reported outcome ${String(error.outcome)}: ${error.message}`);
});

void test('idempotent pipeline whose reply was swallowed, retry refused: no entry says not-sent', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const proxy = await s.proxy(server);
  const { pool } = s.pool('swallow-pipe', { url: proxy.url, lanes: 1, max: 2, min: 0, commandTimeoutMs: 600, retries: 2 }, server);
  await expectOk(pool.ready(), 2_000, 'ready');
  await proxy.refuse();
  await proxy.truncateReplyAfter(0, 'reset');
  const r = await settle(pool.with({ idempotent: true }).pipeline().rpush('l3', 'x').exec(), 600 + 250, 'pipeline');
  await proxy.pass();
  assert.equal(Number(await server.command('LLEN', 'l3')), 1, 'the first attempt ran');
  // The batch either rejects as a whole or resolves with one error per command (ioredis's shape
  // for a connection lost mid-batch); either way nothing may claim the RPUSH was not sent.
  if (r.ok) {
    const [entry] = r.value ?? [];
    const err = entry?.[0] as (Error & { code: string; outcome?: string }) | null | undefined;
    assert.ok(err, 'the RPUSH entry has no error although its reply was swallowed');
    assert.equal(err.outcome, 'unknown', `${err.code}: ${err.message}`);
  } else {
    const error = assertTyped(r.error, { code: ['ERR_UNAVAILABLE', 'ERR_CONNECTION', 'ERR_COMMAND_TIMEOUT', 'ERR_ACQUIRE_TIMEOUT'] });
    assert.equal(error.outcome, 'unknown', `${error.code}: ${error.message}`);
  }
});
