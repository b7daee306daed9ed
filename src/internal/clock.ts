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
   * waiting on it) unless `background` is set (housekeeping, sweeps, probes).
   */
  setTimeout(fn: () => void, ms: number, background?: boolean): TimerHandle;
  /** Cancel a timer; cancelling twice or after it fired is a no-op. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `performance.now()` and Node timers (background ones unref'd). */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms, background) {
    const t = setTimeout(fn, ms);
    if (background) t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
