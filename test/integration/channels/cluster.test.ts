/**
 * The layer on a real Redis Cluster (3 primaries) through the cluster pool: a group send whose
 * members hash to slots on every node is split by slot (one DELIVER script per slot group, after
 * the pool refused the cross-slot one before sending it) and reaches every member; readers pin
 * their leases to their list's slot; a waiting send is woken by the pop that makes room; a
 * process-local member gets its message; flush() scans every primary and refreshDepth() sums the
 * lists of every node.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { after, describe, test } from 'node:test';
import calculateSlot from 'cluster-key-slot';
import { createPool, type SharedCommands } from '../../../src/index.js';
import { createChannelLayer } from '../../../src/channels/index.js';
import { waitFor } from '../../helpers/redis.js';
import { useCluster } from '../../helpers/topology.js';

void describe('channel layer on Redis Cluster', () => {
  const cluster = useCluster({ primaries: 3, replicasPerPrimary: 0 });

  void test('group send across slots, send/receive, waiting for room', { timeout: 60_000 }, async () => {
    const cpool = createPool({ cluster: { nodes: cluster().seeds() }, max: 12, logger: false, name: 'ch-cluster' });
    after(() => cpool.close());
    // Typed for a CommandPool: a ClusterPool is one, no cast.
    const layer = createChannelLayer(cpool, { prefix: 'cl', capacity: 5 });
    after(() => layer.close());

    await layer.send('a', 1);
    await layer.send('b', 2);
    assert.deepEqual([await layer.receive('a'), await layer.receive('b')], [1, 2]);

    const members = Array.from({ length: 12 }, (_, i) => `m${i}`);
    const slots = new Set(members.map((m) => calculateSlot(`cl:ch:{${m}}`)));
    assert.ok(slots.size >= 10, 'members in many slots (so on every node)');
    for (const m of members) await layer.groupAdd('g', m);
    const local = layer.newChannel();
    await layer.groupAdd('g', local);
    let scripts = 0;
    const onCommand = (msg: unknown): void => {
      const c = msg as { command: string; error?: string };
      // EVAL: a node that had not seen the script yet answered NOSCRIPT to the EVALSHA.
      if (['evalsha', 'eval'].includes(c.command.toLowerCase()) && c.error === undefined) scripts++;
    };
    diagnostics.subscribe('redpool:command', onCommand);
    let r;
    try {
      r = await layer.groupSend('g', 'hi');
    } finally {
      diagnostics.unsubscribe('redpool:command', onCommand);
    }
    assert.equal(r.delivered, members.length + 1);
    assert.equal(r.full, 0);
    // The member lookup, then one delivery per slot group (members + the local list's slot).
    const deliverySlots = new Set([...slots, calculateSlot(`cl:ch:{${local.slice(0, local.indexOf('!') + 1)}}`)]);
    assert.equal(scripts, 1 + deliverySlots.size, `one script per slot (${scripts} for ${deliverySlots.size} slots)`);
    for (const m of members) assert.equal(await layer.receive(m), 'hi');
    assert.equal(await layer.receive(local), 'hi');

    for (let i = 0; i < 5; i++) await layer.send('full', i);
    const waiting = layer.send('full', 5, { waitMs: 10_000 });
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(await layer.receive('full'), 0);
    await waiting;
    for (const want of [1, 2, 3, 4, 5]) assert.equal(await layer.receive('full'), want);
  });

  /** Keys matching `pattern` on one node (SCAN there). */
  async function countKeys(node: Pick<SharedCommands, 'scan'>, pattern: string): Promise<number> {
    let cursor = '0';
    let n = 0;
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      n += keys.length;
    } while (cursor !== '0');
    return n;
  }

  void test('flush() deletes the prefix on every primary; refreshDepth() counts the lists of every node', { timeout: 60_000 }, async () => {
    const cpool = createPool({ cluster: { nodes: cluster().seeds() }, max: 12, logger: false, name: 'ch-cluster-flush' });
    after(() => cpool.close());
    const layer = createChannelLayer(cpool, { prefix: 'fl', capacity: 100 });
    after(() => layer.close());
    const channels = Array.from({ length: 30 }, (_, i) => `f${i}`);
    let messages = 0;
    for (const [i, c] of channels.entries()) for (let k = 0; k <= i % 3; k++, messages++) await layer.send(c, k);
    await layer.groupAdd('g', 'f1');
    const primaries = cpool.primaries();
    assert.equal(primaries.length, 3);
    const perNode = await Promise.all(primaries.map((p) => countKeys(p.commands, 'fl:*')));
    assert.ok(
      perNode.every((n) => n > 0),
      `keys on every primary (${perNode.join(', ')})`,
    );
    assert.equal(
      perNode.reduce((a, b) => a + b),
      channels.length + 1,
    );
    assert.deepEqual(await layer.refreshDepth(), { default: messages });
    // The reader moved all of f2 into its in-flight list: counted there until acknowledged.
    assert.equal(await layer.receive('f2'), 0);
    await waitFor(async () => (await layer.refreshDepth())['default'] === messages - 1);
    assert.equal(layer.stats().depth['default'], messages - 1);

    await layer.close(); // its readers put back what they held first
    assert.equal(await layer.flush(), channels.length + 1, 'every list and the group');
    for (const p of primaries) assert.equal(await countKeys(p.commands, 'fl:*'), 0, `nothing left on ${p.address}`);
  });
});
