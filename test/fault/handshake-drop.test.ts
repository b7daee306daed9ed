/**
 * C6: the socket dies or stalls during the connection handshake (HELLO/AUTH/SETNAME), injected
 * with a proxy that cuts every new connection at its first reply byte. Expected: the dial fails
 * typed within `connectTimeoutMs` (ERR_CONNECTION on reset/close, ERR_CONNECT_TIMEOUT naming the
 * handshake phase on a stall), nothing is pinned in `connecting`, and once the proxy passes
 * traffic again the pool reconnects by itself.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { TruncateAction } from '../helpers/fault-proxy.js';
import { eventually, expectOk, expectTyped } from './lib/guard.js';
import { assertQuiet, describe, fileChecks, scope } from './lib/scope.js';
import { waitFor } from '../helpers/redis.js';

fileChecks();

async function cutHandshake(t: TestContext, then: TruncateAction, code: string, message: RegExp): Promise<void> {
  const s = scope(t);
  const server = await s.redis();
  const proxy = await s.proxy(server);
  await proxy.truncateReplyAfter(0, then);
  const fp = s.pool(`handshake-${then}`, { url: proxy.url, connectTimeoutMs: 300, acquireTimeoutMs: 700, failureThreshold: 3 }, server);
  const { pool } = fp;
  const r = await expectTyped(pool.ready(), { code, outcome: 'not-sent' }, 700 + 300 + 250, `ready with the handshake cut (${then})`);
  assert.match(r.error.message, message);
  t.diagnostic(`${then}: ${r.error.message}`);
  await waitFor(() => pool.stats().connecting === 0 || pool.stats().health === 'unavailable', {
    timeoutMs: 1_000,
    message: describe(pool),
  });
  await proxy.pass();
  await eventually(() => pool.ping(), { timeoutMs: 5_000, attemptMs: 1_000, what: 'PING after the proxy passes again' });
  assert.equal(await expectOk(pool.ready(), 2_000), 'healthy');
  await assertQuiet(pool);
}

void test('connection reset at the first handshake reply byte: typed ERR_CONNECTION, recovery', (t) =>
  cutHandshake(t, 'reset', 'ERR_CONNECTION', /^connect to redis:\/\/127\.0\.0\.1:\d+ failed: /));
void test('connection closed (FIN) during the handshake: typed ERR_CONNECTION, recovery', (t) =>
  cutHandshake(t, 'close', 'ERR_CONNECTION', /^connect to redis:\/\/127\.0\.0\.1:\d+ failed: /));
void test('handshake reply never arrives: ERR_CONNECT_TIMEOUT naming the handshake phase, recovery', (t) =>
  cutHandshake(t, 'hang', 'ERR_CONNECT_TIMEOUT', /timed out after 300ms \(the server did not answer the handshake/));
