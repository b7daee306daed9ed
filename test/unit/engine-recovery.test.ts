/**
 * Engine unit tests, recovery policy with the default `reconnectBackoff`: while Redis is down
 * the pool makes a bounded number of connect attempts per simulated second, one probe at a
 * time, and the first probe after the server answers again finds it within the backoff cap;
 * refused logins back off harder, yet a credentials provider that returns a new password is
 * picked up at the ordinary cadence. Manual clock, fake driver: bounds on simulated time only.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { AuthError } from '../../src/errors.js';
import type { ConnectSpec, DriverConnection } from '../../src/driver/driver.js';
import { fakePool, flush, type FakePool } from '../helpers/pool-fixtures.js';

/** The default reconnect backoff's cap (equal jitter 50 ms → 500 ms), in ms. */
const CAP_MS = 500;
/** Connect attempts per second while down, at most: one probe per ≥ CAP/2. */
const MAX_PROBES_PER_S = 1_000 / (CAP_MS / 2);
/** Simulated time step, ms. */
const STEP = 5;

/** Pool options under test: the default reconnect backoff, a housekeeper that pumps often. */
const OPTIONS = {
  max: 6,
  lanes: 2,
  min: 2,
  failureThreshold: 3,
  reconnectBackoff: undefined,
  housekeepingIntervalMs: 100,
  acquireTimeoutMs: 60_000,
  commandTimeoutMs: 60_000,
  connectTimeoutMs: 60_000,
} as const;

async function advance(fp: FakePool, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += STEP) {
    fp.clock.advance(STEP);
    await flush(2);
  }
}

/** Advances until `done()` (checked every step) and returns the simulated ms it took; at most `limitMs`. */
async function until(fp: FakePool, done: () => boolean, limitMs: number): Promise<number> {
  const t0 = fp.clock.now();
  while (!done() && fp.clock.now() - t0 < limitMs) {
    fp.clock.advance(1);
    await flush(2);
  }
  return fp.clock.now() - t0;
}

/** Connect attempts (calls into the driver) in each simulated second of `seconds`. */
async function attemptsPerSecond(fp: FakePool, seconds: number, attempts: () => number = () => fp.driver.attempts): Promise<number[]> {
  const out: number[] = [];
  for (let s = 0; s < seconds; s++) {
    const before = attempts();
    await advance(fp, 1_000);
    out.push(attempts() - before);
  }
  return out;
}

/** Random sources to run under: the shortest delays (most attempts), the longest (slowest recovery), and real jitter. */
const RANDOMS: ReadonlyArray<[string, (() => number) | undefined]> = [
  ['random 0', () => 0],
  ['random ≈1', () => 0.999_999],
  ['Math.random', undefined],
];

function withRandom(t: TestContext, random: (() => number) | undefined): void {
  if (random) t.mock.method(Math, 'random', random);
}

void describe('recovery with the default reconnect backoff', () => {
  for (const [label, random] of RANDOMS) {
    void test(`down: ≤ ${MAX_PROBES_PER_S} connect attempts per second, one at a time; back: found within ${CAP_MS} ms (${label})`, async (t) => {
      withRandom(t, random);
      const fp = fakePool(t, OPTIONS);
      await flush();
      // Several outages of different lengths, so the server comes back at many phases of the probe cadence.
      for (const outageMs of [1_000, 2_300, 3_000, 4_700, 8_000]) {
        fp.driver.behaviour = 'fail';
        fp.driver.killAll();
        await flush();
        // The first second also holds the burst that takes the pool from healthy to unavailable
        // (failureThreshold dials, lanes and `min` at once): bounded, not a loop.
        const first = await attemptsPerSecond(fp, 1);
        assert.ok(
          first[0]! <= OPTIONS.failureThreshold + OPTIONS.lanes + OPTIONS.min + MAX_PROBES_PER_S,
          `first second: ${first[0]} attempts`,
        );
        assert.equal(fp.pool.stats().health, 'unavailable');
        const rest = await attemptsPerSecond(fp, Math.floor(outageMs / 1_000));
        for (const [s, n] of rest.entries())
          assert.ok(n >= 1 && n <= MAX_PROBES_PER_S, `second ${s + 2} of a ${outageMs} ms outage: ${n} attempts (${rest.join(', ')})`);
        await advance(fp, outageMs % 1_000);
        fp.driver.behaviour = 'ok';
        const tookMs = await until(fp, () => fp.pool.stats().health === 'healthy', 10_000);
        assert.ok(tookMs <= CAP_MS, `after a ${outageMs} ms outage the server was found ${tookMs} ms after it answered again`);
        // Then the lanes and `min` at once, not one per backoff step.
        await flush();
        assert.equal(fp.pool.stats().lanes, OPTIONS.lanes);
      }
    });
  }

  void test('one probe at a time while unavailable, even when connects hang and the housekeeper pumps', async (t) => {
    const fp = fakePool(t, OPTIONS);
    await flush();
    fp.driver.behaviour = 'fail';
    fp.driver.killAll();
    await advance(fp, 1_000);
    assert.equal(fp.pool.stats().health, 'unavailable');
    fp.driver.behaviour = 'hang';
    let most = 0;
    for (let i = 0; i < 3_000 / STEP; i++) {
      await advance(fp, STEP);
      most = Math.max(most, fp.pool.stats().connecting);
    }
    assert.equal(fp.driver.hanging.length, 1, 'one probe dialled and is still waiting; no other dial started meanwhile');
    assert.equal(most, 1);
    // The hanging probe answers: the pool is back at once.
    fp.driver.hanging.shift()!.ok();
    await flush();
    assert.equal(fp.pool.stats().health, 'healthy');
  });
});

/** A fake server that requires `password`: connects with another one fail as a refused login. */
function requirePassword(fp: FakePool, password: () => string): { logins: number } {
  const seen = { logins: 0 };
  const connect = fp.driver.connect.bind(fp.driver);
  fp.driver.connect = (spec: ConnectSpec): Promise<DriverConnection> => {
    seen.logins++;
    if (spec.password === password()) return connect(spec);
    return Promise.reject(new AuthError(`authentication to ${spec.endpoint} failed: WRONGPASS invalid username-password pair`));
  };
  return seen;
}

void describe('refused logins', () => {
  for (const [label, random] of RANDOMS) {
    void test(`back off harder against the server, yet a rotated password from the provider is used within ${CAP_MS} ms (${label})`, async (t) => {
      withRandom(t, random);
      let server = 'old';
      let provided = 'old';
      let providerCalls = 0;
      const fp = fakePool(t, {
        ...OPTIONS,
        credentials: () => {
          providerCalls++;
          return { password: provided };
        },
      });
      const seen = requirePassword(fp, () => server);
      await flush();
      assert.equal(fp.pool.stats().health, 'healthy');
      server = 'new'; // rotated on the server; the provider still returns the old one
      fp.driver.killAll();
      await flush();
      const calls0 = providerCalls;
      const logins = await attemptsPerSecond(fp, 10, () => seen.logins);
      // Refused logins: the initial burst (lanes and min), then the credential backoff
      // (≥ 800 ms, growing to 2.5–5 s) — far fewer than the ordinary probe cadence.
      assert.ok(
        logins.slice(1).every((n) => n <= 2),
        `logins per second: ${logins.join(', ')}`,
      );
      assert.ok(logins.slice(1).reduce((a, b) => a + b, 0) <= 6, `logins in seconds 2–10: ${logins.join(', ')}`);
      // Meanwhile the provider is asked at the ordinary cadence (no network).
      assert.ok(providerCalls - calls0 >= 10, `provider calls in 10 s: ${providerCalls - calls0}`);
      provided = 'new';
      const tookMs = await until(fp, () => fp.pool.stats().health === 'healthy', 10_000);
      assert.ok(tookMs <= CAP_MS, `new password picked up ${tookMs} ms after the provider returned it`);
      assert.equal(fp.pool.stats().errorsBy.auth, seen.logins - fp.driver.all.length, 'only real logins count as auth errors');
    });
  }

  void test('without a provider (static password): refused logins back off harder', async (t) => {
    const fp = fakePool(t, { ...OPTIONS, password: 'old' });
    let server = 'old';
    const seen = requirePassword(fp, () => server);
    await flush();
    assert.equal(fp.pool.stats().health, 'healthy');
    server = 'new';
    fp.driver.killAll();
    await flush();
    const logins = await attemptsPerSecond(fp, 10, () => seen.logins);
    assert.ok(
      logins.slice(1).every((n) => n <= 2) && logins.slice(1).reduce((a, b) => a + b, 0) <= 6,
      `logins per second: ${logins.join(', ')}`,
    );
  });
});
