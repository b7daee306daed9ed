/**
 * D2: `maxmemory` reached with `noeviction`. Expected: writes fail with a typed ERR_REPLY whose
 * prefix is OOM (outcome 'rejected': the server refused it), they are not retried, the
 * connection stays pooled, reads and deletes keep working, and writes work again once memory is
 * available.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectOk, expectTyped } from './lib/guard.js';
import { assertQuiet, fileChecks, scope } from './lib/scope.js';

fileChecks();

const LEDGER = "redis.call('SADD', KEYS[1], ARGV[1]); return redis.call('INCR', KEYS[2])";

void test('OOM: writes fail typed (ReplyError OOM, not retried), reads keep working, recovery when memory frees', async (t) => {
  const s = scope(t);
  const server = await s.redis({ args: ['--maxmemory-policy', 'noeviction'] });
  const { pool } = s.pool('oom', { url: server.url }, server);
  await expectOk(pool.ready(), 2_000, 'ready');
  await expectOk(pool.set('oom:keep', 'kept'), 500);
  await server.command('CONFIG', 'SET', 'maxmemory', '1');
  const before = pool.stats();
  const w = await expectTyped(
    pool.set('oom:new', 'x'),
    { code: 'ERR_REPLY', outcome: 'rejected', prefix: 'OOM', name: 'ReplyError' },
    1_000,
    'SET under OOM',
  );
  assert.match(w.error.message, /^OOM command not allowed when used memory > 'maxmemory'/);
  assert.equal((w.error as unknown as { command: string }).command, 'SET');
  const l = await expectTyped(
    pool.eval(LEDGER, 2, 'oom:ids', 'oom:ctr', 'op1'),
    { code: 'ERR_REPLY', outcome: 'rejected' },
    1_000,
    'Lua ledger write under OOM',
  );
  t.diagnostic(`Lua write under OOM: ${l.error.message}`);
  assert.equal(await expectOk(pool.get('oom:keep'), 500, 'GET under OOM'), 'kept');
  assert.equal(await expectOk(pool.del('oom:keep'), 500, 'DEL under OOM'), 1);
  const after = pool.stats();
  assert.equal(after.retries, before.retries, 'OOM is not retried');
  assert.equal(after.destroyed, before.destroyed, 'the connection stays pooled');
  assert.equal(after.errorsBy.reply - before.errorsBy.reply, 2);
  await server.command('CONFIG', 'SET', 'maxmemory', '0');
  assert.equal(await expectOk(pool.set('oom:new', 'x'), 500, 'SET after memory freed'), 'OK');
  assert.equal(await expectOk(pool.eval(LEDGER, 2, 'oom:ids', 'oom:ctr', 'op1'), 500), 1);
  await assertQuiet(pool);
});
