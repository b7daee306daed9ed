/**
 * Issue 10 against a real redis-server, through both drivers:
 * - defect 4: a pipeline or MULTI holding a command missing from ioredis's command table
 *   (module commands: JSON.SET, FT.SEARCH, …) is sent by name, like `call`; the server's
 *   "ERR unknown command" comes back as a typed ReplyError in the batch result (a MULTI: its
 *   EXECABORT), never as an internal TypeError — on the pool and on a lease;
 * - defect 7: "ERR unknown subcommand '<arg>'" replies are redacted like "unknown command";
 * - defect 3: `acquireTimeoutMs: Infinity` means no limit: `ready()` works and a waiter waits.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { ReplyError, type BatchResult, type Driver } from '../../src/index.js';
import { nodeRedisDriver } from '../../src/driver/node-redis/index.js';
import { ioredisDriver } from '../../src/driver/ioredis-driver.js';
import { leakGuard } from '../helpers/leaks.js';
import { useRedis } from '../helpers/redis.js';

const SECRET = 'Zq9-s3cret-arg';
const DRIVERS: Array<[string, Driver]> = [
  ['ioredis', ioredisDriver()],
  ['ioredis, no direct path', ioredisDriver({ directPath: false })],
  ['node-redis', nodeRedisDriver()],
];

function assertUnknownCommand(entry: [Error | null, unknown] | undefined, name: string): void {
  assert.ok(entry, 'an entry per command');
  const [err] = entry;
  assert.ok(err instanceof ReplyError, `a ReplyError, got ${inspect(err)}`);
  assert.equal(err.code, 'ERR_REPLY');
  assert.match(err.message, new RegExp(`^ERR unknown command '${name.replace('.', '\\.')}'`, 'i'));
  assert.equal(inspect(err, { depth: 5, showHidden: true }).includes(SECRET), false, 'the arguments are redacted');
}

for (const [label, driver] of DRIVERS) {
  void describe(`batches send any command by name (${label})`, () => {
    const server = useRedis();

    void test('pool.pipeline() with JSON.SET and FT.SEARCH: typed reply errors in place, the rest runs', async (t) => {
      const pool = leakGuard(t, server()).pool({ label: 'batch', driver });
      const res = (await pool
        .pipeline()
        .set('b:k', '1')
        .call('JSON.SET', 'b:j', '$', SECRET)
        .call('FT.SEARCH', 'idx', SECRET)
        .get('b:k')
        .exec()) as BatchResult;
      assert.equal(res.length, 4);
      assert.deepEqual(res[0], [null, 'OK']);
      assertUnknownCommand(res[1], 'JSON.SET');
      assertUnknownCommand(res[2], 'FT.SEARCH');
      assert.deepEqual(res[3], [null, '1']);
      assert.equal(await pool.ping(), 'PONG', 'the lane keeps working');
      await pool.del('b:k');
    });

    void test('a lease pipeline and a lease MULTI with an unknown command', async (t) => {
      const pool = leakGuard(t, server()).pool({ label: 'batch', driver, max: 3 });
      await pool.withConnection(async (c) => {
        const res = (await c.pipeline().call('JSON.SET', 'b:j', '$', SECRET).set('b:l', 'x').exec()) as BatchResult;
        assertUnknownCommand(res[0], 'JSON.SET');
        assert.deepEqual(res[1], [null, 'OK']);
        // Refused while queueing: the server discards the transaction (EXECABORT), as for any refused command.
        await assert.rejects(c.multi().set('b:l', 'y').call('JSON.SET', 'b:j', '$', SECRET).exec(), (err: unknown) => {
          assert.ok(err instanceof ReplyError, `a ReplyError, got ${inspect(err)}`);
          assert.equal(err.prefix, 'EXECABORT');
          assert.equal(inspect(err, { depth: 5, showHidden: true }).includes(SECRET), false);
          return true;
        });
        assert.equal(await c.get('b:l'), 'x', 'nothing of the aborted transaction ran; the lease works');
      });
      await pool.del('b:l');
    });

    void test('pool.multi() with an unknown command: EXECABORT, not a TypeError', async (t) => {
      const pool = leakGuard(t, server()).pool({ label: 'batch', driver });
      await assert.rejects(
        pool.multi().call('FT.SEARCH', 'idx', SECRET).exec(),
        (err: unknown) => err instanceof ReplyError && err.prefix === 'EXECABORT',
      );
      assert.equal(await pool.ping(), 'PONG');
    });

    void test('"unknown subcommand" replies do not echo the argument, alone or in a batch', async (t) => {
      const pool = leakGuard(t, server()).pool({ label: 'subcmd', driver });
      await assert.rejects(pool.call('CONFIG', SECRET), (err: unknown) => {
        assert.ok(err instanceof ReplyError, inspect(err));
        assert.match(err.message, /^ERR unknown subcommand <redacted>\. Try CONFIG HELP\.$/);
        assert.equal(inspect(err, { depth: 5, showHidden: true }).includes(SECRET), false);
        return true;
      });
      const res = (await pool.pipeline().call('OBJECT', SECRET, 'k').exec()) as BatchResult;
      assert.ok(res[0]?.[0] instanceof ReplyError);
      assert.match(res[0][0].message, /unknown subcommand <redacted>/);
      assert.equal(inspect(res, { depth: 5, showHidden: true }).includes(SECRET), false);
    });

    void test('acquireTimeoutMs: Infinity: ready() resolves and a waiter waits for the lease', async (t) => {
      const pool = leakGuard(t, server()).pool({
        label: 'inf',
        driver,
        max: 2,
        lanes: 1,
        acquireTimeoutMs: Infinity,
        commandTimeoutMs: Infinity,
      });
      assert.notEqual(await pool.ready(), 'unavailable');
      const held = await pool.acquire();
      let settled = false;
      const waiting = pool.acquire().finally(() => (settled = true));
      // Real round trips (not a sleep) give a 1 ms timer ample time to fire if one was armed.
      for (let i = 0; i < 50; i++) assert.equal(await pool.ping(), 'PONG');
      assert.equal(settled, false, 'the waiter is still waiting');
      held.release();
      const next = await waiting;
      assert.equal(await next.ping(), 'PONG');
      next.release();
    });
  });
}
