/**
 * Engine unit tests, exclusive leases: acquire timeouts with a snapshot and the connect error
 * as cause, FIFO waiters, the bounded waiter queue, AbortSignal, the one budget (lanes +
 * leases ≤ max, leases ≤ max − lanes), reset or destruction on release, withConnection.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { AcquireTimeoutError, ConnectionError, type Lease, type PoolOptions } from '../../src/index.js';
import { connOf, fakePool, flush, rejectsWith, track } from '../helpers/pool-fixtures.js';

void describe('acquire', () => {
  void test('a lease comes from a new connection, then from the idle one (hit)', async (t) => {
    const fp = fakePool(t, { max: 4, lanes: 1, min: 0 });
    const a = await fp.pool.acquire();
    assert.equal(fp.pool.stats().leased, 1);
    const conn = await connOf(fp, a);
    a.release();
    await flush();
    const b = await fp.pool.acquire();
    assert.equal(await connOf(fp, b), conn, 'the idle connection was reused');
    b.release();
    const s = fp.pool.stats();
    assert.equal(s.acquires, 2);
    assert.equal(s.misses, 1);
    assert.equal(s.hits, 1);
    assert.equal(s.leased, 0);
  });

  void test('acquire timeout rejects with AcquireTimeoutError carrying a snapshot and the last connect error as cause', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0, failureThreshold: 100 });
    fp.driver.behaviour = 'fail';
    const p = track(fp.pool.acquire({ timeoutMs: 250 }));
    await flush();
    assert.equal(p.settled, false);
    fp.clock.advance(100); // one reconnect backoff: another attempt fails
    await flush();
    fp.clock.advance(150);
    await flush();
    const err = p.error as AcquireTimeoutError;
    assert.ok(err instanceof AcquireTimeoutError, String(err));
    assert.equal(err.code, 'ERR_ACQUIRE_TIMEOUT');
    assert.equal(err.waitedMs, 250);
    for (const k of ['total', 'idle', 'busy', 'pending', 'lanes', 'leased', 'connecting'] as const)
      assert.equal(typeof err.snapshot[k], 'number', k);
    assert.equal(err.snapshot.pending, 0, 'the waiter has left the queue');
    assert.match(err.message, /total=\d+ idle=\d+ busy=\d+/);
    const cause = err.cause as ConnectionError;
    assert.ok(cause instanceof ConnectionError, `cause: ${String(cause)}`);
    assert.match(cause.message, /ECONNREFUSED/);
    const s = fp.pool.stats();
    assert.equal(s.acquireTimeouts, 1);
    assert.equal(s.pending, 0);
  });

  void test('an acquire timeout with healthy connects has no cause and a snapshot showing the leases', async (t) => {
    const fp = fakePool(t, { max: 2, lanes: 1, min: 0 });
    const held = await fp.pool.acquire();
    const p = track(fp.pool.acquire({ timeoutMs: 50 }));
    await flush();
    fp.clock.advance(50);
    await flush();
    const err = p.error as AcquireTimeoutError;
    assert.ok(err instanceof AcquireTimeoutError);
    assert.equal(err.cause, undefined);
    assert.equal(err.snapshot.leased, 1);
    assert.equal(err.snapshot.busy, 1);
    held.release();
  });

  void test('lease waiters are served in FIFO order', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const first = [await fp.pool.acquire(), await fp.pool.acquire()];
    assert.equal(fp.pool.stats().leased, 2);
    const order: number[] = [];
    const waiters = [0, 1, 2, 3].map((i) =>
      fp.pool.acquire().then((l) => {
        order.push(i);
        return l;
      }),
    );
    await flush();
    assert.equal(fp.pool.stats().pending, 4);
    first[0]!.release();
    await flush();
    first[1]!.release();
    await flush();
    assert.deepEqual(order, [0, 1]);
    (await waiters[1]!).release();
    await flush();
    (await waiters[0]!).release();
    await flush();
    assert.deepEqual(order, [0, 1, 2, 3]);
    for (const w of waiters.slice(2)) (await w).release();
    assert.equal(fp.pool.stats().pending, 0);
  });

  void test('maxWaiting bounds the queue: the next caller gets PoolExhaustedError at once', async (t) => {
    const fp = fakePool(t, { max: 2, lanes: 1, min: 0, maxWaiting: 2 });
    const held = await fp.pool.acquire();
    const w1 = track(fp.pool.acquire());
    const w2 = track(fp.pool.acquire());
    await flush();
    const err = await rejectsWith(fp.pool.acquire(), 'ERR_POOL_EXHAUSTED', 'PoolExhaustedError');
    assert.equal((err.snapshot as { pending: number }).pending, 2);
    assert.equal(fp.pool.stats().pending, 2, 'the refused caller did not join the queue');
    held.release();
    await flush();
    assert.ok(w1.settled && !w2.settled);
    (w1.value as Lease).release();
    await flush();
    (w2.value as Lease).release();
  });

  void test('a pre-aborted signal rejects with AcquireAbortedError and nothing queues', async (t) => {
    const fp = fakePool(t, { max: 2, lanes: 1, min: 0 });
    const reason = new Error('caller gave up');
    const err = await rejectsWith(fp.pool.acquire({ signal: AbortSignal.abort(reason) }), 'ERR_ACQUIRE_ABORTED', 'AcquireAbortedError');
    assert.equal(err.cause, reason);
    assert.equal(fp.pool.stats().pending, 0);
  });

  void test('aborting while waiting rejects and removes the waiter from the queue (no timer left)', async (t) => {
    const fp = fakePool(t, { max: 2, lanes: 1, min: 0 });
    const held = await fp.pool.acquire();
    const timersBefore = fp.clock.pendingTimers;
    const ac = new AbortController();
    const p = track(fp.pool.acquire({ signal: ac.signal, timeoutMs: 10_000 }));
    const next = track(fp.pool.acquire());
    await flush();
    assert.equal(fp.pool.stats().pending, 2);
    ac.abort();
    await flush();
    await rejectsWith(p.promise, 'ERR_ACQUIRE_ABORTED');
    assert.equal(fp.pool.stats().pending, 1);
    assert.ok(fp.clock.pendingTimers <= timersBefore + 1, 'the aborted waiter cleared its timer');
    held.release();
    await flush();
    assert.ok(next.settled && next.value, 'the next waiter got the connection');
    (next.value as Lease).release();
  });
});

void describe('one budget', () => {
  void test('lanes + leases never exceed max, and leases never take the lanes’ share', async (t) => {
    const fp = fakePool(t, { max: 4, lanes: 2, min: 0 });
    const leases = [await fp.pool.acquire(), await fp.pool.acquire()];
    const third = track(fp.pool.acquire());
    await fp.pool.set('k', 'v'); // lanes open too
    await flush();
    const s = fp.pool.stats();
    assert.equal(s.leased, 2);
    assert.equal(s.lanes, 2);
    assert.equal(s.total, 4);
    assert.equal(third.settled, false, 'the third lease waits: max - lanes = 2');
    assert.equal(s.pending, 1);
    assert.equal(fp.driver.open.size, 4);
    leases[0]!.release();
    await flush();
    (third.value as Lease).release();
    leases[1]!.release();
  });

  void test('leases waiting do not make the pool open more than max - lanes lease connections', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const waiters = [0, 1, 2, 3, 4].map(() => track(fp.pool.acquire()));
    await flush();
    assert.equal(fp.pool.stats().leased, 2);
    assert.ok(fp.pool.stats().total <= 3);
    assert.ok(fp.driver.attempts <= 3, `attempts ${fp.driver.attempts}`);
    for (let i = 0; i < 5; i++) {
      for (const w of waiters) if (w.settled && w.value && !w.value.released) w.value.release();
      await flush();
    }
    assert.ok(waiters.every((w) => w.settled && w.value));
  });

  void test('NoLeaseCapacityError when lanes == max', async (t) => {
    const fp = fakePool(t, { max: 2, lanes: 2, min: 0 });
    const err = await rejectsWith(fp.pool.acquire(), 'ERR_NO_LEASE_CAPACITY', 'NoLeaseCapacityError');
    assert.match(err.message, /max=2 and lanes=2/);
    await rejectsWith(
      fp.pool.withConnection(() => 1),
      'ERR_NO_LEASE_CAPACITY',
    );
    assert.equal(await fp.pool.set('k', 'v'), 'OK', 'shared commands still work');
  });
});

void describe('release', () => {
  async function leaseLog(
    fp: ReturnType<typeof fakePool>,
    use: (l: Lease) => Promise<unknown>,
  ): Promise<{ log: string[]; closed: boolean }> {
    const lease = await fp.pool.acquire();
    const conn = await connOf(fp, lease);
    await use(lease);
    const afterUse = conn.log.length;
    lease.release();
    await flush();
    return { log: conn.log.slice(afterUse).map((c) => c.join(' ')), closed: conn.closed };
  }

  void test('WATCH is undone with UNWATCH on release', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const r = await leaseLog(fp, (l) => l.watch('k'));
    assert.deepEqual(r.log, ['unwatch']);
    assert.equal(r.closed, false);
    assert.equal(fp.pool.stats().idle, 1, 'the clean connection is back in the pool');
  });

  void test('an open MULTI is discarded (and WATCH undone) on release', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const r = await leaseLog(fp, async (l) => {
      await l.watch('k');
      await l.call('MULTI');
    });
    assert.deepEqual(r.log, ['discard', 'unwatch']);
    assert.equal(fp.pool.stats().idle, 1);
  });

  void test('SELECT is undone by selecting the pool db again', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0, db: 2 });
    const r = await leaseLog(fp, (l) => l.select(5));
    assert.deepEqual(r.log, ['select 2']);
    assert.equal(fp.pool.stats().idle, 1);
  });

  void test('a lease with nothing to reset sends nothing on release', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const r = await leaseLog(fp, (l) => l.set('a', '1'));
    assert.deepEqual(r.log, []);
  });

  for (const [label, use] of [
    ['SUBSCRIBE', (l: Lease) => l.subscribe('ch')],
    ['MONITOR', (l: Lease) => l.call('MONITOR')],
    ['CLIENT REPLY', (l: Lease) => l.client('REPLY', 'OFF')],
  ] as const) {
    void test(`a lease that used ${label} is destroyed on release, not reused`, async (t) => {
      const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
      const lease = await fp.pool.acquire();
      const conn = await connOf(fp, lease);
      await (use as (l: Lease) => Promise<unknown>)(lease);
      lease.release();
      await flush();
      assert.equal(conn.closed, true);
      const s = fp.pool.stats();
      assert.equal(s.destroyedBy.dirty, 1);
      assert.equal(s.idle, 0);
      const next = await fp.pool.acquire();
      assert.notEqual(await connOf(fp, next), conn);
      next.release();
    });
  }

  void test('a failing reset destroys the connection instead of handing it on', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    fp.script.on('unwatch', () => {
      throw new ConnectionError('boom', 'unknown');
    });
    const r = await leaseLog(fp, (l) => l.watch('k'));
    assert.deepEqual(r.log, ['unwatch']);
    assert.equal(fp.pool.stats().destroyedBy.dirty, 1);
    assert.equal(fp.pool.stats().idle, 0);
  });
});

void describe('withConnection', () => {
  void test('returns the callback value and releases', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const v = await fp.pool.withConnection(async (c) => {
      await c.set('a', '1');
      return c.get('a');
    });
    assert.equal(v, '1');
    assert.equal(fp.pool.stats().leased, 0);
    assert.equal(fp.pool.stats().idle, 1);
  });

  void test('a callback that throws synchronously still releases', async (t) => {
    const fp = fakePool(t, { max: 2, lanes: 1, min: 0 });
    const boom = new Error('sync boom');
    await assert.rejects(
      fp.pool.withConnection(() => {
        throw boom;
      }),
      (e) => e === boom,
    );
    const s = fp.pool.stats();
    assert.equal(s.leased, 0);
    assert.equal(s.idle, 1);
    // Capacity is back: with max - lanes = 1, another lease is granted at once.
    const again = await fp.pool.acquire({ timeoutMs: 1 });
    again.release();
  });

  void test('a callback that rejects still releases', async (t) => {
    const fp = fakePool(t, { max: 2, lanes: 1, min: 0 });
    await assert.rejects(
      fp.pool.withConnection(async () => Promise.reject(new Error('async boom'))),
      /async boom/,
    );
    assert.equal(fp.pool.stats().leased, 0);
    (await fp.pool.acquire({ timeoutMs: 1 })).release();
  });

  async function leaveInFlight(t: TestContext, start: (c: Lease) => Promise<unknown>, options: Partial<PoolOptions> = {}): Promise<void> {
    const fp = fakePool(t, { max: 2, lanes: 1, min: 0, ...options });
    fp.script.hang('blpop');
    fp.script.hang((name, args) => name === 'get' && args[0] === 'slow');
    let conn: Awaited<ReturnType<typeof connOf>> | undefined;
    let pending: Promise<unknown> | undefined;
    await fp.pool.withConnection(async (c) => {
      conn = await connOf(fp, c);
      pending = start(c).catch((e: unknown) => e);
    });
    await flush();
    assert.equal(conn!.closed, true, 'the connection with a command in flight was destroyed');
    assert.equal(fp.pool.stats().destroyedBy.dirty, 1);
    assert.equal(fp.pool.stats().leased, 0);
    const err = (await pending) as ConnectionError;
    assert.equal(err.outcome, 'unknown');
  }

  void test('a callback that leaves a command in flight: the connection is destroyed (dirty), not reused', async (t) => {
    await leaveInFlight(t, (c) => c.get('slow'));
  });

  void test('same with a finite BLPOP left in flight', async (t) => {
    await leaveInFlight(t, (c) => c.blpop('q', 5));
  });

  void test('same with BLPOP blocking forever (timeout 0) left in flight', async (t) => {
    await leaveInFlight(t, (c) => c.blpop('q', 0));
  });

  void test('same with commandTimeoutMs: Infinity', async (t) => {
    await leaveInFlight(t, (c) => c.get('slow'), { commandTimeoutMs: Infinity });
  });
});
