/**
 * Issue 15 item 3: "after two requests `/health/redis` reports WAIT_TIME_HIGH ('waited 20.3 ms on
 * average since the pool started')" — the cold start's connect wait counted as contention.
 * Engine level, fake driver and manual clock: waits that end on a connection opened meanwhile
 * are counted as connect waits, and advice judges only the rest (with a minimum sample).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakePool, flush, track } from '../helpers/pool-fixtures.js';

void test('a fresh pool whose first callers wait 20 ms for the connect gives no WAIT_TIME_HIGH', async (t) => {
  const fp = fakePool(t, { max: 4, lanes: 1, min: 0 });
  fp.driver.behaviour = 'hang';
  const get = track(fp.pool.get('a'));
  const lease = track(fp.pool.acquire());
  await flush();
  fp.clock.advance(20);
  for (const h of fp.driver.hanging.splice(0)) h.ok();
  await flush();
  assert.equal(get.settled, true);
  lease.value!.release();
  await flush();
  const s = fp.pool.stats();
  assert.equal(s.waits, 2);
  assert.equal(s.waitMsTotal, 40);
  assert.equal(s.connectWaits, 2, 'both waited for a connection being opened');
  assert.equal(s.connectWaitMsTotal, 40);
  assert.deepEqual(
    fp.pool.advice().map((a) => a.code),
    [],
  );
});

void test('waiting for a lease another caller holds is contention, and is reported once the sample is big enough', async (t) => {
  const fp = fakePool(t, { max: 2, lanes: 1, min: 0 });
  const held = await fp.pool.acquire(); // the one lease connection
  fp.clock.advance(1);
  const waiting = [];
  for (let i = 0; i < 20; i++) waiting.push(track(fp.pool.acquire()));
  await flush();
  let current = held;
  for (const w of waiting) {
    fp.clock.advance(30);
    current.release();
    await flush();
    assert.equal(w.settled, true);
    current = w.value!;
  }
  current.release();
  await flush();
  const s = fp.pool.stats();
  assert.equal(s.connectWaits, 0, 'the first connect was instant; the others waited for a release');
  assert.equal(s.waits, 21);
  const advice = fp.pool.advice();
  const wait = advice.find((a) => a.code === 'WAIT_TIME_HIGH');
  assert.ok(wait, JSON.stringify(advice));
  assert.equal(wait.level, 'critical');
  // Waiter i (1..20) waited 30 × i ms, the first acquire 0 ms: 6300 / 21 = 300 ms on average.
  assert.equal(wait.value, 300);
});
