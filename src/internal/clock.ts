/**
 * Time source for the whole library. Every timer and every "now" in redpool goes through a
 * {@link Clock}, so unit tests drive time with a manual clock and never sleep.
 */

/** An opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = { readonly __timer: unique symbol } | object;

/** Monotonic time plus one-shot timers. */
export interface Clock {
  /** Monotonic milliseconds (fractional allowed). Only differences are meaningful. */
  now(): number;
  /**
   * Run `fn` once after `ms` milliseconds. A timer keeps the process alive (a caller is
   * waiting on it) unless `background` is set (housekeeping, sweeps, probes). `Infinity`
   * means never: no timer is armed.
   */
  setTimeout(fn: () => void, ms: number, background?: boolean): TimerHandle;
  /** Cancel a timer; cancelling twice or after it fired is a no-op. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The longest delay Node's `setTimeout` arms as given (2^31 - 1 ms, ~24.8 days). Anything
 * longer, `Infinity` included, becomes 1 ms with a TimeoutOverflowWarning: a "no limit"
 * deadline would fire at once and a long period would spin.
 */
export const MAX_TIMER_DELAY_MS = 2_147_483_647;

/** The timer functions a {@link timerClock} arms (Node's, or a test's recorder). */
export interface Timers {
  setTimeout(fn: () => void, ms: number): { unref(): unknown };
  clearTimeout(handle: unknown): void;
}

/** The handle of a delay longer than {@link MAX_TIMER_DELAY_MS}: one Node timer at a time, re-armed for the rest. */
class LongTimer {
  current: unknown;
}

/** The handle of an infinite delay: nothing is armed, so there is nothing to clear. */
const NEVER: TimerHandle = Object.freeze({ never: true });

/**
 * A clock over `timers` that never arms a delay Node would clamp: `Infinity` arms nothing, and
 * a finite delay above {@link MAX_TIMER_DELAY_MS} is armed in steps of at most that, so it
 * fires when asked, not 1 ms later. Delays within range are passed through unchanged.
 */
export function timerClock(timers: Timers, now: () => number): Clock {
  return {
    now,
    setTimeout(fn, ms, background) {
      if (ms === Infinity) return NEVER;
      if (!(ms > MAX_TIMER_DELAY_MS)) {
        const t = timers.setTimeout(fn, ms);
        if (background) t.unref();
        return t;
      }
      const long = new LongTimer();
      let remaining = ms;
      const arm = (): void => {
        const step = Math.min(remaining, MAX_TIMER_DELAY_MS);
        remaining -= step;
        const t = timers.setTimeout(remaining > 0 ? arm : fn, step);
        if (background) t.unref();
        long.current = t;
      };
      arm();
      return long;
    },
    clearTimeout(handle) {
      if (handle === NEVER) return;
      timers.clearTimeout(handle instanceof LongTimer ? handle.current : handle);
    },
  };
}

/** The real clock: `performance.now()` and Node timers (background ones unref'd), never clamped. */
export const systemClock: Clock = timerClock({ setTimeout, clearTimeout }, () => performance.now());
