/** keyvStore(cache) under the real Keyv 5 and cache-manager 7, on a real server. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Keyv } from 'keyv';
import { createCache as createCacheManager } from 'cache-manager';
import { createPool } from '../../../src/index.js';
import { createCache, keyvStore } from '../../../src/cache/index.js';
import { withRedis } from '../../helpers/redis.js';

void describe('keyvStore', () => {
  void test('Keyv: get/set/ttl/delete/has/many, clear only its namespace, values compressed in Redis', async (t) => {
    const server = await withRedis(t);
    const pool = createPool({ url: server.url, name: 'keyv', max: 2, lanes: 1 });
    t.after(() => pool.close());
    const cache = createCache(pool, { prefix: 'kv' });
    const keyv = new Keyv({ store: keyvStore(cache), namespace: 'app' });
    const other = new Keyv({ store: keyvStore(cache), namespace: 'other' });
    const doc = { title: 'cached page', body: 'lorem ipsum '.repeat(200) };
    assert.equal(await keyv.set('page', doc), true);
    assert.deepEqual(await keyv.get('page'), doc);
    await other.set('page', 'other namespace');
    await keyv.set('short', 1, 40);
    const stored = await pool.getBuffer('kv:app:page');
    assert.ok(stored && stored[0] === 0xc0 && stored[3] === 1, 'redpool format, deflate');
    assert.ok(stored.length < JSON.stringify(doc).length / 5, 'compressed');
    assert.equal(await keyv.has('page'), true);
    assert.deepEqual(await keyv.get(['page', 'nope']), [doc, undefined]);
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(await keyv.get('short'), undefined, 'ttl in ms honoured');
    assert.equal(await keyv.delete('page'), true);
    assert.equal(await keyv.get('page'), undefined);
    await keyv.set('a', 1);
    await keyv.clear();
    assert.equal(await keyv.get('a'), undefined);
    assert.equal(await other.get('page'), 'other namespace', 'clear() stayed in its namespace');
  });

  void test('cache-manager 7 on the store: wrap coalesces, and a stopped server is a miss, not an exception', async (t) => {
    const server = await withRedis(t);
    const pool = createPool({ url: server.url, name: 'cache-manager', max: 2, lanes: 1, onUnavailable: 'degrade', connectTimeoutMs: 100 });
    t.after(() => pool.destroy());
    const cache = createCache(pool, { prefix: 'cm', timeoutMs: 200 });
    const manager = createCacheManager({ stores: [new Keyv({ store: keyvStore(cache) })] });
    await manager.set('user:1', { name: 'Ada' }, 60_000);
    assert.deepEqual(await manager.get('user:1'), { name: 'Ada' });
    let calls = 0;
    const values = await Promise.all(Array.from({ length: 20 }, () => manager.wrap('slow', async () => ++calls, 60_000)));
    assert.deepEqual(new Set(values), new Set([1]));
    assert.equal(calls, 1);
    await server.stop();
    const start = performance.now();
    assert.equal(await manager.get('user:1'), undefined);
    await manager.set('user:2', { name: 'Grace' }, 60_000);
    assert.ok(performance.now() - start < 1_000, 'bounded by the cache deadline');
    assert.ok(cache.stats().failedOpen >= 2);
  });
});
