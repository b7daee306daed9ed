/**
 * pool.subscriber({ tracking }) on the fake driver: CLIENT TRACKING applied on every
 * (re)connect before 'connect', invalidate events (keys, null = every key), typed errors for
 * bad options and for a driver that cannot report invalidation pushes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { constantBackoff } from '../../src/index.js';
import type { FakeConnection } from '../../src/testing/index.js';
import { fakePool, flush, rejectsWith, type FakePool } from '../helpers/pool-fixtures.js';

function subConn(fp: FakePool): FakeConnection {
  const c = [...fp.driver.open].find((x) => x.log[0]?.[0] === 'client' && x.log[0][1] === 'ID');
  assert.ok(c, 'a subscriber connection is open');
  return c;
}

const TRACK = ['ON', 'BCAST', 'PREFIX', 'p:', 'PREFIX', 'q:'];

void test('tracking is applied before connect, re-applied after a reconnect, and invalidations become events', async (t) => {
  const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
  const sub = fp.pool.subscriber({ tracking: { prefixes: ['p:', 'q:'], bcast: true }, backoff: constantBackoff(100) });
  const seen: Array<string[] | null> = [];
  const bytes: Array<Buffer[] | null> = [];
  const trackedAtConnect: Array<string[] | undefined> = [];
  sub.on('invalidate', (keys) => seen.push(keys));
  sub.on('invalidateBuffer', (keys) => bytes.push(keys));
  sub.on('connect', () => trackedAtConnect.push(subConn(fp).tracking));
  await sub.ready();
  const first = subConn(fp);
  assert.deepEqual(first.log, [
    ['client', 'ID'],
    ['client', 'TRACKING', ...TRACK],
  ]);
  assert.deepEqual(trackedAtConnect, [TRACK], 'tracking was on before connect was emitted');

  first.push('invalidate', 'p:a', 'q:b');
  first.push('invalidate');
  assert.deepEqual(seen, [['p:a', 'q:b'], null]);
  assert.deepEqual(
    bytes[0]?.map((b) => b.toString()),
    ['p:a', 'q:b'],
  );
  assert.equal(bytes[1], null);

  first.kill(new Error('gone'));
  await flush();
  fp.clock.advance(100);
  await flush();
  const second = subConn(fp);
  assert.notEqual(second, first);
  assert.deepEqual(second.tracking, TRACK);
  assert.deepEqual(trackedAtConnect, [TRACK, TRACK]);
  first.push('invalidate', 'p:old'); // the old connection is ignored
  second.push('invalidate', 'p:new');
  assert.deepEqual(seen.at(-1), ['p:new']);
  assert.equal(seen.length, 3);
});

void test('without tracking no CLIENT TRACKING is sent and invalidate pushes are ignored', async (t) => {
  const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
  const sub = fp.pool.subscriber();
  let n = 0;
  sub.on('invalidate', () => n++);
  await sub.ready();
  assert.deepEqual(subConn(fp).log, [['client', 'ID']]);
  subConn(fp).push('invalidate', 'k');
  assert.equal(n, 0);
});

void test('an empty prefix list tracks every key (BCAST without PREFIX)', async (t) => {
  const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
  await fp.pool.subscriber({ tracking: { prefixes: [] } }).ready();
  assert.deepEqual(subConn(fp).tracking, ['ON', 'BCAST']);
});

void test('bad tracking options are ConfigErrors naming the option', (t) => {
  const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
  const bad: Array<[unknown, string]> = [
    [null, 'subscriber.tracking'],
    ['p:', 'subscriber.tracking'],
    [{}, 'subscriber.tracking.prefixes'],
    [{ prefixes: 'p:' }, 'subscriber.tracking.prefixes'],
    [{ prefixes: ['p:', 3] }, 'subscriber.tracking.prefixes[1]'],
    [{ prefixes: ['p:'], bcast: false }, 'subscriber.tracking.bcast'],
  ];
  for (const [tracking, option] of bad) {
    assert.throws(
      () => fp.pool.subscriber({ tracking: tracking as never }),
      (e: { code?: string; option?: string }) => e.code === 'ERR_INVALID_OPTION' && e.option === option,
      `${JSON.stringify(tracking)} → ${option}`,
    );
  }
});

void test('a driver that cannot report invalidations: tracking rejects with a ConfigError, lease returned', async (t) => {
  const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
  fp.driver.invalidations = false;
  const sub = fp.pool.subscriber({ tracking: { prefixes: ['p:'] } });
  const err = await rejectsWith(sub.ready(), 'ERR_INVALID_OPTION');
  assert.equal(err.option, 'subscriber.tracking');
  assert.equal(fp.pool.stats().leased, 0);
  assert.equal(fp.pool.stats().subscribers, 0);
  // Without tracking the same driver still carries pub/sub.
  assert.equal(await fp.pool.subscriber().subscribe('a'), 1);
});
