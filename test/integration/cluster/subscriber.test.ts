/**
 * `clusterPool.subscriber()` on a real 3+3 cluster: shard channels on every shard, each on its
 * slot's primary (one subscriber connection per node, within that node's `max`), classic channels
 * on one primary; a slot moved with `CLUSTER SETSLOT … NODE` (the server's own `sunsubscribe`
 * push) and a killed primary with replica promotion: the subscriptions follow and messages arrive
 * again.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createPool, type ClusterPool, type ClusterSubscriber } from '../../../src/index.js';
import { keyInSlot, ownerAt } from '../../helpers/cluster-keys.js';
import { waitFor } from '../../helpers/redis.js';
import { useCluster, withCluster, type ClusterNode, type RedisCluster } from '../../helpers/topology.js';

/** Pub/sub connections on a node, from the server's own CLIENT LIST. */
async function pubsubClients(n: ClusterNode): Promise<number> {
  const list = String(await n.server.command('CLIENT', 'LIST', 'TYPE', 'pubsub'));
  return list.split('\n').filter((l) => l.trim() !== '').length;
}

/** Client connections on a node (normal and pub/sub; not replication), less the one asking. */
async function clientConnections(n: ClusterNode): Promise<number> {
  const normal = String(await n.server.command('CLIENT', 'LIST', 'TYPE', 'normal'));
  return normal.split('\n').filter((l) => l.trim() !== '').length - 1 + (await pubsubClients(n));
}

/** Publishes until `got` has `want` (a subscription moving drops what is published meanwhile). */
async function until(publish: () => Promise<unknown>, got: () => boolean, message: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    async () => {
      await publish();
      return got();
    },
    { timeoutMs, message },
  );
}

void describe('cluster subscriber: shard channels on every shard, slot moves', () => {
  const cluster = useCluster();
  let pool: ClusterPool;
  let sub: ClusterSubscriber | undefined;
  after(async () => {
    await sub?.close();
    await pool?.destroy();
  });

  const open = async (): Promise<ClusterPool> => {
    pool ??= createPool({
      cluster: { nodes: cluster().seeds(), minRefreshIntervalMs: 200 },
      name: 'csub',
      max: 3,
      lanes: 1,
      logger: false,
      commandTimeoutMs: 3000,
    });
    await pool.ready();
    return pool;
  };

  void test('SPUBLISH to channels on all three shards arrives; one subscriber connection per node, within max', async () => {
    const c = cluster();
    const p = await open();
    sub = p.subscriber();
    const got: string[] = [];
    sub.on('smessage', (ch, m) => got.push(`${ch}=${m}`));
    sub.on('message', (ch, m) => got.push(`classic:${ch}=${m}`));
    // Two channels per shard (two slots each), named together in one call.
    const slots = [100, 101, 6000, 6001, 12000, 12001];
    const channels = slots.map((s) => keyInSlot(s, ':ch'));
    assert.equal(await sub.ssubscribe(...channels), 6);
    await sub.subscribe('news');
    const placement = sub.placement();
    for (const [i, ch] of channels.entries()) {
      const owner = ownerAt(c, slots[i]!);
      assert.ok(placement[owner.id]?.includes(ch), `${ch} on its slot's primary ${owner.port}`);
    }
    assert.equal(Object.keys(placement).length, 3, 'every shard holds channels');
    for (const ch of channels) await p.spublish(ch, 'one');
    await p.publish('news', 'one');
    await waitFor(() => got.length === 7, { timeoutMs: 5000, message: `messages: ${got.join()}` });
    assert.deepEqual(got.sort(), [...channels.map((ch) => `${ch}=one`), 'classic:news=one'].sort());

    // Budget: every subscriber connection is a lease of its node's pool, within that node's max.
    const stats = p.stats();
    let subscribers = 0;
    for (const n of c.primaries) {
      const ns = stats.nodes[n.id]!;
      assert.ok(ns.total <= 3, `node ${n.port}: ${ns.total} connections > max 3`);
      assert.equal(ns.subscribers, 1, `node ${n.port}: one subscriber connection`);
      subscribers += ns.subscribers;
      const server = await clientConnections(n);
      assert.ok(server >= 1 && server <= 3, `node ${n.port}: the server counts ${server} connections (max 3)`);
      assert.equal(await pubsubClients(n), 1, `node ${n.port}: one pub/sub connection on the server`);
    }
    assert.equal(subscribers, 3, 'one subscriber connection per node; the classic channel shares one');

    // A node left with no shard channels lets go of its connection.
    const lastOwner = ownerAt(c, 12000);
    await sub.sunsubscribe(channels[4]!, channels[5]!);
    const classicOnIt = sub.classicNode === lastOwner.id;
    await waitFor(() => p.stats().nodes[lastOwner.id]!.subscribers === (classicOnIt ? 1 : 0), { message: 'shard subscriber closed' });
    await sub.ssubscribe(channels[4]!, channels[5]!);
  });

  void test('a slot moved with SETSLOT NODE: the server drops the channel, it is re-subscribed on the new owner', async () => {
    const c = cluster();
    const p = await open();
    assert.ok(sub, 'runs after the first test');
    const slot = 101;
    const ch = keyInSlot(slot, ':ch');
    const stay = keyInSlot(100, ':ch');
    const from = ownerAt(c, slot);
    const to = c.primaries.find((n) => n !== from)!;
    const moved: Array<{ channel: string; from: string; to: string }> = [];
    sub.on('shard:moved', (m) => moved.push(m));
    const got: string[] = [];
    sub.on('smessage', (channel, m) => got.push(`${channel}=${m}`));
    await to.server.command('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from.id);
    await from.server.command('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to.id);
    await to.server.command('CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
    await from.server.command('CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
    for (const n of c.primaries) if (n !== from && n !== to) await n.server.command('CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
    await waitFor(() => moved.some((m) => m.channel === ch), { timeoutMs: 10_000, message: 'shard:moved for the migrated channel' });
    assert.deepEqual(
      moved.filter((m) => m.channel === ch),
      [{ channel: ch, from: from.id, to: to.id }],
    );
    assert.ok(sub.placement()[to.id]?.includes(ch), 'now placed on the new owner');
    assert.ok(sub.placement()[from.id]?.includes(stay), 'the other slot of the old owner stays');
    // SPUBLISH on the new owner directly: the message comes through the new subscription.
    await until(
      () => to.server.command('SPUBLISH', ch, 'after-move'),
      () => got.includes(`${ch}=after-move`),
      'message after the move',
    );
    await until(
      () => p.spublish(stay, 'still'),
      () => got.includes(`${stay}=still`),
      'the unmoved channel still delivers',
    );
  });
});

void test('cluster subscriber: a killed primary, replica promoted: shard and classic subscriptions follow', async (t) => {
  const c: RedisCluster = await withCluster(t, { requireFullCoverage: false });
  const pool = createPool({ cluster: { nodes: c.seeds(), minRefreshIntervalMs: 250 }, name: 'csubfo', max: 2, lanes: 1, logger: false });
  t.after(() => pool.destroy());
  await pool.ready();
  const sub = pool.subscriber({ connectTimeoutMs: 2000 });
  t.after(() => sub.close());
  const got: string[] = [];
  sub.on('smessage', (ch, m) => got.push(`${ch}=${m}`));
  sub.on('message', (ch, m) => got.push(`classic:${ch}=${m}`));
  await sub.subscribe('news');
  // The victim: the primary that holds the classic subscription, and a shard channel of its own.
  const victim = c.node(sub.classicNode!);
  const slot = victim.initialSlots[0]![0] + 7;
  const ch = keyInSlot(slot, ':fo');
  const other = keyInSlot(ownerAt(c, 0) === victim ? 16000 : 0, ':ok');
  await sub.ssubscribe(ch, other);
  await pool.spublish(ch, 'before');
  await waitFor(() => got.includes(`${ch}=before`), { message: 'before the kill' });
  const replica = c.replicas.find((r) => r.initialPrimaryId === victim.id)!;
  await victim.server.kill();
  const t0 = performance.now();
  await until(
    () => replica.server.command('SPUBLISH', ch, 'after').catch(() => undefined),
    () => got.includes(`${ch}=after`),
    'shard channel on the promoted replica',
    20_000,
  );
  t.diagnostic(`kill → shard message on the promoted replica: ${Math.round(performance.now() - t0)} ms`);
  assert.ok(sub.placement()[replica.id]?.includes(ch));
  assert.notEqual(sub.classicNode, victim.id, 'the classic subscription left the dead node');
  await until(
    () => pool.publish('news', 'after'),
    () => got.includes('classic:news=after'),
    'classic channel re-homed',
  );
  await until(
    () => pool.spublish(other, 'ok'),
    () => got.includes(`${other}=ok`),
    'the other shard kept its subscription',
  );
  const s = pool.stats();
  for (const [id, n] of Object.entries(s.nodes)) assert.ok(n.total <= 2, `node ${id}: ${n.total} > max 2`);
});
