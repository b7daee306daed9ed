/**
 * Leases and the connection budget on a real cluster: `withConnection({ key })` runs WATCH/MULTI
 * on the key's node and refuses other slots before sending; blocking commands take a lease on
 * the right node; `max` per node and `maxTotal` across the cluster hold on the servers' own
 * `CLIENT LIST` while far more leases are wanted than the budget allows; a timed-out write on a
 * frozen primary is reported `unknown`, asks for a refresh, and runs exactly once.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createPool, type ClusterPool } from '../../../src/index.js';
import { keySlot } from '../../../src/topology/cluster/keys.js';
import { keyInSlot, ownerAt } from '../../helpers/cluster-keys.js';
import { clientNames } from '../../helpers/redis.js';
import { useCluster, type RedisCluster } from '../../helpers/topology.js';

/** Polls CLIENT LIST on every primary until `done` settles; returns the largest count seen per node and in total. */
async function sampleConnections(c: RedisCluster, prefix: string, done: Promise<unknown>): Promise<{ perNode: number; total: number }> {
  let finished = false;
  void done.finally(() => (finished = true));
  let perNode = 0;
  let total = 0;
  for (let i = 0; i < 400 && !finished; i++) {
    const counts = await Promise.all(c.primaries.map(async (p) => (await clientNames(p.server, prefix)).length));
    perNode = Math.max(perNode, ...counts);
    total = Math.max(
      total,
      counts.reduce((a, b) => a + b, 0),
    );
    await new Promise((r) => setTimeout(r, 10));
  }
  await done;
  return { perNode, total };
}

void describe('cluster pool: leases and budget', () => {
  const cluster = useCluster();
  const pools: ClusterPool[] = [];
  after(() => Promise.all(pools.map((p) => p.destroy())));
  const open = (opts: { name: string; max: number; maxTotal?: number }): ClusterPool => {
    const p = createPool({ cluster: { nodes: cluster().seeds() }, logger: false, acquireTimeoutMs: 10_000, ...opts });
    pools.push(p);
    return p;
  };

  void test('withConnection({ key }): WATCH/MULTI/EXEC on the key node; another slot is refused before sending', async () => {
    const c = cluster();
    const p = open({ name: 'lease', max: 4 });
    await p.ready();
    const key = keyInSlot(9000, ':acct');
    const other = keyInSlot(1, ':x');
    const res = await p.withConnection({ key }, async (lease) => {
      await lease.watch(key);
      const value = Number((await lease.get(key)) ?? 0);
      const refused = await lease.get(other).then(
        () => undefined,
        (e: unknown) => e as { code: string; message: string },
      );
      assert.equal(refused?.code, 'ERR_CROSS_SLOT');
      assert.match(refused!.message, /pinned to slot 9000/);
      const batchRefused = await lease
        .multi()
        .set(key, 'x')
        .set(other, 'y')
        .exec()
        .then(
          () => undefined,
          (e: unknown) => e as { code: string },
        );
      assert.equal(batchRefused?.code, 'ERR_CROSS_SLOT');
      return lease
        .multi()
        .set(key, String(value + 1))
        .exec();
    });
    assert.deepEqual(res, [[null, 'OK']]);
    assert.equal(await ownerAt(c, 9000).server.command('GET', key), '1');
    assert.equal(await ownerAt(c, 1).server.command('EXISTS', other), 0, 'the refused command was never sent');
    // Same with `{ slot }` and the (fn, opts) order of the single-node API.
    assert.equal(await p.withConnection((lease) => lease.get(key), { slot: keySlot(key) }), '1');
  });

  void test('a blocking command takes a lease on its key node', async () => {
    const c = cluster();
    const p = open({ name: 'block', max: 4 });
    await p.ready();
    const key = keyInSlot(15000, ':q');
    const popped = p.blpop(key, 2);
    await new Promise((r) => setTimeout(r, 50));
    await ownerAt(c, 15000).server.command('RPUSH', key, 'job');
    assert.deepEqual(await popped, [key, 'job']);
  });

  void test('max per node holds on every server while leases queue', async () => {
    const c = cluster();
    const p = open({ name: 'pernode', max: 4 });
    await p.ready();
    // 24 blocking pops spread over all three nodes: 8 per node want a lease, 2 per node can have one.
    const keys = Array.from({ length: 24 }, (_, i) => keyInSlot((i * 683) % 16384, ':b'));
    const work = Promise.all(keys.map((k) => p.with({ timeoutMs: 10_000 }).blpop(k, 0.15)));
    const seen = await sampleConnections(c, 'redpool:pernode:', work);
    assert.ok(seen.perNode <= 4, `per node ${seen.perNode} <= max 4`);
    assert.ok(seen.perNode >= 3, `leases were really used (${seen.perNode})`);
    assert.deepEqual(
      await work,
      keys.map(() => null),
    );
  });

  void test('maxTotal holds across the cluster (lanes first), and every caller is served', async () => {
    const c = cluster();
    const p = open({ name: 'total', max: 4, maxTotal: 8 });
    await p.ready();
    const keys = Array.from({ length: 24 }, (_, i) => keyInSlot((i * 683) % 16384, ':t'));
    const work = Promise.all(keys.map((k) => p.with({ timeoutMs: 15_000 }).blpop(k, 0.1)));
    const seen = await sampleConnections(c, 'redpool:total:', work);
    assert.ok(seen.total <= 8, `total ${seen.total} <= maxTotal 8`);
    assert.ok(seen.perNode <= 4);
    assert.ok(seen.total >= 7, `the budget was used (${seen.total})`);
    const s = p.stats();
    assert.ok(s.cluster.budgetRefused > 0, 'some opens waited for the total');
    assert.ok(s.cluster.budgetUsed <= 8);
    for (const n of Object.values(s.nodes)) assert.ok(n.lanes >= 1, `node ${n.address} kept a lane`);
  });

  void test('a write that timed out on a frozen primary: outcome unknown, a refresh hint, and it ran exactly once', async (t) => {
    const c = cluster();
    const p = open({ name: 'frozen', max: 4 });
    await p.ready();
    const key = keyInSlot(3000, ':once');
    const owner = ownerAt(c, 3000);
    const hints = p.stats().cluster.refresh.requested.timeout ?? 0;
    owner.server.pause();
    t.after(() => owner.server.paused && owner.server.resume());
    const err = await p
      .with({ timeoutMs: 200 })
      .incr(key)
      .then(
        () => assert.fail('expected a timeout'),
        (e: unknown) => e as { code: string; outcome: string },
      );
    // Resume well inside cluster-node-timeout (1 s): no failover, the node runs what it had read.
    owner.server.resume();
    assert.equal(err.code, 'ERR_COMMAND_TIMEOUT');
    assert.equal(err.outcome, 'unknown');
    assert.equal((p.stats().cluster.refresh.requested.timeout ?? 0) > hints, true, 'the timeout asked for a refresh');
    assert.equal(p.stats().cluster.rerouted, 0, 'nothing was re-routed');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await owner.server.command('GET', key), '1', 'the INCR ran once, never re-sent');
  });
});
