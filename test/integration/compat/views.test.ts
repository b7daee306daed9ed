/**
 * The views' own behaviour against a real redis-server: ioredis argument coercion (only on the
 * view), callbacks, defineCommand with the NOSCRIPT fallback on the shared path and inside
 * multi/pipeline, status and events following the pool's health, ioredis's wording for
 * connection loss, offlineQueue, duplicate()/disconnect() aborting blocking calls, scanStream,
 * keyPrefix, and node-redis argument/reply shapes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { asIoredis, asNodeRedis } from '../../../src/compat/index.js';
import { createPool, type Pool } from '../../../src/index.js';
import { clientNames, useRedis, waitFor, withRedis } from '../../helpers/redis.js';

void describe('asIoredis view', () => {
  const redis = useRedis();
  let pool: Pool;
  const fresh = async (): Promise<Pool> => {
    pool = createPool({ url: redis().url, name: 'views-it', max: 4, connectTimeoutMs: 500, commandTimeoutMs: 2_000 });
    await pool.ready();
    return pool;
  };

  void test('coerces arguments like ioredis; the pool API stays strict', async (t) => {
    const p = await fresh();
    t.after(() => p.close());
    const v = asIoredis(p);
    assert.equal(await v.set('c:undef', undefined as unknown as string), 'OK');
    assert.equal(await p.get('c:undef'), '');
    await v.hset('c:h', 'flag', true as unknown as string, 'none', null as unknown as string);
    assert.deepEqual(await p.hgetall('c:h'), { flag: 'true', none: '' });
    assert.equal(await v.rpush('c:l', ...(['a', ['b', ['c']]] as unknown as string[])), 3);
    assert.deepEqual(await p.lrange('c:l', 0, -1), ['a', 'b', 'c']);
    await assert.rejects(p.set('c:undef', undefined as unknown as string), (e: { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT');
    const viaCb = await new Promise((resolve, reject) => {
      void v.get('c:undef', (err, val) => (err ? reject(err) : resolve(val)));
    });
    assert.equal(viaCb, '');
    assert.equal(await v.call('GET', ['c:undef']), '');
    assert.equal(await v.send_command('PING'), 'PONG');
  });

  void test('defineCommand: EVALSHA, EVAL after SCRIPT FLUSH, inside multi() and pipeline(); Buffer variant', async (t) => {
    const p = await fresh();
    t.after(() => p.close());
    const v = asIoredis(p);
    v.defineCommand('pair', { numberOfKeys: 1, lua: 'return {KEYS[1], ARGV[1], ARGV[2]}' });
    const pair = (v as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>).pair!;
    assert.deepEqual(await pair('k', 'x', false), ['k', 'x', 'false']);
    await redis().command('SCRIPT', 'FLUSH');
    assert.deepEqual(await pair('k', 'y', 1), ['k', 'y', '1'], 'NOSCRIPT falls back to EVAL');
    await redis().command('SCRIPT', 'FLUSH');
    const m = v.multi() as unknown as Record<string, (...a: unknown[]) => unknown> & { exec(): Promise<unknown> };
    m.pair!('m', 'a', 'b');
    m.set!('m:plain', '1');
    assert.deepEqual(await m.exec(), [
      [null, ['m', 'a', 'b']],
      [null, 'OK'],
    ]);
    await redis().command('SCRIPT', 'FLUSH');
    const pl = v.pipeline() as unknown as Record<string, (...a: unknown[]) => unknown> & { exec(): Promise<unknown> };
    pl.pair!('p', 'c', 'd');
    pl.get!('m:plain');
    assert.deepEqual(
      await pl.exec(),
      [
        [null, ['p', 'c', 'd']],
        [null, '1'],
      ],
      'pipeline re-runs a NOSCRIPT entry with EVAL',
    );
    const buf = await (v as unknown as Record<string, (...a: unknown[]) => Promise<Buffer[]>>).pairBuffer!('b', 'e', 'f');
    assert.ok(Buffer.isBuffer(buf[0]));
    // A second view of the same pool shares the script cache but defines its own commands.
    assert.equal(typeof (v.duplicate() as unknown as Record<string, unknown>).pair, 'undefined');
  });

  void test('duplicate() is another view; disconnect() aborts its blocking call and ends only the view', async (t) => {
    const p = await fresh();
    t.after(() => p.close());
    const v = asIoredis(p);
    const d = v.duplicate();
    assert.notEqual(d, v);
    const blocked = d.blpop('nothing-here', 10);
    await waitFor(() => p.stats().leased === 1);
    const started = Date.now();
    const ended: string[] = [];
    d.on('end', () => ended.push('end'));
    d.disconnect();
    await assert.rejects(
      blocked,
      (e: { message?: string; code?: string }) => e.message === 'Connection is closed.' && e.code === 'ERR_CONNECTION',
    );
    assert.ok(Date.now() - started < 2_000, 'not after the 10 s block');
    assert.equal(d.status, 'end');
    await waitFor(() => ended.length === 1);
    await assert.rejects(d.get('x'), (e: { message?: string }) => e.message === 'Connection is closed.');
    assert.equal(await v.ping(), 'PONG', 'the other view and the pool are unaffected');
    assert.equal(p.state, 'open');
    await d.connect();
    assert.equal(d.status, 'ready');
    assert.equal(await d.ping(), 'PONG');
    await waitFor(() => p.stats().leased === 0);
    assert.equal(await d.quit(), 'OK');
    assert.equal(p.state, 'open');
  });

  void test('scanStream, keyPrefix, SELECT of the pool db, CLIENT SETNAME kept on the view', async (t) => {
    const p = await fresh();
    t.after(() => p.close());
    const v = asIoredis(p);
    for (let i = 0; i < 30; i++) await p.set(`scan:${i}`, String(i));
    const keys: string[] = [];
    for await (const batch of v.scanStream({ match: 'scan:*', count: 7 })) keys.push(...(batch as string[]));
    assert.equal(new Set(keys).size, 30);
    const pre = asIoredis(p, { keyPrefix: 'pre:' });
    await pre.set('a', '1');
    assert.equal(await p.get('pre:a'), '1');
    assert.equal(await pre.get('a'), '1');
    assert.equal(await v.select(0), 'OK');
    await assert.rejects(v.select(3), (e: { code?: string }) => e.code === 'ERR_LEASE_REQUIRED');
    assert.equal(await v.client('SETNAME', 'my-lib'), 'OK');
    assert.equal(await v.client('GETNAME'), 'my-lib');
    assert.deepEqual(await clientNames(redis(), 'my-lib'), [], 'the shared lanes were not renamed');
  });
});

void test('asIoredis status and events follow pool health; connection loss uses ioredis wording; offlineQueue holds calls', async (t) => {
  const server = await withRedis(t);
  const pool = createPool({
    url: server.url,
    name: 'views-health',
    max: 3,
    connectTimeoutMs: 300,
    commandTimeoutMs: 8_000,
    failureThreshold: 1,
  });
  t.after(() => pool.destroy());
  await pool.ready();
  const v = asIoredis(pool);
  const held = asIoredis(pool, { offlineQueue: true });
  const events: string[] = [];
  for (const ev of ['close', 'reconnecting', 'connect', 'ready', 'end', 'error']) v.on(ev, () => events.push(ev));
  assert.equal(v.status, 'ready');
  await server.kill();
  await waitFor(
    async () => {
      await pool.ping().catch(() => undefined);
      return pool.stats().health === 'unavailable';
    },
    { timeoutMs: 5_000 },
  );
  assert.equal(v.status, 'reconnecting');
  const err = await v.get('k').then(
    () => undefined,
    (e: unknown) => e as { message: string; code: string; detail?: string },
  );
  assert.equal(err?.message, 'Connection is closed.');
  assert.match(String(err?.code), /^ERR_(UNAVAILABLE|CONNECTION)$/);
  assert.ok(err?.detail && err.detail !== err.message, 'the redpool message is kept as detail');
  const waiting = held.set('held', '1');
  await server.restart();
  assert.equal(await waiting, 'OK', 'offlineQueue: the call waited for the pool to recover');
  await waitFor(() => v.status === 'ready', { timeoutMs: 5_000 });
  assert.deepEqual(events, ['close', 'reconnecting', 'connect', 'ready'], 'no error events');
  assert.equal(await pool.get('held'), '1');
  await pool.close();
  assert.equal(v.status, 'end');
});

void describe('asNodeRedis view', () => {
  const redis = useRedis();

  void test('node-redis 5 argument and reply shapes; multi bare replies; sendCommand; isOpen/quit; subscribe(channel, listener)', async (t) => {
    const pool = createPool({ url: redis().url, name: 'nr-it', max: 3 });
    t.after(() => pool.close());
    const c = asNodeRedis(pool);
    assert.equal(c.isOpen, true);
    assert.equal(c.isReady, true);
    assert.equal(await c.connect(), c);
    assert.equal(await c.set('nr:a', 'A', { expiration: { type: 'EX', value: 100 } }), 'OK');
    assert.ok((await pool.ttl('nr:a')) > 90);
    assert.equal(await c.set('nr:a', 'B', { condition: 'NX' }), null);
    await c.set('nr:b', 'B', { PX: 100_000 });
    assert.deepEqual(await c.mGet(['nr:a', 'nr:b', 'nr:none']), ['A', 'B', null]);
    assert.equal(await c.hSet('nr:h', { f1: 'v1', f2: 'v2' }), 2);
    assert.deepEqual({ ...(await c.hGetAll('nr:h')) }, { f1: 'v1', f2: 'v2' });
    const scan = await c.scan('0', { MATCH: 'nr:*', COUNT: 100 });
    assert.equal(typeof scan.cursor, 'string');
    assert.deepEqual([...scan.keys].sort(), ['nr:a', 'nr:b', 'nr:h']);
    const iterated: string[] = [];
    for await (const keys of c.scanIterator({ MATCH: 'nr:*', COUNT: 1 })) iterated.push(...keys);
    assert.equal(new Set(iterated).size, 3);
    assert.deepEqual(await c.multi().set('nr:m', '1').get('nr:m').incr('nr:m').exec(), ['OK', '1', 2]);
    assert.equal(await c.sendCommand(['PING']), 'PONG');
    assert.equal(await c.del(['nr:a', 'nr:b']), 2);
    const got: string[] = [];
    const sub = c.duplicate();
    await sub.subscribe('nr:ch', (message, channel) => got.push(`${channel}:${message}`));
    assert.equal(pool.stats().subscribers, 1);
    await c.publish('nr:ch', 'hi');
    await waitFor(() => got.length === 1);
    assert.deepEqual(got, ['nr:ch:hi']);
    await sub.quit();
    assert.equal(pool.stats().subscribers, 0, "quit() closed the view's subscriber");
    await c.quit();
    assert.equal(c.isOpen, false);
    await assert.rejects(c.get('nr:h'), (e: { message?: string }) => e.message === 'The client is closed');
    assert.equal(pool.state, 'open');
  });
});
