/**
 * WATCH/MULTI/EXEC optimistic locking on exclusive leases against a real server: a conflicting
 * writer (raw ioredis client, another pool, or the pool's own shared lanes) between WATCH and
 * EXEC aborts the transaction (exec resolves null); a retry loop then commits; without a
 * conflict it commits at once.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ReplyError, type Lease, type Pool } from '../../../src/index.js';
import { leakGuard } from '../../helpers/leaks.js';
import { useRedis } from '../../helpers/redis.js';

/**
 * Increments `key` with WATCH/MULTI/EXEC, retrying when EXEC aborts. `between` runs after the
 * read and before EXEC on each attempt (the place a conflicting writer strikes).
 */
async function optimisticIncr(
  pool: Pool,
  key: string,
  between: (attempt: number) => Promise<unknown> = async () => undefined,
  maxAttempts = 10,
): Promise<{ attempts: number; value: number }> {
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const value = await pool.withConnection(async (c: Lease) => {
      await c.watch(key);
      const next = Number((await c.get(key)) ?? 0) + 1;
      await between(attempt);
      const res = await c.multi().set(key, String(next)).exec();
      return res === null ? null : next;
    });
    if (value !== null) return { attempts: attempt, value };
  }
  throw new Error(`no commit after ${maxAttempts} attempts`);
}

void describe('WATCH/MULTI on a lease', () => {
  const server = useRedis();

  void test('a conflicting writer between WATCH and EXEC makes exec return null', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'tx', max: 4 });
    const writer = g.raw();
    await pool.set('tx:k', '10');
    const res = await pool.withConnection(async (c) => {
      assert.equal(await c.watch('tx:k'), 'OK');
      const v = Number(await c.get('tx:k'));
      assert.equal(await writer.set('tx:k', '100'), 'OK');
      return c
        .multi()
        .set('tx:k', String(v + 1))
        .get('tx:k')
        .exec();
    });
    assert.equal(res, null, 'EXEC aborted by the WATCHed change');
    assert.equal(await pool.get('tx:k'), '100', 'the conflicting write stands');
    await pool.del('tx:k');
  });

  void test('retry loop commits after a conflict from another pool', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'tx', max: 4 });
    const other = g.pool({ label: 'tx-other', max: 2 });
    await pool.set('tx:r', '5');
    const r = await optimisticIncr(pool, 'tx:r', async (attempt) => {
      if (attempt === 1) await other.set('tx:r', '100');
    });
    assert.deepEqual(r, { attempts: 2, value: 101 });
    assert.equal(await pool.get('tx:r'), '101');
    await pool.del('tx:r');
  });

  void test("a write on the same pool's shared lanes also conflicts; without conflict it commits at once", async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'tx', max: 4 });
    await pool.set('tx:s', '1');
    const conflicted = await optimisticIncr(pool, 'tx:s', async (attempt) => {
      if (attempt <= 2) await pool.incrby('tx:s', 10);
    });
    assert.deepEqual(conflicted, { attempts: 3, value: 22 });

    const clean = await optimisticIncr(pool, 'tx:s');
    assert.deepEqual(clean, { attempts: 1, value: 23 });
    const committed = await pool.withConnection(async (c) => {
      await c.watch('tx:s');
      return c.multi().incr('tx:s').get('tx:s').exec();
    });
    assert.deepEqual(committed, [
      [null, 24],
      [null, '24'],
    ]);
    await pool.del('tx:s');
  });

  void test('concurrent optimistic incrementers on a small lease budget all commit exactly once', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'tx', max: 5, lanes: 2 });
    await pool.del('tx:c');
    const results = await Promise.all(
      Array.from({ length: 12 }, () => optimisticIncr(pool, 'tx:c', () => new Promise((r) => setImmediate(r)), 50)),
    );
    assert.equal(await pool.get('tx:c'), '12', 'no lost update');
    assert.deepEqual(
      results.map((r) => r.value).sort((a, b) => a - b),
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    const retries = results.reduce((n, r) => n + r.attempts - 1, 0);
    t.diagnostic(`12 incrementers over 3 leases: ${retries} EXEC aborts retried`);
    assert.ok(pool.stats().total <= 5);
    await pool.del('tx:c');
  });

  void test('EXECABORT rejects with a ReplyError and the lease stays usable', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'tx', max: 3 });
    await pool.withConnection(async (c) => {
      await c.watch('tx:e');
      // Wrong arity: the server refuses it at queue time, so EXEC aborts the whole transaction.
      const tx = c.multi().set('tx:e', 'a').call('SET', 'tx:e');
      await assert.rejects(tx.exec(), (err: unknown) => {
        assert.ok(err instanceof ReplyError, String(err));
        assert.equal(err.prefix, 'EXECABORT');
        return true;
      });
      assert.equal(await c.set('tx:e', 'direct'), 'OK', 'not left in MULTI');
    });
    assert.equal(await pool.get('tx:e'), 'direct');
    assert.equal(pool.stats().destroyedBy.dirty, 0);
    await pool.del('tx:e');
  });
});
