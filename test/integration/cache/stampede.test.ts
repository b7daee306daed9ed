/**
 * getOrSet stampede protection on a real server: 1,000 concurrent calls on a cold key call the
 * factory once in the process, and once across two processes with the lock; stale-while-
 * revalidate serves the old value while one refresh runs; grace serves stale when the factory
 * fails or times out; factory timeouts without a stale value are a typed error.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { createPool, type Pool } from '../../../src/index.js';
import { CacheError, createCache } from '../../../src/cache/index.js';
import { useRedis, waitFor } from '../../helpers/redis.js';

const CHILD = fileURLToPath(new URL('./fixtures/getorset-child.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

void describe('getOrSet stampede protection', () => {
  const redis = useRedis();
  let pool: Pool;
  before(async () => {
    pool = createPool({ url: redis().url, name: 'cache-stampede', max: 4, lanes: 2 });
    await pool.ready();
  });
  after(() => pool.close());

  void test('1,000 concurrent calls on a cold key: one factory call in the process', async () => {
    const cache = createCache(pool, { prefix: 'sf' });
    let calls = 0;
    const values = await Promise.all(
      Array.from({ length: 1000 }, () =>
        cache.getOrSet('cold', async () => {
          calls++;
          await sleep(50);
          return { n: calls };
        }),
      ),
    );
    assert.equal(calls, 1);
    assert.ok(values.every((v) => v.n === 1));
    assert.equal(cache.stats().coalesced, 999);
    assert.deepEqual(await cache.get('cold'), { n: 1 });
    await cache.clear();
  });

  void test('1,000 concurrent calls in each of two processes with the lock: one factory call in all', { timeout: 60_000 }, async (t) => {
    await pool.del('stampede-factory-calls');
    const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redis().url, N: '1000', FACTORY_MS: '300' };
    delete env['NODE_TEST_CONTEXT']; // the child is a program, not a test file
    const child = spawn(process.execPath, [CHILD], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await waitFor(() => out.includes('ready\n'), { timeoutMs: 20_000, message: 'child ready' });
    const cache = createCache(pool, { prefix: 'stampede', lock: true });
    child.stdin.write('go\n');
    const values = await Promise.all(
      Array.from({ length: 1000 }, () =>
        cache.getOrSet('cold', async () => {
          await pool.incr('stampede-factory-calls');
          await sleep(300);
          return { by: process.pid };
        }),
      ),
    );
    assert.equal(await exited, 0, 'child exit code');
    const report = JSON.parse(out.split('\n').find((l) => l.startsWith('{'))!) as { distinct: string[]; stats: { lockWaits: number } };
    assert.equal(await pool.get('stampede-factory-calls'), '1', 'the factory ran once across both processes');
    const mine = [...new Set(values.map((v) => JSON.stringify(v)))];
    assert.equal(mine.length, 1);
    assert.deepEqual(report.distinct, mine, 'both processes got the one computed value');
    assert.equal(cache.stats().lockWaits + report.stats.lockWaits, 1, 'exactly one process waited for the lock');
    assert.equal(await pool.exists('stampede:__lock__:cold'), 0, 'the lock was released');
    await cache.clear();
  });

  void test('soft TTL: the stale value is served while one background refresh runs', async () => {
    const cache = createCache(pool, { prefix: 'swr' });
    let calls = 0;
    const factory = async (): Promise<number> => {
      calls++;
      await sleep(100);
      return calls;
    };
    assert.equal(await cache.getOrSet('k', factory, { ttlMs: 10_000, softTtlMs: 50 }), 1);
    await sleep(80);
    const stale = await Promise.all([
      cache.getOrSet('k', factory, { ttlMs: 10_000, softTtlMs: 50 }),
      cache.getOrSet('k', factory, { ttlMs: 10_000, softTtlMs: 50 }),
    ]);
    assert.deepEqual(stale, [1, 1], 'served stale at once');
    await waitFor(async () => (await cache.get('k')) === 2, { timeoutMs: 2_000 });
    assert.equal(calls, 2, 'one refresh');
    assert.ok(cache.stats().staleServed >= 1);
    await cache.clear();
  });

  void test('grace: a failing or slow factory gets the stale value; without one the error is thrown', async () => {
    const cache = createCache(pool, { prefix: 'grace' });
    assert.equal(await cache.getOrSet('k', () => 'v1', { ttlMs: 50, graceMs: 10_000 }), 'v1');
    await sleep(80);
    assert.equal(
      await cache.getOrSet(
        'k',
        () => {
          throw new Error('db down');
        },
        { ttlMs: 50, graceMs: 10_000 },
      ),
      'v1',
    );
    assert.equal(
      await cache.getOrSet('k', () => sleep(1_000).then(() => 'late'), { ttlMs: 50, graceMs: 10_000, factoryTimeoutMs: 30 }),
      'v1',
    );
    await assert.rejects(
      cache.getOrSet(
        'other',
        () => {
          throw new Error('db down');
        },
        { graceMs: 10_000 },
      ),
      /db down/,
    );
    await assert.rejects(
      cache.getOrSet('slow', () => sleep(1_000).then(() => 'late'), { factoryTimeoutMs: 30 }),
      (e: CacheError) => e.code === 'ERR_CACHE_FACTORY_TIMEOUT',
    );
    // The timed-out factory still finishes and stores its value for the next caller.
    await waitFor(async () => (await cache.get('slow')) === 'late', { timeoutMs: 3_000 });
    await cache.clear();
  });

  void test('TTL jitter spreads expiries', async () => {
    const cache = createCache(pool, { prefix: 'jit', ttlJitter: 0.5 });
    for (let i = 0; i < 20; i++) await cache.getOrSet(`k${i}`, () => i, { ttlMs: 100_000 });
    const ttls = await Promise.all(Array.from({ length: 20 }, (_, i) => cache.ttl(`k${i}`)));
    assert.ok(
      ttls.every((t) => t !== undefined && t > 95_000 && t <= 150_000),
      ttls.join(),
    );
    assert.ok(new Set(ttls.map((t) => Math.round(t! / 1000))).size > 3, 'not all the same');
    await cache.clear();
  });
});
