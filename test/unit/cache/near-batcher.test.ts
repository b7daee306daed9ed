/**
 * Near cache coherence rules, read batching and the wake-up seam, without a server: a fake
 * invalidation source, the real data structures. No timers are waited for.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPool } from '../../../src/index.js';
import { FakeDriver } from '../../../src/testing/index.js';
import { CacheError, createCache } from '../../../src/cache/index.js';
import { NearCache, type InvalidationSource } from '../../../src/cache/near.js';
import { ReadBatcher } from '../../../src/cache/read-batcher.js';
import { pollingWake } from '../../../src/cache/wake.js';

function fakeSource(): InvalidationSource & {
  keys?: (k: string[] | null) => void;
  lost?: (e: Error | undefined) => void;
  opens: number;
  fail: boolean;
} {
  const s = {
    opens: 0,
    fail: false,
    keys: undefined as ((k: string[] | null) => void) | undefined,
    lost: undefined as ((e: Error | undefined) => void) | undefined,
    async open(onKeys: (k: string[] | null) => void, onLost: (e: Error | undefined) => void) {
      s.opens++;
      if (s.fail) throw new Error('no connection');
      s.keys = onKeys;
      s.lost = onLost;
    },
  };
  return s;
}

const hit = (value: unknown) => ({ value, meta: {} });
const OPTS = { maxEntries: 3, maxBytes: 1000, ttlMs: 60_000 };

void test('near cache: serves only after start, evicts on invalidation, refuses a read older than an invalidation', async () => {
  const src = fakeSource();
  let flushes = 0;
  const near = new NearCache(OPTS, src, () => flushes++);
  const e0 = near.epoch();
  near.put('p:a', hit(1), 10, e0);
  assert.equal(near.get('p:a'), undefined, 'not serving before the invalidation connection is up');
  assert.equal(await near.start(), true);
  const e1 = near.epoch();
  near.put('p:a', hit(1), 10, e1);
  assert.deepEqual(near.get('p:a'), hit(1));
  const e2 = near.epoch(); // a read of p:b starts …
  src.keys!(['p:a']); // … an invalidation arrives (for any key) before its reply
  near.put('p:b', hit('old'), 10, e2);
  assert.equal(near.get('p:b'), undefined, 'a reply older than an invalidation is not stored');
  assert.equal(near.get('p:a'), undefined, 'invalidated');
  near.put('p:a', hit(2), 10, near.epoch());
  src.keys!(null); // FLUSHDB / FLUSHALL
  assert.equal(near.get('p:a'), undefined);
  assert.equal(flushes, 0);
  near.close();
});

void test('near cache: a lost invalidation connection empties it and stops serving until it is back', async () => {
  const src = fakeSource();
  let flushes = 0;
  const near = new NearCache(OPTS, src, () => flushes++);
  await near.start();
  near.put('p:a', hit(1), 10, near.epoch());
  const inFlight = near.epoch();
  src.lost!(new Error('CLIENT KILL'));
  assert.equal(flushes, 1);
  assert.equal(near.serving, false);
  assert.equal(near.get('p:a'), undefined);
  near.put('p:c', hit(3), 10, inFlight);
  assert.equal(await near.start(), true);
  assert.equal(near.get('p:a'), undefined, 'emptied: nothing from before the loss is served');
  assert.equal(near.get('p:c'), undefined, 'a read that started before the loss is not stored');
  near.close();
});

void test('near cache: LRU bounded by entries and bytes', async () => {
  const near = new NearCache(OPTS, fakeSource(), () => undefined);
  await near.start();
  for (const k of ['a', 'b', 'c']) near.put(k, hit(k), 100, near.epoch());
  near.get('a'); // a is now the youngest
  near.put('d', hit('d'), 100, near.epoch());
  assert.equal(near.get('b'), undefined, 'the oldest went');
  assert.ok(near.get('a') && near.get('c') && near.get('d'));
  near.put('big', hit('big'), 900, near.epoch());
  assert.ok(near.size <= 2, String(near.size));
  near.put('huge', hit('huge'), 5000, near.epoch());
  assert.equal(near.get('huge'), undefined, 'larger than maxBytes: never stored');
  near.close();
});

void test('read batcher: one read per tick and deadline, duplicates share a slot, errors reach every caller', async () => {
  const calls: string[][] = [];
  let coalesced = 0;
  let fail = false;
  const b = new ReadBatcher(
    async (keys) => {
      calls.push(keys);
      if (fail) throw new Error('boom');
      return keys.map((k) => (k === 'missing' ? null : Buffer.from(k)));
    },
    () => coalesced++,
  );
  const got = await Promise.all([b.get('a', 100), b.get('b', 100), b.get('a', 100), b.get('missing', 100), b.get('c', 200)]);
  assert.deepEqual(
    got.map((v) => v?.toString() ?? null),
    ['a', 'b', 'a', null, 'c'],
  );
  assert.deepEqual(calls, [['a', 'b', 'missing'], ['c']]);
  assert.equal(coalesced, 1);
  fail = true;
  const r = await Promise.allSettled([b.get('x', 100), b.get('y', 100)]);
  assert.deepEqual(
    r.map((x) => x.status),
    ['rejected', 'rejected'],
  );
});

void test('wake-up seam: a local notify wakes the waiter at once', async () => {
  const wake = pollingWake();
  const waited = wake.wait('lock:a', 60_000, 99); // would poll after 100 ms at most
  wake.notifyLocal('lock:a');
  await waited; // resolves without any timer firing
  wake.notifyLocal('lock:nobody'); // no waiter: no-op
});

void test('createCache refuses zstd where node:zlib lacks it, and bad per-call options', async (t) => {
  const pool = createPool({ driver: new FakeDriver(), name: 'cache-unit' });
  t.after(() => pool.destroy());
  const hasZstd = typeof ((await import('node:zlib')) as unknown as Record<string, unknown>)['zstdCompressSync'] === 'function';
  if (hasZstd) assert.ok(createCache(pool, { compression: { algorithm: 'zstd' } }));
  else
    assert.throws(
      () => createCache(pool, { compression: { algorithm: 'zstd' } }),
      (e: unknown) => e instanceof CacheError && e.code === 'ERR_CACHE_CODEC_UNAVAILABLE',
    );
  const cache = createCache(pool, { prefix: 'u' });
  await assert.rejects(cache.get('k', { timeoutMs: 0 }), (e: Error & { option?: string }) => e.option === 'timeoutMs');
  await assert.rejects(cache.set('k', 1, { ttlMs: -1 }), (e: Error & { option?: string }) => e.option === 'ttlMs');
  await assert.rejects(cache.get(''), (e: Error & { option?: string }) => e.option === 'key');
  await assert.rejects(cache.incr('n', 1.5), (e: Error & { option?: string }) => e.option === 'by');
  await assert.rejects(cache.set('k', undefined), (e: CacheError) => e.code === 'ERR_CACHE_SERIALIZE');
  await cache.close();
  await assert.rejects(cache.get('k'), (e: CacheError) => e.code === 'ERR_CACHE_CLOSED');
});
