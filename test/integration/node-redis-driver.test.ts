/**
 * The node-redis v5 driver against a real redis-server: typed command shapes through a pool,
 * reply-shape parity with the ioredis driver (the same calls through both pools, deepEqual),
 * transactions and blocking commands on a lease, connection loss, connect errors, and clean close.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { AuthError, ConnectionError, ReplyError, TlsError, createPool, type Pool } from '../../src/index.js';
import { nodeRedisDriver } from '../../src/driver/node-redis/index.js';
import { loopbackSpec } from '../helpers/connect-spec.js';
import { leakGuard } from '../helpers/leaks.js';
import { generateCerts } from '../helpers/tls-certs.js';
import { useRedis, waitFor, withRedis } from '../helpers/redis.js';

const driver = nodeRedisDriver();

/** Runs `fn` on a pool and returns its replies with errors reduced to their message. */
async function replies(pool: Pool, calls: Array<(p: Pool) => Promise<unknown>>): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const c of calls) out.push(await c(pool).catch((e: Error) => `error: ${e.constructor.name} ${e.message}`));
  return out;
}

void describe('node-redis driver', () => {
  const server = useRedis();

  void test('strings, hashes, lists, sets, sorted sets', async (t) => {
    const pool = leakGuard(t, server()).pool({ label: 'nr', driver });
    assert.equal(await pool.set('nr:s', 'hello'), 'OK');
    assert.equal(await pool.get('nr:s'), 'hello');
    assert.equal(await pool.get('nr:missing'), null);
    assert.equal(await pool.set('nr:s2', 'v', 'EX', 60, 'NX'), 'OK');
    assert.equal(await pool.set('nr:s2', 'w', 'EX', 60, 'NX'), null);
    assert.equal(await pool.incrby('nr:n', 41), 41);
    assert.equal(await pool.incrbyfloat('nr:n', '0.5'), '41.5');
    assert.equal(await pool.mset({ 'nr:a': '1', 'nr:b': 2 }), 'OK');
    assert.deepEqual(await pool.mget(['nr:a', 'nr:b', 'nr:missing']), ['1', '2', null]);
    assert.equal(await pool.hset('nr:h', { a: '1', b: 'two', c: 3 }), 3);
    assert.equal(await pool.hset('nr:h', new Map([['d', 'x']])), 1);
    assert.deepEqual(await pool.hgetall('nr:h'), { a: '1', b: 'two', c: '3', d: 'x' });
    assert.deepEqual(await pool.hgetall('nr:hmissing'), {});
    assert.deepEqual(await pool.hmget('nr:h', 'a', 'zz'), ['1', null]);
    assert.equal(await pool.rpush('nr:l', 'a', 'b', 'c'), 3);
    assert.deepEqual(await pool.lrange('nr:l', 0, -1), ['a', 'b', 'c']);
    assert.equal(await pool.sadd('nr:set', 'x', 'y'), 2);
    assert.deepEqual((await pool.smembers('nr:set')).sort(), ['x', 'y']);
    assert.equal(await pool.zadd('nr:z', 1.5, 'a', 2, 'b'), 2);
    assert.deepEqual(await pool.call('zrange', 'nr:z', 0, -1, 'WITHSCORES'), ['a', '1.5', 'b', '2']);
    assert.equal(await pool.zscore('nr:z', 'a'), '1.5');
    assert.equal(await pool.exists('nr:s', 'nr:missing'), 1);
    await assert.rejects(pool.incr('nr:l'), (e) => e instanceof ReplyError && e.prefix === 'WRONGTYPE' && e.command === 'INCR');
    await pool.del('nr:s', 'nr:s2', 'nr:n', 'nr:a', 'nr:b', 'nr:h', 'nr:l', 'nr:set', 'nr:z');
  });

  void test('Buffer variants round-trip binary values byte for byte', async (t) => {
    const pool = leakGuard(t, server()).pool({ label: 'nr', driver });
    const bin = Buffer.concat([randomBytes(64), Buffer.from([0, 0xff, 0x0d, 0x0a])]);
    assert.equal(await pool.set(Buffer.from('nr:bin'), bin), 'OK');
    const back = await pool.getBuffer('nr:bin');
    assert.ok(Buffer.isBuffer(back) && back.equals(bin));
    assert.deepEqual(await pool.getBuffer('nr:nope'), null);
    assert.equal(await pool.hset('nr:hb', 'f', bin), 1);
    const h = await pool.hgetallBuffer('nr:hb');
    assert.deepEqual(Object.keys(h), ['f']);
    assert.ok(h['f']!.equals(bin));
    await pool.del('nr:bin', 'nr:hb');
  });

  void test('pipeline and multi result shapes, mixed Buffer and string entries', async (t) => {
    const pool = leakGuard(t, server()).pool({ label: 'nr', driver });
    assert.deepEqual(await pool.pipeline().set('nr:p', '1').incr('nr:p').getBuffer('nr:p').hgetall('nr:px').exec(), [
      [null, 'OK'],
      [null, 2],
      [null, Buffer.from('2')],
      [null, {}],
    ]);
    assert.deepEqual(await pool.multi().set('nr:m', 'a').getBuffer('nr:m').get('nr:m').exec(), [
      [null, 'OK'],
      [null, Buffer.from('a')],
      [null, 'a'],
    ]);
    const [err, value] = (await pool.pipeline().incr('nr:m').exec())![0]!;
    assert.ok(err instanceof ReplyError && err.prefix === 'ERR' && value === null);
    const tx = await pool.multi().set('nr:m', 'b').incr('nr:m').exec();
    assert.deepEqual(tx![0], [null, 'OK']);
    assert.ok(tx![1]![0] instanceof ReplyError);
    // A command refused while queueing aborts the transaction, as with ioredis.
    await assert.rejects(
      pool.multi().set('nr:m', 'x').call('nosuchcommand').exec(),
      (e) => e instanceof ReplyError && e.prefix === 'EXECABORT',
    );
    assert.equal(await pool.get('nr:m'), 'b');
    await pool.del('nr:p', 'nr:m');
  });

  void test('a lease: WATCH conflict → exec null, MULTI/EXEC by name, BLPOP', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'nr', driver, max: 4 });
    await pool.withConnection(async (c) => {
      assert.equal(await c.watch('nr:w'), 'OK');
      await g.raw().set('nr:w', 'theirs');
      assert.equal(await c.multi().set('nr:w', 'mine').exec(), null);
      assert.equal(await c.call('multi'), 'OK');
      assert.equal(await c.call('set', 'nr:w', 'by-name'), 'QUEUED');
      assert.equal(await c.call('get', 'nr:w'), 'QUEUED');
      assert.deepEqual(await c.call('exec'), ['OK', 'by-name']);
      assert.equal(await c.blpop('nr:bl', 0.05), null);
    });
    const waiting = pool.blpop('nr:bl2', 5);
    await waitFor(async () => ((await pool.call('client', 'list')) as string).includes('cmd=blpop'));
    await pool.rpush('nr:bl2', 'v');
    assert.deepEqual(await waiting, ['nr:bl2', 'v']);
    await pool.del('nr:w');
  });

  void test('CLIENT KILL of every connection: in-flight fails with outcome unknown, the pool replaces them', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'nr', driver, max: 4, lanes: 2 });
    await pool.ready();
    const lease = await pool.acquire();
    const blocked = lease.blpop('nr:never', 10);
    await waitFor(async () => ((await pool.call('client', 'list')) as string).includes('cmd=blpop'));
    const closed: Array<string | undefined> = [];
    pool.on('connection:closed', (e) => closed.push(e.reason));
    const raw = g.raw();
    const list = (await raw.call('client', 'list')) as string;
    const ids = list
      .split('\n')
      .filter((l) => l.includes(`name=redpool:${pool.options.name}:`))
      .map((l) => /id=(\d+)/.exec(l)![1]!);
    assert.ok(ids.length >= 3, list);
    for (const id of ids) await raw.call('client', 'kill', 'id', id);
    await assert.rejects(blocked, (e) => e instanceof ConnectionError && e.outcome === 'unknown');
    lease.release();
    await waitFor(() => closed.length >= ids.length);
    assert.ok(
      closed.every((r) => r === 'error'),
      String(closed),
    );
    assert.equal(await pool.set('nr:after', 'ok'), 'OK');
    assert.equal(await pool.get('nr:after'), 'ok');
    await pool.del('nr:after');
  });

  void test('reply shapes match the ioredis driver for the same calls', async (t) => {
    const g = leakGuard(t, server());
    const io = g.pool({ label: 'io' });
    const nr = g.pool({ label: 'nr', driver });
    const seed = async (p: Pool, k: string): Promise<void> => {
      await p.del(`${k}h`, `${k}z`, `${k}s`, `${k}l`, `${k}set`, `${k}str`, `${k}f`, `${k}gl`);
      await p.hset(`${k}h`, { a: '1', b: '2' });
      await p.zadd(`${k}z`, 1.5, 'a', 2, 'b', 3, 'c');
      await p.xadd(`${k}s`, '1-1', 'f', 'v');
      await p.xadd(`${k}s`, '2-1', 'g', 'w');
      await p.rpush(`${k}l`, 'x', 'y', 'z');
      await p.sadd(`${k}set`, 'm');
      await p.set(`${k}str`, 'hello');
      await p.geoadd(`${k}gl`, 13.361389, 38.115556, 'Palermo');
    };
    const calls = (k: string): Array<(p: Pool) => Promise<unknown>> => [
      (p) => p.hgetall(`${k}h`),
      (p) => p.hgetall(`${k}none`),
      (p) => p.hgetallBuffer(`${k}h`),
      (p) => p.call('zrange', `${k}z`, 0, -1, 'WITHSCORES'),
      (p) => p.callBuffer('zrange', `${k}z`, 0, -1, 'WITHSCORES'),
      (p) => p.zrangebyscore(`${k}z`, '-inf', '+inf', 'WITHSCORES'),
      (p) => p.zscore(`${k}z`, 'a'),
      (p) => p.zscoreBuffer(`${k}z`, 'a'),
      (p) => p.zmscore(`${k}z`, 'a', 'nope'),
      (p) => p.zpopmin(`${k}none`),
      (p) => p.zrank(`${k}z`, 'b'),
      (p) => p.xrange(`${k}s`, '-', '+'),
      (p) => p.xread('STREAMS', `${k}s`, '0'),
      (p) => p.xread('COUNT', 1, 'STREAMS', `${k}s`, `${k}none`, '0', '0'),
      (p) => p.xlen(`${k}s`),
      (p) => p.call('config', 'GET', 'maxmemory-policy'),
      (p) => p.exists(`${k}h`, `${k}none`),
      (p) => p.type(`${k}z`),
      (p) => p.ping(),
      (p) => p.callBuffer('ping'),
      (p) => p.echo('hi'),
      (p) => p.getBuffer(`${k}str`),
      (p) => p.getrangeBuffer(`${k}str`, 0, 1),
      (p) => p.strlen(`${k}str`),
      (p) => p.lrange(`${k}l`, 0, -1),
      (p) => p.lrangeBuffer(`${k}l`, 0, -1),
      (p) => p.lpos(`${k}l`, 'y'),
      (p) => p.smembers(`${k}set`),
      (p) => p.scard(`${k}set`),
      (p) => p.sismember(`${k}set`, 'm'),
      (p) => p.hrandfield(`${k}h`, -1, 'WITHVALUES').then((r) => (r as unknown[]).length),
      (p) => p.hmget(`${k}h`, 'a', 'nope'),
      (p) => p.hexists(`${k}h`, 'a'),
      (p) => p.geopos(`${k}gl`, 'Palermo', 'nope'),
      (p) => p.geodist(`${k}gl`, 'Palermo', 'Palermo'),
      (p) => p.object('ENCODING', `${k}str`),
      (p) => p.eval('return {1, "a", {2, "b"}, false}', 0),
      (p) => p.eval('return redis.status_reply("FINE")', 0),
      (p) => p.call('command', 'count').then((n) => typeof n),
      (p) => p.info('keyspace').then((s) => typeof s),
      (p) => p.scan('0', 'MATCH', `${k}nomatch*`),
      (p) => p.incr(`${k}l`),
      (p) => p.call('nosuchcommand', 'secret'),
      (p) => p.pipeline().hgetall(`${k}h`).zscore(`${k}z`, 'b').getBuffer(`${k}str`).exec(),
      (p) => p.multi().hgetall(`${k}h`).call('zrange', `${k}z`, 0, 0, 'WITHSCORES').lrangeBuffer(`${k}l`, 0, 0).exec(),
    ];
    await seed(io, 'cmp:');
    await seed(nr, 'cmp:');
    const a = await replies(io, calls('cmp:'));
    const b = await replies(nr, calls('cmp:'));
    for (let i = 0; i < a.length; i++) assert.deepEqual(b[i], a[i], `call #${i}: ${calls('cmp:')[i]!.toString()}`);
    await io.del('cmp:h', 'cmp:z', 'cmp:s', 'cmp:l', 'cmp:set', 'cmp:str', 'cmp:gl');
  });
});

void describe('node-redis driver: connect errors', () => {
  void test('a wrong password is an AuthError whose message has no password', async (t) => {
    const srv = await withRedis(t, { requirepass: 'right-pass' });
    const pool = createPool({ url: `redis://:wrong-pass@127.0.0.1:${srv.port}`, driver, connectTimeoutMs: 2_000, acquireTimeoutMs: 500 });
    t.after(() => pool.destroy());
    const failed = new Promise<Error>((resolve) => pool.once('connection:error', (e) => resolve(e.error)));
    await pool.ping().catch(() => undefined); // pools dial on demand
    const err = await failed;
    assert.ok(err instanceof AuthError, String(err));
    assert.ok(!err.message.includes('wrong-pass') && !err.message.includes('right-pass'), err.message);
    const ok = createPool({ url: `redis://:right-pass@127.0.0.1:${srv.port}`, driver });
    t.after(() => ok.close());
    assert.equal(await ok.ping(), 'PONG');
  });

  void test('a refused port is a ConnectionError with outcome not-sent', async (t) => {
    const srv = await withRedis(t);
    const port = srv.port;
    await srv.stop();
    const conn = driver.connect(loopbackSpec(port, { connectTimeoutMs: 1_000, connectionName: 'redpool:nr-test:1' }));
    await assert.rejects(conn, (e) => e instanceof ConnectionError && e.outcome === 'not-sent' && /ECONNREFUSED/.test(e.message));
  });

  void test('a server that never answers the handshake is a connect timeout', async (t) => {
    const srv = await withRedis(t);
    srv.pause();
    const started = Date.now();
    const conn = driver.connect(loopbackSpec(srv.port, { connectTimeoutMs: 300, connectionName: 'redpool:nr-test:2' }));
    try {
      await assert.rejects(conn, (e) => (e as { code?: string }).code === 'ERR_CONNECT_TIMEOUT' && /handshake/.test((e as Error).message));
      assert.ok(Date.now() - started < 2_000);
    } finally {
      srv.resume();
    }
  });

  void test('TLS: verified with the CA (SNI defaulted), and a wrong CA is a TlsError', async (t) => {
    const certs = await generateCerts();
    const srv = await withRedis(t, { tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.ca.certFile } });
    const ok = createPool({ url: srv.url, driver, tls: { ca: certs.ca.cert } });
    t.after(() => ok.close());
    assert.equal(await ok.set('nr:tls', 'x'), 'OK');
    assert.equal(await ok.get('nr:tls'), 'x');
    const conn = driver.connect(
      loopbackSpec(srv.port, {
        tls: { ca: certs.wrongCa.cert },
        connectTimeoutMs: 2_000,
        connectionName: 'redpool:nr-test:3',
        endpoint: srv.url,
      }),
    );
    await assert.rejects(conn, (e) => e instanceof TlsError);
  });
});
