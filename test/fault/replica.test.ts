/**
 * D3/D4: the endpoint the pool uses stops being a writable primary. READONLY: the server became
 * a replica (`REPLICAOF`, as after a failover). MASTERDOWN: a replica with
 * `replica-serve-stale-data no` whose primary is gone. Expected: typed ERR_REPLY with the prefix
 * (outcome 'rejected': not executed, so retried with backoff within the deadline), connections
 * kept, reads on the replica keep working, and writes work again once it is a primary.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, expectOk, expectTyped } from './lib/guard.js';
import { assertQuiet, fileChecks, scope } from './lib/scope.js';
import { waitFor } from '../helpers/redis.js';

fileChecks();

/** Full syncs start at once (the default waits 5 s for more replicas to join a diskless sync). */
const PRIMARY_ARGS = ['--repl-diskless-sync-delay', '0'];

void test('READONLY after the endpoint became a replica: typed, not executed, retried; writes resume after REPLICAOF NO ONE', async (t) => {
  const s = scope(t);
  const primary = await s.redis({ args: PRIMARY_ARGS });
  const server = await s.redis();
  const { pool } = s.pool('readonly', { url: server.url, commandTimeoutMs: 400 }, server);
  await expectOk(pool.ready(), 2_000, 'ready');
  await primary.command('SET', 'ro:k', 'from-primary');
  await server.command('REPLICAOF', '127.0.0.1', String(primary.port));
  await waitFor(async () => /master_link_status:up/.test(String(await server.command('INFO', 'replication'))), {
    timeoutMs: 5_000,
    message: 'replication link up',
  });
  const before = pool.stats().retries;
  const w = await expectTyped(
    pool.set('ro:k', 'x'),
    { code: 'ERR_REPLY', outcome: 'rejected', prefix: 'READONLY', name: 'ReplyError' },
    400 + 250,
    'SET on a replica',
  );
  assert.match(w.error.message, /^READONLY You can't write against a read only replica/);
  assert.ok(pool.stats().retries > before, 'READONLY means not executed: retried with backoff');
  assert.equal(await expectOk(pool.get('ro:k'), 500, 'GET on the replica'), 'from-primary');
  assert.equal(pool.stats().destroyed, 0, 'connections kept');
  await server.command('REPLICAOF', 'NO', 'ONE');
  await eventually(() => pool.set('ro:k', 'y'), { timeoutMs: 2_000, attemptMs: 650, what: 'SET after promotion' });
  assert.equal(await server.command('GET', 'ro:k'), 'y');
  await assertQuiet(pool);
});

void test('MASTERDOWN on a replica that must not serve stale data: typed, not executed; recovers when the primary returns', async (t) => {
  const s = scope(t);
  const primary = await s.redis({ args: PRIMARY_ARGS });
  const server = await s.redis({ args: ['--replica-serve-stale-data', 'no'] });
  await server.command('REPLICAOF', '127.0.0.1', String(primary.port));
  await waitFor(async () => /master_link_status:up/.test(String(await server.command('INFO', 'replication'))), {
    timeoutMs: 5_000,
    message: 'replication link up',
  });
  const { pool } = s.pool('masterdown', { url: server.url, commandTimeoutMs: 400 }, server);
  await expectOk(pool.ready(), 2_000, 'ready');
  await primary.kill();
  await waitFor(async () => /master_link_status:down/.test(String(await server.command('INFO', 'replication'))), {
    timeoutMs: 5_000,
    message: 'replication link down',
  });
  const r = await expectTyped(
    pool.get('md:k'),
    { code: 'ERR_REPLY', outcome: 'rejected', prefix: 'MASTERDOWN' },
    400 + 250,
    'GET on a replica without its primary',
  );
  t.diagnostic(r.error.message);
  await primary.restart();
  await eventually(() => pool.get('md:k'), { timeoutMs: 8_000, attemptMs: 650, intervalMs: 100, what: 'GET after the primary returned' });
  await assertQuiet(pool);
});
