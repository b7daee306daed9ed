/**
 * The cluster pool's routing with fakes: three "nodes" are three ports of one FakeDriver whose
 * handler owns slots per port, answers CLUSTER SHARDS from the same table, and answers MOVED/ASK
 * as a real node would. The clock is a ManualClock: deadlines and refresh intervals move only
 * when the test advances time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPool, ReplyError, ConnectionError } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { FakeCluster, idOf, PORTS, openFakeClusterPool, settle } from '../helpers/fake-cluster.js';
import { keyInSlot } from '../helpers/cluster-keys.js';

const open = openFakeClusterPool;

void test('routes each key to the port that owns its slot; keyless to a primary', async () => {
  const fc = new FakeCluster();
  const pool = await open(fc, new ManualClock());
  for (const slot of [0, 5461, 10923, 16383]) await pool.set(keyInSlot(slot), String(slot));
  assert.deepEqual([...fc.stores.get(7001)!.keys()], [keyInSlot(0)]);
  assert.deepEqual([...fc.stores.get(7002)!.keys()], [keyInSlot(5461)]);
  assert.deepEqual([...fc.stores.get(7003)!.keys()].sort(), [keyInSlot(10923), keyInSlot(16383)].sort());
  assert.equal(await pool.ping(), 'PONG');
  assert.deepEqual(Object.keys(pool.stats().nodes).sort(), PORTS.map(idOf));
  await pool.destroy();
});

void test('MOVED: retried on the target at once, the map is patched (the next command goes there directly)', async () => {
  const fc = new FakeCluster();
  const pool = await open(fc, new ManualClock());
  const key = keyInSlot(42);
  fc.owner[42] = 7003; // the nodes know, the pool does not
  assert.equal(await pool.set(key, 'v'), 'OK');
  assert.equal(fc.stores.get(7003)!.get(key), 'v');
  assert.equal(pool.stats().cluster.moved, 1);
  assert.equal(await pool.get(key), 'v');
  assert.equal(pool.stats().cluster.moved, 1, 'no second MOVED');
  assert.equal(pool.stats().cluster.refresh.requested.moved, 1, 'a refresh was asked for');
  await pool.destroy();
});

void test('ASK: ASKING and the command go in one write to the importing node; the map is not changed', async () => {
  const fc = new FakeCluster();
  const pool = await open(fc, new ManualClock());
  const key = keyInSlot(7);
  fc.migrating.set(7, 7002);
  fc.stores.get(7002)!.set(key, 'moved-already');
  assert.equal(await pool.get(key), 'moved-already');
  const conn = fc.driver.all.find((c) => c.spec.port === 7002 && c.log.some(([n]) => n === 'asking'))!;
  const i = conn.log.findIndex(([n]) => n === 'asking');
  assert.deepEqual(conn.log[i + 1], ['get', key], 'the command follows ASKING on the same connection');
  assert.equal(pool.stats().cluster.ask, 1);
  assert.equal(pool.stats().cluster.moved, 0);
  assert.equal(await pool.get(key), 'moved-already');
  assert.equal(pool.stats().cluster.ask, 2, 'ASK again: the slot still belongs to the source');
  await pool.destroy();
});

void test('redirections are bounded by maxRedirections: the last MOVED reaches the caller', async () => {
  const fc = new FakeCluster();
  const pool = await open(fc, new ManualClock(), { cluster: { maxRedirections: 3 } });
  let sends = 0;
  fc.hook = (port, name) => {
    if (name !== 'get') return undefined;
    sends++;
    throw new ReplyError(`MOVED 1 127.0.0.1:${port === 7001 ? 7002 : 7001}`, 'GET');
  };
  const err = await pool.get(keyInSlot(1)).then(
    () => assert.fail('expected MOVED'),
    (e: unknown) => e as ReplyError,
  );
  assert.match(err.message, /^MOVED 1 /);
  assert.equal(sends, 4, 'the first try and 3 redirections');
  assert.equal(pool.stats().cluster.redirectLimit, 1);
  await pool.destroy();
});

void test('a write that times out is not re-routed: outcome unknown, a timeout refresh hint, sent once', async () => {
  const fc = new FakeCluster();
  const clock = new ManualClock();
  const pool = await open(fc, clock, { commandTimeoutMs: 500 });
  let incrs = 0;
  fc.hook = (_port, name) => (name === 'incr' ? (incrs++, new Promise(() => undefined)) : undefined);
  const pending = pool.incr(keyInSlot(3)).then(
    () => assert.fail('expected a timeout'),
    (e: unknown) => e as { code: string; outcome: string },
  );
  await settle();
  clock.advance(600);
  const err = await pending;
  assert.equal(err.code, 'ERR_COMMAND_TIMEOUT');
  assert.equal(err.outcome, 'unknown');
  assert.equal(incrs, 1, 'never sent again');
  assert.equal(pool.stats().cluster.refresh.requested.timeout, 1);
  assert.equal(pool.stats().cluster.rerouted, 0);
  await pool.destroy();
});

void test('a node that cannot take a command (not sent): refresh, then the new owner, within the deadline', async () => {
  const fc = new FakeCluster();
  const clock = new ManualClock();
  const pool = await open(fc, clock, { commandTimeoutMs: 5000 });
  const key = keyInSlot(11000);
  // 7003 "fails over": its slots go to 7002, and 7003 refuses writes as if its socket was gone (never written).
  for (let s = 10923; s < 16384; s++) fc.owner[s] = 7002;
  fc.publish();
  fc.hook = (port, name) => {
    if (port === 7003 && name === 'set') throw new ConnectionError('SET: connection not writable', 'not-sent');
    return undefined;
  };
  const pending = pool.set(key, 'after-failover');
  for (let i = 0; i < 10; i++) {
    await settle();
    clock.advance(200);
  }
  assert.equal(await pending, 'OK');
  assert.equal(fc.stores.get(7002)!.get(key), 'after-failover');
  assert.equal(fc.stores.get(7003)!.has(key), false);
  assert.ok(pool.stats().cluster.rerouted >= 1);
  // The map now has two primaries: 7003's pool was drained.
  assert.deepEqual(Object.keys(pool.stats().nodes).sort(), [idOf(7001), idOf(7002)]);
  await pool.destroy();
});

void test('a pipeline splits by node and comes back in order; a redirected command is followed on its own', async () => {
  const fc = new FakeCluster();
  const pool = await open(fc, new ManualClock());
  const [a, b, c] = [keyInSlot(1), keyInSlot(6000), keyInSlot(12000)];
  fc.owner[12000] = 7001; // c's command gets MOVED
  const res = await pool.pipeline().set(a, '1').set(b, '2').set(c, '3').get(a).ping().get(c).exec();
  assert.deepEqual(res, [
    [null, 'OK'],
    [null, 'OK'],
    [null, 'OK'],
    [null, '1'],
    [null, 'PONG'],
    [null, '3'],
  ]);
  assert.equal(fc.stores.get(7001)!.get(c), '3');
  // Both commands of the moved slot went out in one write before the first MOVED came back.
  assert.equal(pool.stats().cluster.moved, 2);
  assert.equal(await pool.get(c), '3');
  assert.equal(pool.stats().cluster.moved, 2, 'the map was patched');
  await pool.destroy();
});

void test('maxTotal across nodes: open connections (connecting ones included) never exceed it; lanes first', async () => {
  const fc = new FakeCluster();
  const clock = new ManualClock();
  const pool = await open(fc, clock, { maxTotal: 7, acquireTimeoutMs: 60_000 });
  let peak = 0;
  const perPort = (): number[] => PORTS.map((p) => [...fc.driver.open].filter((c) => c.spec.port === p).length);
  const watch = (): void => {
    peak = Math.max(peak, fc.driver.open.size);
    for (const n of perPort()) assert.ok(n <= 4);
  };
  const leases = [];
  for (const slot of [1, 2, 6000, 6001, 12000, 12001]) leases.push(pool.acquire({ slot }));
  await settle();
  watch();
  assert.ok(
    perPort().every((n) => n >= 2),
    'every node kept its lanes',
  );
  const granted = (await Promise.race([Promise.all(leases), settle().then(() => 'waiting')])) as unknown;
  assert.equal(granted, 'waiting', 'only one lease connection fits: 6 lanes + 1');
  // Release leases as they come: every waiter is served in turn, the total holds all along.
  const done = leases.map((l) =>
    l.then(async (lease) => {
      watch();
      lease.release();
      await settle();
    }),
  );
  for (let i = 0; i < 20; i++) {
    await settle();
    watch();
    clock.advance(10);
  }
  await Promise.all(done);
  assert.ok(peak <= 7, `peak ${peak}`);
  assert.ok(pool.stats().cluster.budgetRefused > 0);
  await pool.destroy();
});

void test('natMap translates announced addresses; TLS names each node by its announced hostname', async () => {
  const fc = new FakeCluster();
  fc.announce = '10.9.9.9';
  fc.hostnames = true;
  const clock = new ManualClock();
  const pool = await open(fc, clock, {
    tls: { ca: 'test-ca' },
    cluster: { natMap: (a) => (a.host === '10.9.9.9' ? { host: '127.0.0.1', port: a.port } : undefined) },
  });
  await pool.set(keyInSlot(12000), 'x');
  const dialled = fc.driver.all.filter((c) => c.spec.port === 7003 && c.spec.host === '127.0.0.1');
  assert.ok(dialled.length > 0, 'dialled the translated address');
  assert.equal(dialled[0]!.spec.tls?.servername, 'node-7003.redis.test');
  assert.ok(!fc.driver.all.some((c) => c.spec.host === '10.9.9.9'), 'never the announced one');
  assert.equal(pool.stats().nodes[idOf(7003)]!.address, '127.0.0.1:7003');
  await pool.destroy();
});

void test('no seed answers: ready() rejects with ERR_UNAVAILABLE naming the cause; a command fails not-sent at its deadline', async () => {
  const fc = new FakeCluster();
  fc.driver.behaviour = 'fail';
  const clock = new ManualClock();
  const pool = createPool({
    cluster: { nodes: [{ host: '127.0.0.1', port: 7001 }], refreshIntervalMs: Infinity },
    driver: fc.driver,
    clock,
    logger: false,
    commandTimeoutMs: 1000,
    connectTimeoutMs: 500,
    acquireTimeoutMs: 500,
  });
  const ready = pool.ready().then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e as { code: string; message: string },
  );
  const command = pool.get('k').then(
    () => assert.fail('expected a failure'),
    (e: unknown) => e as { code: string; outcome: string },
  );
  for (let i = 0; i < 30; i++) {
    await settle();
    clock.advance(100);
  }
  const err = await ready;
  assert.equal(err.code, 'ERR_UNAVAILABLE');
  assert.match(err.message, /no seed node answered/);
  const cmd = await command;
  assert.equal(cmd.outcome, 'not-sent');
  assert.ok(pool.stats().cluster.refresh.failed >= 1);
  assert.equal(pool.stats().health, 'unavailable');
  await pool.destroy();
});

void test('a maxTotal below the lanes of every pooled node (replicas included) is a warning once the map is known, once per shortfall', async () => {
  const warnings: Array<{ event?: unknown; message?: unknown }> = [];
  const logger = { info: () => undefined, error: () => undefined, warn: (obj: object) => void warnings.push(obj as never) };
  const mine = (): typeof warnings => warnings.filter((w) => w.event === 'redis_pool_warning' && /maxTotal/.test(String(w.message)));
  // ready() may not finish when lanes cannot all open: load the map and look, without waiting for it.
  const start = async (fc: FakeCluster, extra: Parameters<typeof createPool>[0] & object): Promise<{ destroy(): Promise<void> }> => {
    const pool = createPool({
      driver: fc.driver,
      clock: new ManualClock(),
      max: 4,
      ...extra,
      logger,
      cluster: { nodes: [{ host: '127.0.0.1', port: PORTS[0]! }], refreshIntervalMs: Infinity },
    });
    void pool.ready().catch(() => undefined);
    await settle();
    return pool;
  };
  // 3 primaries × 2 lanes = 6 > 5.
  const short = await start(new FakeCluster(), { maxTotal: 5 });
  assert.equal(mine().length, 1, 'one warning for the one shortfall');
  assert.match(String(mine()[0]!.message), /maxTotal 5 is below .*2 lane\(s\) × 3 primaries = 6/);
  await short.destroy();
  warnings.length = 0;
  const fine = await start(new FakeCluster(), { maxTotal: 6 });
  assert.equal(mine().length, 0, 'no warning when every node gets its lanes');
  await fine.destroy();
  // Enough for the primaries, but replica pools (readFrom) need their lanes too: 6 nodes × 1 lane.
  const withReplicas = await start(new FakeCluster({ replicas: true }), { max: 3, lanes: 1, maxTotal: 5, readFrom: 'preferReplica' });
  assert.equal(mine().length, 1);
  assert.match(String(mine()[0]!.message), /1 lane\(s\) × 3 primaries \+ 3 replicas = 6/);
  await withReplicas.destroy();
});
