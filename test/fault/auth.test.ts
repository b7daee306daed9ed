/**
 * E1/E2/E3: wrong password, no password, password rotation, ACL user deleted. Expected: a typed
 * ERR_AUTH (AuthError) that names the endpoint and the server's reason but never a password;
 * no reconnect storm (auth failures back off as if many attempts had failed); rotation works
 * through the credentials provider, which is called for every new connection; every password
 * used here is a canary that must not appear in any log line, error or inspect output.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CANARY_PASSWORD } from './lib/capture.js';
import { createPool } from '../../src/pool/pool.js';
import { assertTyped, eventually, expectOk, expectTyped, settle, sleep } from './lib/guard.js';
import { assertQuiet, describe, FAST, fileChecks, namePrefix, scope } from './lib/scope.js';
import { killByName } from './lib/server.js';
import { waitFor } from '../helpers/redis.js';

fileChecks();

const ROTATED = `${CANARY_PASSWORD}-rotated`;

void test('wrong password: typed AuthError, secret-free, not retried in a loop', async (t) => {
  const s = scope(t);
  const server = await s.redis({ requirepass: 'the-real-server-password' });
  // The pool sends the canary, which is wrong: it must not leak through the failure path.
  const fp = s.pool(
    'auth-wrong',
    { url: server.url, password: CANARY_PASSWORD, reconnectBackoff: undefined, acquireTimeoutMs: 1_500 },
    server,
  );
  const dials: number[] = [];
  fp.pool.on('connection:error', () => dials.push(performance.now()));
  const r = await expectTyped(
    fp.pool.ready(),
    { code: 'ERR_AUTH', outcome: 'not-sent', name: 'AuthError' },
    2_500,
    'ready with a wrong password',
  );
  fp.transcript.error(r.error);
  assert.match(r.error.message, /^authentication to redis:\/\/\*\*\*@127\.0\.0\.1:\d+ failed: WRONGPASS/);
  await sleep(1_000);
  t.diagnostic(`auth dial attempts in ~2.5 s: ${dials.length}; ${describe(fp.pool)}`);
  assert.ok(dials.length <= 4, `auth failures must back off, got ${dials.length} attempts`);
  // Guarded: every pool timer is unref'd, so an unguarded await can let the event loop drain.
  const h = await expectOk(fp.pool.health({ timeoutMs: 100 }), 1_000, 'health()');
  fp.transcript.value(h);
  assert.equal(h.lastError?.code, 'ERR_AUTH');
});

void test('no password against requirepass: typed AuthError (NOAUTH)', async (t) => {
  const s = scope(t);
  const server = await s.redis({ requirepass: CANARY_PASSWORD });
  const fp = s.pool('auth-none', { url: server.url, failureThreshold: 1 }, server);
  const r = await expectTyped(fp.pool.ready(), { code: 'ERR_AUTH', name: 'AuthError' }, 1_500, 'ready without a password');
  fp.transcript.error(r.error);
  assert.match(r.error.message, /NOAUTH/);
});

void test('password rotation: the credentials provider is asked for every new connection', async (t) => {
  const s = scope(t);
  const server = await s.redis({ requirepass: CANARY_PASSWORD });
  let current = CANARY_PASSWORD;
  let calls = 0;
  const fp = s.pool(
    'auth-rotate',
    {
      url: server.url,
      min: 2,
      max: 4,
      lanes: 1,
      credentials: async () => {
        calls++;
        return { password: current };
      },
    },
    server,
  );
  const { pool } = fp;
  await expectOk(pool.ready(), 2_000, 'ready');
  await waitFor(() => pool.stats().total === 2, { message: describe(pool) });
  const callsBefore = calls;
  assert.ok(callsBefore >= 2);
  await server.setPassword(ROTATED); // CONFIG SET requirepass: existing connections stay authenticated
  await expectOk(pool.set('rot:a', '1'), 500, 'SET on a connection authenticated before the rotation');
  current = ROTATED;
  await killByName(server, namePrefix(fp.name)); // force reconnects
  await eventually(() => pool.set('rot:b', '2'), { timeoutMs: 3_000, attemptMs: 600, what: 'SET after rotation + reconnect' });
  await expectOk(
    pool.withConnection((c) => c.get('rot:b')),
    1_500,
    'lease after rotation',
  );
  assert.ok(calls > callsBefore, 'provider consulted again for the new connections');
  assert.equal(pool.stats().errorsBy.auth, 0);
  await assertQuiet(pool);
});

void test('stale credentials after rotation: typed AuthError, then recovery when the provider catches up', async (t) => {
  const s = scope(t);
  const server = await s.redis({ requirepass: CANARY_PASSWORD });
  let current = CANARY_PASSWORD;
  const fp = s.pool('auth-stale', { url: server.url, min: 1, lanes: 1, credentials: () => ({ password: current }) }, server);
  const { pool } = fp;
  await expectOk(pool.ready(), 2_000, 'ready');
  await server.setPassword(ROTATED);
  await killByName(server, namePrefix(fp.name));
  // The pool must have seen the kill: a GET written to the dying lane would be retried after a
  // write that may have run, and then rightly report 'unknown' instead of 'not-sent'.
  await waitFor(() => pool.stats().lanes === 0, { timeoutMs: 2_000, message: describe(pool) });
  // The caller sees the AuthError itself, the wait/fail-fast error carrying it as its cause, or
  // (deadline shorter than the wait) a not-sent command timeout; health() names the cause.
  const r = await expectTyped(
    pool.get('stale:x'),
    { code: ['ERR_AUTH', 'ERR_ACQUIRE_TIMEOUT', 'ERR_UNAVAILABLE', 'ERR_COMMAND_TIMEOUT'], outcome: 'not-sent' },
    1_500,
    'GET with stale credentials',
  );
  if (r.error.code !== 'ERR_COMMAND_TIMEOUT')
    assertTyped(r.error.code === 'ERR_AUTH' ? r.error : r.error.cause, { code: 'ERR_AUTH', message: /WRONGPASS/ });
  fp.transcript.error(r.error);
  await waitFor(() => pool.stats().errorsBy.auth >= 1, { timeoutMs: 2_000, message: describe(pool) });
  const h = await expectOk(pool.health({ timeoutMs: 100 }), 1_000, 'health()');
  assert.equal(h.lastError?.code, 'ERR_AUTH');
  assert.match(h.lastError?.message ?? '', /WRONGPASS/);
  current = ROTATED;
  await eventually(() => pool.get('stale:x'), {
    timeoutMs: 6_000,
    attemptMs: 1_000,
    intervalMs: 100,
    what: 'GET once the provider returns the new password',
  });
  await assertQuiet(pool);
});

void test('ACL user deleted while connected: connections drop, reconnects fail typed, recovery when the user returns', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  await server.command('ACL', 'SETUSER', 'app', 'on', `>${CANARY_PASSWORD}`, '~*', '+@all');
  const fp = s.pool('auth-acl', { url: server.url, username: 'app', password: CANARY_PASSWORD, min: 1, lanes: 1 }, server);
  const { pool } = fp;
  await expectOk(pool.ready(), 2_000, 'ready');
  assert.equal(await pool.call('ACL', 'WHOAMI'), 'app');
  await server.command('ACL', 'DELUSER', 'app');
  await waitFor(() => pool.stats().destroyedBy.error >= 1, {
    timeoutMs: 2_000,
    message: `connection of a deleted user not dropped: ${describe(pool)}`,
  });
  const r = await expectTyped(
    pool.get('acl:x'),
    { code: ['ERR_AUTH', 'ERR_UNAVAILABLE', 'ERR_ACQUIRE_TIMEOUT', 'ERR_COMMAND_TIMEOUT'] },
    1_500,
    'GET after ACL DELUSER',
  );
  fp.transcript.error(r.error);
  await waitFor(() => pool.stats().errorsBy.auth >= 1, { timeoutMs: 2_000, message: describe(pool) });
  await server.command('ACL', 'SETUSER', 'app', 'on', `>${CANARY_PASSWORD}`, '~*', '+@all');
  await eventually(() => pool.get('acl:x'), { timeoutMs: 6_000, attemptMs: 1_000, intervalMs: 100, what: 'GET after the user is back' });
  await assertQuiet(pool);
});

void test('a credentials provider that never settles cannot pin a connection slot past connectTimeoutMs', {}, async (t) => {
  const s = scope(t);
  const server = await s.redis();
  // Not a scope pool: its close() hangs today, and the teardown's hang guards would cost 6 s.
  const pool = createPool({
    ...FAST,
    url: server.url,
    name: 'auth-hang',
    connectTimeoutMs: 300,
    credentials: () => new Promise(() => undefined),
  });
  s.defer(() => void pool.destroy());
  await expectTyped(
    pool.ready(),
    { code: ['ERR_CONNECT_TIMEOUT', 'ERR_COMMAND_TIMEOUT', 'ERR_CONNECTION'] },
    1_500,
    'ready with a hanging provider',
  );
  await waitFor(() => pool.stats().connecting === 0, { timeoutMs: 1_000, message: `connect slot pinned: ${describe(pool)}` });
  const closed = await settle(pool.close({ timeoutMs: 200 }), 1_000, 'close()');
  assert.ok(closed.ok);
});
