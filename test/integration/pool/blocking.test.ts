/**
 * Blocking commands on the pool's shared API run on exclusive leases, so the shared lanes are
 * never stalled: GET/SET traffic completes while BLPOP callers block, lease capacity is bounded
 * (extra blocking callers wait FIFO or fail with a typed acquire timeout), and a blocking
 * command's own block time is added to its deadline.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AcquireTimeoutError, type Pool } from '../../../src/index.js';
import { leakGuard } from '../../helpers/leaks.js';
import { useRedis, waitFor } from '../../helpers/redis.js';

/** `callers` concurrent callers, each doing SET then GET `rounds` times; resolves when all are done. */
async function getSetTraffic(pool: Pool, callers: number, rounds: number, prefix: string): Promise<number> {
  let ok = 0;
  await Promise.all(
    Array.from({ length: callers }, async (_, i) => {
      for (let r = 0; r < rounds; r++) {
        const key = `${prefix}:${i}`;
        const value = `${i}:${r}`;
        assert.equal(await pool.set(key, value), 'OK');
        assert.equal(await pool.get(key), value);
        ok++;
      }
    }),
  );
  return ok;
}

async function blockedClients(pool: Pool): Promise<number> {
  const info = String(await pool.info('clients'));
  return Number(/blocked_clients:(\d+)/.exec(info)?.[1] ?? NaN);
}

void describe('blocking commands run on leases; lanes are never stalled', () => {
  const server = useRedis();

  void test('20 BLPOP callers block on leases while 500 GET/SET callers keep completing', async (t) => {
    const g = leakGuard(t, server());
    const blockS = 2;
    const pool = g.pool({ label: 'blpop20', max: 24, lanes: 2, min: 0 });
    await pool.ping();

    let settledEarly = 0;
    const started = performance.now();
    const pops = Array.from({ length: 20 }, () =>
      pool.blpop('jobs', blockS).finally(() => {
        settledEarly++;
      }),
    );
    // Every BLPOP holds its own lease while it blocks on the server.
    await waitFor(() => pool.stats().leased === 20, { timeoutMs: 3000, message: 'BLPOPs did not all get leases' });
    await waitFor(async () => (await blockedClients(pool)) === 20, { timeoutMs: 3000 });
    const s = pool.stats();
    assert.equal(s.leased, 20);
    assert.equal(s.lanes, 2);
    assert.ok(s.total <= 24, `total ${s.total} within max`);
    assert.equal(settledEarly, 0, 'no BLPOP settled yet');

    const trafficStart = performance.now();
    const completed = await getSetTraffic(pool, 500, 3, 'blpop20');
    const trafficMs = performance.now() - trafficStart;
    const sinceBlock = performance.now() - started;
    assert.equal(completed, 1500);
    t.diagnostic(`1500 SET+GET rounds by 500 callers: ${trafficMs.toFixed(0)} ms while 20 BLPOP (${blockS} s) blocked`);
    assert.equal(settledEarly, 0, 'all GET/SET callers finished while every BLPOP was still blocked');
    assert.ok(
      sinceBlock < blockS * 1000,
      `GET/SET done ${sinceBlock.toFixed(0)} ms after the BLPOPs started, inside their ${blockS} s block`,
    );
    assert.ok(trafficMs < (blockS * 1000) / 2, `1500 GET/SET round trips took ${trafficMs.toFixed(0)} ms, well under the BLPOP timeout`);
    assert.equal(pool.stats().leased, 20, 'BLPOPs still hold their leases');

    // Feed the blocked callers: every one of them gets exactly one job.
    const jobs = Array.from({ length: 20 }, (_, i) => `job-${i}`);
    await pool.rpush('jobs', ...jobs);
    const results = await Promise.all(pops);
    assert.deepEqual(results.map((r) => r?.[1]).sort(), [...jobs].sort());
    assert.ok(results.every((r) => r?.[0] === 'jobs'));
    await waitFor(() => pool.stats().leased === 0);
    assert.equal(pool.stats().idle, 20, 'the lease connections went back to the idle set');
  });

  void test('BLPOP callers beyond lease capacity time out with AcquireTimeoutError while GET/SET still flow', async (t) => {
    const g = leakGuard(t, server());
    // max 6 with 2 lanes: at most 4 leases.
    const pool = g.pool({ label: 'blpopcap', max: 6, lanes: 2, min: 0, acquireTimeoutMs: 400 });
    const exhausted: number[] = [];
    pool.on('pool:exhausted', (e) => exhausted.push(e.pending));
    await pool.ping();

    const blockS = 1;
    const started = performance.now();
    const outcomes = Array.from({ length: 10 }, () =>
      pool.blpop('capjobs', blockS).then(
        (value) => ({ value, error: undefined, at: performance.now() - started }),
        (error: unknown) => ({ value: undefined, error, at: performance.now() - started }),
      ),
    );
    await waitFor(() => pool.stats().leased === 4 && pool.stats().pending === 6, { timeoutMs: 3000 });
    assert.ok(exhausted.length > 0, 'pool:exhausted was emitted');

    const trafficStart = performance.now();
    assert.equal(await getSetTraffic(pool, 500, 2, 'blpopcap'), 1000);
    const trafficMs = performance.now() - trafficStart;
    t.diagnostic(`1000 SET+GET rounds by 500 callers: ${trafficMs.toFixed(0)} ms with 6 BLPOP callers queued for a lease`);
    assert.ok(
      trafficMs < blockS * 1000,
      `GET/SET took ${trafficMs.toFixed(0)} ms with the lease budget exhausted, less than the BLPOP timeout`,
    );

    const results = await Promise.all(outcomes);
    const timedOut = results.filter((r) => r.error !== undefined);
    const served = results.filter((r) => r.error === undefined);
    assert.equal(timedOut.length, 6);
    assert.equal(served.length, 4);
    for (const r of timedOut) {
      assert.ok(r.error instanceof AcquireTimeoutError, String(r.error));
      assert.equal(r.error.code, 'ERR_ACQUIRE_TIMEOUT');
      assert.equal(r.error.outcome, 'not-sent');
      assert.equal(r.error.snapshot.leased, 4, 'snapshot shows the 4 busy leases');
      assert.ok(r.at < blockS * 1000, `extra caller failed after ${r.at.toFixed(0)} ms, at its acquire timeout, before the BLPOP timeout`);
    }
    for (const r of served) {
      assert.equal(r.value, null, 'BLPOP on an empty list times out with null');
      assert.ok(r.at >= blockS * 1000 - 50, `served BLPOP returned after ${r.at.toFixed(0)} ms`);
    }
    const s = pool.stats();
    assert.equal(s.acquireTimeouts, 6);
    assert.equal(s.commandTimeouts, 0);
    assert.ok(s.total <= 6);
  });

  void test('BLPOP callers beyond lease capacity wait and are served when a lease frees up', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'blpopfifo', max: 6, lanes: 2, min: 0, acquireTimeoutMs: 5000 });
    await pool.ping();
    const pops = Array.from({ length: 6 }, () => pool.blpop('fifojobs', 2));
    await waitFor(() => pool.stats().leased === 4 && pool.stats().pending === 2, { timeoutMs: 3000 });
    const jobs = Array.from({ length: 6 }, (_, i) => `j${i}`);
    await pool.rpush('fifojobs', ...jobs);
    const results = await Promise.all(pops);
    assert.deepEqual(results.map((r) => r?.[1]).sort(), jobs);
    assert.equal(pool.stats().acquireTimeouts, 0);
  });

  void test('the block timeout is added to the deadline: BLPOP 1 s with commandTimeoutMs 500 resolves null', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'deadline', max: 8, min: 0, commandTimeoutMs: 500 });
    await pool.ping();
    const timed = async <T>(p: Promise<T>): Promise<{ value: T; ms: number }> => {
      const s = performance.now();
      const value = await p;
      return { value, ms: performance.now() - s };
    };
    const [blpop, bzpop, xread, onLease] = await Promise.all([
      timed(pool.blpop('dl:empty', 1)),
      timed(pool.bzpopmin('dl:zempty', 1)),
      timed(pool.xread('BLOCK', 1000, 'STREAMS', 'dl:stream', '$')),
      timed(pool.withConnection((c) => c.brpop('dl:empty2', 1))),
    ]);
    for (const [name, r] of Object.entries({ blpop, bzpop, xread, onLease })) {
      assert.equal(r.value, null, `${name} resolves null`);
      assert.ok(r.ms >= 950, `${name} waited its full block time (${r.ms.toFixed(0)} ms), not the 500 ms command timeout`);
    }
    assert.equal(pool.stats().commandTimeouts, 0);
  });

  void test('every blocking command family is routed to a lease', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'routing', max: 6, min: 0 });
    await pool.rpush('r:l', 'a', 'b', 'c', 'd');
    await pool.zadd('r:z', 1, 'm1', 2, 'm2');
    await pool.xadd('r:s', '*', 'f', 'v');
    const before = pool.stats().acquires;
    const [blpop, brpop, blmove, bzpopmin, bzpopmax, xread] = await Promise.all([
      pool.blpop('r:l', 1),
      pool.brpop('r:l', 1),
      pool.blmove('r:l', 'r:l2', 'LEFT', 'RIGHT', 1),
      pool.bzpopmin('r:z', 1),
      pool.bzpopmax('r:z', 1),
      pool.xread('BLOCK', 100, 'STREAMS', 'r:s', '0'),
    ]);
    assert.ok(blpop && brpop && blmove && bzpopmin && bzpopmax && xread);
    assert.deepEqual(bzpopmin.slice(0, 2), ['r:z', 'm1']);
    assert.deepEqual(bzpopmax.slice(0, 2), ['r:z', 'm2']);
    assert.equal(xread[0]?.[0], 'r:s');
    assert.equal(pool.stats().acquires - before, 6, 'six leases were granted');
    // Without BLOCK, XREAD is an ordinary command and stays on a lane.
    assert.ok(await pool.xread('STREAMS', 'r:s', '0'));
    assert.equal(pool.stats().acquires - before, 6);
    await pool.del('r:l', 'r:l2', 'r:z', 'r:s');
  });
});
