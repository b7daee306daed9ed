/**
 * Backoff strategies with an injected random source: exact delays, bounds, caps and the
 * reset of decorrelated jitter on attempt 1.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { constantBackoff, decorrelatedJitterBackoff, equalJitterBackoff, exponentialBackoff, fullJitterBackoff } from '../../src/index.js';
import { CREDENTIAL_MIN_ATTEMPT, credentialBackoff, defaultBackoff, defaultReconnectBackoff } from '../../src/resilience/backoff.js';

/** A random source that replays `values` in a loop. */
function seq(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

const attempts = [1, 2, 3, 4, 5, 6, 7, 8, 20, 100];

void describe('backoff strategies', () => {
  void test('constant', () => {
    const b = constantBackoff(42);
    assert.deepEqual(
      attempts.map((a) => b.delay(a)),
      attempts.map(() => 42),
    );
  });

  void test('exponential: base * 2^(attempt-1), capped', () => {
    const b = exponentialBackoff(8, 512);
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 100].map((a) => b.delay(a)),
      [8, 16, 32, 64, 128, 256, 512, 512, 512],
    );
    assert.equal(exponentialBackoff().delay(1), 8, 'defaults 8 ms → 512 ms');
    assert.equal(exponentialBackoff().delay(50), 512);
  });

  void test('exponential stays finite for huge attempt numbers', () => {
    assert.equal(exponentialBackoff(8, 512).delay(10_000), 512);
  });

  void test('full jitter: floor(random * exponential)', () => {
    assert.deepEqual(
      [1, 2, 3, 10].map((a) => fullJitterBackoff(8, 512, () => 0).delay(a)),
      [0, 0, 0, 0],
    );
    assert.deepEqual(
      [1, 2, 3, 10].map((a) => fullJitterBackoff(8, 512, () => 0.5).delay(a)),
      [4, 8, 16, 256],
    );
    const top = fullJitterBackoff(8, 512, () => 0.999_999);
    assert.deepEqual(
      [1, 2, 3, 10].map((a) => top.delay(a)),
      [7, 15, 31, 511],
    );
  });

  void test('equal jitter: uniform in [d/2, d], never zero', () => {
    const low = equalJitterBackoff(50, 5_000, () => 0);
    const high = equalJitterBackoff(50, 5_000, () => 0.999_999);
    assert.deepEqual(
      [1, 2, 3, 7, 8, 30].map((a) => low.delay(a)),
      [25, 50, 100, 1_600, 2_500, 2_500],
    );
    assert.deepEqual(
      [1, 2, 3, 7, 8, 30].map((a) => high.delay(a)),
      [49, 99, 199, 3_199, 4_999, 4_999],
    );
    assert.ok(attempts.every((a) => low.delay(a) > 0));
  });

  void test('decorrelated jitter: uniform in [base, prev * 3], capped, restarting at attempt 1', () => {
    const b = decorrelatedJitterBackoff(10, 1_000, seq(1 - 1e-9));
    // prev: 10 → 30 → 90 → 270 → 810 → 2430, capped to 1000
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((a) => b.delay(a)),
      [29, 89, 269, 809, 1_000, 1_000],
    );
    assert.equal(b.delay(1), 29, 'attempt 1 starts over from base');
    const low = decorrelatedJitterBackoff(10, 1_000, () => 0);
    assert.deepEqual(
      [1, 2, 3].map((a) => low.delay(a)),
      [10, 10, 10],
    );
  });

  void test('every strategy returns finite, non-negative delays for any random in [0, 1)', () => {
    for (const r of [0, 0.25, 0.5, 0.75, 0.999_999]) {
      const strategies = [
        constantBackoff(3),
        exponentialBackoff(),
        fullJitterBackoff(8, 512, () => r),
        equalJitterBackoff(50, 5_000, () => r),
        decorrelatedJitterBackoff(8, 512, () => r),
      ];
      for (const s of strategies) {
        for (const a of attempts) {
          const d = s.delay(a);
          assert.ok(Number.isFinite(d) && d >= 0, `delay(${a}) = ${d}`);
        }
      }
    }
  });

  void test('defaults: retry 8 → 512 ms full jitter; reconnect 50 → 500 ms, logins 50 ms → 5 s, equal jitter', (t) => {
    t.mock.method(Math, 'random', () => 0.5);
    assert.equal(defaultBackoff().delay(1), 4);
    assert.equal(defaultBackoff().delay(20), 256);
    assert.equal(defaultReconnectBackoff().delay(1), 37);
    assert.equal(defaultReconnectBackoff().delay(20), 375);
    assert.equal(credentialBackoff().delay(CREDENTIAL_MIN_ATTEMPT), 1_200);
    assert.equal(credentialBackoff().delay(20), 3_750);
  });
});
