/**
 * Typed commands through the shared lanes against a real redis-server: reply shapes of the
 * ioredis surface (strings, hashes as objects, lists, sets, sorted sets), Buffer variants with
 * byte-exact binary round trips, `call`, pipeline and MULTI result shapes, and `pool.with`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { CommandTimeoutError, LeaseRequiredError, ReplyError } from '../../../src/index.js';
import { leakGuard } from '../../helpers/leaks.js';
import { useRedis } from '../../helpers/redis.js';

void describe('typed commands through lanes', () => {
  const server = useRedis();

  void test('strings', async (t) => {
    const pool = leakGuard(t, server()).pool({ label: 'types' });
    assert.equal(await pool.set('s:1', 'hello'), 'OK');
    assert.equal(await pool.get('s:1'), 'hello');
    assert.equal(await pool.get('s:missing'), null);
    assert.equal(await pool.set('s:2', 'v', 'EX', 60, 'NX'), 'OK');
    assert.equal(await pool.set('s:2', 'w', 'EX', 60, 'NX'), null);
    assert.equal(await pool.append('s:1', ' world'), 11);
    assert.equal(await pool.getrange('s:1', 0, 4), 'hello');
    assert.equal(await pool.incr('s:n'), 1);
    assert.equal(await pool.incrby('s:n', 41), 42);
    assert.equal(await pool.incrbyfloat('s:n', '0.5'), '42.5');
    assert.deepEqual(await pool.mget('s:1', 's:missing', 's:2'), ['hello world', null, 'v']);
    assert.equal(await pool.mset({ 's:a': '1', 's:b': '2' }), 'OK');
    assert.deepEqual(await pool.mget(['s:a', 's:b']), ['1', '2']);
    const ttl = await pool.ttl('s:2');
    assert.ok(ttl > 0 && ttl <= 60, `ttl ${ttl}`);
    assert.equal(await pool.del('s:1', 's:2', 's:a', 's:b', 's:n'), 5);
    assert.equal(await pool.exists('s:1'), 0);
  });

  void test('hashes: hset with an object, hgetall returns an object', async (t) => {
    const pool = leakGuard(t, server()).pool({ label: 'types' });
    assert.equal(await pool.hset('h:1', { a: '1', b: 'two', c: 3 }), 3);
    assert.equal(await pool.hset('h:1', 'd', 'x', 'e', 'y'), 2);
    assert.deepEqual(await pool.hgetall('h:1'), { a: '1', b: 'two', c: '3', d: 'x', e: 'y' });
    assert.deepEqual(await pool.hgetall('h:missing'), {});
    assert.equal(await pool.hget('h:1', 'b'), 'two');
    assert.equal(await pool.hget('h:1', 'zz'), null);
    assert.deepEqual(await pool.hmget('h:1', 'a', 'zz'), ['1', null]);
    assert.equal(await pool.hincrby('h:1', 'c', 4), 7);
    assert.equal(await pool.hlen('h:1'), 5);
    assert.deepEqual((await pool.hkeys('h:1')).sort(), ['a', 'b', 'c', 'd', 'e']);
    assert.equal(await pool.hdel('h:1', 'd', 'e'), 2);
    assert.equal(await pool.hexists('h:1', 'd'), 0);
    await pool.del('h:1');
  });

  void test('lists, sets and sorted sets', async (t) => {
    const pool = leakGuard(t, server()).pool({ label: 'types' });
    assert.equal(await pool.rpush('l:1', 'a', 'b', 'c'), 3);
    assert.equal(await pool.lpush('l:1', 'z'), 4);
    assert.deepEqual(await pool.lrange('l:1', 0, -1), ['z', 'a', 'b', 'c']);
    assert.equal(await pool.llen('l:1'), 4);
    assert.equal(await pool.lpop('l:1'), 'z');
    assert.deepEqual(await pool.rpop('l:1', 2), ['c', 'b']);
    assert.equal(await pool.lpop('l:missing'), null);

    assert.equal(await pool.sadd('set:1', 'x', 'y', 'z', 'x'), 3);
    assert.deepEqual((await pool.smembers('set:1')).sort(), ['x', 'y', 'z']);
    assert.equal(await pool.sismember('set:1', 'y'), 1);
    assert.equal(await pool.sismember('set:1', 'q'), 0);
    assert.equal(await pool.scard('set:1'), 3);
    assert.equal(await pool.srem('set:1', 'x'), 1);

    assert.equal(await pool.zadd('z:1', 1, 'one', 2, 'two', 3, 'three'), 3);
    assert.deepEqual(await pool.zrange('z:1', 0, '-1'), ['one', 'two', 'three']);
    assert.deepEqual(await pool.zrange('z:1', 0, '1', 'WITHSCORES'), ['one', '1', 'two', '2']);
    assert.equal(await pool.zscore('z:1', 'two'), '2');
    assert.equal(await pool.zscore('z:1', 'nope'), null);
    assert.equal(await pool.zincrby('z:1', 10, 'one'), '11');
    assert.deepEqual(await pool.zrangebyscore('z:1', 2, 3), ['two', 'three']);
    assert.deepEqual(await pool.zrevrange('z:1', 0, 0), ['one']);
    assert.equal(await pool.zcard('z:1'), 3);
    await pool.del('l:1', 'set:1', 'z:1');
  });

  void test('Buffer variants: getBuffer returns a Buffer; binary values round-trip byte-exact', async (t) => {
    const pool = leakGuard(t, server()).pool({ label: 'types' });
    const tricky = Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0xfe, 0x24, 0x2a, 0x0d, 0x0a, 0x00, 0x80, 0xc3, 0x28]);
    assert.equal(await pool.set('b:1', tricky), 'OK');
    const back = await pool.getBuffer('b:1');
    assert.ok(Buffer.isBuffer(back), 'getBuffer returns a Buffer');
    assert.ok(back.equals(tricky), `round trip: ${back.toString('hex')} vs ${tricky.toString('hex')}`);
    assert.equal(await pool.getBuffer('b:missing'), null);

    const big = randomBytes(256 * 1024);
    await pool.set('b:big', big);
    assert.ok((await pool.getBuffer('b:big'))?.equals(big), '256 KiB random bytes round-trip');
    assert.equal(await pool.strlen('b:big'), big.length);

    await pool.hset('b:h', 'f', tricky);
    const h = await pool.hgetallBuffer('b:h');
    assert.ok(Buffer.isBuffer(h['f']) && h['f'].equals(tricky), 'hgetallBuffer values are Buffers');
    await pool.rpush('b:l', tricky, Buffer.from('plain'));
    const l = await pool.lrangeBuffer('b:l', 0, -1);
    assert.ok(l.every((x) => Buffer.isBuffer(x)));
    assert.ok(l[0]?.equals(tricky));
    const viaCall = await pool.callBuffer('GET', 'b:1');
    assert.ok(Buffer.isBuffer(viaCall) && viaCall.equals(tricky), 'callBuffer returns bytes');
    await pool.del('b:1', 'b:big', 'b:h', 'b:l');
  });

  void test('a Uint8Array argument is sent as its bytes (not as "1,2,3")', async (t) => {
    const pool = leakGuard(t, server()).pool({ label: 'types' });
    const bytes = new Uint8Array([0, 1, 2, 13, 10, 255]);
    // The ioredis types allow only Buffer; JavaScript callers (and casts) can still pass a Uint8Array.
    await pool.set('types:u8', bytes as unknown as Buffer);
    assert.deepEqual(await pool.getBuffer('types:u8'), Buffer.from(bytes));
    const offset = new Uint8Array([9, 9, 7, 8, 9]).subarray(2, 4); // a view with an offset
    await pool.set('types:u8view', offset as unknown as Buffer);
    assert.deepEqual(await pool.getBuffer('types:u8view'), Buffer.from([7, 8]));
  });

  void test("pool.call('GET', k) and error replies", async (t) => {
    const pool = leakGuard(t, server()).pool({ label: 'types' });
    await pool.set('c:1', 'v');
    assert.equal(await pool.call('GET', 'c:1'), 'v');
    assert.equal(await pool.call('get', ['c:1']), 'v');
    assert.equal(await pool.call('SET', 'c:2', 'x', 'PX', 10_000), 'OK');
    await pool.rpush('c:list', 'a');
    await assert.rejects(pool.get('c:list'), (err: unknown) => {
      assert.ok(err instanceof ReplyError, String(err));
      assert.equal(err.code, 'ERR_REPLY');
      assert.equal(err.prefix, 'WRONGTYPE');
      assert.equal(err.outcome, 'rejected');
      return true;
    });
    await assert.rejects(pool.call('NOSUCHCOMMAND', 'x'), (err: unknown) => err instanceof ReplyError && err.prefix === 'ERR');
    const refused: Array<[string, ...Array<string | number>]> = [
      ['SELECT', 1],
      ['WATCH', 'k'],
      ['SUBSCRIBE', 'ch'],
      ['CLIENT', 'SETNAME', 'x'],
    ];
    for (const [command, ...args] of refused) {
      await assert.rejects(
        pool.call(command, ...args),
        (err: unknown) => err instanceof LeaseRequiredError && err.code === 'ERR_LEASE_REQUIRED',
        command,
      );
    }
    await pool.del('c:1', 'c:2', 'c:list');
  });

  void test('pipeline and multi results shape', async (t) => {
    const pool = leakGuard(t, server()).pool({ label: 'types' });
    const res = await pool.pipeline().set('p:1', 'a').get('p:1').incr('p:n').hset('p:h', { f: 'v' }).hgetall('p:h').exec();
    assert.deepEqual(res, [
      [null, 'OK'],
      [null, 'a'],
      [null, 1],
      [null, 1],
      [null, { f: 'v' }],
    ]);

    const withError = await pool.pipeline().set('p:2', 'x').incr('p:2').get('p:2').exec();
    assert.ok(withError);
    assert.deepEqual(withError[0], [null, 'OK']);
    const [err, value] = withError[1]!;
    assert.ok(err instanceof ReplyError && err.code === 'ERR_REPLY', `pipeline error entry is a ReplyError: ${String(err)}`);
    assert.equal(value ?? null, null);
    assert.deepEqual(withError[2], [null, 'x']);

    const tx = await pool.multi().set('m:1', '1').incr('m:1').get('m:1').exec();
    assert.deepEqual(tx, [
      [null, 'OK'],
      [null, 2],
      [null, '2'],
    ]);
    const fromArray = await pool
      .multi([
        ['set', 'm:2', 'q'],
        ['get', 'm:2'],
      ])
      .exec();
    assert.deepEqual(fromArray, [
      [null, 'OK'],
      [null, 'q'],
    ]);
    assert.deepEqual(await pool.pipeline().exec(), []);

    await assert.rejects(pool.multi().blpop('m:l', 1).exec(), LeaseRequiredError, 'blocking command refused inside a shared batch');
    await assert.rejects(pool.pipeline().select(2).exec(), LeaseRequiredError);
    await pool.del('p:1', 'p:n', 'p:h', 'p:2', 'm:1', 'm:2');
  });

  void test('pool.with({ timeoutMs }) applies a per-call deadline', async (t) => {
    const pool = leakGuard(t, server()).pool({ label: 'types', commandTimeoutMs: 5000 });
    await pool.set('w:1', 'v');
    const fast = pool.with({ timeoutMs: 2000 });
    assert.equal(await fast.get('w:1'), 'v');
    assert.deepEqual(await fast.pipeline().get('w:1').exec(), [[null, 'v']]);
    assert.equal(await pool.with({ timeoutMs: 1000, idempotent: true }).incr('w:n'), 1);

    // DEBUG SLEEP holds the reply back; the 100 ms per-call deadline fires long before the pool's 5 s one.
    const started = performance.now();
    await assert.rejects(pool.with({ timeoutMs: 100 }).call('DEBUG', 'SLEEP', '0.4'), (err: unknown) => {
      assert.ok(err instanceof CommandTimeoutError, String(err));
      assert.equal(err.timeoutMs, 100);
      assert.equal(err.outcome, 'unknown');
      return true;
    });
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 400, `per-call deadline fired after ${elapsed.toFixed(0)} ms, before the 400 ms sleep ended`);
    assert.equal(pool.stats().commandTimeouts, 1);
    // The pool keeps serving once the server wakes up.
    assert.equal(await pool.get('w:1'), 'v');
    await pool.del('w:1', 'w:n');
  });
});
