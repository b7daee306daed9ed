/**
 * Engine unit tests, lifecycle: close during acquire, close draining in-flight commands and
 * leases, destroy, idempotence; degraded mode (fail fast, recover by itself); ready();
 * stats counters that add up; events.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UnavailableError, type Lease, type PoolEvents } from '../../src/index.js';
import { assertFullyClosed, fakePool, flush, rejectsWith, track } from '../helpers/pool-fixtures.js';

void describe('close and destroy', () => {
  void test('close during acquire: waiters get PoolClosedError, no timers left', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const held = [await fp.pool.acquire(), await fp.pool.acquire()];
    const waiters = [0, 1, 2].map(() => track(fp.pool.acquire({ timeoutMs: 60_000 })));
    await flush();
    assert.equal(fp.pool.stats().pending, 3);
    const closed = track(fp.pool.close());
    await flush();
    for (const w of waiters) {
      assert.ok(w.settled);
      assert.equal((w.error as { code?: string }).code, 'ERR_POOL_CLOSED');
    }
    assert.equal(closed.settled, false, 'still waits for the two leases');
    for (const l of held) l.release();
    await closed.promise;
    assertFullyClosed(fp);
  });

  void test('close while connections are still being opened: all settle, 0 sockets, 0 timers', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    fp.driver.behaviour = 'hang';
    const cmd = track(fp.pool.get('k'));
    const lease = track(fp.pool.acquire());
    await flush();
    assert.equal(fp.pool.stats().connecting, 2);
    const closed = track(fp.pool.close());
    await flush();
    assert.equal((cmd.error as { code?: string }).code, 'ERR_POOL_CLOSED');
    assert.equal((lease.error as { code?: string }).code, 'ERR_POOL_CLOSED');
    // Connects in flight serve nobody once closing: they are aborted, not waited for.
    assert.equal(closed.settled, true, 'does not wait up to connectTimeoutMs for the connects in flight');
    assert.equal(fp.driver.hanging.length, 0, 'the dials were aborted');
    await closed.promise;
    assertFullyClosed(fp);
    assert.equal(fp.pool.stats().created, fp.pool.stats().destroyed);
  });

  void test('close waits for in-flight lane commands and leases, then resolves; new work is refused meanwhile', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const lease = await fp.pool.acquire();
    fp.script.park('get');
    const cmd = track(fp.pool.get('k'));
    await flush();
    const closed = track(fp.pool.close({ timeoutMs: 60_000 }));
    await flush();
    assert.equal(fp.pool.state, 'closing');
    await rejectsWith(fp.pool.set('x', '1'), 'ERR_POOL_CLOSED', 'PoolClosedError');
    await rejectsWith(fp.pool.acquire(), 'ERR_POOL_CLOSED');
    assert.equal(closed.settled, false);
    fp.script.parked[0]!.resolve('v');
    await flush();
    assert.equal(cmd.value, 'v', 'the in-flight command completed');
    assert.equal(closed.settled, false, 'still waits for the lease');
    assert.equal(await lease.set('a', '1'), 'OK', 'the lease still works while the pool drains');
    lease.release();
    await closed.promise;
    assertFullyClosed(fp);
    assert.equal(fp.pool.stats().destroyedBy.close, 2);
  });

  void test('close gives up at its deadline and destroys what is left', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const lease = await fp.pool.acquire();
    fp.script.hang('get');
    const cmd = track(fp.pool.get('k'));
    await flush();
    const closed = track(fp.pool.close({ timeoutMs: 1_000 }));
    fp.clock.advance(999);
    await flush();
    assert.equal(closed.settled, false);
    fp.clock.advance(1);
    await flush();
    assert.ok(closed.settled);
    assert.ok(cmd.settled && cmd.error, 'the abandoned command was rejected');
    assertFullyClosed(fp);
    lease.release(); // releasing after destroy is harmless
    assertFullyClosed(fp);
  });

  void test('a lease used after the pool was destroyed fails with PoolClosedError and arms no timer', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const lease = await fp.pool.acquire();
    await fp.pool.destroy();
    assertFullyClosed(fp);
    const err = await lease.get('k').catch((e: unknown) => e);
    await flush();
    assert.equal(fp.clock.pendingTimers, 0, 'timer armed after close');
    assert.equal((err as { code?: string }).code, 'ERR_POOL_CLOSED');
  });

  void test('destroy is immediate: in-flight commands fail, leases are cut, sockets closed', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const lease = await fp.pool.acquire();
    fp.script.hang('get');
    const cmd = track(fp.pool.get('k'));
    const waiter = track(fp.pool.acquire());
    const waiter2 = track(fp.pool.acquire());
    await flush();
    await fp.pool.destroy();
    await flush();
    assert.ok(cmd.settled && cmd.error);
    assert.equal((waiter2.error as { code?: string }).code, 'ERR_POOL_CLOSED');
    assert.ok(waiter.settled);
    assertFullyClosed(fp);
    lease.release();
  });

  void test('close and destroy are idempotent, in any order', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 1 });
    await fp.pool.ready();
    const a = fp.pool.close();
    const b = fp.pool.close();
    const c = fp.pool.destroy();
    await Promise.all([a, b, c]);
    await fp.pool.close();
    await fp.pool.destroy();
    assertFullyClosed(fp);
    const fp2 = fakePool(t, { max: 3, lanes: 1, min: 1 });
    await fp2.pool.ready();
    await Promise.all([fp2.pool.destroy(), fp2.pool.destroy(), fp2.pool.close()]);
    assertFullyClosed(fp2);
  });

  void test('a pool that never connected closes at once with no timers', async (t) => {
    const fp = fakePool(t, {});
    await fp.pool.close();
    assertFullyClosed(fp);
  });
});

void describe('degraded mode', () => {
  void test('after failureThreshold connect failures: unavailable, fail fast, then recover by itself', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0, failureThreshold: 2, acquireTimeoutMs: 60_000, commandTimeoutMs: 60_000 });
    const health: Array<PoolEvents['health']> = [];
    fp.pool.on('health', (e) => health.push(e));
    fp.driver.behaviour = 'fail';
    const first = track(fp.pool.get('k'));
    await flush();
    assert.equal(fp.pool.stats().health, 'degraded');
    fp.clock.advance(100); // reconnect backoff: second failure
    await flush();
    assert.equal(fp.pool.stats().health, 'unavailable');
    const e1 = first.error as UnavailableError;
    assert.ok(e1 instanceof UnavailableError, `waiting command failed fast, got ${String(e1)}`);
    assert.match(String((e1.cause as Error).message), /ECONNREFUSED/);

    // New work fails at once, without queueing.
    await rejectsWith(fp.pool.get('k'), 'ERR_UNAVAILABLE', 'UnavailableError');
    await rejectsWith(fp.pool.acquire(), 'ERR_UNAVAILABLE');
    assert.equal(fp.pool.stats().pending, 0);

    // Only a background probe dials while unavailable (no storm).
    const attempts = fp.driver.attempts;
    fp.clock.advance(100);
    await flush();
    assert.equal(fp.driver.attempts, attempts + 1);

    fp.driver.behaviour = 'ok';
    fp.clock.advance(100);
    await flush();
    assert.equal(fp.pool.stats().health, 'healthy');
    assert.equal(await fp.pool.get('k'), null);
    assert.deepEqual(
      health.map((h) => `${h.from}->${h.to}`),
      ['healthy->degraded', 'degraded->unavailable', 'unavailable->healthy'],
    );
  });

  void test('ready() rejects with the connect error when onUnavailable is "fail"', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, failureThreshold: 2 });
    fp.driver.behaviour = 'fail';
    const r = track(fp.pool.ready());
    for (let i = 0; i < 5 && !r.settled; i++) {
      await flush();
      fp.clock.advance(100);
    }
    const err = await rejectsWith(r.promise, 'ERR_CONNECTION', 'ConnectionError');
    assert.match(err.message, /ECONNREFUSED/);
  });

  void test('ready() resolves "unavailable" with onUnavailable "degrade", and the pool recovers later', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, failureThreshold: 2, onUnavailable: 'degrade' });
    fp.driver.behaviour = 'fail';
    const r = track(fp.pool.ready());
    for (let i = 0; i < 5 && !r.settled; i++) {
      await flush();
      fp.clock.advance(100);
    }
    assert.equal(r.value, 'unavailable');
    fp.driver.behaviour = 'ok';
    // A probe may already be failing in the background; the next one succeeds.
    for (let i = 0; i < 5 && fp.pool.stats().health !== 'healthy'; i++) {
      fp.clock.advance(100);
      await flush();
    }
    assert.equal(fp.pool.stats().health, 'healthy');
    assert.equal(await fp.pool.ready(), 'healthy');
  });

  void test('ready() resolves "degraded" with onUnavailable "degrade" when connects fail below the threshold', async (t) => {
    const fp = fakePool(t, {
      max: 3,
      lanes: 1,
      failureThreshold: 1_000,
      onUnavailable: 'degrade',
      acquireTimeoutMs: 1_000,
      connectTimeoutMs: 1_000,
    });
    fp.driver.behaviour = 'fail';
    const r = track(fp.pool.ready());
    for (let i = 0; i < 20 && !r.settled; i++) {
      await flush();
      fp.clock.advance(100);
    }
    assert.equal(r.value, 'degraded');
  });

  for (const step of ['ping', 'config', 'get'] as const) {
    void test(`destroy() while ready() waits for its ${step.toUpperCase()}: ready() rejects with ERR_POOL_CLOSED, not the cut command's error`, async (t) => {
      const fp = fakePool(t, { max: 3, lanes: 1, min: 1, validateWrites: step === 'get' });
      fp.script.park(step, 1);
      const r = track(fp.pool.ready());
      await flush();
      assert.equal(fp.script.parked.length, 1, `${step} is in flight`);
      void fp.pool.destroy(); // fails the in-flight command with ERR_CONNECTION "connection lost"
      await flush();
      await rejectsWith(r.promise, 'ERR_POOL_CLOSED', 'PoolClosedError');
    });
  }

  void test('ready() and health() accept only PONG: a server answering +OK to everything is not healthy', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 1 });
    fp.script.on('ping', () => 'OK');
    const err = await rejectsWith(fp.pool.ready(), 'ERR_CONNECTION');
    assert.match(err.message, /not PONG/);
    const h = await fp.pool.health({ timeoutMs: 100 });
    assert.notEqual(h.status, 'healthy');
    assert.equal(h.latencyMs, null);
  });

  void test('validateWrites compares what it read with what it wrote', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 1, validateWrites: true });
    // A cache in front that acknowledges writes but serves a constant.
    fp.script.on('set', () => 'OK');
    fp.script.on('get', () => 'ok');
    const err = await rejectsWith(fp.pool.ready(), 'ERR_CONNECTION');
    assert.match(err.message, /not what it wrote/);
  });

  void test('validation and health-check PINGs answered with anything but PONG destroy the connection', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 2, healthCheckIntervalMs: 1_000 });
    await fp.pool.ready();
    assert.equal(fp.pool.stats().idle, 1);
    fp.script.on('ping', () => 'OK');
    fp.clock.advance(1_500);
    fp.pool.housekeep();
    await flush();
    assert.ok(
      fp.pool.stats().destroyedBy.validation >= 1,
      `kept a connection that answered PING with +OK: ${JSON.stringify(fp.pool.stats().destroyedBy)}`,
    );
  });

  void test('ready() warms min connections', async (t) => {
    const fp = fakePool(t, { max: 6, lanes: 2, min: 4 });
    assert.equal(await fp.pool.ready(), 'healthy');
    const s = fp.pool.stats();
    assert.equal(s.total, 4);
    assert.equal(s.lanes, 2);
    assert.equal(s.idle, 2);
  });
});

void describe('stats and events', () => {
  void test('counters add up and events fire', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0, maxWaiting: 1 });
    const events: string[] = [];
    for (const name of ['connection:created', 'connection:closed', 'lease:acquired', 'lease:released', 'pool:exhausted'] as const)
      fp.pool.on(name, () => events.push(name));
    const a = await fp.pool.acquire(); // miss
    const b = await fp.pool.acquire(); // miss
    const c = track(fp.pool.acquire()); // miss, waits: exhausted
    await flush();
    await rejectsWith(fp.pool.acquire(), 'ERR_POOL_EXHAUSTED'); // queue full
    a.release();
    await flush();
    b.destroy();
    await flush();
    (c.value as Lease).release();
    await flush();
    const d = await fp.pool.acquire(); // hit
    d.release();
    await fp.pool.set('k', 'v');
    await fp.pool.get('k');
    await flush();

    const s = fp.pool.stats();
    assert.equal(s.acquires, 4);
    assert.equal(s.misses, 3);
    assert.equal(s.hits, 1);
    assert.equal(s.acquires, s.hits + s.misses);
    assert.equal(s.exhausted, 2, 'one wait at full capacity + one refusal');
    assert.ok(s.waits >= s.acquires);
    assert.equal(s.created, 3);
    assert.equal(s.destroyed, 1);
    assert.equal(s.destroyedBy.discarded, 1);
    assert.equal(
      Object.values(s.destroyedBy).reduce((x, y) => x + y, 0),
      s.destroyed,
    );
    assert.equal(
      Object.values(s.errorsBy).reduce((x, y) => x + y, 0),
      s.errors,
    );
    assert.equal(s.created - s.destroyed, s.total);
    assert.equal(s.idle + s.lanes + s.leased + s.connecting, s.total);
    assert.ok(s.commands >= 2);
    assert.equal(s.leased, 0);
    assert.equal(s.busy, 0);
    assert.equal(s.utilization, 0);
    assert.equal(events.filter((e) => e === 'lease:acquired').length, 4);
    assert.equal(events.filter((e) => e === 'lease:released').length, 4);
    assert.equal(events.filter((e) => e === 'connection:created').length, 3);
    assert.equal(events.filter((e) => e === 'connection:closed').length, 1);
    assert.equal(events.filter((e) => e === 'pool:exhausted').length, 1);
    await fp.pool.close();
    const after = fp.pool.stats();
    assert.equal(after.created, after.destroyed);
    assert.equal(events.filter((e) => e === 'connection:closed').length, 3);
  });

  void test('event payloads', async (t) => {
    const fp = fakePool(t, { max: 2, lanes: 1, min: 0 });
    const got: Partial<{ [K in keyof PoolEvents]: PoolEvents[K] }> = {};
    fp.pool.on('connection:created', (e) => (got['connection:created'] ??= e));
    fp.pool.on('connection:closed', (e) => (got['connection:closed'] ??= e));
    fp.pool.on('lease:acquired', (e) => (got['lease:acquired'] = e));
    fp.pool.on('lease:released', (e) => (got['lease:released'] = e));
    fp.pool.on('pool:exhausted', (e) => (got['pool:exhausted'] = e));
    const lease = await fp.pool.acquire();
    const waiting = track(fp.pool.acquire());
    await flush();
    fp.clock.advance(25);
    lease.destroy();
    await flush();
    assert.equal(got['connection:created']!.role, 'lane');
    assert.equal(typeof got['connection:created']!.connectMs, 'number');
    assert.deepEqual(got['lease:released'], { id: lease.id, heldMs: 25, destroyed: true });
    assert.equal(got['connection:closed']!.reason, 'discarded');
    assert.equal(got['pool:exhausted']!.pending, 1);
    assert.equal(got['pool:exhausted']!.snapshot.leased, 1);
    assert.ok(waiting.value);
    assert.equal(got['lease:acquired']!.waitedMs, 25);
    waiting.value.release();
  });
});
