/**
 * D5/I16/I17: error replies that say nothing about the connection — WRONGTYPE, unknown command,
 * wrong arity, NOPERM (ACL), a script error — and state-changing commands refused on shared
 * lanes. Expected: typed ERR_REPLY carrying the prefix and the command name (never its
 * arguments), not retried, the connection kept and the next caller unaffected.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { test } from 'node:test';
import { CANARY_PASSWORD } from './lib/capture.js';
import { expectOk, expectTyped } from './lib/guard.js';
import { assertQuiet, fileChecks, scope } from './lib/scope.js';

fileChecks();

void test('WRONGTYPE, unknown command, arity, NOPERM, script error: typed ReplyError, connection kept, not retried', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  await server.command(
    'ACL',
    'SETUSER',
    'limited',
    'on',
    `>${CANARY_PASSWORD}`,
    '~allowed:*',
    '+get',
    '+set',
    '+ping',
    '+hello',
    '+client',
  );
  const { pool, transcript } = s.pool('reply-errors', { url: server.url }, server);
  await expectOk(pool.ready(), 2_000, 'ready');
  await expectOk(pool.set('re:str', CANARY_PASSWORD), 500);
  // Redis echoes the first arguments of an unknown command in its message; the driver redacts them.
  const cases = [
    { p: () => pool.lpush('re:str', 'x'), prefix: 'WRONGTYPE', command: 'LPUSH' },
    { p: () => pool.call('NOSUCHCOMMAND', CANARY_PASSWORD), prefix: 'ERR', command: 'NOSUCHCOMMAND' },
    { p: () => pool.call('GET'), prefix: 'ERR', command: 'GET' },
    { p: () => pool.eval('return redis.call("INCR", KEYS[1])', 1, 're:str'), prefix: 'ERR', command: 'EVAL' },
  ];
  for (const c of cases) {
    const r = await expectTyped(c.p(), { code: 'ERR_REPLY', outcome: 'rejected', prefix: c.prefix, name: 'ReplyError' }, 500, c.command);
    assert.equal((r.error as unknown as { command: string }).command, c.command);
    transcript.error(r.error);
    assert.ok(!inspect(r.error).includes(CANARY_PASSWORD), 'arguments are never attached to errors');
  }
  const limited = s.pool('noperm', { url: server.url, username: 'limited', password: CANARY_PASSWORD }, server);
  await expectOk(limited.pool.ready(), 2_000, 'ready as a limited user');
  const np = await expectTyped(
    limited.pool.set('other:k', CANARY_PASSWORD),
    { code: 'ERR_REPLY', outcome: 'rejected', prefix: 'NOPERM' },
    500,
    'SET outside the ACL key pattern',
  );
  limited.transcript.error(np.error);
  assert.equal(await expectOk(limited.pool.set('allowed:k', 'v'), 500), 'OK');
  const st = pool.stats();
  assert.equal(st.retries, 0);
  assert.equal(st.destroyed, 0);
  assert.equal(st.errorsBy.reply, cases.length);
  assert.equal(await expectOk(pool.get('re:str'), 500), CANARY_PASSWORD);
  await assertQuiet(pool);
  await assertQuiet(limited.pool);
});

void test('state-changing commands on the shared API are refused before anything is sent', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const { pool } = s.pool('refused', { url: server.url }, server);
  await expectOk(pool.ready(), 2_000, 'ready');
  const shared = pool as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const before = pool.stats().commands;
  for (const [name, args] of [
    ['call', ['SELECT', '1']],
    ['call', ['CLIENT', 'SETNAME', 'x']],
    ['call', ['SUBSCRIBE', 'ch']],
  ] as const) {
    await expectTyped(
      shared[name]!.apply(pool, [...args]),
      { code: 'ERR_LEASE_REQUIRED', outcome: 'not-sent' },
      200,
      `${args.join(' ')} on the shared API`,
    );
  }
  assert.equal(pool.stats().commands, before, 'nothing reached Redis');
  await assertQuiet(pool);
});
