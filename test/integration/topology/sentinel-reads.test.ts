/**
 * `createPool({ sentinel, readFrom })` on real Sentinel sets: reads land where the mode
 * promises (counted with `INFO commandstats` on every node), writes and transactions on the
 * primary, `with({ readFrom })` overrides the pool's mode, the server-side connection count per
 * node stays within `max` and the sum within `maxTotal`; a frozen or killed replica (fallback to
 * the primary for 'preferReplica', `ERR_NO_REPLICA` for 'replica', recovery when it is back);
 * and `SENTINEL FAILOVER` under a read/write workload: reads follow the roles, every call
 * settles within its deadline, no write reaches a replica.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createPool, type Pool } from '../../../src/index.js';
import { Registry } from 'prom-client';
import { registerPoolMetrics } from '../../../src/prometheus/index.js';
import type { RedisProcess } from '../../support/redis-process.js';
import { sample } from '../../helpers/prom-text.js';
import { clientNames, waitFor } from '../../helpers/redis.js';
import { infoField, useSentinelSet, withSentinelSet, type SentinelSet } from '../../helpers/topology.js';

function calls(info: unknown, command: string): number {
  const m = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(String(info));
  return m ? Number(m[1]) : 0;
}

async function gets(node: RedisProcess): Promise<number> {
  return calls(await node.command('INFO', 'commandstats'), 'get');
}

async function readonlyErrors(node: RedisProcess): Promise<number> {
  const m = /errorstat_READONLY:count=(\d+)/.exec(String(await node.command('INFO', 'errorstats')));
  return m ? Number(m[1]) : 0;
}

async function resetStats(nodes: readonly RedisProcess[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.command('CONFIG', 'RESETSTAT')));
}

/** Waits until every replica answers `value` for `key` (the pool wrote it on the primary). */
async function replicated(replicas: readonly RedisProcess[], key: string, value: string): Promise<void> {
  await waitFor(async () => (await Promise.all(replicas.map((r) => r.command('GET', key)))).every((v) => v === value), {
    message: `${key} replicated`,
  });
}

function sentinelOpts(set: SentinelSet): { name: string; sentinels: { host: string; port: number }[]; pollMs: number } {
  return { name: set.name, sentinels: set.sentinelAddresses(), pollMs: 500 };
}

async function upReplicas(pool: Pool, n: number): Promise<void> {
  await waitFor(() => (pool.stats().sentinel?.replicas ?? []).filter((r) => r.state === 'up').length === n, {
    message: `${n} replica(s) up in stats`,
    timeoutMs: 10_000,
  });
}

void describe('Sentinel pool readFrom: where reads land (1 primary, 2 replicas)', () => {
  const sentinelSet = useSentinelSet({ replicas: 2 });

  void test("readFrom 'replica': GETs and read pipelines on the replicas (both), writes, transactions and with({ readFrom: 'primary' }) on the primary", async (t) => {
    const set = sentinelSet();
    const pool = createPool({ sentinel: sentinelOpts(set), readFrom: 'replica', name: 'srd1', max: 3, logger: false });
    t.after(() => pool.destroy());
    assert.equal(await pool.ready(), 'healthy');
    await upReplicas(pool, 2);
    assert.equal(await pool.set('rd:k', 'v'), 'OK');
    await replicated(set.replicas, 'rd:k', 'v');
    await resetStats([set.primary, ...set.replicas]);
    const values = await Promise.all(Array.from({ length: 40 }, () => pool.get('rd:k')));
    assert.deepEqual(new Set(values), new Set(['v']));
    const res = await pool.pipeline().get('rd:k').get('rd:k').exec();
    assert.deepEqual(res, [
      [null, 'v'],
      [null, 'v'],
    ]);
    const onReplicas = await Promise.all(set.replicas.map(gets));
    assert.equal(await gets(set.primary), 0, 'no GET on the primary');
    assert.equal(onReplicas[0]! + onReplicas[1]!, 42, 'every GET on a replica');
    assert.ok(
      onReplicas.every((n) => n > 0),
      `reads spread over both replicas: ${onReplicas.join(', ')}`,
    );

    for (let i = 0; i < 10; i++) await pool.with({ readFrom: 'primary' }).get('rd:k');
    assert.equal(await gets(set.primary), 10, "with({ readFrom: 'primary' }) reads on the primary");
    const tx = await pool.multi().get('rd:k').exec();
    assert.deepEqual(tx, [[null, 'v']]);
    assert.equal(await gets(set.primary), 11, 'a transaction runs on the primary');
    assert.equal(await pool.set('rd:k2', 'w'), 'OK');
    assert.equal(await pool.incr('rd:n'), 1);
    assert.equal(await pool.withConnection((lease) => lease.get('rd:k')), 'v');
    assert.equal(await gets(set.primary), 12, 'a lease runs on the primary');
    for (const r of set.replicas) assert.equal(await readonlyErrors(r), 0, 'no write reached a replica');

    const s = pool.stats().sentinel!;
    assert.equal(s.readFrom, 'replica');
    assert.equal(s.replicas?.length, 2);
    assert.equal(
      s.replicas!.reduce((a, r) => a + r.reads, 0),
      41,
      'stats count the reads each replica served (the pipeline once)',
    );
    const health = await pool.health();
    assert.equal(health.stats.sentinel?.replicas?.length, 2, 'health lists the replicas');
    const registry = new Registry();
    const metrics = registerPoolMetrics(pool, registry);
    const text = await registry.metrics();
    for (const r of s.replicas!) {
      const labels = { pool: 'srd1', address: r.address };
      assert.equal(sample(text, 'redpool_replica_reads_total', labels), r.reads);
      assert.equal(sample(text, 'redpool_replica_up', labels), 1);
    }
    assert.equal(sample(text, 'redpool_replica_routing_total', { pool: 'srd1', kind: 'replica' }), 41);
    metrics.unregister();
    for (const node of [set.primary, ...set.replicas])
      assert.ok((await clientNames(node, 'redpool:srd1:')).length <= 3, `≤ max connections on ${node.port}`);
  });

  void test("readFrom 'primary' (default): reads on the primary, no replica connection; with({ readFrom }) per call; 'preferReplica' reads on replicas", async (t) => {
    const set = sentinelSet();
    const pool = createPool({ sentinel: sentinelOpts(set), name: 'srd2', max: 3, logger: false });
    t.after(() => pool.destroy());
    await pool.ready();
    await pool.set('rd2:k', 'v');
    await replicated(set.replicas, 'rd2:k', 'v');
    await resetStats([set.primary, ...set.replicas]);
    for (let i = 0; i < 10; i++) assert.equal(await pool.get('rd2:k'), 'v');
    assert.equal(await gets(set.primary), 10);
    for (const r of set.replicas) assert.equal((await clientNames(r, 'redpool:srd2:')).length, 0, 'no connection to a replica');
    for (let i = 0; i < 10; i++) assert.equal(await pool.with({ readFrom: 'replica' }).get('rd2:k'), 'v');
    assert.equal(await gets(set.primary), 10, 'per-call replica reads left the primary alone');
    assert.equal(
      (await Promise.all(set.replicas.map(gets))).reduce((a, b) => a + b, 0),
      10,
    );

    const prefer = createPool({ sentinel: sentinelOpts(set), readFrom: 'preferReplica', name: 'srd3', max: 3, logger: false });
    t.after(() => prefer.destroy());
    await prefer.ready();
    await upReplicas(prefer, 2);
    await resetStats([set.primary, ...set.replicas]);
    for (let i = 0; i < 10; i++) assert.equal(await prefer.get('rd2:k'), 'v');
    assert.equal(await gets(set.primary), 0);
    assert.equal(
      (await Promise.all(set.replicas.map(gets))).reduce((a, b) => a + b, 0),
      10,
    );
  });

  void test('connections: never above max on any node, the sum never above maxTotal (CLIENT LIST every 20 ms)', async (t) => {
    const set = sentinelSet();
    const max = 3;
    const maxTotal = 5;
    const pool = createPool({
      sentinel: sentinelOpts(set),
      readFrom: 'replica',
      maxTotal,
      name: 'srd4',
      max,
      logger: false,
      acquireTimeoutMs: 3_000,
    });
    t.after(() => pool.destroy());
    await pool.ready();
    await pool.set('rd4:k', 'v');
    await replicated(set.replicas, 'rd4:k', 'v');
    const nodes = [set.primary, ...set.replicas];
    let worstNode = 0;
    let worstSum = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const counts = await Promise.all(nodes.map(async (n) => (await clientNames(n, 'redpool:srd4:')).length));
        worstNode = Math.max(worstNode, ...counts);
        worstSum = Math.max(
          worstSum,
          counts.reduce((a, b) => a + b, 0),
        );
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const until = performance.now() + 1_500;
    let ops = 0;
    await Promise.all(
      Array.from({ length: 24 }, async (_, w) => {
        while (performance.now() < until && ops < 20_000) {
          ops++;
          if (w % 6 === 0) await pool.withConnection((lease) => lease.get('rd4:k'));
          else await pool.get('rd4:k');
        }
      }),
    );
    sampling = false;
    await sampler;
    assert.ok(ops > 100, `workload ran (${ops} ops)`);
    assert.ok(worstNode <= max, `per node ${worstNode} ≤ ${max}`);
    assert.ok(worstSum <= maxTotal, `total ${worstSum} ≤ ${maxTotal}`);
    assert.ok(worstSum >= 3, `every node had its lane (${worstSum})`);
  });
});

void describe('Sentinel pool readFrom: the only replica frozen (SIGSTOP) or killed', () => {
  for (const fault of ['stop', 'kill'] as const)
    for (const mode of ['preferReplica', 'replica'] as const) {
      const expect = mode === 'preferReplica' ? 'reads served by the primary' : 'ERR_NO_REPLICA (not-sent), never the primary';
      void test(`${mode}, replica ${fault === 'stop' ? 'SIGSTOPped' : 'killed'}: ${expect}, each within its deadline; reads on the replica again once it is back`, async (t) => {
        const set = await withSentinelSet(t);
        const deadline = 400;
        const name = `srf-${fault}-${mode}`;
        const pool = createPool({ sentinel: sentinelOpts(set), readFrom: mode, name, max: 3, commandTimeoutMs: deadline, logger: false });
        t.after(() => pool.destroy());
        t.after(() => {
          if (set.replica.alive && set.replica.paused) set.replica.resume();
        });
        await pool.ready();
        await upReplicas(pool, 1);
        await pool.set('rf:k', 'v');
        await replicated(set.replicas, 'rf:k', 'v');
        await resetStats([set.primary]);
        if (fault === 'stop') set.replica.pause();
        else await set.replica.kill();
        const seen = new Map<string, number>();
        let worst = 0;
        const until = performance.now() + 2_500; // past +sdown (down-after 1000 ms)
        for (let i = 0; i < 5_000 && performance.now() < until; i++) {
          const t0 = performance.now();
          let k = 'ok';
          try {
            assert.equal(await pool.get('rf:k'), 'v');
          } catch (err) {
            const e = err as { code?: string; outcome?: string };
            k = `${e.code}/${e.outcome}`;
          }
          seen.set(k, (seen.get(k) ?? 0) + 1);
          worst = Math.max(worst, performance.now() - t0);
        }
        assert.ok(worst <= deadline + 250, `every read settled within its deadline (worst ${Math.round(worst)} ms)`);
        if (mode === 'preferReplica') {
          assert.deepEqual([...seen.keys()], ['ok'], `every read answered: ${JSON.stringify([...seen])}`);
          assert.ok((await gets(set.primary)) > 0, 'the primary served reads');
          assert.ok((pool.stats().sentinel?.reads?.primaryFallbacks ?? 0) > 0);
        } else {
          assert.ok((seen.get('ERR_NO_REPLICA/not-sent') ?? 0) > 0, `ERR_NO_REPLICA seen: ${JSON.stringify([...seen])}`);
          assert.deepEqual(
            [...seen.keys()].filter((k) => k !== 'ERR_NO_REPLICA/not-sent' && k !== 'ok'),
            [],
            'no other error',
          );
          assert.equal(await gets(set.primary), 0, "'replica' never reads from the primary");
        }
        if (fault === 'stop') set.replica.resume();
        else await set.replica.restart();
        await waitFor(async () => infoField(await set.replica.command('INFO', 'replication'), 'master_link_status') === 'up', {
          message: 'replica linked again',
          timeoutMs: 10_000,
        });
        await waitFor(
          async () => {
            const before = await gets(set.replica);
            for (let i = 0; i < 5; i++) await pool.get('rf:k').catch(() => undefined);
            return (await gets(set.replica)) - before === 5;
          },
          { message: 'reads back on the replica', timeoutMs: 10_000 },
        );
      });
    }
});

void describe('Sentinel pool readFrom: SENTINEL FAILOVER under a read/write workload', () => {
  void test("'preferReplica': roles swap, reads follow (then on the old primary), every call settles within its deadline, no write on a replica", async (t) => {
    const set = await withSentinelSet(t);
    const deadline = 1_000;
    const pool = createPool({
      sentinel: sentinelOpts(set),
      readFrom: 'preferReplica',
      name: 'srfo',
      max: 4,
      commandTimeoutMs: deadline,
      logger: false,
    });
    t.after(() => pool.destroy());
    await pool.ready();
    await upReplicas(pool, 1);
    const oldPrimary = set.primary;
    const promoted = set.replica;
    let stop = false;
    let worst = 0;
    let ops = 0;
    const errors = new Map<string, number>();
    const note = (err: unknown): void => {
      const e = err as { code?: string; prefix?: string };
      const k = `${e.code}${e.prefix ? `/${e.prefix}` : ''}`;
      errors.set(k, (errors.get(k) ?? 0) + 1);
    };
    const workers = Array.from({ length: 6 }, async (_, w) => {
      for (let i = 0; !stop && i < 50_000; i++) {
        ops++;
        const t0 = performance.now();
        try {
          if (w % 2 === 0) await pool.set(`fo:${w}`, String(i));
          else await pool.get(`fo:${w - 1}`);
        } catch (err) {
          note(err);
        }
        worst = Math.max(worst, performance.now() - t0);
      }
    });
    await new Promise((r) => setTimeout(r, 500));
    await set.sentinels[0]!.command('SENTINEL', 'FAILOVER', set.name);
    await waitFor(async () => (await set.currentPrimary()).port === promoted.port, { message: 'switch-master', timeoutMs: 10_000 });
    const switched = performance.now();
    await waitFor(() => pool.stats().sentinel?.primary === `127.0.0.1:${promoted.port}`, { message: 'pool moved' });
    // The old primary becomes a replica of the new one; then it is the read target.
    await waitFor(
      async () => {
        const role = (await oldPrimary.command('ROLE')) as unknown[];
        return role[0] === 'slave' && Number(role[2]) === promoted.port && role[3] === 'connected';
      },
      { message: 'old primary follows the new one', timeoutMs: 15_000 },
    );
    await waitFor(
      () => (pool.stats().sentinel?.replicas ?? []).some((r) => r.state === 'up' && r.address === `127.0.0.1:${oldPrimary.port}`),
      { message: 'old primary is a read target', timeoutMs: 15_000 },
    );
    // Listed is not yet connected: its connections pass the ROLE check once its link is up.
    await waitFor(
      async () => {
        const before = await gets(oldPrimary);
        await pool.get('fo:0');
        return (await gets(oldPrimary)) > before;
      },
      { message: 'a read lands on the old primary', timeoutMs: 15_000, intervalMs: 20 },
    );
    t.diagnostic(`old primary serving reads ${Math.round(performance.now() - switched)} ms after the sentinels named the new primary`);
    stop = true;
    await Promise.all(workers);
    assert.ok(ops > 100, `workload ran (${ops})`);
    assert.ok(worst <= deadline + 250, `every call settled within its deadline (worst ${Math.round(worst)} ms)`);
    assert.equal(errors.get('ERR_REPLY/READONLY') ?? 0, 0, `no READONLY reached a caller: ${JSON.stringify([...errors])}`);
    const up = (pool.stats().sentinel?.replicas ?? []).filter((r) => r.state === 'up').map((r) => r.address);
    assert.deepEqual(up, [`127.0.0.1:${oldPrimary.port}`], 'the promoted node takes no more reads');
    await resetStats([oldPrimary, promoted]);
    for (let i = 0; i < 20; i++) await pool.get('fo:0');
    assert.equal(await gets(oldPrimary), 20, 'reads land on the old primary, a replica now');
    assert.equal(await gets(promoted), 0);
    assert.equal(await pool.set('fo:after', '1'), 'OK');
    assert.equal(await promoted.command('GET', 'fo:after'), '1', 'writes on the new primary');
    assert.equal(await readonlyErrors(oldPrimary), 0, 'no write was refused by the old primary-now-replica');
  });
});
