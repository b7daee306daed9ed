/**
 * The getOrSet lock's wake-up on a pool.subscriber() (fake driver): the first wait subscribes
 * and ends once the subscription is acknowledged; a later wait ends on the release message, not
 * on its fallback interval (400 ms, far beyond the few event-loop turns a test gives it). The
 * near cache's invalidation source on a tracking subscriber.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { constantBackoff } from '../../../src/index.js';
import { subscriberInvalidationSource } from '../../../src/cache/invalidation.js';
import { subscriberWake } from '../../../src/cache/wake.js';
import { fakePool, flush } from '../../helpers/pool-fixtures.js';

void test('subscriber wake: subscribe is acknowledged first, then a message wakes the waiter at once', async (t) => {
  const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
  const sub = fp.pool.subscriber();
  t.after(() => sub.close());
  const wake = subscriberWake(() => sub);
  await wake.wait('lock:a', 60_000, 0); // ends on the SUBSCRIBE acknowledgement
  assert.deepEqual([...sub.channels], ['lock:a']);
  const conn = [...fp.driver.open].find((c) => c.log.some(([n]) => n === 'subscribe'));
  assert.ok(conn);

  let woken = false;
  const waited = wake.wait('lock:a', 60_000, 9).then(() => {
    woken = true;
  });
  await flush();
  assert.equal(woken, false, 'waits for a message');
  conn.push('message', 'lock:b', '1'); // another lock's release
  await flush();
  assert.equal(woken, false, 'not woken by another channel');
  conn.push('message', 'lock:a', '1');
  await flush();
  assert.equal(woken, true, 'woken by the release message');
  await waited;
  assert.equal(conn.log.filter(([n]) => n === 'subscribe').length, 1, 'subscribed once for both waits');
});

void test('subscriber wake: without a subscriber to be had the wait is bounded and the caller re-checks', async (t) => {
  const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
  const wake = subscriberWake(() => {
    throw new Error('pool closed');
  });
  await wake.wait('lock:a', 5, 0);
  assert.equal(fp.pool.stats().subscribers, 0);
});

void test('invalidation source: keys, down on disconnect, up on every connect; the subscriber (not the cache) reconnects', async (t) => {
  const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
  const sub = fp.pool.subscriber({ tracking: { prefixes: ['p:'] }, backoff: constantBackoff(10) });
  t.after(() => sub.close());
  const events: string[] = [];
  const src = subscriberInvalidationSource(() => sub);
  src.listen({
    keys: (keys) => events.push(keys === null ? 'flush' : keys.join(',')),
    up: () => events.push('up'),
    down: () => events.push('down'),
  });
  await src.open();
  assert.deepEqual(events, ['up']);
  const conn = [...fp.driver.open].find((c) => c.tracking !== undefined);
  assert.ok(conn);
  conn.push('invalidate', 'p:a', 'p:b');
  conn.kill(new Error('CLIENT KILL'));
  await flush();
  const next = src.next();
  fp.clock.advance(10);
  await flush();
  assert.equal(await next, true);
  assert.equal(sub.state, 'ready');
  assert.deepEqual(events, ['up', 'p:a,p:b', 'down', 'up']);
});
