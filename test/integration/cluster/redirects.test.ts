/**
 * Redirects on a real cluster: a slot moved with `CLUSTER SETSLOT … NODE` (the pool follows the
 * MOVED at once and patches its map, so the next command goes straight to the new owner), an ASK
 * during a real migration (SETSLOT IMPORTING/MIGRATING + MIGRATE: migrated keys are read through
 * ASKING on the target, the others still on the source), a transaction and a pipeline across a
 * moved slot, and a frozen primary: a timed-out write is a refresh hint and never re-sent.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createPool, type ClusterPool } from '../../../src/index.js';
import { keySlot } from '../../../src/topology/cluster/keys.js';
import { keyInSlot, ownerAt } from '../../helpers/cluster-keys.js';
import { waitFor } from '../../helpers/redis.js';
import { useCluster, type ClusterNode, type RedisCluster } from '../../helpers/topology.js';

/** Starts migrating `slot` from its owner to `to` (IMPORTING on the target first, as redis-cli does). */
async function beginMigration(c: RedisCluster, slot: number, to: ClusterNode): Promise<ClusterNode> {
  const from = ownerAt(c, slot);
  await to.server.command('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from.id);
  await from.server.command('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to.id);
  return from;
}

/** Ends a migration: the slot belongs to `to` on every primary. */
async function finishMigration(c: RedisCluster, slot: number, to: ClusterNode): Promise<void> {
  await to.server.command('CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
  for (const p of c.primaries) if (p !== to) await p.server.command('CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
}

void describe('cluster pool: MOVED and ASK on real slot moves', () => {
  const cluster = useCluster();
  let pool: ClusterPool;
  after(() => pool?.destroy());

  const open = async (): Promise<ClusterPool> => {
    pool ??= createPool({ cluster: { nodes: cluster().seeds() }, max: 4, logger: false, commandTimeoutMs: 3000 });
    await pool.ready();
    return pool;
  };

  void test('a slot moved with SETSLOT NODE: one MOVED, the write lands on the new owner, the next goes there directly', async () => {
    const c = cluster();
    const p = await open();
    const slot = 100;
    const from = ownerAt(c, slot);
    const to = c.primaries.find((n) => n !== from)!;
    await beginMigration(c, slot, to);
    await finishMigration(c, slot, to);
    const key = keyInSlot(slot);
    const moved0 = p.stats().cluster.moved;
    assert.equal(await p.set(key, 'after-move'), 'OK');
    assert.equal(p.stats().cluster.moved, moved0 + 1, 'one MOVED followed');
    assert.equal(await to.server.command('GET', key), 'after-move');
    assert.equal(await from.server.command('CLUSTER', 'COUNTKEYSINSLOT', String(slot)), 0);
    assert.equal(await p.get(key), 'after-move');
    assert.equal(p.stats().cluster.moved, moved0 + 1, 'the map was patched: no second MOVED');
    // The refresh that the MOVED asked for lands too.
    await waitFor(() => (p.stats().cluster.refresh.requested.moved ?? 0) >= 1 && p.stats().cluster.refresh.succeeded >= 2, {
      timeoutMs: 5000,
      message: 'refresh after MOVED',
    });
  });

  void test('ASK during a real migration: migrated keys through ASKING on the target, the rest on the source', async () => {
    const c = cluster();
    const p = await open();
    const slot = 6000;
    const from = ownerAt(c, slot);
    const to = c.primaries.find((n) => n !== from)!;
    const migrated = keyInSlot(slot, ':m');
    const staying = keyInSlot(slot, ':s');
    assert.equal(keySlot(migrated), slot);
    await p.set(migrated, 'm');
    await p.set(staying, 's');
    await beginMigration(c, slot, to);
    assert.equal(await from.server.command('MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', migrated), 'OK');
    const ask0 = p.stats().cluster.ask;
    assert.equal(await p.get(migrated), 'm', 'read through ASK');
    assert.equal(p.stats().cluster.ask, ask0 + 1);
    assert.equal(await p.get(staying), 's', 'still served by the source');
    // A write of a migrated key goes to the target, once (APPEND returns the new length).
    assert.equal(await p.append(migrated, '+'), 2);
    // A pipeline mixing both: each command where its key is, replies in order.
    const res = await p.pipeline().get(migrated).get(staying).incr(keyInSlot(slot, ':new')).exec();
    assert.deepEqual(res, [
      [null, 'm+'],
      [null, 's'],
      [null, 1],
    ]);
    // Plain commands on the nodes would be redirected mid-migration: count keys per node instead.
    assert.equal(await to.server.command('CLUSTER', 'COUNTKEYSINSLOT', String(slot)), 2, 'migrated + new key on the target');
    assert.equal(await from.server.command('CLUSTER', 'COUNTKEYSINSLOT', String(slot)), 1, 'the staying key on the source');
    const moved = p.stats().cluster.moved;
    await from.server.command('MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', staying);
    await finishMigration(c, slot, to);
    assert.equal(await p.get(staying), 's');
    assert.equal(await p.get(migrated), 'm+');
    assert.equal(await p.get(keyInSlot(slot, ':new')), '1');
    assert.equal(p.stats().cluster.moved, moved + 1, 'after the migration: one MOVED, then the patched map');
  });

  void test('a transaction on a moved slot: the discarded MULTI runs once on the new owner', async () => {
    const c = cluster();
    const p = await open();
    const slot = 12000;
    const from = ownerAt(c, slot);
    const to = c.primaries.find((n) => n !== from && n.id !== c.primaries[0]!.id) ?? c.primaries.find((n) => n !== from)!;
    await beginMigration(c, slot, to);
    await finishMigration(c, slot, to);
    const key = keyInSlot(slot, ':tx');
    const res = await p.multi().incr(key).incr(key).exec();
    assert.deepEqual(res, [
      [null, 1],
      [null, 2],
    ]);
    assert.equal(await to.server.command('GET', key), '2');
  });

  void test('MULTI across slots is refused before anything is sent', async () => {
    const p = await open();
    const err = await p
      .multi()
      .set(keyInSlot(1), 'a')
      .set(keyInSlot(2), 'b')
      .exec()
      .then(
        () => assert.fail('expected ERR_CROSS_SLOT'),
        (e: unknown) => e as { code: string; message: string; outcome: string },
      );
    assert.equal(err.code, 'ERR_CROSS_SLOT');
    assert.equal(err.outcome, 'not-sent');
    assert.match(err.message, /MULTI: commands 0 and 1/);
    assert.equal(await p.exists(keyInSlot(1)), 0);
  });
});
