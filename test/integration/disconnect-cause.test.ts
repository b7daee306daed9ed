/**
 * Issue 15 item 4: a connection the server closes (CLIENT KILL here; the server's idle timeout
 * or a restart alike) ends with a bare FIN, so `connection:closed` carried `error: undefined`
 * and the `redis_disconnected` log line said nothing. Both drivers now report what happened;
 * a connection the pool closes itself still has no error.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConnectionError, createPool, type PoolEvents } from '../../src/index.js';
import { nodeRedisDriver } from '../../src/driver/node-redis/index.js';
import { useRedis, waitFor } from '../helpers/redis.js';

type Closed = PoolEvents['connection:closed'];

for (const [name, driver] of [
  ['ioredis', undefined],
  ['node-redis', nodeRedisDriver()],
] as const) {
  void describe(`the cause of a lost connection (${name} driver)`, () => {
    const server = useRedis();

    void test('CLIENT KILL: connection:closed has a ConnectionError naming the server side', async (t) => {
      const label = `kill-${name}`;
      const pool = createPool({ url: server().url, name: label, min: 1, lanes: 1, max: 2, ...(driver ? { driver } : {}) });
      t.after(() => pool.destroy());
      const closed: Closed[] = [];
      pool.on('connection:closed', (e) => closed.push(e));
      await pool.ready();
      await server().command('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      await waitFor(() => closed.length > 0, { message: 'connection:closed after CLIENT KILL' });
      const e = closed[0]!;
      assert.equal(e.reason, 'error');
      assert.ok(e.error instanceof Error, `an error, got ${String(e.error)}`);
      assert.match(
        e.error.message,
        /^connection to redis:\/\/127\.0\.0\.1:\d+(\/0)? closed by the server|ECONNRESET|Socket closed unexpectedly/,
      );
      if (/closed by the server/.test(e.error.message)) assert.ok(e.error instanceof ConnectionError);
    });

    void test('close(): connections the pool closes itself carry no error', async (t) => {
      const pool = createPool({ url: server().url, name: `close-${name}`, min: 2, lanes: 1, max: 3, ...(driver ? { driver } : {}) });
      t.after(() => pool.destroy());
      const closed: Closed[] = [];
      pool.on('connection:closed', (e) => closed.push(e));
      await pool.ready();
      await waitFor(() => pool.stats().total === 2 && pool.stats().connecting === 0);
      await pool.close();
      assert.equal(closed.length, 2);
      for (const e of closed) {
        assert.equal(e.reason, 'close');
        assert.equal(e.error, undefined);
      }
    });
  });
}
