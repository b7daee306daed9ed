/** Prometheus for a cluster pool: the aggregate in the pool families, each node in `node_*` (labels node id, address, role), redirects. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { createPool } from '../../../src/index.js';
import { registerPoolMetrics } from '../../../src/prometheus/index.js';
import { ManualClock } from '../../../src/testing/index.js';
import { keyInSlot } from '../../helpers/cluster-keys.js';
import { FakeCluster, idOf, openFakeClusterPool, PORTS, REPLICA_PORTS } from '../../helpers/fake-cluster.js';
import { sample, sum } from '../../helpers/prom-text.js';

void test('a cluster pool: aggregate series, one series per node labelled by id and address, redirect counters', async () => {
  const fc = new FakeCluster();
  const clock = new ManualClock();
  const pool = createPool({
    name: 'shop',
    cluster: { nodes: [{ host: '127.0.0.1', port: 7001 }], refreshIntervalMs: Infinity },
    driver: fc.driver,
    clock,
    logger: false,
    max: 4,
  });
  const ready = pool.ready();
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  await ready;
  fc.owner[5] = 7002;
  await pool.set(keyInSlot(5), 'x'); // one MOVED
  const registry = new Registry();
  const metrics = registerPoolMetrics(pool, registry);
  const text = await registry.metrics();
  const s = pool.stats();
  assert.equal(sample(text, 'redpool_connections', { pool: 'shop' }), s.total);
  for (const port of PORTS) {
    const labels = { pool: 'shop', node: idOf(port), address: `127.0.0.1:${port}` };
    assert.equal(sample(text, 'redpool_node_connections', labels), s.nodes[idOf(port)]!.total);
    assert.equal(sample(text, 'redpool_node_health', { ...labels, status: 'healthy' }), 1);
  }
  assert.equal(sum(text, 'redpool_node_slots', { pool: 'shop' }), 16384);
  assert.equal(sample(text, 'redpool_cluster_redirects_total', { pool: 'shop', kind: 'moved' }), 1);
  assert.ok(!text.includes(keyInSlot(5)), 'no key in any label');
  metrics.unregister();
  await pool.destroy();
});

void test('replica pools (readFrom) have their own node series, labelled role="replica"; primaries role="primary"', async () => {
  const fc = new FakeCluster({ replicas: true });
  const pool = await openFakeClusterPool(fc, new ManualClock(), { name: 'reads', readFrom: 'replica' });
  await pool.with({ readFrom: 'primary' }).set(keyInSlot(1), 'v');
  assert.equal(await pool.get(keyInSlot(1)), 'v');
  const registry = new Registry();
  const metrics = registerPoolMetrics(pool, registry);
  const text = await registry.metrics();
  const s = pool.stats();
  for (const port of [...PORTS, ...REPLICA_PORTS]) {
    const role = port > 7003 ? 'replica' : 'primary';
    const labels = { pool: 'reads', node: idOf(port), address: `127.0.0.1:${port}`, role };
    assert.equal(sample(text, 'redpool_node_connections', labels), s.nodes[idOf(port)]!.total, `${port} ${role}`);
    assert.equal(sample(text, 'redpool_node_health', { ...labels, status: 'healthy' }), 1);
  }
  assert.equal(sum(text, 'redpool_node_slots', { pool: 'reads', role: 'replica' }), 0);
  assert.equal(sum(text, 'redpool_node_slots', { pool: 'reads', role: 'primary' }), 16384);
  metrics.unregister();
  await pool.destroy();
});
