/**
 * Cluster, `readFrom: 'preferReplica'`, a primary SIGKILLed under a read/write workload; its
 * replica is promoted (`cluster-node-timeout` 1000 ms). Writers run the ledger workload of
 * test/fault/lib/cluster-ledger.ts (their echo GETs read the primary: `with({ readFrom:
 * 'primary' })`, read-your-writes); readers issue 'preferReplica' GETs of keys seeded before the
 * fault over every slot. Asserts: every call settles within its deadline, the ledger invariants
 * (no duplicate, no lost acknowledged write, nothing "not executed" that ran), every read
 * answered the seeded value, reads on the failed shard answer again after the promotion and the
 * other shards' reads never stop, no write reached a replica (its `cmdstat_set`/`cmdstat_rpush`
 * show no rejected call), and no node ever had more than `max` of the pool's connections.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keySlot } from '../../src/topology/cluster/keys.js';
import { commandStat } from '../helpers/commandstats.js';
import { ClusterLedger, redpoolVerdict, tagsCovering } from './lib/cluster-ledger.js';
import { assertInvariants, audit, SLACK_MS } from './lib/cluster-run.js';
import { clusterScope, ConnectionWatch, replicaOf, waitPromoted } from './lib/cluster-scope.js';
import { expectOk, sleep } from './lib/guard.js';
import { fileChecks } from './lib/scope.js';

fileChecks();

const DEADLINE = 500;
const MAX = 4;

interface ReadLog {
  slot: number;
  start: number;
  end: number;
  ok: boolean;
  code?: string;
}

void test("killed primary, 'preferReplica' reads and ledger writes: deadlines kept, reads continue, no write on a replica", async (t) => {
  const s = clusterScope(t);
  const cluster = await s.cluster();
  const victim = cluster.primaries[0]!;
  const promoted = replicaOf(cluster, victim);
  const others = cluster.replicas.filter((r) => r !== promoted);
  const [lo, hi] = victim.initialSlots[0]!;
  const hit = (slot: number): boolean => slot >= lo && slot <= hi;
  const fp = s.pool('replica-reads', { commandTimeoutMs: DEADLINE, max: MAX, readFrom: 'preferReplica' }, { refreshIntervalMs: 500 });
  const { pool } = fp;
  await expectOk(pool.ready(), 5_000, 'ready');
  assert.equal(Object.values(pool.stats().nodes).filter((n) => n.role === 'replica').length, 3);

  // Keys the readers read: seeded (on the primaries) and replicated before the fault.
  const readKeys = tagsCovering(48).map((tag) => `{${tag}}:${fp.name}:read`);
  for (const k of readKeys) await pool.set(k, `seed:${k}`);
  for (const p of cluster.primaries) {
    const r = replicaOf(cluster, p);
    for (let i = 0; i < 100 && (await r.server.command('DBSIZE')) !== (await p.server.command('DBSIZE')); i++) await sleep(20);
  }
  const rejectedBefore = await Promise.all(
    others.map(async (r) => (await commandStat(r.server, 'set')).rejected + (await commandStat(r.server, 'rpush')).rejected),
  );

  const watch = new ConnectionWatch(cluster, fp.name);
  s.defer(() => watch.stop());
  const primary = pool.with({ readFrom: 'primary' });
  const ledger = new ClusterLedger(
    { rpush: (k, v) => pool.rpush(k, v), set: (k, v) => pool.set(k, v), get: (k) => primary.get(k) },
    {
      workers: 6,
      deadlineMs: DEADLINE,
      guardMs: DEADLINE * 2 + 2_000,
      maxOps: 100_000,
      paceMs: 2,
      prefix: fp.name,
      tags: tagsCovering(48),
      verdict: redpoolVerdict,
    },
  );
  const reads: ReadLog[] = [];
  let reading = true;
  const wrong: string[] = [];
  const readers = Array.from({ length: 4 }, async (_, w) => {
    for (let i = 0; reading && i < 200_000; i++) {
      const key = readKeys[(w * 7 + i) % readKeys.length]!;
      const start = performance.now();
      const entry: ReadLog = { slot: keySlot(key), start, end: start, ok: false };
      try {
        const v = await pool.get(key);
        entry.ok = true;
        if (v !== `seed:${key}`) wrong.push(`${key}=${String(v)}`);
      } catch (err) {
        entry.code = (err as { code?: string }).code ?? 'unknown';
        await sleep(5);
      }
      entry.end = performance.now();
      reads.push(entry);
      await sleep(1);
    }
  });

  ledger.start();
  await sleep(800);
  const t0 = performance.now();
  await victim.server.kill();
  ledger.markFault(t0);
  const promotedMs = await waitPromoted(promoted, 15_000);
  await sleep(2_500);
  reading = false;
  await Promise.all(readers);
  await ledger.stop();
  const peaks = await watch.stop();

  const r = await audit(ledger, cluster, hit);
  assertInvariants(t, r);

  const late = reads.filter((x) => x.end - x.start > DEADLINE + SLACK_MS);
  const codes: Record<string, number> = {};
  for (const x of reads) if (!x.ok) codes[x.code!] = (codes[x.code!] ?? 0) + 1;
  const after = (x: ReadLog): boolean => x.start >= t0;
  const victimOk = reads.filter((x) => after(x) && hit(x.slot) && x.ok);
  const firstVictimOk = victimOk.length > 0 ? Math.min(...victimOk.map((x) => x.end - t0)) : undefined;
  const recovered = reads.filter((x) => x.start >= t0 + promotedMs + 1_000 && hit(x.slot));
  const otherOk = reads.filter((x) => after(x) && !hit(x.slot) && x.ok).length;
  const stats = pool.stats();
  t.diagnostic(
    `reads ${reads.length} (${reads.filter((x) => x.ok).length} ok), errors ${JSON.stringify(codes)}, worst ${Math.round(Math.max(...reads.map((x) => x.end - x.start)))} ms; ` +
      `promotion ${Math.round(promotedMs)} ms, first read ok on the failed shard ${firstVictimOk === undefined ? '—' : Math.round(firstVictimOk)} ms after the kill; ` +
      `other shards ${otherOk} reads ok after the kill; replicaReads ${stats.cluster.replicaReads}, fallbacks ${stats.cluster.replicaFallbacks}; ` +
      `connections per node (peak) ${peaks.perNode.join(' ')}; roles ${Object.values(stats.nodes)
        .map((n) => `${n.address}:${n.role}`)
        .join(' ')}`,
  );
  assert.equal(late.length, 0, `${late.length} reads settled after their deadline`);
  assert.deepEqual(wrong, [], 'reads answered a value other than the seeded one');
  assert.ok(otherOk > 0, 'the other shards kept answering reads');
  assert.ok(recovered.length > 0 && recovered.every((x) => x.ok), 'reads on the failed shard answer again after the promotion');
  const rejectedAfter = await Promise.all(
    others.map(async (x) => (await commandStat(x.server, 'set')).rejected + (await commandStat(x.server, 'rpush')).rejected),
  );
  assert.deepEqual(rejectedAfter, rejectedBefore, 'a write was sent to a replica (refused there with MOVED)');
  assert.ok(
    peaks.perNode.every((n) => n <= MAX),
    `connections per node ${peaks.perNode.join(' ')} (max ${MAX})`,
  );
  // The promoted replica is a primary now: no replica pool on it, a primary pool instead.
  assert.equal(stats.nodes[promoted.id]?.role, 'primary');

  // The old primary comes back as a replica of the promoted one: a read target again.
  await victim.server.restart();
  const t1 = performance.now();
  const key = readKeys.find((k) => hit(keySlot(k)))!;
  let servedBy = 0;
  for (let i = 0; i < 150 && servedBy === 0; i++) {
    await sleep(100);
    if (pool.stats().nodes[victim.id]?.role !== 'replica') continue;
    const before = (await commandStat(victim.server, 'get')).calls;
    const v = await pool
      .with({ readFrom: 'replica' })
      .get(key)
      .catch(() => undefined);
    if (v === `seed:${key}`) servedBy = (await commandStat(victim.server, 'get')).calls - before;
  }
  t.diagnostic(`the restarted old primary took replica reads ${Math.round(performance.now() - t1)} ms after its restart`);
  assert.equal(servedBy, 1, 'the old primary, back as a replica, serves its shard’s replica reads');
  assert.equal(pool.stats().nodes[victim.id]?.replicaOf, promoted.id);
});
