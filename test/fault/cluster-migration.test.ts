/**
 * Cluster, slot migration under load: three slots the workload writes to are moved by hand from
 * one primary to another (`CLUSTER SETSLOT … IMPORTING/MIGRATING`, `MIGRATE … KEYS` in small
 * batches, `SETSLOT … NODE`) while the ledger workload runs on every slot. During the move the
 * source answers `ASK` for keys already moved and new keys, the target `MOVED` without
 * `ASKING`; after it, `MOVED`. All of these are "did not run" replies, so the pool follows them
 * inside the caller's deadline: every call is acknowledged, nothing is lost or runs twice.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keySlot } from '../../src/topology/cluster/keys.js';
import { tagsCovering } from './lib/cluster-ledger.js';
import { assertInvariants, audit, poolLedger } from './lib/cluster-run.js';
import { clusterScope, ConnectionWatch, migrateSlot } from './lib/cluster-scope.js';
import { expectOk, sleep } from './lib/guard.js';
import { fileChecks } from './lib/scope.js';

fileChecks();

const DEADLINE = 1_000;
const MAX = 4;

void test('cluster: slot migration (MIGRATING/IMPORTING + MIGRATE + SETSLOT NODE) under load — 0 lost, 0 duplicated, all acknowledged', async (t) => {
  const s = clusterScope(t);
  const cluster = await s.cluster();
  const [from, to] = cluster.primaries;
  assert.ok(from && to);
  const [lo, hi] = from.initialSlots[0]!;
  const tags = tagsCovering(48);
  const moving = tags.filter((tag) => {
    const slot = keySlot(`{${tag}}`);
    return slot >= lo && slot <= hi;
  });
  const migrated = moving.slice(0, 3).map((tag) => keySlot(`{${tag}}`));
  assert.equal(migrated.length, 3, 'three loaded slots on the source');
  const fp = s.pool('migrate', { commandTimeoutMs: DEADLINE, max: MAX });
  await expectOk(fp.pool.ready(), 5_000, 'ready');
  const watch = new ConnectionWatch(cluster, fp.name);
  s.defer(() => watch.stop());
  const ledger = poolLedger(fp, DEADLINE, { workers: 8, paceMs: 2, tags });
  ledger.start();
  await sleep(800); // keys accumulate in the slots to move
  const moves: string[] = [];
  for (const slot of migrated) {
    const m = await migrateSlot(cluster, slot, from, to, { batch: 5, pauseMs: 30 });
    moves.push(`slot ${slot}: ${m.keysMoved} keys in ${m.batches} batches`);
  }
  await sleep(600); // after the move: MOVED for every slot that changed owner
  await ledger.stop();
  const peaks = await watch.stop();
  t.diagnostic(
    `${moves.join('; ')}; connections per node (peak) ${peaks.perNode.join(' ')}; cluster ${JSON.stringify(fp.pool.stats().cluster)}`,
  );
  for (const slot of migrated) {
    assert.equal(Number(await from.server.command('CLUSTER', 'COUNTKEYSINSLOT', String(slot))), 0, `slot ${slot} emptied on the source`);
    assert.ok(Number(await to.server.command('CLUSTER', 'COUNTKEYSINSLOT', String(slot))) > 0, `slot ${slot} holds its keys on the target`);
  }
  const r = await audit(ledger, cluster, (slot) => migrated.includes(slot));
  assertInvariants(t, r);
  assert.ok(r.affected.issued > 50, `the migrated slots were under load (${r.affected.issued} calls)`);
  assert.equal(r.total.acked, r.total.issued, `every call acknowledged (codes ${JSON.stringify(r.total.codes)})`);
  for (const [i, n] of peaks.perNode.entries()) assert.ok(n <= MAX, `node ${i}: ${n} connections > max ${MAX}`);
});
