/** createCache option validation: typed ConfigError naming the option, defaults. No server. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../../src/index.js';
import { resolveCacheOptions, type CacheOptions } from '../../../src/cache/options.js';

const resolve = (o: unknown): ReturnType<typeof resolveCacheOptions> => resolveCacheOptions(o as CacheOptions, 1000, undefined);

void test('defaults follow the reference document (JSON, zlib above 100 bytes, 300 s, fail-open)', () => {
  const o = resolve({ prefix: 'kibray' });
  assert.equal(o.name, 'kibray');
  assert.equal(o.serializer, 'json');
  assert.deepEqual(o.compression, { algorithm: 'deflate', minBytes: 100, level: undefined, memoBytes: 8 * 2 ** 20 });
  assert.equal(o.defaultTtlMs, 300_000);
  assert.equal(o.failOpen, true);
  assert.equal(o.timeoutMs, 1000, "the pool's commandTimeoutMs");
  assert.equal(o.local, false);
  assert.equal(o.lock, false);
  assert.ok(Object.isFrozen(o));
});

const BAD: [unknown, string][] = [
  [{ prefyx: 'x' }, 'prefyx'],
  [{ prefix: 3 }, 'prefix'],
  [{ prefix: 'a*' }, 'prefix'],
  [{ name: 'has space' }, 'name'],
  [{ defaultTtlMs: 0 }, 'defaultTtlMs'],
  [{ defaultTtlMs: NaN }, 'defaultTtlMs'],
  [{ defaultTtlMs: '300' }, 'defaultTtlMs'],
  [{ serializer: 'yaml' }, 'serializer'],
  [{ serializer: { id: 20, decode: () => 1 } }, 'serializer.encode'],
  [{ serializer: { id: 3, encode: () => new Uint8Array(), decode: () => 1 } }, 'serializer.id'],
  [{ compression: { algorithm: 'lz4' } }, 'compression.algorithm'],
  [{ compression: { minBytes: -1 } }, 'compression.minBytes'],
  [{ compression: { minBytes: 1.5 } }, 'compression.minBytes'],
  [{ compression: { algorithm: 'brotli', level: 12 } }, 'compression.level'],
  [{ compression: { algorithm: 'deflate', lvl: 1 } }, 'compression.lvl'],
  [{ compression: true }, 'compression'],
  [{ failOpen: 'yes' }, 'failOpen'],
  [{ timeoutMs: 0 }, 'timeoutMs'],
  [{ maxValueBytes: 2 ** 40 }, 'maxValueBytes'],
  [{ ttlJitter: 2 }, 'ttlJitter'],
  [{ local: { maxEntries: 0 } }, 'local.maxEntries'],
  [{ local: { size: 1 } }, 'local.size'],
  [{ local: true }, 'local'],
  [{ lockTtlMs: -5 }, 'lockTtlMs'],
  [{ factoryTimeoutMs: 0 }, 'factoryTimeoutMs'],
  [{ logger: { info() {} } }, 'logger'],
  [[], 'options'],
];

for (const [input, option] of BAD) {
  void test(`rejects ${JSON.stringify(input)} naming "${option}"`, () => {
    assert.throws(
      () => resolve(input),
      (e: unknown) => e instanceof ConfigError && e.code === 'ERR_INVALID_OPTION' && e.option === option,
    );
  });
}

void test('accepts Infinity where "no expiry" or "no deadline" makes sense, and nowhere else', () => {
  assert.equal(resolve({ defaultTtlMs: Infinity }).defaultTtlMs, Infinity);
  assert.equal(resolve({ factoryTimeoutMs: Infinity }).factoryTimeoutMs, Infinity);
  assert.throws(() => resolve({ timeoutMs: Infinity }), ConfigError);
  assert.throws(() => resolve({ lockTtlMs: Infinity }), ConfigError);
});
