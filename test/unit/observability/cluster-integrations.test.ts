/**
 * The integrations that take any pool (`PoolLike`) on a cluster pool, against the fake cluster:
 * the HTTP health routes (aggregate health, readiness, the cluster's seeds as the endpoint),
 * OpenTelemetry (aggregate occupancy; wait/use/create times from the node pools' forwarded
 * events), installShutdown (closes every node pool); and the compat views, which refuse a
 * cluster pool with a ConfigError naming why.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Attributes, Meter, MetricOptions, ObservableCallback } from '@opentelemetry/api';
import { asIoredis, asNodeRedis } from '../../../src/compat/index.js';
import { HealthRoutes } from '../../../src/http/index.js';
import { ConfigError, createPool, installShutdown, type ClusterPool, type Pool } from '../../../src/index.js';
import { registerOtelMetrics } from '../../../src/otel/index.js';
import { ManualClock } from '../../../src/testing/index.js';
import { keyInSlot } from '../../helpers/cluster-keys.js';
import { FakeCluster, PORTS } from '../../helpers/fake-cluster.js';

async function clusterPool(t: TestContext): Promise<ClusterPool> {
  const fc = new FakeCluster();
  const pool = createPool({
    name: 'shop',
    cluster: { nodes: [{ host: '127.0.0.1', port: 7001 }], refreshIntervalMs: Infinity },
    driver: fc.driver,
    clock: new ManualClock(),
    logger: false,
    max: 4,
  });
  t.after(() => pool.destroy());
  const ready = pool.ready();
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  await ready;
  return pool;
}

void test('HealthRoutes on a cluster pool: aggregate health and readiness, the seeds as the endpoint', async (t) => {
  const pool = await clusterPool(t);
  const routes = new HealthRoutes(pool, { serverInfo: false });
  const health = await routes.handle('GET', '/health');
  assert.equal(health!.status, 200);
  const h = JSON.parse(health!.body) as { status: string; pool: string };
  assert.equal(h.status, 'healthy');
  assert.equal(h.pool, 'shop');
  const ready = await routes.handle('GET', '/health/ready');
  assert.equal(ready!.status, 200, ready!.body);
  const redis = JSON.parse((await routes.handle('GET', '/health/redis'))!.body) as { endpoint: string; stats: { total: number } };
  assert.equal(redis.endpoint, 'cluster:127.0.0.1:7001');
  assert.equal(redis.stats.total, pool.stats().total);
  await pool.close();
  assert.equal((await routes.handle('GET', '/health'))!.status, 503);
});

/** The instruments registerOtelMetrics uses, recording what they get. */
function fakeMeter(): { meter: Meter; records: Map<string, number[]>; observe(name: string): Promise<number[]> } {
  const records = new Map<string, number[]>();
  const callbacks = new Map<string, Set<ObservableCallback>>();
  const observable = (name: string): unknown => {
    const set = new Set<ObservableCallback>();
    callbacks.set(name, set);
    return { addCallback: (cb: ObservableCallback) => set.add(cb), removeCallback: (cb: ObservableCallback) => set.delete(cb) };
  };
  const meter = {
    createObservableUpDownCounter: observable,
    createObservableCounter: observable,
    createObservableGauge: observable,
    createHistogram: (name: string, _o?: MetricOptions) => {
      records.set(name, []);
      return { record: (v: number, _a?: Attributes) => records.get(name)!.push(v) };
    },
  } as unknown as Meter;
  return {
    meter,
    records,
    async observe(name) {
      const out: number[] = [];
      for (const cb of callbacks.get(name) ?? []) await cb({ observe: (v: number) => void out.push(v) });
      return out;
    },
  };
}

void test('registerOtelMetrics on a cluster pool: aggregate max, lease wait and use times from every node', async (t) => {
  const pool = await clusterPool(t);
  const m = fakeMeter();
  const otel = registerOtelMetrics(pool, { meter: m.meter, operationDuration: false });
  assert.deepEqual(await m.observe('db.client.connection.max'), [pool.stats().max]);
  assert.equal(pool.stats().max, 12, 'max per node × 3 nodes');
  // A lease on each node: wait and use times are recorded for all three.
  for (const slot of [0, 6000, 12000]) await pool.withConnection({ key: keyInSlot(slot) }, (c) => c.get(keyInSlot(slot)));
  assert.equal(m.records.get('db.client.connection.wait_time')!.length, 3);
  assert.equal(m.records.get('db.client.connection.use_time')!.length, 3, 'lease:released is forwarded by the cluster pool');
  otel.unregister();
});

void test('installShutdown closes a cluster pool (every node pool) on the signal', async (t) => {
  const pool = await clusterPool(t);
  assert.equal(Object.keys(pool.stats().nodes).length, PORTS.length);
  let code: number | undefined;
  const done = new Promise<void>((resolve) => {
    const uninstall = installShutdown(pool, {
      signals: ['SIGUSR2'],
      timeoutMs: 1000,
      exit: (c) => {
        code = c;
        uninstall();
        resolve();
      },
    });
  });
  process.emit('SIGUSR2', 'SIGUSR2');
  await done;
  assert.equal(code, 0);
  assert.equal(pool.state, 'closed');
  assert.equal(pool.stats().total, 0);
});

void test('compat views refuse a cluster pool with a ConfigError that says why', async (t) => {
  const pool = await clusterPool(t);
  // The views are typed for a Pool (a ClusterPool is not one); a cast, or plain JavaScript, gets here.
  for (const make of [() => asIoredis(pool as unknown as Pool), () => asNodeRedis(pool as unknown as Pool)]) {
    assert.throws(make, (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.code, 'ERR_INVALID_OPTION');
      assert.equal(err.option, 'pool');
      assert.match(err.message, /single-node Pool .* cluster pool/);
      return true;
    });
  }
});
