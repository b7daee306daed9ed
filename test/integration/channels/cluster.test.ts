/**
 * The layer on a real Redis Cluster (3 primaries) through the cluster pool: a group send whose
 * members hash to slots on every node is split by slot (one DELIVER script per slot group, after
 * the pool refused the cross-slot one before sending it) and reaches every member; readers pin
 * their leases to their list's slot; a waiting send is woken by the pop that makes room; a
 * process-local member gets its message.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { after, describe, test } from 'node:test';
import calculateSlot from 'cluster-key-slot';
import { createPool, type Pool } from '../../../src/index.js';
import { createChannelLayer } from '../../../src/channels/index.js';
import { useCluster } from '../../helpers/topology.js';

void describe('channel layer on Redis Cluster', () => {
  const cluster = useCluster({ primaries: 3, replicasPerPrimary: 0 });

  void test('group send across slots, send/receive, waiting for room', { timeout: 60_000 }, async () => {
    const cpool = createPool({ cluster: { nodes: cluster().seeds() }, max: 12, logger: false, name: 'ch-cluster' });
    after(() => cpool.close());
    // The layer is typed for a Pool; the cluster pool presents the same API for what it uses.
    const layer = createChannelLayer(cpool as unknown as Pool, { prefix: 'cl', capacity: 5 });
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
});
