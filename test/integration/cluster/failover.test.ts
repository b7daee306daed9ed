/**
 * A killed primary on a real cluster: writes to its slots issued after the kill are never sent
 * to the dead node; they wait (inside their deadline) for the refresh that sees the promoted
 * replica and land there, once; other shards keep serving meanwhile; the dead node's pool is
 * drained and its budget returned.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPool } from '../../../src/index.js';
import { keyInSlot, ownerAt } from '../../helpers/cluster-keys.js';
import { withCluster } from '../../helpers/topology.js';

void test('killed primary: writes to its slots land on the promoted replica inside their deadline', async (t) => {
  const c = await withCluster(t, { requireFullCoverage: false });
  const pool = createPool({ cluster: { nodes: c.seeds(), minRefreshIntervalMs: 250 }, max: 4, logger: false });
  t.after(() => pool.destroy());
  await pool.ready();
  const victim = ownerAt(c, 100);
  const replica = c.replicas.find((r) => r.initialPrimaryId === victim.id)!;
  const elsewhere = keyInSlot(16000, ':ok');
  await victim.server.kill();
  const t0 = performance.now();
  const keys = Array.from({ length: 5 }, (_, i) => keyInSlot(100 + i, ':fo'));
  const writes = keys.map((k) => pool.with({ timeoutMs: 10_000 }).set(k, 'after-kill'));
  // Another shard is not held up by the failover.
  assert.equal(await pool.with({ timeoutMs: 1_000 }).set(elsewhere, 'v'), 'OK');
  const results = await Promise.allSettled(writes);
  t.diagnostic(`kill → all writes done: ${Math.round(performance.now() - t0)} ms`);
  for (const r of results) assert.deepEqual(r, { status: 'fulfilled', value: 'OK' });
  for (const k of keys) assert.equal(await replica.server.command('GET', k), 'after-kill');
  const s = pool.stats();
  assert.ok(s.nodes[replica.id], 'the promoted replica has a pool');
  assert.equal(s.nodes[victim.id], undefined, 'the dead primary left the map');
  assert.ok(s.cluster.rerouted >= 1 || s.cluster.moved >= 1);
});
