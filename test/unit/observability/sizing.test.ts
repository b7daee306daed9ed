/** recommendPoolSize (Little's law, headroom, caps, presets) and presetFromEnv. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../src/errors.js';
import { POOL_PRESETS, presetFromEnv, recommendPoolSize } from '../../../src/health/sizing.js';

void describe('recommendPoolSize', () => {
  void test("Little's law: rps × latency, per worker, doubled by the default headroom", () => {
    const r = recommendPoolSize({ rps: 2000, latencyMs: 5, workers: 4 });
    assert.equal(r.source, 'littles-law');
    assert.equal(r.concurrency, 10);
    assert.equal(r.perWorkerConcurrency, 2.5);
    assert.equal(r.max, 5); // ceil(2.5 × 2)
    assert.equal(r.min, 3); // ceil(2.5)
    assert.equal(r.total, 20);
    assert.equal(r.expectedUtilization, 0.5);
    assert.equal(r.capped, false);
    assert.match(r.explanation, /2000 ops\/s × 5 ms = 10 connections busy on average over 4 workers \(2\.5 per worker\)/);
  });

  void test('the reference example: 1000 req/s, 2 calls of 50 ms each → 100 busy; 4 workers', () => {
    const r = recommendPoolSize({ rps: 2000, latencyMs: 50, workers: 4, headroom: 0.6 });
    assert.equal(r.concurrency, 100);
    assert.equal(r.max, 40); // 25 per worker × 1.6: the reference production figure
    assert.equal(r.total, 160);
  });

  void test('headroom 0 sizes for the average exactly; tiny loads still get one connection', () => {
    assert.equal(recommendPoolSize({ rps: 100, latencyMs: 10, headroom: 0 }).max, 1);
    assert.equal(recommendPoolSize({ rps: 0, latencyMs: 10 }).max, 1);
    assert.equal(recommendPoolSize({ rps: 1000, latencyMs: 3, headroom: 0 }).max, 3);
  });

  void test('capped by maxclients / workers', () => {
    const r = recommendPoolSize({ rps: 10_000, latencyMs: 20, workers: 8, maxclients: 100 });
    assert.equal(r.max, 12); // wanted 50, floor(100/8) = 12
    assert.equal(r.total, 96);
    assert.equal(r.capped, true);
    assert.match(r.explanation, /Capped to 12 by maxclients 100/);
    assert.ok(r.expectedUtilization! > 1, 'utilization above 1 says: expect queueing');
  });

  void test('presets: per-worker 5 / 15 / 40, i.e. 20 / 60 / 160 for 4 workers', () => {
    for (const [preset, total] of [
      ['development', 20],
      ['staging', 60],
      ['production', 160],
    ] as const) {
      const r = recommendPoolSize({ preset, workers: 4 });
      assert.equal(r.source, 'preset');
      assert.equal(r.total, total);
      assert.equal(r.max, POOL_PRESETS[preset].max);
      assert.match(r.explanation, /starting point/);
    }
    assert.equal(recommendPoolSize({ preset: 'production' }).total, 40, 'one worker by default');
    const capped = recommendPoolSize({ preset: 'production', workers: 4, maxclients: 100 });
    assert.equal(capped.max, 25);
    assert.equal(capped.capped, true);
  });

  void test('rps and latency win over a preset', () => {
    const r = recommendPoolSize({ preset: 'production', rps: 100, latencyMs: 10 });
    assert.equal(r.source, 'littles-law');
    assert.equal(r.max, 2);
  });

  void test('invalid input throws ConfigError naming the field', () => {
    const bad: Array<[Parameters<typeof recommendPoolSize>[0], string]> = [
      [{}, 'rps'],
      [{ rps: 10 }, 'latencyMs'],
      [{ rps: -1, latencyMs: 1 }, 'rps'],
      [{ rps: 1, latencyMs: 0 }, 'latencyMs'],
      [{ rps: 1, latencyMs: Number.NaN }, 'latencyMs'],
      [{ rps: 1, latencyMs: 1, workers: 0 }, 'workers'],
      [{ rps: 1, latencyMs: 1, workers: 1.5 }, 'workers'],
      [{ rps: 1, latencyMs: 1, headroom: -0.1 }, 'headroom'],
      [{ rps: 1, latencyMs: 1, workers: 4, maxclients: 3 }, 'maxclients'],
      [{ preset: 'huge' as 'production' }, 'preset'],
      [{ preset: 'toString' as 'production' }, 'preset'],
    ];
    for (const [input, option] of bad) {
      assert.throws(
        () => recommendPoolSize(input),
        (e: unknown) => e instanceof ConfigError && e.option === option,
        JSON.stringify(input),
      );
    }
  });
});

void describe('presetFromEnv', () => {
  void test('reads DEPLOYMENT_ENV with aliases, case-insensitively', () => {
    assert.equal(presetFromEnv({ DEPLOYMENT_ENV: 'production' }), 'production');
    assert.equal(presetFromEnv({ DEPLOYMENT_ENV: ' Prod ' }), 'production');
    assert.equal(presetFromEnv({ DEPLOYMENT_ENV: 'stage' }), 'staging');
    assert.equal(presetFromEnv({ DEPLOYMENT_ENV: 'dev' }), 'development');
    assert.equal(presetFromEnv({ DEPLOYMENT_ENV: 'constructor' }), undefined);
    assert.equal(presetFromEnv({ DEPLOYMENT_ENV: 'qa' }), undefined);
    assert.equal(presetFromEnv({}), undefined);
  });
});
