/**
 * The scale-out topology helpers themselves: a Cluster (3 primaries + 3 replicas) and a Sentinel
 * set (1 primary, 1 replica, 3 sentinels) start on loopback, report their timings, and leave no
 * process and no temp directory behind — after a normal stop and after a failed start.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { infoField, pairs, startCluster, startSentinelSet } from '../../helpers/topology.js';

const run = promisify(execFile);

/** PIDs `pgrep` finds for a server listening on 127.0.0.1:port (its process title). */
async function pgrepPort(port: number): Promise<number[]> {
  try {
    const { stdout } = await run('pgrep', ['-f', `127\\.0\\.0\\.1:${port}( |$)`]);
    return stdout.split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

void test('cluster: 3 primaries + 3 replicas start, cover every slot, and stop without leftovers', async (t) => {
  const cluster = await startCluster();
  t.after(() => cluster.stop());
  t.diagnostic(`cluster timings ms: ${JSON.stringify(cluster.timings)}`);
  assert.equal(cluster.primaries.length, 3);
  assert.equal(cluster.replicas.length, 3);
  const ports = cluster.nodes.map((n) => n.port);
  const dirs = cluster.nodes.map((n) => n.server.dir);
  for (const port of ports) assert.equal((await pgrepPort(port)).length, 1, `one process on ${port}`);
  const shards = await cluster.primaries[0]!.server.command('CLUSTER', 'SHARDS');
  assert.ok(Array.isArray(shards));
  assert.equal(shards.length, 3);
  for (const shard of shards) {
    const entry = pairs(shard);
    assert.ok(Array.isArray(entry['nodes']));
    assert.equal(entry['nodes'].length, 2, 'primary + replica per shard');
  }
  for (const n of cluster.nodes) assert.equal(infoField(await n.server.command('CLUSTER', 'INFO'), 'cluster_state'), 'ok');
  await cluster.stop();
  for (const port of ports) assert.deepEqual(await pgrepPort(port), [], `nothing left on ${port}`);
  for (const dir of dirs) assert.equal(existsSync(dir), false, `${dir} removed`);
});

/** PIDs of this test process's live children (pgrep -P); the topology helpers are our only children here. */
async function ourChildren(): Promise<number[]> {
  try {
    const { stdout } = await run('pgrep', ['-P', String(process.pid)]);
    return stdout.split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

void test('cluster: a start that fails after the nodes are up stops every node it started', async () => {
  assert.deepEqual(await ourChildren(), []);
  // Six processes come up, then the readiness wait cannot succeed in 1 ms.
  await assert.rejects(startCluster({ readyTimeoutMs: 1 }), /waitFor: condition not met/);
  assert.deepEqual(await ourChildren(), [], 'no redis-server left running');
});

void test('cluster: a node that cannot start stops the others', async () => {
  await assert.rejects(startCluster({ args: ['--no-such-option', 'x'] }), /redis-server exited during startup/);
  assert.deepEqual(await ourChildren(), []);
});

void test('sentinel: a start that fails after the processes are up stops all five', async () => {
  await assert.rejects(startSentinelSet({ readyTimeoutMs: 1 }), /waitFor: condition not met/);
  assert.deepEqual(await ourChildren(), []);
});

void test('sentinel: 1 primary + 1 replica + 3 sentinels start, agree on the primary, and stop without leftovers', async (t) => {
  const set = await startSentinelSet();
  t.after(() => set.stop());
  t.diagnostic(`sentinel timings ms: ${JSON.stringify(set.timings)}`);
  assert.equal(set.sentinels.length, 3);
  const ports = [set.primary.port, set.replica.port, ...set.sentinels.map((s) => s.port)];
  const dirs = [set.primary.dir, set.replica.dir, ...set.sentinels.map((s) => s.dir)];
  for (const port of ports) assert.equal((await pgrepPort(port)).length, 1, `one process on ${port}`);
  assert.deepEqual(await set.currentPrimary(), { host: '127.0.0.1', port: set.primary.port });
  for (const s of set.sentinels) {
    const master = pairs(await s.command('SENTINEL', 'MASTER', set.name));
    assert.equal(master['quorum'], '2');
    assert.equal(master['down-after-milliseconds'], '1000');
  }
  assert.equal(infoField(await set.replica.command('INFO', 'replication'), 'role'), 'slave');
  await set.stop();
  for (const port of ports) assert.deepEqual(await pgrepPort(port), [], `nothing left on ${port}`);
  for (const dir of dirs) assert.equal(existsSync(dir), false, `${dir} removed`);
});
