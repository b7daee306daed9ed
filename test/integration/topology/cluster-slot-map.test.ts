/**
 * The pure cluster pieces against a real 3+3 cluster: the slot map parsed from the server's own
 * CLUSTER SHARDS (read through ioredis, the driver the pool uses) and CLUSTER SLOTS, key slots
 * against CLUSTER KEYSLOT, key positions against COMMAND GETKEYS, a real MOVED reply, and the
 * map after a primary is killed and its replica promoted.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { keyIndexes, keySlot } from '../../../src/topology/cluster/keys.js';
import { parseRedirect } from '../../../src/topology/cluster/redirect.js';
import { parseClusterShards, parseClusterSlots } from '../../../src/topology/cluster/slot-map.js';
import { waitFor } from '../../helpers/redis.js';
import { useCluster, withCluster } from '../../helpers/topology.js';

function client(port: number): Redis {
  return new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: true,
  });
}

void describe('slot map on a real cluster', () => {
  const cluster = useCluster();

  void test('CLUSTER SHARDS via ioredis: every slot to the right primary, ids, roles, health', async (t) => {
    const c = cluster();
    const redis = client(c.replicas[0]!.port);
    t.after(() => redis.disconnect());
    const map = parseClusterShards(await redis.call('CLUSTER', 'SHARDS'));
    assert.equal(map.coveredSlots(), 16384);
    assert.equal(map.nodes.size, 6);
    for (const primary of c.primaries) {
      const [first, last] = primary.initialSlots[0]!;
      for (const slot of [first, Math.floor((first + last) / 2), last]) {
        assert.equal(map.primaryOf(slot)?.id, primary.id, `slot ${slot}`);
        assert.equal(map.primaryOf(slot)?.port, primary.port);
      }
    }
    for (const replica of c.replicas) {
      const info = map.nodes.get(replica.id);
      assert.equal(info?.role, 'replica');
      assert.equal(info?.health, 'online');
      const primarySlot = c.node(replica.initialPrimaryId!).initialSlots[0]![0];
      assert.deepEqual(
        map.replicasOf(primarySlot).map((n) => n.id),
        [replica.id],
      );
    }
  });

  void test('CLUSTER SLOTS fallback agrees with CLUSTER SHARDS', async (t) => {
    const c = cluster();
    const redis = client(c.primaries[1]!.port);
    t.after(() => redis.disconnect());
    const fromShards = parseClusterShards(await redis.call('CLUSTER', 'SHARDS'));
    const fromSlots = parseClusterSlots(await redis.call('CLUSTER', 'SLOTS'));
    for (let slot = 0; slot < 16384; slot += 97)
      assert.equal(fromSlots.primaryOf(slot)?.id, fromShards.primaryOf(slot)?.id, `slot ${slot}`);
    assert.equal(fromSlots.coveredSlots(), 16384);
  });

  void test('keySlot matches CLUSTER KEYSLOT; keyIndexes matches COMMAND GETKEYS', async (t) => {
    const redis = client(cluster().primaries[0]!.port);
    t.after(() => redis.disconnect());
    for (const key of ['foo', 'bar', '{user:1}:a', 'a{}b', '{}x', 'ü', '123', 'x{y}z{w}']) {
      assert.equal(keySlot(key), await redis.call('CLUSTER', 'KEYSLOT', key), key);
    }
    const cases: string[][] = [
      ['SET', 'k1', 'v'],
      ['MSET', 'a', '1', 'b', '2'],
      ['EVAL', 'return 1', '2', 'x', 'y', 'arg'],
      ['ZUNIONSTORE', 'dst', '2', 'z1', 'z2'],
      ['XREAD', 'COUNT', '1', 'STREAMS', 's1', 's2', '0', '0'],
      ['LMOVE', 'l1', 'l2', 'LEFT', 'RIGHT'],
      ['SORT', 'l', 'STORE', 'dst'],
    ];
    for (const [name, ...args] of cases) {
      const serverKeys = (await redis.call('COMMAND', 'GETKEYS', name!, ...args)) as string[];
      const ours = keyIndexes(name!, args).map((i) => args[i]);
      assert.deepEqual(ours, serverKeys, name);
    }
  });

  void test('a real MOVED reply parses to the slot and the owning primary', async (t) => {
    const c = cluster();
    const owner = c.primaries.find((p) => p.initialSlots[0]![0] <= keySlot('foo') && keySlot('foo') <= p.initialSlots[0]![1])!;
    const other = c.primaries.find((p) => p !== owner)!;
    const redis = client(other.port);
    t.after(() => redis.disconnect());
    const err = await redis.get('foo').then(
      () => assert.fail('expected MOVED'),
      (e: Error) => e,
    );
    assert.deepEqual(parseRedirect(err.message), { kind: 'moved', slot: keySlot('foo'), host: '127.0.0.1', port: owner.port });
  });
});

void test('after a primary is killed, CLUSTER SHARDS shows it failed and its replica serving its slots', async (t) => {
  const c = await withCluster(t, { requireFullCoverage: false });
  const victim = c.primaries[0]!;
  const replica = c.replicas.find((r) => r.initialPrimaryId === victim.id)!;
  const watcher = c.node(c.primaries[1]!.id);
  const redis = client(watcher.port);
  t.after(() => redis.disconnect());
  const t0 = performance.now();
  await victim.server.kill();
  const map = await waitFor<ReturnType<typeof parseClusterShards> | false>(
    async () => {
      const m = parseClusterShards(await redis.call('CLUSTER', 'SHARDS'));
      return m.primaryOf(0)?.id === replica.id ? m : false;
    },
    { timeoutMs: 15_000, intervalMs: 50, message: 'replica promoted' },
  );
  t.diagnostic(`kill → promoted in CLUSTER SHARDS: ${Math.round(performance.now() - t0)} ms`);
  assert.ok(map);
  assert.equal(map.nodes.get(victim.id)?.health, 'failed');
  assert.equal(map.primaryOf(0)?.role, 'primary');
  assert.equal(map.coveredSlots(), 16384);
});
