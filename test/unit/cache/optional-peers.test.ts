/**
 * The optional peer msgpackr, missing: simulated through the module-resolution seam (a
 * MODULE_NOT_FOUND from the loader), not by uninstalling it. `serializer: 'msgpack'` is refused
 * when the cache is created, with a typed error naming the option and the package; a stored
 * msgpack value read by a cache that cannot load msgpackr is a typed error, never a crash.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPool } from '../../../src/index.js';
import { FakeDriver } from '../../../src/testing/index.js';
import { CacheError, createCache } from '../../../src/cache/index.js';
import { decode, encode } from '../../../src/cache/codec.js';
import { jsonSerializer, msgpackSerializer, setPeerLoaderForTests } from '../../../src/cache/serializers.js';

function missing(name: string): never {
  throw Object.assign(new Error(`Cannot find module '${name}'`), { code: 'MODULE_NOT_FOUND' });
}

const isMissingMsgpackr = (e: unknown): boolean =>
  e instanceof CacheError &&
  e.code === 'ERR_CACHE_CODEC_UNAVAILABLE' &&
  e.option === 'serializer' &&
  /serializer 'msgpack'/.test(e.message) &&
  /npm install msgpackr/.test(e.message) &&
  (e.cause as { code?: string }).code === 'MODULE_NOT_FOUND';

void test('msgpackr missing: createCache refuses serializer msgpack with a typed error naming the option', async (t) => {
  const pool = createPool({ driver: new FakeDriver(), name: 'cache-peers' });
  t.after(() => pool.destroy());
  const settings = { serializer: msgpackSerializer, compression: false as const, maxValueBytes: 2 ** 20 };
  const stored = (await encode({ a: 1 }, settings)).data as Buffer; // written while msgpackr loads
  const asked: string[] = [];
  setPeerLoaderForTests((name) => {
    asked.push(name);
    return missing(name);
  });
  t.after(() => setPeerLoaderForTests(undefined));
  assert.throws(() => createCache(pool, { serializer: 'msgpack' }), isMissingMsgpackr);
  assert.deepEqual(asked, ['msgpackr'], 'resolved through the seam');
  assert.ok(createCache(pool, { serializer: 'json' }), 'JSON needs no peer');
  await assert.rejects(decode(stored, { ...settings, serializer: jsonSerializer }), isMissingMsgpackr);
  setPeerLoaderForTests(() => ({})); // a module without Packr: the same error, not a TypeError
  assert.throws(
    () => createCache(pool, { serializer: 'msgpack' }),
    (e: unknown) => e instanceof CacheError && e.option === 'serializer',
  );
  setPeerLoaderForTests(undefined);
  assert.ok(createCache(pool, { serializer: 'msgpack' }), 'loads again once it resolves');
  assert.deepEqual((await decode(stored, { ...settings, serializer: jsonSerializer })).value, { a: 1 });
});
