/**
 * The near cache on a real server with a second process writing: a write there evicts the
 * entry here within 50 ms; after CLIENT KILL of the invalidation connection (the cache's
 * pool.subscriber(), tracking set by the pool) the near cache is emptied before it serves again,
 * so a value replaced while it was down is never served.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test, type TestContext } from 'node:test';
import { createPool, type Pool } from '../../../src/index.js';
import { createCache } from '../../../src/cache/index.js';
import { withRedis, waitFor, type RedisProcess } from '../../helpers/redis.js';

const WRITER = fileURLToPath(new URL('./fixtures/cache-writer.js', import.meta.url));

interface Writer {
  write(key: string, value: string): Promise<void>;
}

async function startWriter(t: TestContext, url: string): Promise<Writer> {
  const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: url };
  delete env['NODE_TEST_CONTEXT'];
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [WRITER], { env });
  t.after(() => {
    child.stdin.end();
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
  await waitFor(() => out.includes('ready\n'), { timeoutMs: 20_000, message: 'writer ready' });
  let n = 0;
  return {
    async write(key, value) {
      const want = out.split(`ok ${key}\n`).length + n * 0;
      child.stdin.write(`${key}=${value}\n`);
      await waitFor(() => out.split(`ok ${key}\n`).length > want, { timeoutMs: 5_000, intervalMs: 1 });
      n++;
    },
  };
}

async function trackingClientIds(server: RedisProcess): Promise<string[]> {
  const list = String(await server.command('CLIENT', 'LIST'));
  return list
    .split('\n')
    .filter((l) => /\bflags=\S*t/.test(l))
    .map((l) => /\bid=(\d+)/.exec(l)![1]!);
}

async function setup(t: TestContext): Promise<{ server: RedisProcess; pool: Pool }> {
  const server = await withRedis(t);
  const pool = createPool({ url: server.url, name: 'near-reader', max: 4, lanes: 2 });
  t.after(() => pool.close());
  await pool.ready();
  return { server, pool };
}

void describe('near cache', () => {
  void test('a write from a second process is seen here within 50 ms', async (t) => {
    const { server, pool } = await setup(t);
    const cache = createCache(pool, { prefix: 'near', local: { maxEntries: 100 } });
    t.after(() => cache.close());
    assert.equal(await cache.ready(), true);
    assert.deepEqual(await trackingClientIds(server), [String((await trackingClientIds(server))[0])], 'one tracking connection');
    const writer = await startWriter(t, server.url);
    await writer.write('k', 'v1');
    assert.equal(await cache.get('k'), 'v1');
    assert.equal(await cache.get('k'), 'v1');
    assert.equal(cache.stats().nearHits, 1, 'the second read was local');
    for (let round = 2; round <= 6; round++) {
      await writer.write('k', `v${round}`);
      const start = performance.now();
      await waitFor(async () => (await cache.get('k')) === `v${round}`, { timeoutMs: 1_000, intervalMs: 1 });
      const ms = performance.now() - start;
      assert.ok(ms < 50, `seen after ${ms.toFixed(1)} ms`);
      assert.equal(await cache.get('k'), `v${round}`);
    }
    assert.ok(cache.stats().nearHits >= 6);
  });

  void test('after CLIENT KILL of the invalidation connection no stale value is served', async (t) => {
    const { server, pool } = await setup(t);
    const cache = createCache(pool, { prefix: 'near', local: { maxEntries: 100 } });
    t.after(() => cache.close());
    assert.equal(await cache.ready(), true);
    const writer = await startWriter(t, server.url);
    for (let round = 1; round <= 3; round++) {
      await writer.write('k', `old${round}`);
      await cache.get('k');
      assert.equal(await cache.get('k'), `old${round}`);
      const nearHits = cache.stats().nearHits;
      assert.ok(nearHits >= round, 'cached locally');
      const [id] = await trackingClientIds(server);
      assert.ok(id, 'the invalidation connection is tracked');
      assert.equal(pool.stats().subscribers, 1, 'it is the pool subscriber of the cache');
      const flushes = cache.stats().nearFlushes;
      await server.command('CLIENT', 'KILL', 'ID', id);
      // Written while the invalidation connection is down: its invalidation is never delivered.
      await writer.write('k', `new${round}`);
      await waitFor(() => cache.stats().nearFlushes > flushes, { timeoutMs: 2_000, intervalMs: 1 });
      assert.equal(await cache.get('k'), `new${round}`, 'no stale read while the connection is down');
      await waitFor(() => cache.ready(), { timeoutMs: 5_000 });
      assert.equal(await cache.get('k'), `new${round}`, 'no stale read once it is back');
      await waitFor(async () => (await trackingClientIds(server)).length === 1 && !(await trackingClientIds(server)).includes(id));
      assert.equal(pool.stats().subscribers, 1, 'the subscriber reconnected with tracking re-applied');
    }
  });

  void test('entries and bytes are bounded (LRU)', async (t) => {
    const { pool } = await setup(t);
    const cache = createCache(pool, { prefix: 'nearlru', local: { maxEntries: 10 } });
    t.after(() => cache.close());
    await cache.ready();
    for (let i = 0; i < 30; i++) await cache.set(`k${i}`, i);
    for (let i = 0; i < 30; i++) await cache.get(`k${i}`);
    assert.equal(cache.stats().nearEntries, 10);
    const big = createCache(pool, { prefix: 'nearbytes', compression: false, local: { maxEntries: 1000, maxBytes: 10_000 } });
    t.after(() => big.close());
    await big.ready();
    for (let i = 0; i < 20; i++) await big.set(`k${i}`, 'x'.repeat(2_000));
    for (let i = 0; i < 20; i++) await big.get(`k${i}`);
    // 2,007 stored bytes each: at most 4 fit in 10,000.
    assert.equal(big.stats().nearEntries, 4);
  });
});

void describe('near cache: liveness and protocol', () => {
  void test('a frozen server (SIGSTOP): once the liveness PING notices, no near entry is served; after SIGCONT it serves again', async (t) => {
    const server = await withRedis(t);
    const pool = createPool({ url: server.url, name: 'near-frozen', max: 4, lanes: 2, onUnavailable: 'degrade' });
    t.after(() => pool.destroy());
    await pool.ready();
    const cache = createCache(pool, {
      prefix: 'nf',
      timeoutMs: 200,
      local: { maxEntries: 100, pingIntervalMs: 100, pingTimeoutMs: 200 },
    });
    t.after(() => cache.close());
    assert.equal(await cache.ready(), true);
    await cache.set('k', 'v1');
    assert.equal(await cache.get('k'), 'v1');
    assert.equal(await cache.get('k'), 'v1');
    assert.equal(cache.stats().nearHits, 1, 'served locally before the freeze');
    const flushes = cache.stats().nearFlushes;
    server.pause();
    try {
      // The socket stays open and quiet: only the unanswered PING can tell.
      await waitFor(() => cache.stats().nearFlushes > flushes, { timeoutMs: 5_000, message: 'the freeze is noticed' });
      const hits = cache.stats().nearHits;
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        assert.equal(await cache.get('k'), undefined, 'a fail-open miss, not the near entry');
        assert.ok(performance.now() - t0 < 2_000, 'within the deadline');
      }
      assert.equal(await cache.has('k'), false);
      assert.equal(cache.stats().nearHits, hits, 'no near entry served while frozen');
      assert.equal(cache.stats().nearEntries, 0);
    } finally {
      server.resume();
    }
    await waitFor(() => cache.ready(), { timeoutMs: 15_000, message: 'serving again after SIGCONT' });
    await waitFor(async () => (await cache.get('k')) === 'v1', { timeoutMs: 5_000 });
    const hits = cache.stats().nearHits;
    assert.equal(await cache.get('k'), 'v1');
    assert.equal(cache.stats().nearHits, hits + 1, 'near hits again');
  });

  void test('a RESP2 connection (server without HELLO) cannot carry invalidations: tracking is refused with a typed error', async (t) => {
    const server = await withRedis(t, { args: ['--rename-command', 'HELLO', ''] });
    const pool = createPool({ url: server.url, name: 'near-resp2', max: 4, lanes: 2 });
    t.after(() => pool.close());
    await pool.ready();
    const isResp2Refusal = (e: unknown): boolean =>
      (e as { code?: string }).code === 'ERR_INVALID_OPTION' &&
      (e as { option?: string }).option === 'subscriber.tracking' &&
      /RESP2/.test((e as Error).message);
    const sub = pool.subscriber({ tracking: { prefixes: ['x:'] } });
    await assert.rejects(sub.ready(), isResp2Refusal);
    assert.equal(sub.state, 'idle', 'not retried: it can never work');
    await sub.close();
    const cache = createCache(pool, { prefix: 'n2', local: { maxEntries: 10 } });
    t.after(() => cache.close());
    await assert.rejects(cache.ready(), isResp2Refusal);
    await cache.set('k', 'v');
    assert.equal(await cache.get('k'), 'v');
    assert.equal(await cache.get('k'), 'v');
    assert.equal(cache.stats().nearHits, 0, 'the near cache stays off; the cache works through Redis');
    assert.equal(cache.stats().hits, 2);
  });
});
