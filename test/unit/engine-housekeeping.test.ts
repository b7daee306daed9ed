/**
 * Engine unit tests, housekeeping (driven by `pool.housekeep()` after `clock.advance`): idle
 * eviction above `min`, max lifetime with ≤ 10 % jitter, validate-on-borrow for connections
 * idle past `validateAfterIdleMs`, leak detection with the acquire stack.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ReplyError, type PoolEvents } from '../../src/index.js';
import { connOf, fakePool, flush, track } from '../helpers/pool-fixtures.js';

void describe('idle eviction', () => {
  void test('idle lease connections above min are closed after idleTimeoutMs; min stays', async (t) => {
    const fp = fakePool(t, { max: 6, lanes: 1, min: 2, idleTimeoutMs: 1_000 });
    await fp.pool.ready();
    const leases = [await fp.pool.acquire(), await fp.pool.acquire(), await fp.pool.acquire()];
    for (const l of leases) l.release();
    await flush();
    assert.equal(fp.pool.stats().total, 4); // 1 lane + 3 idle
    fp.clock.advance(1_000);
    fp.pool.housekeep();
    await flush();
    assert.equal(fp.pool.stats().total, 4, 'not before idleTimeoutMs has passed');
    fp.clock.advance(1);
    fp.pool.housekeep();
    await flush();
    const s = fp.pool.stats();
    assert.equal(s.total, 2, 'evicted down to min, not below');
    assert.equal(s.destroyedBy.idle, 2);
    assert.equal(s.lanes, 1);
    assert.equal(fp.driver.open.size, 2);
  });

  void test('idleTimeoutMs 0 disables eviction', async (t) => {
    const fp = fakePool(t, { max: 4, lanes: 1, min: 0, idleTimeoutMs: 0 });
    const l = await fp.pool.acquire();
    l.release();
    fp.clock.advance(10_000_000);
    fp.pool.housekeep();
    await flush();
    assert.equal(fp.pool.stats().idle, 1);
  });
});

void describe('max lifetime', () => {
  void test('connections retire between 90 % and 100 % of maxLifetimeMs (jitter ≤ 10 %) and are replaced', async (t) => {
    const fp = fakePool(t, { max: 8, lanes: 1, min: 6, maxLifetimeMs: 10_000 });
    await fp.pool.ready();
    await flush();
    assert.equal(fp.pool.stats().total, 6);
    const first = new Set(fp.driver.open);
    fp.clock.advance(9_000); // below the earliest possible retirement (10 % jitter)
    fp.pool.housekeep();
    await flush();
    assert.equal(fp.pool.stats().destroyedBy.lifetime, 0);
    fp.clock.advance(1_000); // every one is due now
    for (let i = 0; i < 3; i++) {
      fp.pool.housekeep(); // lanes retire one per pass
      await flush();
    }
    const s = fp.pool.stats();
    assert.equal(s.destroyedBy.lifetime, 6);
    assert.ok([...first].every((c) => c.closed));
    assert.equal(s.total, 6, 'refilled to min');
    assert.equal(s.lanes, 1);
  });

  void test('the jitter spreads expiry: with random() = 0.999… a connection retires at 90 %', async (t) => {
    t.mock.method(Math, 'random', () => 0.999_999);
    const fp = fakePool(t, { max: 4, lanes: 1, min: 0, maxLifetimeMs: 10_000 });
    const l = await fp.pool.acquire();
    const conn = await connOf(fp, l);
    l.release();
    fp.clock.advance(8_999);
    fp.pool.housekeep();
    await flush();
    assert.equal(fp.pool.stats().destroyedBy.lifetime, 0);
    fp.clock.advance(2);
    fp.pool.housekeep();
    await flush();
    assert.equal(conn.closed, true);
    assert.equal(fp.pool.stats().destroyedBy.lifetime, 2, 'the lease connection and the lane');
  });

  void test('a lease past its lifetime is retired on release, not returned idle', async (t) => {
    const fp = fakePool(t, { max: 4, lanes: 1, min: 0, maxLifetimeMs: 10_000 });
    const l = await fp.pool.acquire();
    const conn = await connOf(fp, l);
    fp.clock.advance(10_000);
    l.release();
    await flush();
    assert.equal(conn.closed, true);
    assert.equal(fp.pool.stats().destroyedBy.lifetime, 1);
    assert.equal(fp.pool.stats().idle, 0);
  });
});

void describe('validate on borrow', () => {
  void test('a connection idle less than validateAfterIdleMs is handed out without a PING', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0, validateAfterIdleMs: 500 });
    (await fp.pool.acquire()).release();
    await flush();
    fp.clock.advance(500);
    const pings = fp.script.count('ping');
    (await fp.pool.acquire()).release();
    assert.equal(fp.script.count('ping'), pings);
  });

  void test('a connection idle longer is PINGed first and handed out when alive', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0, validateAfterIdleMs: 500 });
    const a = await fp.pool.acquire();
    const conn = await connOf(fp, a);
    a.release();
    await flush();
    fp.clock.advance(501);
    const b = await fp.pool.acquire();
    assert.equal(await connOf(fp, b), conn);
    assert.ok(fp.script.calls.some((c) => c.name === 'ping' && c.conn === conn));
    b.release();
  });

  void test('a dead idle connection is replaced: the caller still gets a live one', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0, validateAfterIdleMs: 500 });
    const a = await fp.pool.acquire();
    const dead = await connOf(fp, a);
    a.release();
    await flush();
    fp.script.on(
      (name, _args, conn) => name === 'ping' && conn === dead,
      () => {
        throw new ReplyError('ERR server gone', 'PING');
      },
    );
    fp.clock.advance(501);
    const b = await fp.pool.acquire();
    const live = await connOf(fp, b);
    assert.notEqual(live, dead);
    assert.equal(dead.closed, true);
    assert.equal(await b.get('x'), null);
    assert.equal(fp.pool.stats().destroyedBy.validation, 1);
    b.release();
  });

  void test('a validation PING that never answers is abandoned after its timeout and replaced', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0, validateAfterIdleMs: 500, connectTimeoutMs: 400, acquireTimeoutMs: 5_000 });
    const a = await fp.pool.acquire();
    const dead = await connOf(fp, a);
    a.release();
    await flush();
    fp.script.freeze(dead);
    fp.clock.advance(501);
    const b = track(fp.pool.acquire());
    await flush();
    assert.equal(b.settled, false);
    fp.clock.advance(400);
    await flush();
    assert.ok(b.value, String(b.error));
    assert.notEqual(await connOf(fp, b.value), dead);
    assert.equal(dead.closed, true);
    b.value.release();
  });
});

void describe('leak detection', () => {
  void test('a lease held past leakDetectionMs is reported once with the stack of its acquire', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0, leakDetectionMs: 2_000 });
    const leaks: Array<PoolEvents['lease:leak']> = [];
    fp.pool.on('lease:leak', (e) => leaks.push(e));
    const lease = await acquireHere(fp.pool);
    fp.clock.advance(2_000);
    fp.pool.housekeep();
    assert.equal(leaks.length, 0);
    fp.clock.advance(1);
    fp.pool.housekeep();
    fp.clock.advance(5_000);
    fp.pool.housekeep();
    assert.equal(leaks.length, 1, 'reported once');
    assert.equal(leaks[0]!.id, lease.id);
    assert.equal(leaks[0]!.heldMs, 2_001);
    assert.match(leaks[0]!.stack, /acquireHere/);
    assert.match(leaks[0]!.stack, /engine-housekeeping\.test/);
    lease.release();
  });

  void test('a withConnection callback that never settles is reported as a leak', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0, leakDetectionMs: 2_000 });
    const leaks: Array<PoolEvents['lease:leak']> = [];
    fp.pool.on('lease:leak', (e) => leaks.push(e));
    const never = track(fp.pool.withConnection(() => new Promise(() => undefined)));
    await flush();
    fp.clock.advance(2_001);
    fp.pool.housekeep();
    assert.equal(leaks.length, 1);
    assert.match(leaks[0]!.stack, /engine-housekeeping\.test/);
    assert.equal(never.settled, false);
  });

  void test('leak detection is off by default (no stack is captured)', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const leaks: unknown[] = [];
    fp.pool.on('lease:leak', (e) => leaks.push(e));
    const lease = await fp.pool.acquire();
    assert.equal(lease.acquireStack, undefined);
    fp.clock.advance(1_000_000);
    fp.pool.housekeep();
    assert.equal(leaks.length, 0);
    lease.release();
  });
});

async function acquireHere(pool: ReturnType<typeof fakePool>['pool']): ReturnType<typeof pool.acquire> {
  return pool.acquire();
}
