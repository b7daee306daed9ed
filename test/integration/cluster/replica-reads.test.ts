/**
 * Reads from replicas (`readFrom`) on a real 3 primaries + 3 replicas cluster: every read lands
 * where the mode promises (counted in each node's own `INFO commandstats`), writes only on
 * primaries (a write sent to a replica would show as a rejected call there), the per-call
 * override, `READONLY` connections visible on the replicas, the connection budget over all six
 * nodes, and what a frozen or killed replica does to 'preferReplica' and 'replica' reads.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createPool, type ClusterPool, type PoolOptions, type ReadFrom } from '../../../src/index.js';
import { keySlot } from '../../../src/topology/cluster/keys.js';
import { keyInSlot, ownerAt } from '../../helpers/cluster-keys.js';
import { commandStat } from '../../helpers/commandstats.js';
import { clientNames, waitFor } from '../../helpers/redis.js';
import { useCluster, type ClusterNode, type RedisCluster } from '../../helpers/topology.js';
import { clientList } from '../../fault/lib/server.js';

/** 269 keys over the whole slot range (every shard several times). */
const KEYS = Array.from({ length: Math.ceil(16384 / 61) }, (_, i) => keyInSlot(i * 61, ':rr'));

const replicaOf = (c: RedisCluster, primary: ClusterNode): ClusterNode => c.replicas.find((r) => r.initialPrimaryId === primary.id)!;

async function gets(c: RedisCluster): Promise<number[]> {
  return Promise.all(c.nodes.map(async (n) => (await commandStat(n.server, 'get')).calls));
}

/** Until every replica has every key its primary has (asynchronous replication). */
async function replicated(c: RedisCluster): Promise<void> {
  for (const p of c.primaries) {
    const r = replicaOf(c, p);
    await waitFor(async () => (await r.server.command('DBSIZE')) === (await p.server.command('DBSIZE')), { timeoutMs: 10_000 });
  }
}

void describe('cluster pool: reads from replicas', () => {
  const cluster = useCluster();
  const pools: ClusterPool[] = [];
  after(() => Promise.all(pools.map((p) => p.destroy())));
  const open = (o: Omit<PoolOptions, 'cluster'>, refresh = {}): ClusterPool => {
    const p = createPool({ cluster: { nodes: cluster().seeds(), ...refresh }, logger: false, max: 4, ...o });
    pools.push(p);
    return p;
  };

  void test('each mode reads where it promises, writes run only on primaries, replicas hold READONLY connections', async () => {
    const c = cluster();
    const pool = open({ name: 'rr', readFrom: 'replica' });
    assert.equal(await pool.ready(), 'healthy');
    const roles = Object.values(pool.stats().nodes).map((n) => `${n.address}:${n.role}`);
    assert.deepEqual(roles.sort(), c.nodes.map((n) => `127.0.0.1:${n.port}:${n.initialRole}`).sort());
    const setsBefore = await Promise.all(c.nodes.map((n) => commandStat(n.server, 'set')));
    for (const k of KEYS) assert.equal(await pool.set(k, `v:${k}`), 'OK');
    const setsAfter = await Promise.all(c.nodes.map((n) => commandStat(n.server, 'set')));
    await replicated(c);
    const perShard = new Map(c.primaries.map((p) => [p.id, KEYS.filter((k) => ownerAt(c, keySlot(k)) === p).length]));
    c.nodes.forEach((n, i) => {
      const calls = setsAfter[i]!.calls - setsBefore[i]!.calls;
      const primaryId = n.initialRole === 'primary' ? n.id : n.initialPrimaryId!;
      // A replica applies its primary's writes (replication counts there too), and refuses none.
      assert.equal(calls, perShard.get(primaryId), `SET calls on ${n.port} (${n.initialRole})`);
      assert.equal(setsAfter[i]!.rejected - setsBefore[i]!.rejected, 0, `no SET refused by ${n.port}`);
    });

    const expect = async (mode: ReadFrom | undefined, onReplicas: boolean): Promise<void> => {
      const before = await gets(c);
      const view = mode === undefined ? pool : pool.with({ readFrom: mode });
      for (const k of KEYS) assert.equal(await view.get(k), `v:${k}`);
      const after = await gets(c);
      c.nodes.forEach((n, i) => {
        const shard = n.initialRole === 'primary' ? n.id : n.initialPrimaryId!;
        const want = (n.initialRole === 'replica') === onReplicas ? perShard.get(shard) : 0;
        assert.equal(after[i]! - before[i]!, want, `GETs on ${n.port} (${n.initialRole}) with readFrom ${mode ?? "the pool's"}`);
      });
    };
    await expect(undefined, true); // the pool's 'replica'
    await expect('preferReplica', true);
    await expect('primary', false); // per-call override: read-your-writes
    for (const n of c.nodes) assert.equal((await commandStat(n.server, 'get')).rejected, 0, `no GET redirected by ${n.port}`);

    // A pipeline of reads over every shard: each node's part on its replica.
    const before = await gets(c);
    const batch = pool.pipeline();
    for (const k of KEYS.slice(0, 30)) batch.get(k);
    const res = await batch.exec();
    assert.deepEqual(
      res,
      KEYS.slice(0, 30).map((k) => [null, `v:${k}`]),
    );
    const after2 = await gets(c);
    c.primaries.forEach((p) => assert.equal(after2[c.nodes.indexOf(p)], before[c.nodes.indexOf(p)], `no pipeline GET on ${p.port}`));

    // The replica pools' connections are in READONLY mode (flag r); the primaries' are not.
    for (const n of c.nodes) {
      const ours = (await clientList(n.server)).filter((x) => x['name']?.startsWith('redpool:rr:'));
      assert.ok(ours.length >= 1, `pool connections on ${n.port}`);
      for (const x of ours) assert.equal(x['flags']!.includes('r'), n.initialRole === 'replica', `${n.port} flags=${x['flags']}`);
    }
    assert.ok(pool.stats().cluster.replicaReads >= KEYS.length * 2);
  });

  void test('the budget holds on every node, replicas included: max per node, maxTotal in all', async () => {
    const c = cluster();
    const max = 3;
    const maxTotal = 10;
    const pool = open({ name: 'rb', readFrom: 'preferReplica', max, maxTotal, acquireTimeoutMs: 10_000 });
    await pool.ready();
    let done = false;
    let perNode = 0;
    let total = 0;
    const sampler = (async () => {
      for (let i = 0; i < 2_000 && !done; i++) {
        const counts = await Promise.all(c.nodes.map(async (n) => (await clientNames(n.server, 'redpool:rb:')).length));
        perNode = Math.max(perNode, ...counts);
        total = Math.max(
          total,
          counts.reduce((a, b) => a + b, 0),
        );
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 64 }, async (_, w) => {
        for (let i = 0; i < 40 && performance.now() - t0 < 8_000; i++) {
          const k = KEYS[(w * 40 + i) % KEYS.length]!;
          if (i % 8 === 7) await pool.withConnection({ key: k }, (lease) => lease.get(k));
          else if (i % 3 === 0) await pool.set(k, `v:${k}`);
          else await pool.get(k);
        }
      }),
    );
    done = true;
    await sampler;
    assert.ok(perNode <= max, `a node had ${perNode} connections (max ${max})`);
    assert.ok(total <= maxTotal, `the cluster had ${total} connections (maxTotal ${maxTotal})`);
    assert.ok(pool.stats().cluster.replicaReads > 0);
  });

  /** A replica fails; reads on its shard in both modes, sequential, each timed against its deadline. */
  async function replicaDown(fault: 'pause' | 'kill'): Promise<void> {
    const c = cluster();
    const deadline = 500;
    const pool = open(
      { name: `rf${fault}`, readFrom: 'preferReplica', commandTimeoutMs: deadline, connectTimeoutMs: 400, acquireTimeoutMs: 800 },
      { refreshIntervalMs: 300, minRefreshIntervalMs: 200 },
    );
    await pool.ready();
    const primary = c.primaries[1]!;
    const replica = replicaOf(c, primary);
    const keys = KEYS.filter((k) => ownerAt(c, keySlot(k)) === primary).slice(0, 10);
    for (const k of keys) assert.equal(await pool.get(k), `v:${k}`);
    const primaryBefore = (await commandStat(primary.server, 'get')).calls;
    if (fault === 'pause') replica.server.pause();
    else await replica.server.kill();
    let worst = 0;
    const codes: Record<string, number> = {};
    let ok = 0;
    const t0 = performance.now();
    let firstOkAfterFault: number | undefined;
    for (let i = 0; performance.now() - t0 < 2_500; i++) {
      const s = performance.now();
      const r = await pool.get(keys[i % keys.length]!).then(
        (v) => v ?? 'null',
        (e: unknown) => e as { code: string },
      );
      worst = Math.max(worst, performance.now() - s);
      if (typeof r === 'string') {
        ok++;
        firstOkAfterFault ??= performance.now() - t0;
      } else codes[r.code] = (codes[r.code] ?? 0) + 1;
    }
    const strict = await pool
      .with({ readFrom: 'replica' })
      .get(keys[0]!)
      .then(
        () => undefined,
        (e: unknown) => e as { code: string; outcome: string },
      );
    const served = (await commandStat(primary.server, 'get')).calls - primaryBefore;
    console.log(
      `replica ${fault}: ${ok} reads ok (first ${Math.round(firstOkAfterFault ?? -1)} ms after the fault), errors ${JSON.stringify(codes)}, ` +
        `worst ${Math.round(worst)} ms, primary served ${served}, 'replica' read: ${strict?.code ?? 'ok'}`,
    );
    assert.ok(worst <= deadline + 250, `a read took ${Math.round(worst)} ms (deadline ${deadline})`);
    assert.ok(ok > 0 && served >= ok - 1, "'preferReplica' reads went to the primary");
    assert.equal(strict?.code, 'ERR_NO_REPLICA', "'replica' with the shard's replica down");
    assert.equal(strict.outcome, 'not-sent');
    // Recovery: the replica comes back, rejoins, and takes this shard's reads again.
    if (fault === 'pause') replica.server.resume();
    else await replica.server.restart();
    const t1 = performance.now();
    await waitFor(
      async () => {
        const before = (await commandStat(replica.server, 'get')).calls;
        await pool
          .with({ readFrom: 'replica' })
          .get(keys[1]!)
          .catch(() => undefined);
        return (await commandStat(replica.server, 'get')).calls > before;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    console.log(`replica ${fault}: reads on it again ${Math.round(performance.now() - t1)} ms after it came back`);
  }

  void test("a frozen replica (SIGSTOP): 'preferReplica' reads reach the primary within their deadline, 'replica' fails ERR_NO_REPLICA; both recover", () =>
    replicaDown('pause'));

  void test('a killed replica: the same, and reads return to it after its restart', () => replicaDown('kill'));
});
