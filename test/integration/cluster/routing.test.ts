/**
 * The cluster pool on a real 3 primaries + 3 replicas cluster: commands routed by slot to the
 * right primary (checked against each node's own keyspace), cross-slot refusal before sending,
 * keyless commands, pipelines split across nodes and reassembled in order, and per-node stats.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createPool, type ClusterPool } from '../../../src/index.js';
import { keySlot } from '../../../src/topology/cluster/keys.js';
import { keyInSlot, ownerAt } from '../../helpers/cluster-keys.js';
import { useCluster } from '../../helpers/topology.js';

void describe('cluster pool: routing on a real cluster', () => {
  const cluster = useCluster();
  let pool: ClusterPool;

  after(() => pool?.destroy());

  void test('ready() reads the topology from one replica seed and opens one pool per primary, keyed by node id', async () => {
    const c = cluster();
    pool = createPool({ cluster: { nodes: [{ host: '127.0.0.1', port: c.replicas[0]!.port }] }, max: 4, logger: false });
    assert.equal(await pool.ready(), 'healthy');
    const s = pool.stats();
    assert.deepEqual(Object.keys(s.nodes).sort(), c.primaries.map((p) => p.id).sort());
    for (const p of c.primaries) assert.equal(s.nodes[p.id]!.address, `127.0.0.1:${p.port}`);
    assert.equal(s.cluster.coveredSlots, 16384);
  });

  void test('every slot: SET through the pool lands on the primary that owns it', async () => {
    const c = cluster();
    const step = 61; // 269 slots spread over the whole range, every primary several times
    const keys: string[] = [];
    for (let slot = 0; slot < 16384; slot += step) keys.push(keyInSlot(slot, ':r'));
    await Promise.all(keys.map((k) => pool.set(k, k)));
    for (const k of keys) {
      const owner = ownerAt(c, keySlot(k));
      assert.equal(await owner.server.command('GET', k), k, `key ${k} on its owner`);
      assert.equal(await pool.get(k), k);
    }
    assert.equal(pool.stats().cluster.moved, 0);
  });

  void test('a multi-key command across slots is refused before sending (ERR_CROSS_SLOT)', async () => {
    const a = keyInSlot(1);
    const b = keyInSlot(9000);
    const before = pool.stats().commands;
    const err = await pool.mget(a, b).then(
      () => assert.fail('expected ERR_CROSS_SLOT'),
      (e: unknown) => e as { code: string; outcome: string; slots: number[] },
    );
    assert.equal(err.code, 'ERR_CROSS_SLOT');
    assert.equal(err.outcome, 'not-sent');
    assert.deepEqual(err.slots, [1, 9000]);
    assert.equal(pool.stats().commands, before, 'nothing was sent');
    // Same slot (hash tag): fine.
    await pool.mset('{t}a', '1', '{t}b', '2');
    assert.deepEqual(await pool.mget('{t}a', '{t}b'), ['1', '2']);
  });

  void test('keyless commands go to a primary', async () => {
    assert.equal(await pool.ping(), 'PONG');
    const info = await pool.call('CLUSTER', 'INFO');
    assert.match(String(info), /cluster_state:ok/);
  });

  void test('a pipeline across every node comes back in order, one verdict per command', async () => {
    const c = cluster();
    const keys = c.primaries.map((p, i) => keyInSlot(p.initialSlots[0]![0] + 7 + i, ':p'));
    const p = pool.pipeline();
    keys.forEach((k, i) => p.set(k, `v${i}`));
    p.ping();
    keys.forEach((k) => p.get(k));
    p.incr(keys[0]!); // WRONGTYPE-free error: INCR of a non-integer value
    p.mget(keys[0]!, keys[1]!); // cross-slot: its own error, others still run
    const res = (await p.exec())!;
    assert.equal(res.length, keys.length * 2 + 3);
    keys.forEach((_, i) => assert.deepEqual(res[i], [null, 'OK']));
    assert.deepEqual(res[keys.length], [null, 'PONG']);
    keys.forEach((_, i) => assert.deepEqual(res[keys.length + 1 + i], [null, `v${i}`]));
    assert.match(String(res[keys.length * 2 + 1]![0]), /not an integer/);
    assert.equal((res[keys.length * 2 + 2]![0] as unknown as { code: string }).code, 'ERR_CROSS_SLOT');
    for (const [i, k] of keys.entries()) assert.equal(await ownerAt(c, keySlot(k)).server.command('GET', k), `v${i}`);
  });

  void test('close() closes every node pool', async () => {
    await pool.close();
    assert.equal(pool.state, 'closed');
    assert.equal(pool.stats().total, 0);
  });
});
