/** The stored format: header, codecs, compression choice, raw integers, corrupt input. No server. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decode, encode, type CodecSettings } from '../../../src/cache/codec.js';
import { CacheError } from '../../../src/cache/errors.js';
import { InflateMemo } from '../../../src/cache/inflate-memo.js';
import { jsonSerializer, msgpackSerializer } from '../../../src/cache/serializers.js';

const json: CodecSettings = {
  serializer: jsonSerializer,
  compression: { algorithm: 'deflate', minBytes: 100, level: undefined },
  maxValueBytes: 2 ** 20,
};
const asBuf = (d: Buffer | string): Buffer => (typeof d === 'string' ? Buffer.from(d) : d);

void test('header: magic, format 1, codec, compression, flags', async () => {
  const e = await encode({ a: 1 }, json);
  const b = asBuf(e.data);
  assert.deepEqual([...b.subarray(0, 5)], [0xc0, 1, 1, 0, 0]);
  assert.equal(b.subarray(5).toString(), '{"a":1}');
  const big = asBuf((await encode('y'.repeat(500), json)).data);
  assert.equal(big[3], 1, 'deflate');
  const meta = asBuf((await encode('v', json, { softExpiresAt: 1000, expiresAt: 2000 })).data);
  assert.equal(meta[4], 3);
  assert.deepEqual((await decode(meta, json)).meta, { softExpiresAt: 1000, expiresAt: 2000 });
});

void test('safe integers are stored raw; other numbers are not', async () => {
  assert.equal((await encode(42, json)).data, '42');
  assert.equal((await encode(-9007199254740991, json)).data, '-9007199254740991');
  assert.notEqual(typeof (await encode(1.5, json)).data, 'string');
  assert.notEqual(typeof (await encode(-0, json)).data, 'string');
  assert.notEqual(typeof (await encode(2 ** 53, json)).data, 'string');
  assert.equal((await decode(Buffer.from('-17'), json)).value, -17);
});

void test('a value written with any settings is read with any other', async () => {
  const value = { s: 'round trip '.repeat(30), n: [1, 2] };
  const writers: CodecSettings[] = [
    json,
    { ...json, compression: false },
    { ...json, compression: { algorithm: 'brotli', minBytes: 0, level: 11 } },
    { ...json, serializer: msgpackSerializer, compression: { algorithm: 'gzip', minBytes: 0, level: 1 } },
  ];
  for (const w of writers) {
    const stored = asBuf((await encode(value, w)).data);
    for (const r of writers) assert.deepEqual((await decode(stored, r)).value, value);
  }
});

void test('JSON round trip of arbitrary JSON-like values (property)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.jsonValue(), async (v) => {
      if (v === undefined) return;
      const back = (await decode(asBuf((await encode(v, json)).data), json)).value;
      assert.deepEqual(back, v);
    }),
    { numRuns: 300 },
  );
});

void test('foreign, truncated, damaged, unknown-version and unknown-codec bytes are ERR_CACHE_CORRUPT', async () => {
  const cases = [
    Buffer.from('hello'),
    Buffer.from(''),
    Buffer.from([0xc0, 1]),
    Buffer.from([0xc0, 2, 1, 0, 0, 0x31]),
    Buffer.from([0xc0, 1, 1, 1, 0, 9, 9, 9]),
    Buffer.from([0xc0, 1, 77, 0, 0, 1]),
    Buffer.from([0xc0, 1, 1, 9, 0, 1]),
    Buffer.from([0xc0, 1, 1, 0, 0x80, 1]),
    Buffer.from([0xc0, 1, 1, 0, 1, 1, 2]),
    Buffer.from('12345678901234567890'),
  ];
  for (const b of cases)
    await assert.rejects(decode(b, json), (e: unknown) => e instanceof CacheError && e.code === 'ERR_CACHE_CORRUPT', b.toString('hex'));
});

void test('random bytes never throw anything but a CacheError (property)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), fc.boolean(), async (bytes, magic) => {
      const b = Buffer.from(bytes);
      if (magic && b.length > 0) b[0] = 0xc0;
      try {
        await decode(b, json);
      } catch (err) {
        assert.ok(err instanceof CacheError, String(err));
      }
    }),
    { numRuns: 500 },
  );
});

void test('maxValueBytes caps what is written and what inflates', async () => {
  const small: CodecSettings = { ...json, maxValueBytes: 1000 };
  await assert.rejects(encode('x'.repeat(2000), small), (e: CacheError) => e.code === 'ERR_CACHE_VALUE_TOO_LARGE');
  const bomb = asBuf((await encode('x'.repeat(100_000), json)).data);
  assert.ok(bomb.length < 1000);
  await assert.rejects(decode(bomb, small), (e: CacheError) => e.code === 'ERR_CACHE_VALUE_TOO_LARGE');
});

void test('inflate memo: a payload is reused only for byte-identical stored values, parsed anew each time, bounded', async () => {
  const memo = new InflateMemo(64 * 1024);
  const s: CodecSettings = { ...json, memo };
  const value = { items: Array.from({ length: 50 }, (_, i) => ({ i, name: 'kitchen tile' })) };
  const stored = asBuf((await encode(value, s)).data);
  assert.equal(stored[3], 1, 'deflated');
  const a = await decode(stored, s, 'k');
  assert.equal(memo.size, 1);
  const b = await decode(Buffer.from(stored), s, 'k');
  assert.deepEqual(b.value, value);
  assert.notEqual(a.value, b.value, 'each read parses its own object');
  // Seed the memo with a different payload for the same stored bytes: it is what a hit returns.
  memo.put('k', stored.subarray(5), Buffer.from('{"seeded":true}'));
  assert.deepEqual((await decode(stored, s, 'k')).value, { seeded: true }, 'reused on identical bytes');
  assert.deepEqual((await decode(stored, s, 'other')).value, value, 'keyed by cache key');
  const changed = asBuf((await encode({ ...value, extra: 1 }, s)).data);
  assert.deepEqual((await decode(changed, s, 'k')).value, { ...value, extra: 1 }, 'other bytes: decompressed, never the old payload');
  const small = new InflateMemo(1000);
  small.put('big', Buffer.alloc(100), Buffer.alloc(100)); // above 1/8 of the bound
  assert.equal(small.size, 0);
  for (let i = 0; i < 20; i++) small.put(`k${i}`, Buffer.alloc(50), Buffer.alloc(50));
  assert.ok(small.size <= 10, String(small.size));
});
