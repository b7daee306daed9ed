/**
 * Shared lanes against a real server: ordinary commands multiplex over `lanes` connections and
 * never take a lease; MULTI batches on a lane are atomic even under concurrent traffic; both
 * auto-pipelining settings work; a lane the server kills is replaced.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Pool } from '../../../src/index.js';
import { leakGuard } from '../../helpers/leaks.js';
import { useRedis, waitFor } from '../../helpers/redis.js';

/** Mixed concurrent workload; returns how long it took in ms. Asserts every reply. */
async function mixedWorkload(pool: Pool, prefix: string, callers: number): Promise<number> {
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async (_, i) => {
      const k = `${prefix}:${i}`;
      assert.equal(await pool.set(k, `v${i}`), 'OK');
      assert.equal(await pool.get(k), `v${i}`);
      assert.equal(await pool.hset(`${k}:h`, { a: i, b: 'x' }), 2);
      assert.deepEqual(await pool.hgetall(`${k}:h`), { a: String(i), b: 'x' });
      assert.deepEqual(await pool.pipeline().incr(`${k}:n`).incr(`${k}:n`).exec(), [
        [null, 1],
        [null, 2],
      ]);
      assert.deepEqual(await pool.multi().incr(`${k}:n`).get(k).exec(), [
        [null, 3],
        [null, `v${i}`],
      ]);
      assert.equal(await pool.del(k, `${k}:h`, `${k}:n`), 3);
    }),
  );
  return performance.now() - started;
}

void describe('shared lanes', () => {
  const server = useRedis();

  void test('ordinary commands use only the lanes: no leases, lanes connections on the server', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'lanes', max: 10, lanes: 3, min: 0 });
    await mixedWorkload(pool, 'lanes', 300);
    const s = pool.stats();
    assert.equal(s.acquires, 0, 'no lease was taken');
    assert.equal(s.lanes, 3);
    assert.equal(s.total, 3);
    assert.equal((await g.names(pool)).length, 3);
    assert.ok(s.commands >= 300 * 7, `commands counted: ${s.commands}`);
  });

  void test('MULTI batches on a shared lane are atomic under concurrent traffic', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'atomic', max: 4, lanes: 2 });
    await pool.del('atomic:n');
    const singles = Array.from({ length: 500 }, () => pool.incr('atomic:n'));
    const txs = Array.from({ length: 100 }, () => pool.multi().incr('atomic:n').get('atomic:n').incr('atomic:n').exec());
    await Promise.all(singles);
    for (const tx of await Promise.all(txs)) {
      assert.ok(tx);
      const [[, first], [, read], [, second]] = tx as [[null, number], [null, string], [null, number]];
      assert.equal(Number(read), first, 'nothing ran between INCR and GET');
      assert.equal(second, first + 1, 'nothing ran between GET and the second INCR');
    }
    assert.equal(await pool.get('atomic:n'), '700');
    await pool.del('atomic:n');
  });

  for (const autoPipelining of [false, true]) {
    void test(`autoPipelining: ${autoPipelining} serves a mixed concurrent workload`, async (t) => {
      const g = leakGuard(t, server());
      const pool = g.pool({ label: `ap-${autoPipelining}`, max: 4, lanes: 2, autoPipelining });
      await pool.ping();
      const ms = await mixedWorkload(pool, `ap${autoPipelining}`, 500);
      t.diagnostic(`autoPipelining ${autoPipelining}: 500 callers x 7 commands in ${ms.toFixed(0)} ms`);
      assert.deepEqual(await pool.blpop('ap:empty', 0.05), null, 'blocking commands still go to a lease');
      const applied = await pool.withConnection((c) => c.raw.options.enableAutoPipelining);
      assert.equal(applied, autoPipelining, 'the option reached the ioredis client');
      assert.equal(pool.stats().acquires, 2);
      assert.equal(pool.stats().errors, 0);
    });
  }

  void test('a lane killed by the server is replaced and traffic continues', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'killed', max: 4, lanes: 2 });
    await pool.set('killed:k', 'v');
    await waitFor(async () => (await g.names(pool)).length === 2, { message: 'both lanes open' });
    const names = await g.names(pool);
    for (const name of names) await server().command('CLIENT', 'KILL', 'ID', await idOf(name));
    await waitFor(() => pool.stats().destroyedBy.error >= 2, { message: 'the pool noticed both lanes died' });
    assert.equal(await pool.get('killed:k'), 'v');
    await waitFor(async () => (await g.names(pool)).length === 2, { message: 'two fresh lanes' });
    assert.notDeepEqual((await g.names(pool)).sort(), names.sort(), 'new connections, new names');
    await pool.del('killed:k');

    async function idOf(name: string): Promise<string> {
      const list = String(await server().command('CLIENT', 'LIST'));
      const line = list.split('\n').find((l) => l.includes(` name=${name} `));
      const id = line && /^id=(\d+)/.exec(line)?.[1];
      assert.ok(id, `no CLIENT LIST line for ${name}`);
      return id;
    }
  });
});
