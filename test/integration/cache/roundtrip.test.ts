/**
 * Values through a real Redis: every serializer × compression at and around the threshold,
 * binary, unicode, 10 MB, typed JSON values; old settings stay readable; raw integers and INCR;
 * foreign and corrupt values; getMany/setMany; TTL operations; clear stays inside the prefix.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createPool, type Pool } from '../../../src/index.js';
import { CacheError, createCache, type CacheOptions, type Serializer } from '../../../src/cache/index.js';
import { hasCompression } from '../../../src/cache/codec.js';
import { useRedis } from '../../helpers/redis.js';

let pool: Pool;

const reverseCodec: Serializer = {
  id: 42,
  name: 'reverse-json',
  encode: (v) => Buffer.from(JSON.stringify(v)).reverse(),
  decode: (b) => JSON.parse(Buffer.from(b).reverse().toString()) as unknown,
};

const SERIALIZERS = ['json', 'msgpack', reverseCodec] as const;
const ALGORITHMS = (['deflate', 'gzip', 'brotli', 'zstd'] as const).filter((a) => hasCompression(a));

/** A string whose JSON form is exactly `n` bytes (quotes included). */
function jsonOfBytes(n: number): string {
  return 'a'.repeat(n - 2);
}

void describe('cache against a real server', () => {
  const redis = useRedis();
  before(async () => {
    pool = createPool({ url: redis().url, name: 'cache-roundtrip', max: 4, lanes: 2 });
    await pool.ready();
  });
  after(() => pool.close());

  void describe('round trips', () => {
    for (const serializer of SERIALIZERS) {
      const sname = typeof serializer === 'string' ? serializer : 'custom';
      for (const algorithm of [...ALGORITHMS, 'none'] as const) {
        void test(`${sname} × ${algorithm}: below, at and above minBytes, binary, unicode`, async () => {
          const prefix = `rt:${sname}:${algorithm}`;
          const cache = createCache(pool, { prefix, serializer, compression: algorithm === 'none' ? false : { algorithm, minBytes: 100 } });
          const values: unknown[] = [
            jsonOfBytes(99),
            jsonOfBytes(100),
            jsonOfBytes(101),
            jsonOfBytes(5000),
            'héllo wörld — 日本語 🎉'.repeat(20),
            { nested: { list: [1, 'two', null, true] } },
            null,
            false,
            1.5,
            -7,
            0,
          ];
          for (const [i, v] of values.entries()) {
            assert.equal(await cache.set(`k${i}`, v), true);
            assert.deepEqual(await cache.get(`k${i}`), v, `value ${i}`);
          }
          const bin = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
          await cache.set('bin', bin);
          assert.deepEqual(await cache.get<Buffer>('bin'), bin);
          await cache.clear();
        });
      }
    }

    void test('compression is applied at minBytes, not below, and only when smaller', async () => {
      const cache = createCache(pool, { prefix: 'rt:threshold', compression: { algorithm: 'deflate', minBytes: 100 } });
      await cache.set('below', jsonOfBytes(99));
      await cache.set('at', jsonOfBytes(100));
      const random = Buffer.from(Array.from({ length: 2000 }, () => Math.floor(Math.random() * 256)));
      await cache.set('random', random);
      const raw = async (k: string): Promise<Buffer> => (await pool.getBuffer(`rt:threshold:${k}`))!;
      assert.equal((await raw('below'))[3], 0, 'below minBytes: not compressed');
      assert.equal((await raw('at'))[3], 1, 'at minBytes: deflate');
      assert.equal((await raw('random'))[3], 0, 'incompressible: kept raw');
      assert.equal((await raw('random')).length, 2000 + 5, 'raw bytes behind a 5-byte header, no base64');
      assert.deepEqual(await cache.get('random'), random);
      await cache.clear();
    });

    void test('10 MB values round-trip compressed and not, under the size cap', async () => {
      const big = { blob: 'x'.repeat(10 * 2 ** 20), n: 1 };
      for (const compression of [{ algorithm: 'gzip' as const }, false as const]) {
        const cache = createCache(pool, { prefix: 'rt:big', compression, timeoutMs: 10_000 });
        await cache.set('v', big);
        assert.deepEqual(await cache.get('v'), big);
        await cache.clear();
      }
    });

    void test('JSON keeps Date, Buffer, Uint8Array, BigInt, Map, Set, NaN and refuses what it would lose', async () => {
      const cache = createCache(pool, { prefix: 'rt:types' });
      const v = {
        at: new Date('2026-01-02T03:04:05.678Z'),
        buf: Buffer.from([0, 255, 1]),
        bytes: new Uint8Array([9, 8]),
        big: 2n ** 80n,
        map: new Map<unknown, unknown>([
          [1, 'one'],
          ['k', new Set([1, 2])],
        ]),
        set: new Set(['a']),
        nan: NaN,
        inf: -Infinity,
        sparse: [1, undefined, 3],
        __rp$: 'user data with the tag key',
      };
      await cache.set('v', v);
      const back = await cache.get<typeof v>('v');
      assert.ok(back);
      assert.deepEqual(back.at, v.at);
      assert.deepEqual(back.buf, v.buf);
      assert.deepEqual(new Uint8Array(back.bytes), v.bytes);
      assert.equal(back.big, v.big);
      assert.deepEqual(back.map, v.map);
      assert.deepEqual(back.set, v.set);
      assert.ok(Number.isNaN(back.nan));
      assert.equal(back.inf, -Infinity);
      assert.deepEqual(back.sparse, [1, undefined, 3]);
      assert.equal(back.__rp$, v.__rp$);
      for (const bad of [{ f: () => 1 }, { r: /x/ }, { w: new WeakMap() }, new Float32Array(2), Symbol('s')]) {
        await assert.rejects(cache.set('bad', bad), (e: CacheError) => e.code === 'ERR_CACHE_SERIALIZE');
      }
      await assert.rejects(cache.set('u', undefined), (e: CacheError) => e.code === 'ERR_CACHE_SERIALIZE');
      await cache.clear();
    });

    void test('values written under old settings stay readable after every change of settings', async () => {
      const settings: CacheOptions[] = [
        { serializer: 'json', compression: false },
        { serializer: 'json', compression: { algorithm: 'gzip', minBytes: 10 } },
        { serializer: 'msgpack', compression: { algorithm: 'brotli', minBytes: 10 } },
        { serializer: reverseCodec, compression: { algorithm: 'deflate', minBytes: 0 } },
      ];
      const value = { text: 'settings change '.repeat(20), n: [1, 2, 3] };
      for (const [i, s] of settings.entries()) await createCache(pool, { prefix: 'rt:old', ...s }).set(`w${i}`, value);
      for (const s of settings) {
        const reader = createCache(pool, { prefix: 'rt:old', ...s });
        for (let i = 0; i < settings.length; i++) {
          const needsCustom = settings[i]!.serializer === reverseCodec && s.serializer !== reverseCodec;
          if (needsCustom)
            await assert.rejects(reader.get(`w${i}`, { failOpen: false }), (e: CacheError) => e.code === 'ERR_CACHE_CORRUPT');
          else assert.deepEqual(await reader.get(`w${i}`), value, `written with settings ${i}, read with ${JSON.stringify(s.compression)}`);
        }
      }
      await createCache(pool, { prefix: 'rt:old' }).clear();
    });

    void test('integers stay raw, so INCR/DECR are atomic on the server; INCR on a serialized value is a typed error', async () => {
      const cache = createCache(pool, { prefix: 'rt:int' });
      await cache.set('n', 41);
      assert.equal(await pool.get('rt:int:n'), '41', 'stored as plain decimal');
      assert.equal(await cache.incr('n'), 42);
      assert.equal(await cache.get('n'), 42);
      assert.equal(await cache.decr('n', 50), -8);
      assert.equal(await cache.incr('fresh', 5), 5);
      const ttl = await cache.ttl('fresh');
      assert.ok(ttl !== undefined && ttl > 290_000 && ttl <= 300_000, `new counter got the default TTL (${ttl})`);
      await Promise.all(Array.from({ length: 200 }, () => cache.incr('race')));
      assert.equal(await cache.get('race'), 200);
      await cache.set('obj', { a: 1 });
      await assert.rejects(cache.incr('obj'), (e: CacheError) => e.code === 'ERR_CACHE_NOT_INTEGER');
      await cache.clear();
    });

    void test('foreign and corrupt values: a miss failing open, a typed error otherwise, never a crash', async () => {
      const cache = createCache(pool, { prefix: 'rt:bad' });
      await pool.set('rt:bad:foreign', 'plain text from another client');
      await pool.set('rt:bad:damaged', Buffer.from([0xc0, 1, 1, 1, 0, 1, 2, 3, 4]));
      await pool.set('rt:bad:badjson', Buffer.concat([Buffer.from([0xc0, 1, 1, 0, 0]), Buffer.from('{nope')]));
      await pool.set('rt:bad:future', Buffer.from([0xc0, 9, 1, 0, 0, 0x7b, 0x7d]));
      for (const k of ['foreign', 'damaged', 'badjson', 'future']) {
        assert.equal(await cache.get(k), undefined, `${k}: miss when failing open`);
        await assert.rejects(
          cache.get(k, { failOpen: false }),
          (e: CacheError) => e instanceof CacheError && e.code === 'ERR_CACHE_CORRUPT',
          k,
        );
      }
      assert.equal(cache.stats().corrupt, 8);
      await cache.clear();
    });

    void test('zstd: a round trip where node:zlib has it; elsewhere the option is refused by name and a zstd value is a typed error or a miss', async () => {
      const zlib = (await import('node:zlib')) as unknown as Record<string, unknown>;
      const runtimeHas = typeof zlib['zstdCompressSync'] === 'function' && typeof zlib['zstdDecompressSync'] === 'function';
      assert.equal(hasCompression('zstd'), runtimeHas);
      const payload = { list: Array.from({ length: 200 }, (_, i) => ({ i, name: 'kitchen tile' })) };
      if (runtimeHas) {
        const z = createCache(pool, { prefix: 'rt:zstd', compression: { algorithm: 'zstd', minBytes: 100 } });
        await z.set('v', payload);
        const stored = (await pool.getBuffer('rt:zstd:v'))!;
        assert.equal(stored[3], 4, 'stored with the zstd id');
        assert.deepEqual(await createCache(pool, { prefix: 'rt:zstd' }).get('v'), payload, 'read by a deflate-configured cache');
        await z.clear();
        return;
      }
      assert.throws(
        () => createCache(pool, { prefix: 'rt:zstd', compression: { algorithm: 'zstd' } }),
        (e: unknown) =>
          e instanceof CacheError &&
          e.code === 'ERR_CACHE_CODEC_UNAVAILABLE' &&
          e.option === 'compression.algorithm' &&
          /'zstd'/.test(e.message) &&
          e.message.includes(process.versions.node),
      );
      // A value another runtime wrote with zstd (header: magic, format 1, json, zstd, no flags; a zstd frame).
      const frame = Buffer.from('28b52ffd2000110000', 'hex');
      await pool.set('rt:zstd:foreign', Buffer.concat([Buffer.from([0xc0, 1, 1, 4, 0]), frame]));
      const cache = createCache(pool, { prefix: 'rt:zstd' });
      assert.equal(await cache.get('foreign'), undefined, 'a miss when failing open');
      assert.equal(cache.stats().corrupt, 1);
      await assert.rejects(
        cache.get('foreign', { failOpen: false }),
        (e: unknown) => e instanceof CacheError && e.code === 'ERR_CACHE_CODEC_UNAVAILABLE' && /'zstd'/.test(e.message),
      );
      assert.deepEqual(await cache.getMany(['foreign']), [undefined]);
      await cache.clear();
    });

    void test('a decompression bomb stops at maxValueBytes', async () => {
      const writer = createCache(pool, { prefix: 'rt:bomb', compression: { algorithm: 'deflate', minBytes: 0 } });
      await writer.set('b', 'z'.repeat(5 * 2 ** 20)); // ~5 KB stored, 5 MB inflated
      const reader = createCache(pool, { prefix: 'rt:bomb', maxValueBytes: 2 ** 20 });
      await assert.rejects(reader.get('b', { failOpen: false }), (e: CacheError) => e.code === 'ERR_CACHE_VALUE_TOO_LARGE');
      assert.equal(await reader.get('b'), undefined);
      await writer.clear();
    });
  });

  void describe('API', () => {
    void test('set nx, has, delete, ttl, expire', async () => {
      const cache = createCache(pool, { prefix: 'api', defaultTtlMs: 60_000 });
      assert.equal(await cache.set('a', 1, { nx: true }), true);
      assert.equal(await cache.set('a', 2, { nx: true }), false);
      assert.equal(await cache.get('a'), 1);
      assert.equal(await cache.has('a'), true);
      assert.equal(await cache.has('zz'), false);
      const t = await cache.ttl('a');
      assert.ok(t !== undefined && t > 50_000 && t <= 60_000);
      assert.equal(await cache.expire('a', Infinity), true);
      assert.equal(await cache.ttl('a'), Infinity);
      assert.equal(await cache.expire('zz', 1000), false);
      assert.equal(await cache.ttl('zz'), undefined);
      await cache.set('short', 'x', { ttlMs: 30 });
      await new Promise((r) => setTimeout(r, 80)); // real server, real expiry
      assert.equal(await cache.get('short'), undefined);
      assert.equal(await cache.delete('a'), true);
      assert.equal(await cache.delete('a'), false);
      await cache.clear();
    });

    void test('same-tick gets coalesce into one MGET; getMany is one MGET; setMany is one pipeline', async () => {
      const cache = createCache(pool, { prefix: 'batch' });
      assert.equal(
        await cache.setMany([
          ['a', 1],
          ['b', { x: 2 }],
          ['c', 'three'],
        ]),
        3,
      );
      const before = Number(/cmdstat_mget:calls=(\d+)/.exec(String(await redis().command('INFO', 'commandstats')))?.[1] ?? 0);
      const [a, b, c, missing, a2] = await Promise.all([cache.get('a'), cache.get('b'), cache.get('c'), cache.get('nope'), cache.get('a')]);
      assert.deepEqual([a, b, c, missing, a2], [1, { x: 2 }, 'three', undefined, 1]);
      const mid = Number(/cmdstat_mget:calls=(\d+)/.exec(String(await redis().command('INFO', 'commandstats')))?.[1] ?? 0);
      assert.equal(mid - before, 1, 'five same-tick gets were one MGET');
      assert.equal(cache.stats().coalesced, 1, 'the duplicate key shared a slot');
      assert.deepEqual(await cache.getMany(['c', 'nope', 'a']), ['three', undefined, 1]);
      await cache.clear();
    });

    void test('clear removes only the prefix, in bounded batches', async () => {
      const cache = createCache(pool, { prefix: 'clr' });
      await cache.setMany(Array.from({ length: 2500 }, (_, i) => [`k${i}`, i] as const));
      await pool.set('clrx:outside', '1');
      await pool.set('clr', 'the bare prefix is not under it');
      await pool.set('other:k1', '1');
      await cache.set('sub:1', 1);
      await cache.set('sub:2', 2);
      assert.equal(await cache.deleteByPrefix('sub:'), 2);
      assert.equal(await cache.get('k1'), 1);
      assert.equal(await cache.clear(), 2500);
      assert.equal(await pool.get('clrx:outside'), '1');
      assert.equal(await pool.get('clr'), 'the bare prefix is not under it');
      assert.equal(await pool.get('other:k1'), '1');
      const noPrefix = createCache(pool, {});
      await assert.rejects(noPrefix.clear(), (e: Error & { code?: string }) => e.code === 'ERR_INVALID_OPTION');
      await pool.del('clrx:outside', 'clr', 'other:k1');
    });

    void test('stats count hits, misses and bytes before/after compression', async () => {
      const cache = createCache(pool, { prefix: 'st', name: 'stats-test' });
      await cache.set('big', { text: 'compress me '.repeat(1000) });
      await cache.get('big');
      await cache.get('none');
      const s = cache.stats();
      assert.equal(s.name, 'stats-test');
      assert.equal(s.hits, 1);
      assert.equal(s.misses, 1);
      assert.equal(s.sets, 1);
      assert.ok(s.bytesAfterCompression < s.bytesBeforeCompression / 10, JSON.stringify(s));
      await cache.clear();
    });
  });
});
