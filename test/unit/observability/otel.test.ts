/**
 * redpool/otel with a recording fake Meter (the API package has no SDK): instrument names,
 * kinds and units follow the database-client semantic conventions; observations equal
 * pool.stats(); histograms follow events; unregister() detaches everything.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { describe, test, type TestContext } from 'node:test';
import type { Attributes, Meter, MetricOptions, ObservableCallback } from '@opentelemetry/api';
import { registerOtelMetrics } from '../../../src/otel/index.js';
import { createPool, type Pool } from '../../../src/pool/pool.js';
import { FakeDriver, ManualClock } from '../../../src/testing/index.js';

interface Recorded {
  kind: string;
  name: string;
  options: MetricOptions | undefined;
  callbacks: Set<ObservableCallback>;
  records: Array<{ value: number; attributes: Attributes | undefined }>;
}

/** A Meter that records what is created and lets the test run the observable callbacks. */
class FakeMeter {
  readonly instruments = new Map<string, Recorded>();

  #make(kind: string, name: string, options?: MetricOptions): Recorded {
    assert.ok(!this.instruments.has(name), `instrument ${name} created twice`);
    const r: Recorded = { kind, name, options, callbacks: new Set(), records: [] };
    this.instruments.set(name, r);
    return r;
  }

  #observable(kind: string) {
    return (name: string, options?: MetricOptions) => {
      const r = this.#make(kind, name, options);
      return {
        addCallback: (cb: ObservableCallback) => void r.callbacks.add(cb),
        removeCallback: (cb: ObservableCallback) => void r.callbacks.delete(cb),
      };
    };
  }

  createObservableGauge = this.#observable('gauge');
  createObservableCounter = this.#observable('counter');
  createObservableUpDownCounter = this.#observable('updowncounter');
  createHistogram = (name: string, options?: MetricOptions) => {
    const r = this.#make('histogram', name, options);
    return { record: (value: number, attributes?: Attributes) => void r.records.push({ value, attributes }) };
  };
  createCounter = (): never => assert.fail('unexpected synchronous counter');
  createUpDownCounter = (): never => assert.fail('unexpected synchronous up-down counter');
  createGauge = (): never => assert.fail('unexpected synchronous gauge');
  addBatchObservableCallback = (): void => undefined;
  removeBatchObservableCallback = (): void => undefined;

  /** Runs every callback of `name` and returns the observations. */
  async collect(name: string): Promise<Array<{ value: number; attributes: Attributes | undefined }>> {
    const out: Array<{ value: number; attributes: Attributes | undefined }> = [];
    for (const cb of this.instruments.get(name)!.callbacks) {
      await cb({ observe: (value: number, attributes?: Attributes) => void out.push({ value, attributes }) });
    }
    return out;
  }

  asMeter(): Meter {
    return this as unknown as Meter;
  }
}

function fakePool(t: TestContext, name = 'orders'): Pool {
  const pool = createPool({ driver: new FakeDriver(), clock: new ManualClock(), name, max: 4, min: 1 });
  t.after(() => pool.destroy());
  return pool;
}

const POOL = 'db.client.connection.pool.name';

void describe('registerOtelMetrics', () => {
  void test('creates the semantic-convention instruments with their kinds and units', (t) => {
    const meter = new FakeMeter();
    const otel = registerOtelMetrics(fakePool(t), { meter: meter.asMeter() });
    t.after(() => otel.unregister());
    const kinds = Object.fromEntries([...meter.instruments.values()].map((r) => [r.name, `${r.kind} ${r.options?.unit}`]));
    assert.deepEqual(kinds, {
      'db.client.connection.count': 'updowncounter {connection}',
      'db.client.connection.max': 'updowncounter {connection}',
      'db.client.connection.idle.min': 'updowncounter {connection}',
      'db.client.connection.pending_requests': 'updowncounter {request}',
      'db.client.connection.timeouts': 'counter {timeout}',
      'db.client.connection.create_time': 'histogram s',
      'db.client.connection.wait_time': 'histogram s',
      'db.client.connection.use_time': 'histogram s',
      'db.client.operation.duration': 'histogram s',
    });
  });

  void test('observations equal pool.stats(), by state and pool name', async (t) => {
    const meter = new FakeMeter();
    const pool = fakePool(t);
    const otel = registerOtelMetrics(pool, { meter: meter.asMeter(), attributes: { 'service.name': 'api' } });
    t.after(() => otel.unregister());
    await pool.ready();
    const lease = await pool.acquire();
    const s = pool.stats();
    const count = await meter.collect('db.client.connection.count');
    const used = count.find((o) => o.attributes?.['db.client.connection.state'] === 'used')!;
    const idle = count.find((o) => o.attributes?.['db.client.connection.state'] === 'idle')!;
    assert.equal(used.value, s.busy);
    assert.equal(idle.value, s.total - s.busy - s.connecting);
    assert.equal(used.attributes?.[POOL], 'orders');
    assert.equal(used.attributes?.['service.name'], 'api');
    assert.deepEqual(
      (await meter.collect('db.client.connection.max')).map((o) => o.value),
      [4],
    );
    assert.deepEqual(
      (await meter.collect('db.client.connection.idle.min')).map((o) => o.value),
      [1],
    );
    assert.deepEqual(
      (await meter.collect('db.client.connection.pending_requests')).map((o) => o.value),
      [0],
    );
    assert.deepEqual(
      (await meter.collect('db.client.connection.timeouts')).map((o) => o.value),
      [s.acquireTimeouts],
    );
    lease.release();
  });

  void test('histograms: create, wait and use time in seconds; operations allow-listed', async (t) => {
    const meter = new FakeMeter();
    const pool = fakePool(t);
    const otel = registerOtelMetrics(pool, { meter: meter.asMeter() });
    t.after(() => otel.unregister());
    await pool.ready();
    await pool.withConnection((c) => c.get('k'));
    await assert.rejects(pool.call('some-key-not-a-command'));
    const rec = (name: string) => meter.instruments.get(name)!.records;
    assert.equal(rec('db.client.connection.create_time').length, pool.stats().created);
    assert.equal(rec('db.client.connection.wait_time').length, 1);
    assert.equal(rec('db.client.connection.use_time').length, 1);
    for (const r of rec('db.client.connection.use_time')) assert.equal(r.attributes?.[POOL], 'orders');
    // ready() may run more (e.g. CONFIG GET, refused by the fake driver); check ours are there.
    const ops = rec('db.client.operation.duration').map(
      (r) => `${r.attributes?.['db.operation.name']}:${r.attributes?.['error.type'] ?? ''}`,
    );
    assert.ok(ops.includes('ping:'), ops.join());
    assert.equal(ops.filter((o) => o === 'get:').length, 1);
    assert.deepEqual(ops.slice(-2), ['get:', 'other:ERR_REPLY']);
    assert.doesNotMatch(ops.join(), /some-key/);
    assert.equal(rec('db.client.operation.duration')[0]!.attributes?.['db.system.name'], 'redis');
  });

  void test('pools sharing a meter share instruments; events of other pools are ignored', async (t) => {
    const meter = new FakeMeter();
    const a = fakePool(t, 'a');
    const b = fakePool(t, 'b');
    const oa = registerOtelMetrics(a, { meter: meter.asMeter() });
    const ob = registerOtelMetrics(b, { meter: meter.asMeter() });
    t.after(() => {
      oa.unregister();
      ob.unregister();
    });
    await a.ready();
    const opsBefore = meter.instruments.get('db.client.operation.duration')!.records.length;
    await a.set('k', 'v');
    const max = await meter.collect('db.client.connection.max');
    assert.deepEqual(max.map((o) => o.attributes?.[POOL]).sort(), ['a', 'b']);
    const ops = meter.instruments.get('db.client.operation.duration')!.records;
    assert.ok(opsBefore > 0);
    assert.equal(ops.length, opsBefore + 1, 'recorded once, by a; b ignored it');
    assert.ok(
      ops.every((r) => r.attributes?.[POOL] === 'a'),
      'b was never used',
    );
  });

  void test('unregister() removes callbacks, listeners and the subscription', (t) => {
    const meter = new FakeMeter();
    const pool = fakePool(t);
    const ch = diagnostics.channel('redpool:command');
    const before = ch.hasSubscribers;
    const otel = registerOtelMetrics(pool, { meter: meter.asMeter() });
    assert.equal(ch.hasSubscribers, true);
    otel.unregister();
    otel.unregister();
    for (const r of meter.instruments.values()) assert.equal(r.callbacks.size, 0, r.name);
    assert.equal(ch.hasSubscribers, before);
    for (const e of ['connection:created', 'lease:acquired', 'lease:released'] as const) assert.equal(pool.listenerCount(e), 0, e);
  });

  void test('works with the API alone (no SDK: the global no-op meter)', (t) => {
    const otel = registerOtelMetrics(fakePool(t));
    otel.unregister();
  });
});
