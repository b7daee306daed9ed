/**
 * redpool/prometheus against a fake-driver pool: values equal pool.stats() at scrape time,
 * histograms follow events, labels never hold keys, several pools share a registry, and
 * unregister() leaves nothing behind.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { describe, test, type TestContext } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { ConfigError } from '../../../src/errors.js';
import { createPool, type Pool } from '../../../src/pool/pool.js';
import type { PoolOptions } from '../../../src/options.js';
import { commandLabel, registerPoolMetrics } from '../../../src/prometheus/index.js';
import { FakeDriver, ManualClock } from '../../../src/testing/index.js';
import { sample } from '../../helpers/prom-text.js';

function fakePool(t: TestContext, over: PoolOptions = {}): Pool {
  const pool = createPool({
    driver: new FakeDriver(),
    clock: new ManualClock(),
    name: 'unit',
    max: 4,
    min: 1,
    ...over,
    cluster: undefined,
  });
  t.after(() => pool.destroy());
  return pool;
}

void describe('registerPoolMetrics', () => {
  void test('gauges and counters equal pool.stats() at scrape time', async (t) => {
    const pool = fakePool(t);
    const registry = new Registry();
    const metrics = registerPoolMetrics(pool, registry, { labels: { service: 'api' } });
    t.after(() => metrics.unregister());
    await pool.ready();
    for (let i = 0; i < 5; i++) await pool.set(`k${i}`, 'v');
    await pool.withConnection((c) => c.get('k1'));
    const lease = await pool.acquire();
    t.after(() => {
      if (!lease.released) lease.release();
    });

    const text = await registry.metrics();
    const s = pool.stats();
    const L = { pool: 'unit', service: 'api' };
    assert.equal(sample(text, 'redpool_connections', L), s.total);
    assert.equal(sample(text, 'redpool_connections_idle', L), s.idle);
    assert.equal(sample(text, 'redpool_connections_busy', L), s.busy);
    assert.equal(sample(text, 'redpool_leased', L), 1);
    assert.equal(sample(text, 'redpool_lanes', L), s.lanes);
    assert.equal(sample(text, 'redpool_pending', L), 0);
    assert.equal(sample(text, 'redpool_utilization_ratio', L), s.utilization);
    assert.equal(sample(text, 'redpool_max_connections', L), 4);
    assert.equal(sample(text, 'redpool_health', { ...L, status: 'healthy' }), 1);
    assert.equal(sample(text, 'redpool_health', { ...L, status: 'unavailable' }), 0);
    assert.equal(sample(text, 'redpool_commands_total', L), s.commands);
    assert.equal(sample(text, 'redpool_acquires_total', L), s.acquires);
    assert.equal(s.acquires, 2);
    assert.equal(sample(text, 'redpool_connections_created_total', L), s.created);
    assert.equal(sample(text, 'redpool_connections_destroyed_total', { ...L, reason: 'idle' }), 0);
    assert.equal(sample(text, 'redpool_errors_total', { ...L, kind: 'reply' }), s.errorsBy.reply);
    assert.equal(sample(text, 'redpool_errors_total', { ...L, kind: 'auth' }), 0);
    assert.equal(sample(text, 'redpool_acquire_wait_seconds_count', L), 2, 'one observation per lease');
    assert.equal(sample(text, 'redpool_connection_create_seconds_count', L), s.created);
    // ping (ready) + 5 set on lanes, 1 get on the lease.
    assert.equal(sample(text, 'redpool_command_duration_seconds_count', { ...L, command: 'set', via: 'lane', outcome: 'ok' }), 5);
    assert.equal(sample(text, 'redpool_command_duration_seconds_count', { ...L, command: 'get', via: 'lease', outcome: 'ok' }), 1);
    lease.release();
  });

  void test('one stats() snapshot per pool per scrape', async (t) => {
    const pool = fakePool(t);
    const registry = new Registry();
    const metrics = registerPoolMetrics(pool, registry);
    t.after(() => metrics.unregister());
    let calls = 0;
    const real = pool.stats.bind(pool);
    pool.stats = () => (calls++, real());
    await registry.metrics();
    assert.equal(calls, 1);
    await new Promise((r) => setImmediate(r));
    await registry.metrics();
    assert.equal(calls, 2, 'a later scrape takes a fresh snapshot');
  });

  void test('command labels come from an allow-list: keys and junk become "other"', async (t) => {
    const pool = fakePool(t);
    const registry = new Registry();
    const metrics = registerPoolMetrics(pool, registry);
    t.after(() => metrics.unregister());
    await pool.ready();
    await pool.set('user:secret-key-42', 'canary-value');
    // Not a command name at all: refused before anything is sent (and so never labelled).
    await assert.rejects(pool.call('user:secret-key-42'), { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(pool.call('secret-key-42-NOT'));
    await assert.rejects(pool.call('FLUSHALL-NOT'));
    const text = await registry.metrics();
    assert.doesNotMatch(text, /secret-key|canary|FLUSHALL/i);
    assert.equal(sample(text, 'redpool_command_duration_seconds_count', { command: 'other', outcome: 'error' }), 2);
    assert.equal(commandLabel('GET'), 'get');
    assert.equal(commandLabel('hgetall'), 'hgetall');
    assert.equal(commandLabel('pipeline'), 'pipeline');
    assert.equal(commandLabel('get x'), 'other');
  });

  void test('several pools share one registry; names must be unique, label names equal', async (t) => {
    const a = fakePool(t, { name: 'a' });
    const b = fakePool(t, { name: 'b' });
    const registry = new Registry();
    const ma = registerPoolMetrics(a, registry);
    const mb = registerPoolMetrics(b, registry);
    t.after(() => {
      ma.unregister();
      mb.unregister();
    });
    await a.ready();
    await b.ready();
    await a.set('x', '1');
    await a.withConnection((c) => c.get('x'));
    await b.withConnection((c) => c.get('x'));
    let text = await registry.metrics();
    assert.equal(sample(text, 'redpool_commands_total', { pool: 'a' }), a.stats().commands);
    assert.equal(sample(text, 'redpool_commands_total', { pool: 'b' }), b.stats().commands);
    assert.equal(sample(text, 'redpool_acquire_wait_seconds_count', { pool: 'b' }), 1);

    const dup = fakePool(t, { name: 'a' });
    assert.throws(
      () => registerPoolMetrics(dup, registry),
      (e: unknown) => e instanceof ConfigError && e.option === 'name',
    );
    const c = fakePool(t, { name: 'c' });
    assert.throws(
      () => registerPoolMetrics(c, registry, { labels: { service: 'x' } }),
      (e: unknown) => e instanceof ConfigError && e.option === 'labels',
    );
    assert.throws(
      () => registerPoolMetrics(c, new Registry(), { labels: { pool: 'x' } }),
      (e: unknown) => e instanceof ConfigError && e.option === 'labels.pool',
    );
    assert.throws(() => registerPoolMetrics(c, new Registry(), { labels: { 'bad-name': 'x' } }), ConfigError);

    ma.unregister();
    text = await registry.metrics();
    assert.equal(sample(text, 'redpool_commands_total', { pool: 'a' }), undefined, 'a is gone');
    assert.equal(sample(text, 'redpool_acquire_wait_seconds_count', { pool: 'a' }), undefined, "a's histogram series are gone");
    assert.equal(sample(text, 'redpool_command_duration_seconds_count', { pool: 'a' }), undefined);
    assert.equal(sample(text, 'redpool_commands_total', { pool: 'b' }), b.stats().commands, 'b stays');
  });

  void test('unregister() removes the metrics and the channel subscription; idempotent', async (t) => {
    const pool = fakePool(t);
    const registry = new Registry();
    const ch = diagnostics.channel('redpool:command');
    const before = ch.hasSubscribers;
    const metrics = registerPoolMetrics(pool, registry, { prefix: 'app_redis_' });
    assert.ok(metrics.names.includes('app_redis_connections'));
    assert.ok(metrics.names.every((n) => n.startsWith('app_redis_')));
    assert.equal(ch.hasSubscribers, true);
    assert.equal(pool.listenerCount('connection:created'), 1);
    metrics.unregister();
    metrics.unregister();
    assert.equal(registry.getMetricsAsArray().length, 0);
    assert.equal(ch.hasSubscribers, before);
    assert.equal(pool.listenerCount('connection:created'), 0);
    assert.equal(pool.listenerCount('lease:acquired'), 0);
    // Registering again works.
    registerPoolMetrics(pool, registry).unregister();
  });

  void test("a name clash with the application's own metric is a ConfigError and leaves its metric alone", (t) => {
    const pool = fakePool(t);
    const registry = new Registry();
    new Gauge({ name: 'redpool_pending', help: 'mine', registers: [registry] });
    assert.throws(
      () => registerPoolMetrics(pool, registry),
      (e: unknown) => e instanceof ConfigError && e.option === 'prefix',
    );
    assert.deepEqual(
      registry.getMetricsAsArray().map((m) => m.name),
      ['redpool_pending'],
    );
    assert.throws(() => registerPoolMetrics(pool, registry, { prefix: 'bad prefix' }), ConfigError);
  });
});
