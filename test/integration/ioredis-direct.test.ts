/**
 * The ioredis driver's direct path (plain shared commands written as RESP and queued on
 * ioredis's reply queue, no ioredis `Command`) against a real redis-server: replies identical
 * to ioredis's own path for the same calls, reply order kept when direct and ioredis-path
 * commands share a lane in one turn, error replies typed, connection loss with direct commands
 * in flight, the per-connection probe, and ioredis command tracing kept visible.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { ConfigError, ConnectionError, ReplyError, ioredisDriver, type Pool, type ReplySink } from '../../src/index.js';
import { ioredisVersion, VERIFIED_IOREDIS } from '../../src/driver/ioredis-direct.js';
import { loopbackSpec } from '../helpers/connect-spec.js';
import { leakGuard } from '../helpers/leaks.js';
import { useRedis, waitFor } from '../helpers/redis.js';

/** Runs the calls concurrently (one turn, so they pipeline) and returns replies, errors as text. */
function replies(pool: Pool, calls: Array<(p: Pool) => Promise<unknown>>): Promise<unknown[]> {
  return Promise.all(calls.map((c) => c(pool).catch((e: Error) => `error: ${e.constructor.name} ${e.message}`)));
}

const BINARY = Buffer.from([0, 1, 2, 0xff, 0xfe, 13, 10, 36, 42]);

void describe('ioredis driver: direct path', () => {
  const server = useRedis();

  void test("replies are identical to ioredis's own path, in any mix within one turn", async (t) => {
    const g = leakGuard(t, server());
    const direct = g.pool({ label: 'direct', lanes: 1 });
    const plain = g.pool({ label: 'plain', lanes: 1, driver: ioredisDriver({ directPath: false }) });
    const seed = async (p: Pool, k: string): Promise<void> => {
      await p.del(`${k}h`, `${k}z`, `${k}l`, `${k}str`, `${k}bin`, `${k}u`, `${k}e`);
      await p.hset(`${k}h`, { a: '1', b: '2' });
      await p.zadd(`${k}z`, 1.5, 'a', 2, 'b');
      await p.rpush(`${k}l`, 'x', 'y', 'z');
      await p.set(`${k}str`, 'hello');
      await p.set(`${k}bin`, BINARY);
      await p.set(`${k}u`, 'héllo wörld ✓ 𝄞');
      await p.set(`${k}e`, '');
    };
    // Direct-path commands (get, set, incrby, …) interleaved with ioredis-path ones (hgetall,
    // zrange WITHSCORES: reply transformers; mset with an object: argument transformer; a
    // pipeline) so reply order across both paths is exercised in a single write.
    const calls = (k: string): Array<(p: Pool) => Promise<unknown>> => [
      (p) => p.get(`${k}str`),
      (p) => p.hgetall(`${k}h`),
      (p) => p.getBuffer(`${k}bin`),
      (p) => p.get(`${k}u`),
      (p) => p.strlen(`${k}u`),
      (p) => p.get(`${k}e`),
      (p) => p.getBuffer(`${k}e`),
      (p) => p.get(`${k}missing`),
      (p) => p.zrange(`${k}z`, '0', '-1', 'WITHSCORES'),
      (p) => p.incrby(`${k}n`, 7),
      (p) => p.incrbyfloat(`${k}f`, '0.25'),
      (p) => p.set(`${k}num`, 12345.5),
      (p) => p.get(`${k}num`),
      (p) => p.set(`${k}b2`, Buffer.concat([BINARY, Buffer.from('tail')])),
      (p) => p.getBuffer(`${k}b2`),
      (p) => p.mset({ [`${k}m1`]: 'a', [`${k}m2`]: 'b' }),
      (p) => p.hset(`${k}ht`, { bin: new Uint8Array([0, 255, 10]) as unknown as Buffer, txt: 'é' }),
      (p) => p.hgetallBuffer(`${k}ht`),
      (p) => p.mget(`${k}m1`, `${k}missing`, `${k}m2`),
      (p) => p.mget([`${k}m1`, `${k}m2`]), // an array argument: ioredis's path flattens it
      (p) => p.lrange(`${k}l`, 0, -1),
      (p) => p.lrangeBuffer(`${k}l`, 0, 1),
      (p) => p.hmget(`${k}h`, 'a', 'nope'),
      (p) => p.exists(`${k}h`, `${k}missing`),
      (p) => p.type(`${k}z`),
      (p) => p.zscore(`${k}z`, 'a'),
      (p) => p.ping(),
      (p) => p.echo('é'),
      (p) => p.incr(`${k}l`), // WRONGTYPE error reply on the direct path
      (p) => p.call('nosuchcommand', 'x'),
      (p) => p.pipeline().get(`${k}str`).hgetall(`${k}h`).incr(`${k}n`).exec(),
      (p) => p.set(`${k}big`, `${'x'.repeat(100_000)}é`),
      (p) => p.get(`${k}str`),
      (p) => p.strlen(`${k}big`),
      (p) => p.get(`${k}big`).then((v) => (v === `${'x'.repeat(100_000)}é` ? 'same' : `differs: ${String(v).length}`)),
      (p) => p.del(`${k}ht`, `${k}big`, `${k}num`, `${k}b2`, `${k}m1`, `${k}m2`, `${k}n`, `${k}f`),
    ];
    await seed(direct, 'd:');
    await seed(plain, 'p:');
    const a = await replies(plain, calls('p:'));
    const b = await replies(direct, calls('d:'));
    const norm = (v: unknown): unknown =>
      JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'string' ? x.replace(/\bd:/g, 'p:') : x))) as unknown;
    for (let i = 0; i < a.length; i++) {
      assert.deepEqual(norm(b[i]), norm(a[i]), `call #${i}: ${calls('d:')[i]!.toString()}`);
      // JSON hides Buffer vs string: compare the kinds too.
      assert.equal(Buffer.isBuffer(b[i]), Buffer.isBuffer(a[i]), `call #${i} kind`);
    }
    assert.deepEqual(b[2], BINARY);
    assert.equal(b[3], 'héllo wörld ✓ 𝄞');
    await direct.del('d:h', 'd:z', 'd:l', 'd:str', 'd:bin', 'd:u', 'd:e');
    await plain.del('p:h', 'p:z', 'p:l', 'p:str', 'p:bin', 'p:u', 'p:e');
  });

  void test('a pipeline on the direct path: no ioredis Pipeline object, replies and per-command errors as from Pipeline.exec()', async (t) => {
    const g = leakGuard(t, server());
    const direct = g.pool({ label: 'dpipe', lanes: 1 });
    const plain = g.pool({ label: 'ppipe', lanes: 1, driver: ioredisDriver({ directPath: false }) });
    await direct.ready();
    await plain.ready();
    const run = (p: Pool, k: string): Promise<unknown> =>
      p
        .pipeline()
        .set(`${k}a`, 'v')
        .get(`${k}a`)
        .getBuffer(`${k}a`)
        .hset(`${k}h`, { f: '1' })
        .hgetall(`${k}h`)
        .incr(`${k}h`) // WRONGTYPE in its place, the rest runs
        .mget([`${k}a`, `${k}missing`])
        .call('nosuchcommand')
        .del(`${k}a`, `${k}h`)
        .exec()
        .then((res) => res?.map(([e, v]) => (e ? `error: ${e.constructor.name} ${e.message}` : v)));
    const expected = await run(plain, 'pp:');
    const made = t.mock.method(Redis.prototype, 'pipeline');
    const got = await run(direct, 'dp:');
    assert.equal(made.mock.callCount(), 0, 'the direct path built an ioredis Pipeline');
    const norm = (v: unknown): string => JSON.stringify(v).replace(/\bdp:/g, 'pp:');
    assert.equal(norm(got), norm(expected));
    assert.ok(Buffer.isBuffer((got as unknown[])[2]), 'getBuffer in a pipeline is a Buffer');
  });

  void test('2,000 concurrent commands on one lane, both paths mixed: every caller gets its own reply', async (t) => {
    const pool = leakGuard(t, server()).pool({ label: 'order', lanes: 1, max: 2 });
    const n = 2_000;
    await Promise.all(Array.from({ length: n }, (_, i) => pool.set(`ord:${i}`, `v${i}`)));
    const got = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        i % 7 === 0
          ? pool.hgetall(`ord:none:${i}`).then(() => `v${i}`)
          : i % 3 === 0
            ? pool.getBuffer(`ord:${i}`).then(String)
            : pool.get(`ord:${i}`),
      ),
    );
    for (let i = 0; i < n; i++) assert.equal(got[i], `v${i}`);
    await pool.del(Array.from({ length: n }, (_, i) => `ord:${i}`));
  });

  void test('a lease mixing its own commands with calls on lease.raw in one turn: replies stay with their callers', async (t) => {
    const pool = leakGuard(t, server()).pool({ label: 'rawmix' });
    await pool.set('rawmix:a', 'A');
    await pool.set('rawmix:b', 'B');
    await pool.withConnection(async (lease) => {
      // Queued by redpool first, then written by ioredis directly in the same turn: the
      // direct-path text must not be held back behind ioredis's write.
      const first = lease.get('rawmix:a');
      const second = lease.raw.get('rawmix:b');
      const third = lease.get('rawmix:a');
      assert.deepEqual(await Promise.all([first, second, third]), ['A', 'B', 'A']);
      const burst = await Promise.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? lease.get('rawmix:a') : lease.raw.get('rawmix:b'))),
      );
      burst.forEach((v, i) => assert.equal(v, i % 2 === 0 ? 'A' : 'B', `#${i}`));
    });
    await pool.del('rawmix:a', 'rawmix:b');
  });

  void test('typed arrays reach the server as their bytes, also as HSET/MSET object values', async (t) => {
    const pool = leakGuard(t, server()).pool({ label: 'bytes' });
    const bytes = new Uint8Array([0, 255, 10, 13]) as unknown as Buffer;
    await pool.set('bytes:s', bytes);
    await pool.hset('bytes:h', { bin: bytes, txt: 't' });
    await pool.mset(new Map<string, Buffer>([['bytes:m', bytes]]));
    for (const got of [await pool.getBuffer('bytes:s'), await pool.hgetBuffer('bytes:h', 'bin'), await pool.getBuffer('bytes:m')]) {
      assert.deepEqual([...(got ?? [])], [0, 255, 10, 13]);
    }
    await pool.del('bytes:s', 'bytes:h', 'bytes:m');
  });

  void test('error replies are typed ReplyErrors with the command named', async (t) => {
    const pool = leakGuard(t, server()).pool({ label: 'err' });
    await pool.rpush('err:l', 'x');
    await assert.rejects(
      pool.incr('err:l'),
      (e) => e instanceof ReplyError && e.code === 'ERR_REPLY' && /^WRONGTYPE/.test(e.message) && e.command === 'INCR',
    );
    assert.equal(await pool.get('err:missing'), null, 'the lane still works');
    await pool.del('err:l');
  });

  void test('CLIENT KILL with direct commands in flight: each fails typed or is retried, none hangs, the pool recovers', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'kill', lanes: 2, max: 4 });
    await pool.ready();
    // DEBUG SLEEP holds the server so the GETs are written but unanswered when the kill lands.
    const raw = g.raw();
    const sleeping = raw.call('debug', 'sleep', '0.3');
    const inflight = Array.from({ length: 200 }, (_, i) =>
      pool.get(`kill:${i}`).then(
        () => 'ok',
        (e: unknown) => e,
      ),
    );
    const list = (await g.raw().call('client', 'list')) as string;
    const ids = list
      .split('\n')
      .filter((l) => l.includes(`name=redpool:${pool.options.name}:`))
      .map((l) => /id=(\d+)/.exec(l)![1]!);
    for (const id of ids) await g.raw().call('client', 'kill', 'id', id);
    await sleeping;
    const outcomes = await Promise.all(inflight);
    for (const o of outcomes) assert.ok(o === 'ok' || (o instanceof ConnectionError && o.outcome === 'unknown'), String(o));
    await waitFor(async () => (await pool.set('kill:after', 'ok')) === 'OK');
    assert.equal(await pool.get('kill:after'), 'ok');
    await pool.del('kill:after');
  });

  void test('each connection is probed: direct when the probe passes, plain when turned off or with autoPipelining', async (t) => {
    const srv = server();
    const spec = loopbackSpec(srv.port, { connectionName: 'probe', endpoint: 'test' });
    const on = await ioredisDriver().connect(spec);
    const off = await ioredisDriver({ directPath: false }).connect(spec);
    const forced = await ioredisDriver({ directPath: true }).connect(spec);
    // autoPipelining asks for ioredis's own batching of every command: no direct path then.
    const autopipe = await ioredisDriver().connect({ ...spec, autoPipelining: true });
    t.after(async () => {
      await on.close();
      await off.close();
      await autopipe.close();
      await forced.close();
    });
    // The installed ioredis is one the path was verified against, so 'auto' (the default) is on.
    assert.match(ioredisVersion() ?? '', VERIFIED_IOREDIS);
    assert.equal((forced as unknown as { direct: boolean }).direct, true);
    assert.throws(
      () => ioredisDriver({ directPath: 'yes' as unknown as boolean }),
      (e: unknown) => e instanceof ConfigError && e.option === 'driver.directPath',
    );
    assert.equal((on as unknown as { direct: boolean }).direct, true);
    assert.equal((off as unknown as { direct: boolean }).direct, false);
    assert.equal((autopipe as unknown as { direct: boolean }).direct, false);
    assert.equal(await autopipe.command('get', ['probe:none'], false), null);
    assert.equal(await on.command('ping', [], false), 'PONG');
    // send(), as a driver written against the public types sees it: the sink hears once, later.
    const heard: unknown[] = [];
    const sink: ReplySink = { reply: (v) => heard.push(v), error: (e) => heard.push(e) };
    on.send!('echo', ['hi'], false, sink);
    assert.deepEqual(heard, [], 'never inside send()');
    await waitFor(() => heard.length === 1);
    assert.deepEqual(heard, ['hi']);
    assert.equal(await off.command('ping', [], false), 'PONG');
  });

  void test("with a subscriber on ioredis's command tracing channel, commands go through ioredis so they are traced", async (t) => {
    const pool = leakGuard(t, server()).pool({ label: 'trace' });
    await pool.ready();
    const traced: string[] = [];
    const onStart = (m: unknown): void => {
      traced.push(String((m as { command?: unknown }).command));
    };
    subscribe('tracing:ioredis:command:start', onStart);
    try {
      assert.equal(await pool.set('trace:k', 'v'), 'OK');
      assert.equal(await pool.get('trace:k'), 'v');
    } finally {
      unsubscribe('tracing:ioredis:command:start', onStart);
    }
    assert.ok(traced.includes('get') && traced.includes('set'), `traced: ${traced.join(',')}`);
    await pool.del('trace:k');
  });
});
