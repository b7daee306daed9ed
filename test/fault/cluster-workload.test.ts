/**
 * Cluster, no fault: the ledger workload across every slot of a real 3 + 3 cluster through one
 * redpool cluster pool — every call acknowledged within its deadline, every write once, every
 * reply to its caller, every primary loaded — and the budget as the servers see it: connections
 * named after the pool (`CLIENT LIST` on every node) never above the per-node `max`, and their
 * sum never above `maxTotal`, under more callers than connections (shared calls and
 * key-pinned leases).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keySlot } from '../../src/topology/cluster/keys.js';
import { expectOk, settle, sleep } from './lib/guard.js';
import { assertInvariants, audit, poolLedger } from './lib/cluster-run.js';
import { clusterScope, ConnectionWatch } from './lib/cluster-scope.js';
import { fileChecks } from './lib/scope.js';

fileChecks();

const DEADLINE = 1_000;

void test('cluster: a workload across all slots — every call acknowledged once, within its deadline, on every primary', async (t) => {
  const s = clusterScope(t);
  const cluster = await s.cluster();
  const fp = s.pool('all-slots', { commandTimeoutMs: DEADLINE, max: 4 });
  await expectOk(fp.pool.ready(), 5_000, 'ready');
  const watch = new ConnectionWatch(cluster, fp.name);
  s.defer(() => watch.stop());
  const ledger = poolLedger(fp, DEADLINE, { workers: 12, paceMs: 0, maxOps: 20_000 });
  ledger.start();
  await sleep(2_000);
  await ledger.stop();
  const peaks = await watch.stop();
  const r = await audit(ledger, cluster);
  assertInvariants(t, r);
  assert.equal(r.total.acked, r.total.issued, `every call acknowledged (codes ${JSON.stringify(r.total.codes)})`);
  // Every primary served its share: each holds keys of the run.
  const keys = await Promise.all(cluster.primaries.map(async (p) => Number(await p.server.command('DBSIZE'))));
  t.diagnostic(`keys per primary ${keys.join(' ')}; connections per node (peak) ${peaks.perNode.join(' ')}, total ${peaks.total}`);
  for (const [i, n] of keys.entries()) assert.ok(n > 0, `primary ${i} got no keys`);
  for (const [i, n] of peaks.perNode.entries()) assert.ok(n <= 4, `node ${i}: ${n} connections > max 4`);
});

void test('cluster: server-side connections never above max per node nor maxTotal, under 64 callers with leases', async (t) => {
  const s = clusterScope(t);
  const cluster = await s.cluster();
  const MAX = 3;
  const MAX_TOTAL = 7;
  const fp = s.pool('budget', { commandTimeoutMs: DEADLINE, acquireTimeoutMs: 2_000, max: MAX, maxTotal: MAX_TOTAL });
  const { pool } = fp;
  await expectOk(pool.ready(), 5_000, 'ready');
  const watch = new ConnectionWatch(cluster, fp.name, 20);
  s.defer(() => watch.stop());
  let ok = 0;
  const failures: Record<string, number> = {};
  const until = performance.now() + 2_500;
  const slots = new Set<number>();
  await Promise.all(
    Array.from({ length: 64 }, async (_, w) => {
      for (let i = 0; performance.now() < until && i < 5_000; i++) {
        const key = `budget:${w}:${i % 50}`;
        slots.add(keySlot(key));
        // Every fourth call takes a lease pinned to the key's node (WATCH/MULTI-style work).
        const call =
          i % 4 === 0
            ? pool.withConnection({ key }, async (c) => {
                await c.set(key, String(i));
                return c.get(key);
              })
            : pool.set(key, String(i));
        const r = await settle(call, DEADLINE * 3 + 1_000, 'budget call');
        if (r.ok) ok++;
        else {
          const code = (r.error as { code?: string }).code ?? 'NON_REDPOOL_ERROR';
          failures[code] = (failures[code] ?? 0) + 1;
          await sleep(5);
        }
      }
    }),
  );
  const peaks = await watch.stop();
  t.diagnostic(
    `${ok} calls ok, failures ${JSON.stringify(failures)}; connections per node (peak) ${peaks.perNode.join(' ')}, total ${peaks.total} over ${peaks.samples} samples; cluster ${JSON.stringify(pool.stats().cluster)}`,
  );
  assert.ok(peaks.samples >= 10, 'the watch sampled during the load');
  assert.ok(ok > 1_000, `the load ran (${ok} calls ok)`);
  for (const [i, n] of peaks.perNode.entries()) assert.ok(n <= MAX, `node ${i}: ${n} connections > max ${MAX}`);
  assert.ok(peaks.total <= MAX_TOTAL, `${peaks.total} connections across the cluster > maxTotal ${MAX_TOTAL}`);
  // Waiting for a connection is the only acceptable failure under a tight budget.
  for (const code of Object.keys(failures)) assert.ok(code === 'ERR_ACQUIRE_TIMEOUT', `unexpected failure ${code}`);
  assert.ok(slots.size > 100, 'keys over many slots');
});
