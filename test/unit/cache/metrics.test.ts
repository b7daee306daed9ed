/**
 * Cache metrics: prom-client families labelled by cache name (never a key) with values equal to
 * stats(); OpenTelemetry observables on a recording meter; unregister detaches. No server.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import type { Attributes, Meter, ObservableCallback } from '@opentelemetry/api';
import { registerCacheMetrics } from '../../../src/prometheus/index.js';
import { registerOtelCacheMetrics, ATTR_CACHE_NAME } from '../../../src/otel/index.js';
import { newCounters, type CacheStats } from '../../../src/cache/stats.js';

function source(name: string, hits: number): { stats(): CacheStats; s: CacheStats } {
  const s: CacheStats = { name, ...newCounters(), nearEntries: 3, hits, bytesBeforeCompression: 1000, bytesAfterCompression: 300 };
  return { s, stats: () => ({ ...s }) };
}

void test('prometheus: one family per counter, a series per cache, values from stats()', async () => {
  const registry = new Registry();
  const a = source('pages', 5);
  const b = source('users', 7);
  const ma = registerCacheMetrics(a, registry);
  registerCacheMetrics(b, registry);
  assert.throws(
    () => registerCacheMetrics(source('pages', 0), registry),
    (e: Error & { code?: string }) => e.code === 'ERR_INVALID_OPTION',
  );
  a.s.hits = 6;
  const text = await registry.metrics();
  assert.match(text, /^redpool_cache_hits_total\{cache="pages"\} 6$/m);
  assert.match(text, /^redpool_cache_hits_total\{cache="users"\} 7$/m);
  assert.match(text, /^redpool_cache_bytes_after_compression_total\{cache="pages"\} 300$/m);
  assert.match(text, /^redpool_cache_near_entries\{cache="users"\} 3$/m);
  for (const line of text.split('\n').filter((l) => l.startsWith('redpool_cache_')))
    assert.match(line, /^\w+\{cache="(pages|users)"\} \d+$/);
  ma.unregister();
  assert.doesNotMatch(await registry.metrics(), /cache="pages"/);
  assert.match(await registry.metrics(), /cache="users"/);
});

void test('otel: observable counters per stats field, attribute redpool.cache.name', async () => {
  const made = new Map<string, { kind: string; unit: string | undefined; cbs: Set<ObservableCallback> }>();
  const observable = (kind: string) => (name: string, o?: { unit?: string }) => {
    assert.ok(!made.has(name), `${name} created once per meter`);
    const r = { kind, unit: o?.unit, cbs: new Set<ObservableCallback>() };
    made.set(name, r);
    return {
      addCallback: (cb: ObservableCallback) => void r.cbs.add(cb),
      removeCallback: (cb: ObservableCallback) => void r.cbs.delete(cb),
    };
  };
  const meter = { createObservableCounter: observable('counter'), createObservableGauge: observable('gauge') } as unknown as Meter;
  const a = source('pages', 5);
  const reg = registerOtelCacheMetrics(a, { meter });
  registerOtelCacheMetrics(source('users', 1), { meter });
  const collect = async (name: string): Promise<{ value: number; attributes: Attributes | undefined }[]> => {
    const out: { value: number; attributes: Attributes | undefined }[] = [];
    for (const cb of made.get(name)!.cbs)
      await cb({ observe: (value: number, attributes?: Attributes) => void out.push({ value, attributes }) });
    return out;
  };
  assert.equal(made.get('redpool.cache.hits')?.kind, 'counter');
  assert.equal(made.get('redpool.cache.bytes_after_compression')?.unit, 'By');
  assert.equal(made.get('redpool.cache.near_entries')?.kind, 'gauge');
  assert.deepEqual(await collect('redpool.cache.hits'), [
    { value: 5, attributes: { [ATTR_CACHE_NAME]: 'pages' } },
    { value: 1, attributes: { [ATTR_CACHE_NAME]: 'users' } },
  ]);
  reg.unregister();
  assert.deepEqual(await collect('redpool.cache.hits'), [{ value: 1, attributes: { [ATTR_CACHE_NAME]: 'users' } }]);
});
