/**
 * The system clock never arms a timer Node would clamp to 1 ms (issue 10 defect 3): `Infinity`
 * arms nothing, a delay above 2^31 - 1 ms is armed in steps. Driven through `timerClock` with a
 * recording timer source, so nothing waits on real time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_TIMER_DELAY_MS, timerClock, type Timers } from '../../src/internal/clock.js';

/** Records armed timers; `fireNext()` runs the oldest pending one. */
function recorder(): Timers & {
  armed: Array<{ ms: number; unref: boolean; cleared: boolean; fn: () => void }>;
  fireNext(): void;
  pending(): number;
} {
  const armed: Array<{ ms: number; unref: boolean; cleared: boolean; fn: () => void; fired?: boolean }> = [];
  return {
    armed,
    setTimeout(fn, ms) {
      const t = { ms, unref: false, cleared: false, fn };
      armed.push(t);
      return { unref: () => (t.unref = true), t };
    },
    clearTimeout(h) {
      const t = (h as { t?: { cleared: boolean } } | undefined)?.t;
      if (t) t.cleared = true;
    },
    fireNext() {
      const t = armed.find((x) => !x.cleared && !x.fired)!;
      t.fired = true;
      t.fn();
    },
    pending: () => armed.filter((x) => !x.cleared && !(x as { fired?: boolean }).fired).length,
  };
}

void test('delays in range are armed as given', () => {
  const r = recorder();
  const clock = timerClock(r, () => 0);
  clock.setTimeout(() => undefined, 5);
  clock.setTimeout(() => undefined, MAX_TIMER_DELAY_MS, true);
  assert.deepEqual(
    r.armed.map((t) => [t.ms, t.unref]),
    [
      [5, false],
      [MAX_TIMER_DELAY_MS, true],
    ],
  );
});

void test('Infinity arms no timer, and clearing it is a no-op', () => {
  const r = recorder();
  const clock = timerClock(r, () => 0);
  const h = clock.setTimeout(() => assert.fail('never'), Infinity);
  clock.setTimeout(() => assert.fail('never'), Infinity, true);
  assert.equal(r.armed.length, 0);
  clock.clearTimeout(h);
  clock.clearTimeout(h);
});

void test('a delay above 2^31 - 1 ms is armed in steps that add up to it, and fires once at the end', () => {
  const r = recorder();
  const clock = timerClock(r, () => 0);
  let fired = 0;
  const ms = 2 * MAX_TIMER_DELAY_MS + 10;
  clock.setTimeout(() => fired++, ms, true);
  for (let i = 0; i < 3; i++) {
    assert.equal(fired, 0);
    assert.equal(r.pending(), 1);
    r.fireNext();
  }
  assert.equal(fired, 1);
  assert.deepEqual(
    r.armed.map((t) => t.ms),
    [MAX_TIMER_DELAY_MS, MAX_TIMER_DELAY_MS, 10],
  );
  assert.ok(r.armed.every((t) => t.ms <= MAX_TIMER_DELAY_MS && t.unref));
});

void test('clearing a long delay clears whichever step is pending', () => {
  const r = recorder();
  const clock = timerClock(r, () => 0);
  const h = clock.setTimeout(() => assert.fail('cleared'), MAX_TIMER_DELAY_MS * 3);
  r.fireNext();
  clock.clearTimeout(h);
  assert.equal(r.pending(), 0);
});
