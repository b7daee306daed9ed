/**
 * Near cache coherence rules, read batching and the wake-up seam, without a server: a fake
 * invalidation source, the real data structures. No timers are waited for.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, createPool } from '../../../src/index.js';
import { FakeDriver } from '../../../src/testing/index.js';
import { CacheError, createCache } from '../../../src/cache/index.js';
import { NearCache, type InvalidationListener, type InvalidationSource } from '../../../src/cache/near.js';
import { ReadBatcher } from '../../../src/cache/read-batcher.js';
import { pollingWake } from '../../../src/cache/wake.js';

interface FakeSource extends InvalidationSource {
  l?: InvalidationListener;
  opens: number;
  nexts: number;
  fail: Error | undefined;
  /** Resolves the pending next() calls. */
  settle(up: boolean): void;
}

/** A source whose connection the test drives: up/down/keys are called by hand, nothing reconnects by itself. */
function fakeSource(): FakeSource {
  let waiters: ((up: boolean) => void)[] = [];
  const s: FakeSource = {
    opens: 0,
    nexts: 0,
    fail: undefined,
    listen(l) {
      s.l = l;
    },
    async open() {
      s.opens++;
      if (s.fail) throw s.fail;
      s.l!.up();
    },
    next() {
      s.nexts++;
      return new Promise<boolean>((r) => waiters.push(r));
    },
    settle(up) {
      const w = waiters;
      waiters = [];
      for (const r of w) r(up);
    },
  };
  return s;
}

const OPTS = { maxEntries: 3, maxBytes: 1000, ttlMs: 60_000 };
const put = (near: NearCache, k: string, v: unknown, bytes = 10, epoch = near.epoch()): void =>
  near.put(k, true, v, undefined, bytes, epoch);
const val = (near: NearCache, k: string): unknown => near.lookup(k)?.value;

void test('near cache: serves only after start, evicts on invalidation, refuses a read older than an invalidation', async () => {
  const src = fakeSource();
  let flushes = 0;
  const near = new NearCache(OPTS, src, () => flushes++, 'p');
  put(near, 'a', 1);
  assert.equal(near.lookup('a'), undefined, 'not serving before the invalidation connection is up');
  assert.equal(await near.start(), true);
  put(near, 'a', 1);
  assert.equal(val(near, 'a'), 1);
  const e2 = near.epoch(); // a read of b starts …
  src.l!.keys(['p:a']); // … an invalidation arrives (for any key) before its reply
  put(near, 'b', 'old', 10, e2);
  assert.equal(near.lookup('b'), undefined, 'a reply older than an invalidation is not stored');
  assert.equal(near.lookup('a'), undefined, 'invalidated (the prefix is stripped from the Redis key)');
  put(near, 'a', 2);
  src.l!.keys(['other:a']); // outside the prefix: not ours
  assert.equal(val(near, 'a'), 2);
  src.l!.keys(null); // FLUSHDB / FLUSHALL
  assert.equal(near.lookup('a'), undefined);
  assert.equal(flushes, 0);
  near.close();
});

void test('near cache: an absence is kept and invalidated like a value; a local write voids reads in flight', async () => {
  const near = new NearCache(OPTS, fakeSource(), () => undefined, 'p');
  await near.start();
  near.put('gone', false, undefined, undefined, 0, near.epoch());
  const e = near.lookup('gone');
  assert.ok(e && !e.present, 'the absence is served');
  const inFlight = near.epoch();
  near.forget('gone'); // this process writes it
  assert.equal(near.lookup('gone'), undefined);
  near.put('gone', false, undefined, undefined, 0, inFlight);
  assert.equal(near.lookup('gone'), undefined, 'a reply that may predate the write is not kept');
});

void test('near cache: a lost invalidation connection empties it; it serves again only on the next up, and never reconnects itself', async () => {
  const src = fakeSource();
  let flushes = 0;
  const near = new NearCache(OPTS, src, () => flushes++);
  await near.start();
  put(near, 'a', 1);
  const inFlight = near.epoch();
  src.l!.down(new Error('CLIENT KILL'));
  assert.equal(flushes, 1);
  assert.equal(near.serving, false);
  assert.equal(near.lookup('a'), undefined);
  put(near, 'c', 3, 10, inFlight);
  for (let i = 0; i < 5; i++) near.lookup('a');
  assert.equal(src.opens, 1, 'reads while down open nothing: the source owns reconnection');
  const ready = near.start(); // waits for the source's next outcome, asks for no attempt
  src.settle(false);
  assert.equal(await ready, false);
  const again = near.start();
  src.l!.up();
  src.settle(true);
  assert.equal(await again, true);
  assert.equal(src.opens, 1);
  assert.equal(near.lookup('a'), undefined, 'emptied: nothing from before the loss is served');
  assert.equal(near.lookup('c'), undefined, 'a read that started before the loss is not stored');
  const beforeUp = near.epoch();
  src.l!.down(undefined);
  src.l!.up();
  put(near, 'd', 4, 10, beforeUp);
  assert.equal(near.lookup('d'), undefined, 'a read that started before a reconnect is not stored');
  near.close();
});

void test('near cache: a connection that can never track refuses it with the typed error; other failures do not', async () => {
  const src = fakeSource();
  src.fail = new ConfigError('subscriber.tracking', 'this connection speaks RESP2');
  const near = new NearCache(OPTS, src, () => undefined);
  await assert.rejects(near.start(), (e: Error & { option?: string }) => e.option === 'subscriber.tracking');
  assert.ok(near.refused);
  await assert.rejects(near.start(), /RESP2/);
  const src2 = fakeSource();
  src2.fail = new Error('ECONNREFUSED');
  const near2 = new NearCache(OPTS, src2, () => undefined);
  assert.equal(await near2.start(), false);
  assert.equal(near2.refused, undefined);
});

void test('near cache: bounded by entries and bytes (CLOCK: a hit entry survives the next eviction)', async () => {
  const near = new NearCache(OPTS, fakeSource(), () => undefined);
  await near.start();
  for (const k of ['a', 'b', 'c']) put(near, k, k, 100);
  near.lookup('a'); // a is referenced
  put(near, 'd', 'd', 100);
  assert.equal(near.lookup('b'), undefined, 'the oldest unreferenced went');
  assert.ok(near.lookup('a') && near.lookup('c') && near.lookup('d'));
  put(near, 'big', 'big', 900);
  assert.ok(near.size <= 2, String(near.size));
  put(near, 'huge', 'huge', 5000);
  assert.equal(near.lookup('huge'), undefined, 'larger than maxBytes: never stored');
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

void test('read batcher: rounds of large values are split so one reply carries about 64 KiB', async () => {
  const calls: string[][] = [];
  const b = new ReadBatcher(
    async (keys) => {
      calls.push(keys);
      return keys.map(() => Buffer.alloc(40 * 1024));
    },
    () => undefined,
  );
  await Promise.all(['a', 'b', 'c'].map((k) => b.get(k, 100)));
  assert.deepEqual(calls, [['a', 'b', 'c']], 'nothing known yet: one MGET');
  calls.length = 0;
  const got = await Promise.all(['d', 'e', 'f'].map((k) => b.get(k, 100)));
  assert.deepEqual(calls, [['d'], ['e'], ['f']], '40 KiB values: one per read');
  assert.equal(got.length, 3);
});
