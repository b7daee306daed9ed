/**
 * /metrics from a real node:http server in front of a real pool on a real redis-server, scraped
 * while a bounded load runs: every scraped counter lies between pool.stats() taken just before
 * and just after the scrape, counters never go down between scrapes, and once the load has
 * stopped gauges and counters equal pool.stats() exactly, and histogram counts match the
 * counters they shadow.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { createHealthHandler } from '../../../src/http/index.js';
import { createPool } from '../../../src/pool/pool.js';
import type { PoolStats } from '../../../src/pool/stats.js';
import { registerPoolMetrics } from '../../../src/prometheus/index.js';
import { withRedis } from '../../helpers/redis.js';
import { get, listen, sample, sum } from './http-helpers.js';

const COUNTERS: Array<[string, (s: PoolStats) => number]> = [
  ['redpool_commands_total', (s) => s.commands],
  ['redpool_acquires_total', (s) => s.acquires],
  ['redpool_acquire_hits_total', (s) => s.hits],
  ['redpool_acquire_misses_total', (s) => s.misses],
  ['redpool_connections_created_total', (s) => s.created],
  ['redpool_waits_total', (s) => s.waits],
  ['redpool_exhausted_total', (s) => s.exhausted],
];

void test('scraped /metrics agrees with pool.stats() during and after a bounded load', { timeout: 60_000 }, async (t) => {
  const server = await withRedis(t);
  const pool = createPool({ url: server.url, name: 'load', max: 6, lanes: 2, acquireTimeoutMs: 10_000 });
  const registry = new Registry();
  const metrics = registerPoolMetrics(pool, registry, { labels: { service: 'itest' } });
  const http1 = http.createServer(createHealthHandler(pool, { registry }));
  const base = await listen(t, http1);
  t.after(async () => {
    metrics.unregister();
    await pool.close({ timeoutMs: 5_000 });
  });
  await pool.ready();

  // Bounded load: 24 workers × 60 iterations (commands on lanes, some leases), with a 30 s cap.
  const deadline = Date.now() + 30_000;
  let done = false;
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; i < 60 && Date.now() < deadline; i++) {
      await pool.set(`load:${w}:${i}`, String(i));
      assert.equal(await pool.get(`load:${w}:${i}`), String(i));
      if (i % 6 === 0) {
        await pool.withConnection(async (c) => {
          await c.incr(`load:lease:${w}`);
          await new Promise((r) => setTimeout(r, 2)); // hold it a little, so leases contend
        });
      }
    }
  };
  const load = Promise.all(Array.from({ length: 24 }, (_, w) => worker(w))).finally(() => {
    done = true;
  });

  // Scrape while the load runs.
  let last: Record<string, number> = {};
  let scrapes = 0;
  while (!done && scrapes < 50) {
    const before = pool.stats();
    const r = await get(`${base}/metrics`);
    const after = pool.stats();
    assert.equal(r.status, 200);
    assert.match(r.contentType, /^text\/plain/);
    scrapes++;
    for (const [name, read] of COUNTERS) {
      const v = sample(r.text, name, { pool: 'load', service: 'itest' });
      assert.ok(v !== undefined, `${name} present`);
      assert.ok(read(before) <= v && v <= read(after), `${name}: ${read(before)} <= ${v} <= ${read(after)}`);
      assert.ok(v >= (last[name] ?? 0), `${name} is monotonic`);
      last = { ...last, [name]: v };
    }
    const total = sample(r.text, 'redpool_connections', { pool: 'load' })!;
    assert.ok(total >= 1 && total <= 6, `0 < total ${total} <= max`);
    const util = sample(r.text, 'redpool_utilization_ratio', { pool: 'load' })!;
    assert.ok(util >= 0 && util <= 1);
    await new Promise((r) => setTimeout(r, 5));
  }
  await load;
  assert.ok(scrapes >= 2, `scraped ${scrapes} times during the load`);

  // Load stopped: everything equals the pool's own view.
  const r = await get(`${base}/metrics`);
  const s = pool.stats();
  const L = { pool: 'load', service: 'itest' };
  assert.equal(s.busy, 0);
  assert.equal(s.pending, 0);
  assert.equal(s.inflight, 0);
  const gauges: Array<[string, number]> = [
    ['redpool_connections', s.total],
    ['redpool_connections_idle', s.idle],
    ['redpool_connections_busy', s.busy],
    ['redpool_connections_connecting', s.connecting],
    ['redpool_lanes', s.lanes],
    ['redpool_leased', s.leased],
    ['redpool_pending', s.pending],
    ['redpool_inflight', s.inflight],
    ['redpool_utilization_ratio', s.utilization],
    ['redpool_max_connections', 6],
  ];
  for (const [name, want] of gauges) assert.equal(sample(r.text, name, L), want, name);
  for (const [name, read] of COUNTERS) assert.equal(sample(r.text, name, L), read(s), name);
  assert.equal(sample(r.text, 'redpool_wait_seconds_total', L), s.waitMsTotal / 1000);
  assert.equal(sum(r.text, 'redpool_errors_total', L), s.errors);
  assert.equal(s.errors, 0);
  assert.equal(sample(r.text, 'redpool_health', { ...L, status: 'healthy' }), 1);
  // The load really happened and really used leases.
  assert.ok(s.commands >= 24 * 60 * 2, `commands ${s.commands}`);
  assert.equal(s.acquires, 24 * 10);
  // Histograms shadow the counters (registered before ready(), no failures).
  assert.equal(sum(r.text, 'redpool_command_duration_seconds_count', { ...L, via: 'lane' }), s.commands);
  assert.equal(sum(r.text, 'redpool_command_duration_seconds_count', { ...L, via: 'lease', command: 'incr' }), 24 * 10);
  assert.equal(sample(r.text, 'redpool_acquire_wait_seconds_count', L), s.acquires);
  assert.equal(sample(r.text, 'redpool_connection_create_seconds_count', L), s.created);
  assert.ok(sample(r.text, 'redpool_command_duration_seconds_sum', { ...L, command: 'set', via: 'lane', outcome: 'ok' })! > 0);
  assert.doesNotMatch(r.text, /load:\d/, 'no key in any label');
});
