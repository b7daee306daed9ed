/**
 * Issue 15 item 5: a missing or wrong password must say what to do, under both drivers. Redis's
 * own text ("NOAUTH HELLO must be called with the client already authenticated…") names neither
 * the URL form nor the options; the AuthError adds that, and never a password.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { AuthError, createPool, type PoolOptions } from '../../src/index.js';
import { nodeRedisDriver } from '../../src/driver/node-redis/index.js';
import { useRedis } from '../helpers/redis.js';

const SERVER_PASSWORD = 'server-pw-5c1e0a';
const WRONG = 'wrong-pw-9b77d2';
const URL_FORMS = 'redis://:<password>@<host>:<port> or redis://<user>:<password>@<host>:<port>';

/** The error `ready()` rejects with for `opts`; the pool is destroyed after the test. */
async function readyError(t: TestContext, opts: PoolOptions): Promise<AuthError> {
  const pool = createPool({ failureThreshold: 1, connectTimeoutMs: 2_000, ...opts });
  t.after(() => pool.destroy());
  const err = await pool.ready().then(
    (h) => assert.fail(`ready() resolved ${h}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof AuthError, String(err));
  assert.equal(err.code, 'ERR_AUTH');
  for (const secret of [SERVER_PASSWORD, WRONG]) assert.ok(!err.message.includes(secret), `a password in: ${err.message}`);
  return err;
}

for (const [name, driver] of [
  ['ioredis', undefined],
  ['node-redis', nodeRedisDriver()],
] as const) {
  void describe(`auth failure hints (${name} driver)`, () => {
    const server = useRedis({ requirepass: SERVER_PASSWORD });
    const base = (): PoolOptions => ({ host: '127.0.0.1', port: server().port, ...(driver ? { driver } : {}) });

    void test('no password: NOAUTH, says none was sent and where a password goes', async (t) => {
      const err = await readyError(t, base());
      assert.match(err.message, /^authentication to redis:\/\/127\.0\.0\.1:\d+ failed: NOAUTH /);
      assert.ok(err.message.includes('the server requires a password and none was sent'), err.message);
      assert.ok(err.message.includes(URL_FORMS), err.message);
      assert.match(err.message, /`password`\/`username` or `credentials` options\)$/);
    });

    void test("wrong password, no username: names the 'default' user and the username forms", async (t) => {
      const err = await readyError(t, { ...base(), password: WRONG });
      assert.match(err.message, /failed: WRONGPASS .*\(the server rejected the password for its 'default' user \(no username was sent\)/);
      assert.ok(err.message.includes(URL_FORMS), err.message);
    });

    void test('wrong username and password: says to check both', async (t) => {
      const err = await readyError(t, { ...base(), username: 'app', password: WRONG });
      assert.match(
        err.message,
        /failed: WRONGPASS .*\(the server rejected this username and password, or the user is disabled: check both/,
      );
    });

    void test('the right password from a credentials provider connects', async (t) => {
      const pool = createPool({ ...base(), credentials: () => ({ password: SERVER_PASSWORD }) });
      t.after(() => pool.destroy());
      assert.equal(await pool.ready(), 'healthy');
      assert.equal(await pool.ping(), 'PONG');
    });
  });
}
