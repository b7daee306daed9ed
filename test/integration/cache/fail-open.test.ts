/**
 * Fail-open against a real server that is stopped, then frozen (SIGSTOP): every cache call
 * returns within its deadline, reads are misses, writes are skipped, getOrSet keeps serving
 * from the factory, errors are counted and logged once per interval with their code; with
 * `failOpen: false` the Redis error reaches the caller; non-Redis errors are never swallowed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createPool, type Logger } from '../../../src/index.js';
import { CacheError, createCache, type Cache } from '../../../src/cache/index.js';
import { withRedis } from '../../helpers/redis.js';

const DEADLINE_MS = 200;
// Scheduling slack on a shared 2-core machine; the point is "bounded by the deadline", not "hangs".
const SLACK_MS = 250;

function recordingLogger(): Logger & { lines: { obj: Record<string, unknown>; msg?: string }[] } {
  const lines: { obj: Record<string, unknown>; msg?: string }[] = [];
  const push = (obj: object, msg?: string): void => void lines.push({ obj: obj as Record<string, unknown>, msg });
  return { lines, info: push, warn: push, error: push, debug: push };
}

async function timed<T>(what: string, p: Promise<T>): Promise<T> {
  const start = performance.now();
  const v = await p;
  const ms = performance.now() - start;
  assert.ok(ms < DEADLINE_MS + SLACK_MS, `${what} took ${ms.toFixed(0)} ms (deadline ${DEADLINE_MS})`);
  return v;
}

async function everyCall(cache: Cache): Promise<void> {
  assert.equal(await timed('get', cache.get('k')), undefined);
  assert.equal(await timed('set', cache.set('k', { v: 1 })), false);
  assert.equal(await timed('has', cache.has('k')), false);
  assert.equal(await timed('delete', cache.delete('k')), false);
  assert.deepEqual(await timed('getMany', cache.getMany(['a', 'b'])), [undefined, undefined]);
  assert.equal(
    await timed(
      'setMany',
      cache.setMany([
        ['a', 1],
        ['b', 2],
      ]),
    ),
    0,
  );
  assert.equal(await timed('ttl', cache.ttl('k')), undefined);
  assert.equal(await timed('expire', cache.expire('k', 1000)), false);
  assert.equal(await timed('incr', cache.incr('n')), undefined);
  assert.equal(await timed('clear', cache.clear()), 0);
  let calls = 0;
  const v = await timed(
    'getOrSet',
    cache.getOrSet('page', () => ++calls, { lock: true }),
  );
  assert.equal(v, 1, 'the app keeps serving from the factory');
}

void describe('fail-open', () => {
  void test('server stopped: every call is a miss or a skipped write within its deadline', async (t) => {
    const server = await withRedis(t);
    const pool = createPool({
      url: server.url,
      name: 'cache-failopen-stop',
      max: 4,
      lanes: 2,
      onUnavailable: 'degrade',
      connectTimeoutMs: 100,
      acquireTimeoutMs: 150,
    });
    t.after(() => pool.destroy());
    await pool.ready();
    const logger = recordingLogger();
    const cache = createCache(pool, { prefix: 'fo', timeoutMs: DEADLINE_MS, logger, failOpenLogIntervalMs: 60_000 });
    await cache.set('k', 1);
    await server.stop();
    await everyCall(cache);
    await everyCall(cache);
    const s = cache.stats();
    assert.ok(s.failedOpen >= 20 && s.errors === s.failedOpen, JSON.stringify(s));
    const warned = logger.lines.filter((l) => l.msg === 'redis_cache_fail_open');
    const codes = warned.map((l) => l.obj['code']);
    assert.equal(new Set(codes).size, codes.length, `one line per error code per interval: ${codes.join(', ')}`);
    assert.ok(warned.every((l) => typeof l.obj['code'] === 'string' && (l.obj['code'] as string).startsWith('ERR_')));
    assert.ok(!JSON.stringify(logger.lines).includes('"k"'), 'keys are not logged');
    await assert.rejects(
      cache.get('k', { failOpen: false }),
      (e: Error & { code?: string }) => typeof e.code === 'string' && e.code.startsWith('ERR_') && !(e instanceof CacheError),
    );
  });

  void test('server frozen: every call returns within its deadline, then the cache works again', async (t) => {
    const server = await withRedis(t);
    const pool = createPool({ url: server.url, name: 'cache-failopen-freeze', max: 4, lanes: 2, onUnavailable: 'degrade' });
    t.after(() => pool.destroy());
    await pool.ready();
    const cache = createCache(pool, { prefix: 'fz', timeoutMs: DEADLINE_MS });
    // everyCall() writes and deletes 'k' while frozen; those writes may still run on resume.
    await cache.set('keep', 'before');
    server.pause();
    try {
      await everyCall(cache);
      const strict = createCache(pool, { prefix: 'fz', timeoutMs: DEADLINE_MS, failOpen: false });
      await assert.rejects(timed('strict get', strict.get('keep')), (e: Error & { code?: string }) => e.code === 'ERR_COMMAND_TIMEOUT');
    } finally {
      server.resume();
    }
    let back: unknown;
    for (let i = 0; i < 50 && back !== 'before'; i++) {
      back = await cache.get('keep');
      if (back !== 'before') await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(back, 'before');
  });

  void test('non-Redis errors are never swallowed: serializer bugs and factory errors', async (t) => {
    const server = await withRedis(t);
    const pool = createPool({ url: server.url, name: 'cache-failopen-bugs', max: 2, lanes: 1 });
    t.after(() => pool.close());
    const broken = createCache(pool, {
      prefix: 'bug',
      serializer: {
        id: 99,
        encode: () => {
          throw new TypeError('serializer bug');
        },
        decode: () => null,
      },
    });
    await assert.rejects(broken.set('k', 1.5), /serializer bug/);
    const cache = createCache(pool, { prefix: 'bug2' });
    await assert.rejects(
      cache.getOrSet('k', () => {
        throw new RangeError('factory says no');
      }),
      RangeError,
    );
    await assert.rejects(
      cache.getOrSet('k', async () => {
        throw new RangeError('async no');
      }),
      RangeError,
    );
    assert.equal(cache.stats().factoryErrors, 2);
  });
});
