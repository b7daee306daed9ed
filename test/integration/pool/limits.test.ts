/**
 * The connection budget against a real server: `CLIENT LIST` never shows more than `max`
 * connections of a pool during a burst of mixed shared and lease traffic, and none after
 * close; `min` connections are warmed at ready() and kept; idle lease connections above `min`
 * are evicted; the waiter queue and the lease budget are bounded with typed errors.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { NoLeaseCapacityError, PoolExhaustedError } from '../../../src/index.js';
import { leakGuard } from '../../helpers/leaks.js';
import { useRedis, waitFor } from '../../helpers/redis.js';

void describe('connection budget', () => {
  const server = useRedis();

  void test('CLIENT LIST never shows more than max connections during mixed shared + lease traffic; none after close', async (t) => {
    const g = leakGuard(t, server());
    const max = 5;
    const pool = g.pool({ label: 'burst', max, lanes: 2, min: 0, acquireTimeoutMs: 10_000 });
    let done = false;
    let samples = 0;
    let maxSeen = 0;
    let maxTotal = 0;
    const sampler = (async () => {
      while (!done) {
        const n = (await g.names(pool)).length;
        samples++;
        maxSeen = Math.max(maxSeen, n);
        maxTotal = Math.max(maxTotal, pool.stats().total);
        await sleep(2);
      }
    })();

    const shared = Array.from({ length: 400 }, async (_, i) => {
      for (let r = 0; r < 5; r++) {
        await pool.set(`burst:${i}`, String(r));
        assert.equal(await pool.get(`burst:${i}`), String(r));
        await pool.pipeline().incr('burst:n').get(`burst:${i}`).exec();
      }
    });
    const leased = Array.from({ length: 40 }, (_, i) =>
      pool.withConnection(async (c) => {
        await c.watch(`burst:w${i}`);
        await sleep(10);
        assert.deepEqual(await c.multi().set(`burst:w${i}`, 'x').exec(), [[null, 'OK']]);
      }),
    );
    const blocking = Array.from({ length: 10 }, () => pool.blpop('burst:q', 0.05));
    try {
      await Promise.all([...shared, ...leased, ...blocking]);
    } finally {
      done = true;
      await sampler;
    }
    t.diagnostic(`${samples} CLIENT LIST samples; most connections seen at once: ${maxSeen} (max ${max})`);
    assert.ok(samples >= 5, `sampled ${samples} times`);
    assert.ok(maxSeen <= max, `server saw ${maxSeen} pool connections, max is ${max}`);
    assert.ok(maxTotal <= max, `stats().total reached ${maxTotal}`);
    assert.ok(maxSeen >= 3, 'leases were in use alongside the lanes');
    assert.equal(await pool.get('burst:n'), '2000');

    await pool.close();
    await waitFor(async () => (await g.names(pool)).length === 0, { message: 'connections left after close()' });
  });

  void test('min connections are warmed at ready() and kept', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'warm', min: 4, max: 6, lanes: 2, connectTimeoutMs: 1000 });
    assert.equal((await g.names(pool)).length, 0, 'lazy until ready()');
    assert.equal(await pool.ready(), 'healthy');
    assert.ok((await g.names(pool)).length >= 4, 'server shows at least min connections right after ready()');
    const s = pool.stats();
    assert.ok(s.total >= 4);
    assert.equal(s.connecting, 0);

    // A warm connection killed by the server is replaced to keep min.
    const list = String(await server().command('CLIENT', 'LIST'));
    const victim = /id=(\d+) [^\n]*name=redpool:warm-\S+/.exec(list)?.[1];
    assert.ok(victim);
    await server().command('CLIENT', 'KILL', 'ID', victim);
    await waitFor(async () => pool.stats().destroyed >= 1 && (await g.names(pool)).length >= 4, { message: 'refilled to min' });
  });

  void test('idle lease connections above min are evicted after idleTimeoutMs', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'evict', min: 3, max: 8, lanes: 2, idleTimeoutMs: 150, housekeepingIntervalMs: 25 });
    await pool.ping();
    await waitFor(() => pool.stats().total === 3 && pool.stats().connecting === 0, { message: 'warmed to min' });
    const leases = await Promise.all(Array.from({ length: 5 }, () => pool.acquire()));
    assert.equal((await g.names(pool)).length, 7);
    for (const l of leases) l.release();
    await waitFor(async () => (await g.names(pool)).length === 3 && pool.stats().destroyedBy.idle === 4, {
      timeoutMs: 3000,
      message: 'evicted down to min',
    });
    assert.equal(pool.stats().total, 3);
    await sleep(200);
    assert.equal((await g.names(pool)).length, 3, 'min is kept');
  });

  void test('the waiter queue is bounded by maxWaiting (PoolExhaustedError)', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'waiters', max: 3, lanes: 2, maxWaiting: 2, acquireTimeoutMs: 5000 });
    const held = await pool.acquire();
    const w1 = pool.acquire();
    const w2 = pool.acquire();
    await assert.rejects(pool.acquire(), (err: unknown) => {
      assert.ok(err instanceof PoolExhaustedError, String(err));
      assert.equal(err.snapshot.pending, 2);
      return true;
    });
    await assert.rejects(pool.blpop('waiters:q', 1), PoolExhaustedError, 'blocking commands share the queue');
    assert.equal(pool.stats().exhausted >= 2, true);
    held.release();
    const a = await w1;
    a.release();
    const b = await w2;
    b.release();
  });

  void test('no lease budget when max equals lanes (NoLeaseCapacityError)', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'nolease', max: 1 });
    await assert.rejects(pool.acquire(), NoLeaseCapacityError);
    await assert.rejects(pool.blpop('nolease:q', 1), NoLeaseCapacityError);
    assert.equal(await pool.ping(), 'PONG', 'shared lanes still work');
    assert.equal((await g.names(pool)).length, 1);
  });
});
