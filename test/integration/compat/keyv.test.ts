/**
 * @keyv/redis 5 + keyv + cache-manager 7 through asNodeRedis(pool): wrap, mget, ttl, clear; an
 * outage reads as misses (wrap still answers from the function); after a SIGKILL + restart the
 * cache fills again by itself. CLIENT LIST stays within max.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import KeyvRedis from '@keyv/redis';
import { createCache } from 'cache-manager';
import { Keyv } from 'keyv';
import { asNodeRedis } from '../../../src/compat/index.js';
import { createPool } from '../../../src/index.js';
import { waitFor, withRedis } from '../../helpers/redis.js';
import { sampleConnections, serverConnections } from './support.js';

void test('keyv + @keyv/redis + cache-manager: wrap/mget/ttl/clear, outage = misses, recovers after a restart', async (t) => {
  const server = await withRedis(t);
  const pool = createPool({ url: server.url, name: 'keyv-it', max: 3, connectTimeoutMs: 300, commandTimeoutMs: 500, failureThreshold: 2 });
  t.after(() => pool.destroy());
  await pool.ready();
  const sampler = sampleConnections(server);
  const store = new KeyvRedis(asNodeRedis(pool));
  const keyv = new Keyv({ store, namespace: 'app' });
  const errors: unknown[] = [];
  keyv.on('error', (e: unknown) => errors.push(e));
  const cache = createCache({ stores: [keyv] });

  let calls = 0;
  const load = async (): Promise<{ v: number }> => ({ v: ++calls });
  assert.deepEqual(await cache.wrap('w', load, 60_000), { v: 1 });
  assert.deepEqual(await cache.wrap('w', load, 60_000), { v: 1 }, 'second wrap is a hit');
  assert.equal(calls, 1);
  await cache.set('a', 'A', 60_000);
  await cache.set('b', { b: true }, 60_000);
  assert.deepEqual(await cache.mget(['a', 'b', 'missing']), ['A', { b: true }, undefined]);
  const expires = await cache.ttl('a');
  assert.ok(typeof expires === 'number' && expires > Date.now() && expires <= Date.now() + 60_000, `ttl ${String(expires)}`);
  const pttl = await pool.pttl('app::app:a');
  assert.ok(pttl > 0 && pttl <= 60_000, `server-side pttl ${pttl}`);
  await cache.clear();
  assert.equal(await cache.get('a'), undefined);
  assert.equal((await pool.keys('app::*')).length, 0);

  await cache.set('k', 'before', 60_000);
  await server.kill();
  // Outage: reads are misses, wrap answers from its function; nothing throws.
  assert.equal(await cache.get('k'), undefined);
  assert.deepEqual(await cache.wrap('w2', load, 60_000), { v: 2 });
  await server.restart();
  await waitFor(
    async () => {
      await cache.set('k', 'after', 60_000);
      return (await cache.get('k')) === 'after';
    },
    { timeoutMs: 10_000, intervalMs: 100, message: 'cache works after the restart' },
  );
  assert.deepEqual(await cache.wrap('w3', load, 60_000), { v: 3 });
  assert.deepEqual(await cache.wrap('w3', load, 60_000), { v: 3 });
  t.diagnostic(`errors reported by keyv during the outage: ${errors.length}`);

  const { max, samples } = await sampler.stop();
  t.diagnostic(`CLIENT LIST max ${max} over ${samples} samples (pool max 3)`);
  assert.ok(max <= 3, `server saw ${max} connections`);
  await cache.disconnect().catch(() => undefined);
  await pool.close();
  assert.equal(await serverConnections(server), 0);
});
