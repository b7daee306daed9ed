/**
 * Replica reads of a cluster pool (`readFrom`) on the fake cluster with replicas: where each
 * command goes (counted per fake node), READONLY as every replica connection's first command,
 * the fallbacks and errors when a replica cannot serve, pipelines, and replica pools following
 * the map. ManualClock: time moves only when the test advances it; no timing thresholds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, ReplyError, type ClusterPool } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { keyInSlot } from '../helpers/cluster-keys.js';
import { FakeCluster, idOf, openFakeClusterPool, PORTS, REPLICA_PORTS, settle } from '../helpers/fake-cluster.js';

/** One key in the first slots of each shard (7001: 0.., 7002: 5461.., 7003: 10923..). */
const KEYS = [keyInSlot(3), keyInSlot(6000), keyInSlot(12000)];

const gets = (fc: FakeCluster, ports: readonly number[]): number => ports.reduce((n, p) => n + fc.count(p), 0);

async function seeded(fc: FakeCluster, pool: ClusterPool): Promise<void> {
  for (const k of KEYS) await pool.with({ readFrom: 'primary' }).set(k, `v:${k}`);
}

void test("readFrom 'replica': every GET on a replica of its slot's shard, every SET on the primary; READONLY first on each replica connection", async () => {
  const fc = new FakeCluster({ replicas: true });
  const pool = await openFakeClusterPool(fc, new ManualClock(), { readFrom: 'replica' });
  await seeded(fc, pool);
  for (let i = 0; i < 3; i++) for (const k of KEYS) assert.equal(await pool.get(k), `v:${k}`);
  assert.equal(gets(fc, PORTS), 0, 'no read on a primary');
  for (const r of REPLICA_PORTS) assert.equal(fc.count(r), 3, `replica ${r} served its shard's reads`);
  for (const r of REPLICA_PORTS) assert.equal(fc.count(r, 'set'), 0);
  assert.equal(
    PORTS.reduce((n, p) => n + fc.count(p, 'set'), 0),
    3,
    'writes on primaries',
  );
  const replicaConns = fc.driver.all.filter((c) => c.spec.port! > 7003);
  assert.ok(replicaConns.length >= 3);
  for (const c of replicaConns) assert.deepEqual(c.log[0], ['readonly'], 'READONLY before anything else');
  for (const c of fc.driver.all.filter((x) => x.spec.port! <= 7003)) assert.ok(!c.log.some(([n]) => n === 'readonly'));
  const s = pool.stats();
  for (const p of PORTS) assert.equal(s.nodes[idOf(p)]!.role, 'primary');
  for (const r of REPLICA_PORTS) {
    assert.equal(s.nodes[idOf(r)]!.role, 'replica');
    assert.equal(s.nodes[idOf(r)]!.replicaOf, idOf(r - 3));
    assert.equal(s.nodes[idOf(r)]!.slots, 0);
  }
  assert.equal(s.cluster.coveredSlots, 16384);
  assert.equal(s.cluster.replicaReads, 9);
  await pool.destroy();
});

void test("with({ readFrom: 'primary' }) overrides the pool's; a 'primary' pool opens replica pools only at its first replica read", async () => {
  const fc = new FakeCluster({ replicas: true });
  const replicaPool = await openFakeClusterPool(fc, new ManualClock(), { readFrom: 'replica' });
  await seeded(fc, replicaPool);
  for (const k of KEYS) await replicaPool.with({ readFrom: 'primary' }).get(k);
  assert.equal(gets(fc, PORTS), 3);
  assert.equal(gets(fc, REPLICA_PORTS), 0);
  await replicaPool.destroy();

  const fc2 = new FakeCluster({ replicas: true });
  const pool = await openFakeClusterPool(fc2, new ManualClock());
  await seeded(fc2, pool);
  for (const k of KEYS) await pool.get(k);
  assert.deepEqual(Object.keys(pool.stats().nodes).sort(), PORTS.map(idOf), 'no replica pool yet');
  assert.equal(fc2.driver.all.filter((c) => c.spec.port! > 7003).length, 0, 'nothing dialled to a replica');
  for (const k of KEYS) assert.equal(await pool.with({ readFrom: 'preferReplica' }).get(k), `v:${k}`);
  assert.equal(gets(fc2, REPLICA_PORTS), 3, 'the first per-call replica read enabled the replica pools');
  assert.equal(Object.values(pool.stats().nodes).filter((n) => n.role === 'replica').length, 3);
  await pool.destroy();
});

void test('a bad per-call readFrom is a ConfigError naming it, before anything is sent', async () => {
  const fc = new FakeCluster({ replicas: true });
  const pool = await openFakeClusterPool(fc, new ManualClock());
  assert.throws(
    () => pool.with({ readFrom: 'nearest' as never }),
    (e: unknown) => e instanceof ConfigError && e.option === 'readFrom',
  );
  await pool.destroy();
});

void test("a replica that refuses connections: 'preferReplica' reads its shard from the primary; 'replica' fails ERR_NO_REPLICA (not-sent); reads return when it is back", async () => {
  const fc = new FakeCluster({ replicas: true });
  const clock = new ManualClock();
  const pool = await openFakeClusterPool(fc, clock, { readFrom: 'preferReplica', commandTimeoutMs: 5000 });
  await seeded(fc, pool);
  fc.kill(7004);
  await settle();
  assert.equal(await pool.get(KEYS[0]!), `v:${KEYS[0]!}`);
  assert.equal(fc.count(7001), 1, "the primary served 7004's shard");
  assert.equal(await pool.get(KEYS[1]!), `v:${KEYS[1]!}`);
  assert.equal(fc.count(7005), 1, 'other shards still read from their replica');
  const err = await pool
    .with({ readFrom: 'replica' })
    .get(KEYS[0]!)
    .then(
      () => assert.fail('expected ERR_NO_REPLICA'),
      (e: unknown) => e as { code: string; outcome: string },
    );
  assert.equal(err.code, 'ERR_NO_REPLICA');
  assert.equal(err.outcome, 'not-sent');
  assert.equal(fc.count(7001), 1, "'replica' never falls back to the primary");
  assert.ok(pool.stats().cluster.replicaFallbacks >= 1);
  // Back: after its penalty (or its pool turning healthy), reads go to it again.
  fc.down.delete(7004);
  let back = false;
  for (let i = 0; i < 40 && !back; i++) {
    clock.advance(250);
    await settle();
    back = await pool
      .with({ readFrom: 'replica' })
      .get(KEYS[0]!)
      .then(
        (v) => v === `v:${KEYS[0]!}`,
        () => false,
      );
  }
  assert.ok(back, 'replica reads resumed');
  assert.equal(fc.count(7004), 1);
  await pool.destroy();
});

void test("'replica' with no online replica in the map: ERR_NO_REPLICA at once; the replica pool is drained and comes back with the replica", async () => {
  const fc = new FakeCluster({ replicas: true });
  const clock = new ManualClock();
  const pool = await openFakeClusterPool(fc, clock, { readFrom: 'replica', cluster: { refreshIntervalMs: 1000 } });
  await seeded(fc, pool);
  fc.replicaHealth.set(7006, 'fail');
  clock.advance(1000);
  await settle();
  assert.equal(pool.stats().nodes[idOf(7006)], undefined, 'a failed replica leaves read routing');
  // No clock advance: the error does not wait for the deadline.
  await assert.rejects(
    pool.get(KEYS[2]!),
    (e: unknown) => (e as { code: string }).code === 'ERR_NO_REPLICA' && /no online replica/.test(String(e)),
  );
  fc.replicaHealth.delete(7006);
  clock.advance(1000);
  await settle();
  assert.equal(pool.stats().nodes[idOf(7006)]?.role, 'replica');
  assert.equal(await pool.get(KEYS[2]!), `v:${KEYS[2]!}`);
  assert.equal(fc.count(7006), 1);
  await pool.destroy();
});

void test('a read whose replica connection breaks after the write is read again on the primary within its deadline (preferReplica); a hung replica read moves to the primary after half its deadline', async () => {
  const fc = new FakeCluster({ replicas: true });
  const clock = new ManualClock();
  const pool = await openFakeClusterPool(fc, clock, { readFrom: 'preferReplica', commandTimeoutMs: 1000 });
  await seeded(fc, pool);
  await pool.get(KEYS[1]!); // opens 7005's lane
  fc.hook = (port, name) => (port === 7005 && name === 'get' ? new Promise(() => undefined) : undefined);
  const hung = pool.get(KEYS[1]!);
  await settle();
  fc.kill(7005); // the GET was written: its connection breaks before the reply, and 7005 refuses connects
  fc.hook = undefined;
  // The replica's pool retries the read (read-only) on a new connection, fails to connect until it
  // is unavailable (not sent), and the read goes to the primary: all inside the 1 s deadline.
  let settled = false;
  void hung.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 9 && !settled; i++) {
    clock.advance(100);
    await settle();
  }
  assert.equal(await hung, `v:${KEYS[1]!}`);
  assert.equal(fc.count(7002), 1, 'read again on the primary');
  // A GET hung on a replica (frozen) gets half its deadline there while the primary can still
  // answer, then is read on the primary with the half that is left (a read may run twice).
  fc.hook = (port, name) => (port === 7006 && name === 'get' ? new Promise(() => undefined) : undefined);
  const late = pool.get(KEYS[2]!);
  await settle();
  clock.advance(499);
  await settle();
  assert.equal(fc.count(7003), 0, 'still waiting on the replica before half the deadline');
  clock.advance(1);
  for (let i = 0; i < 5; i++) await settle();
  assert.equal(await late, `v:${KEYS[2]!}`, 'read again on the primary within the deadline');
  assert.equal(fc.count(7003), 1);
  fc.hook = undefined;
  assert.equal(await pool.get(KEYS[2]!), `v:${KEYS[2]!}`, 'the next read avoids the replica that timed out');
  assert.equal(fc.count(7003), 2);
  // With 'replica' and no other replica the attempt gets the whole deadline, and its timeout ends
  // the read: ERR_NO_REPLICA whose cause is the timeout (nothing else could answer).
  clock.advance(10_000); // the timed-out replica's penalty lapses
  fc.hook = (port, name) => (port === 7006 && name === 'get' ? new Promise(() => undefined) : undefined);
  const strict = pool.with({ readFrom: 'replica' }).get(KEYS[2]!);
  await settle();
  clock.advance(999);
  await settle();
  let done = false;
  void strict.then(
    () => (done = true),
    () => (done = true),
  );
  await settle();
  assert.equal(done, false, "'replica' with one replica waits its whole deadline there");
  clock.advance(1);
  await assert.rejects(strict, (e: unknown) => {
    const err = e as { code: string; cause?: { code?: string } };
    return err.code === 'ERR_NO_REPLICA' && err.cause?.code === 'ERR_COMMAND_TIMEOUT';
  });
  assert.equal(fc.count(7003), 2, "'replica' never reads on the primary");
  fc.hook = undefined;
  await pool.destroy();
});

void test('pipelines: an all-read part goes to a replica, a part with a write to the primary; transactions to the primary', async () => {
  const fc = new FakeCluster({ replicas: true });
  const pool = await openFakeClusterPool(fc, new ManualClock(), { readFrom: 'replica' });
  await seeded(fc, pool);
  const res = await pool.pipeline().get(KEYS[0]!).get(KEYS[1]!).get(KEYS[2]!).exec();
  assert.deepEqual(
    res,
    KEYS.map((k) => [null, `v:${k}`]),
  );
  assert.equal(gets(fc, REPLICA_PORTS), 3);
  assert.equal(gets(fc, PORTS), 0);
  // One node's part with a write: that part on its primary (its GET too); the others on replicas.
  await pool.pipeline().get(KEYS[0]!).set(KEYS[0]!, 'w').get(KEYS[1]!).exec();
  assert.equal(fc.count(7001), 1);
  assert.equal(fc.count(7001, 'set'), 2);
  assert.equal(fc.count(7005), 2);
  // A one-node pipeline (hash tag) of reads: one replica.
  await pool.pipeline().get('{t}a').get('{t}b').exec();
  assert.equal(gets(fc, PORTS), 1);
  await pool.multi().get(KEYS[2]!).exec();
  assert.equal(fc.count(7003), 1, 'MULTI on the primary');
  await pool.destroy();
});

void test('a MOVED from a replica (its slot moved to another shard) is followed; keyless reads go to a replica', async () => {
  const fc = new FakeCluster({ replicas: true });
  const pool = await openFakeClusterPool(fc, new ManualClock(), { readFrom: 'replica' });
  await seeded(fc, pool);
  const slot = 3;
  fc.owner[slot] = 7002;
  fc.stores.get(7002)!.set(KEYS[0]!, 'moved');
  assert.equal(await pool.get(KEYS[0]!), 'moved');
  assert.equal(pool.stats().cluster.moved, 1);
  assert.equal(typeof (await pool.dbsize()), 'number');
  assert.equal(gets(fc, PORTS), 1, 'only the redirected GET ran on a primary');
  assert.equal(
    REPLICA_PORTS.reduce((n, p) => n + fc.count(p, 'dbsize'), 0),
    1,
    'DBSIZE (keyless, read-only) answered by a replica',
  );
  await pool.destroy();
});

void test('a replica that is still loading (PING answers LOADING) takes no reads until it has loaded', async () => {
  const fc = new FakeCluster({ replicas: true });
  const clock = new ManualClock();
  const pool = await openFakeClusterPool(fc, clock, { readFrom: 'preferReplica', commandTimeoutMs: 5000 });
  await seeded(fc, pool);
  let loading = true;
  fc.hook = (port, name) => {
    if (port === 7004 && name === 'ping' && loading) throw new ReplyError('LOADING Redis is loading the dataset in memory', 'PING');
    return undefined;
  };
  // 7004 restarts (its connections drop) and comes back loading.
  fc.kill(7004);
  fc.down.delete(7004);
  await settle();
  for (let i = 0; i < 5; i++) assert.equal(await pool.get(KEYS[0]!), `v:${KEYS[0]!}`);
  assert.equal(fc.count(7004), 0, 'no read on the loading replica');
  assert.equal(fc.count(7001), 5, 'its shard read from the primary');
  await assert.rejects(pool.with({ readFrom: 'replica' }).get(KEYS[0]!), (e: unknown) => (e as { code: string }).code === 'ERR_NO_REPLICA');
  loading = false;
  let back = false;
  for (let i = 0; i < 40 && !back; i++) {
    clock.advance(250);
    await settle();
    back = await pool
      .with({ readFrom: 'replica' })
      .get(KEYS[0]!)
      .then(
        () => fc.count(7004) > 0,
        () => false,
      );
  }
  assert.ok(back, 'reads on it once it has loaded');
  await pool.destroy();
});
