/**
 * Backoff strategies: small objects that turn an attempt number into a delay. All reconnect
 * and retry delays in redpool come from one of these, so tests can pass a deterministic one.
 */

/** Maps attempt number (1 = first retry) to a delay in milliseconds. */
export interface BackoffStrategy {
  /** Delay before attempt `attempt` (>= 1), in milliseconds. Must be finite and >= 0. */
  delay(attempt: number): number;
}

/** Source of randomness in [0, 1); injectable for tests. */
export type Random = () => number;

/** The same delay every time. */
export function constantBackoff(ms: number): BackoffStrategy {
  return { delay: () => ms };
}

/** `base * 2^(attempt-1)`, capped at `cap`. No jitter. */
export function exponentialBackoff(baseMs = 8, capMs = 512): BackoffStrategy {
  return { delay: (attempt) => Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1)) };
}

/** Exponential with full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]. (AWS "full jitter".) */
export function fullJitterBackoff(baseMs = 8, capMs = 512, random: Random = Math.random): BackoffStrategy {
  const exp = exponentialBackoff(baseMs, capMs);
  return { delay: (attempt) => Math.floor(random() * exp.delay(attempt)) };
}

/**
 * Decorrelated jitter: each delay is uniform in [base, previous * 3], capped. Spreads
 * reconnect storms better than full jitter when many clients fail together.
 */
export function decorrelatedJitterBackoff(baseMs = 8, capMs = 512, random: Random = Math.random): BackoffStrategy {
  let prev = baseMs;
  return {
    delay(attempt) {
      if (attempt <= 1) prev = baseMs;
      const next = Math.min(capMs, baseMs + random() * (prev * 3 - baseMs));
      prev = next;
      return Math.floor(next);
    },
  };
}

/** The default: exponential 8 ms → 512 ms with full jitter (the reference "3 retries, 8 ms → 512 ms"). */
export const defaultBackoff = (): BackoffStrategy => fullJitterBackoff(8, 512);

/**
 * Exponential with "equal jitter": uniform in [d/2, d] where d = min(cap, base * 2^(attempt-1)).
 * Never zero, so a fleet of reconnecting pools cannot spin; used for reconnects.
 */
export function equalJitterBackoff(baseMs = 50, capMs = 5_000, random: Random = Math.random): BackoffStrategy {
  const exp = exponentialBackoff(baseMs, capMs);
  return {
    delay(attempt) {
      const d = exp.delay(attempt);
      return Math.floor(d / 2 + random() * (d / 2));
    },
  };
}

/**
 * The default reconnect backoff: 50 ms → 500 ms, equal jitter. While Redis is down only one
 * probe dials at a time, so the cap bounds both sides of an outage: at most 1000 / 250 = 4
 * connect attempts per second per pool while it lasts, and at most 500 ms from the moment the
 * server answers again to the probe that finds it. A 5 s cap made recovery take seconds after
 * a few seconds of outage (the next probe was due seconds later).
 */
export const defaultReconnectBackoff = (): BackoffStrategy => equalJitterBackoff(50, 500);

/**
 * How often a failing login or TLS handshake is retried against the server: 50 ms → 5 s, equal
 * jitter, counted as if five more attempts had failed (800 ms – 1.6 s after the first failure,
 * then 1.6 – 3.2 s, then 2.5 – 5 s). A wrong password or an untrusted certificate does not fix
 * itself in milliseconds, and every failed AUTH is work (and an ACL log entry) on the server.
 */
export const credentialBackoff = (): BackoffStrategy => equalJitterBackoff(50, 5_000);

/** Attempt number the first credential/TLS failure counts as (see {@link credentialBackoff}). */
export const CREDENTIAL_MIN_ATTEMPT = 6;

/**
 * Reads a strategy defensively: a delay that is not a finite number >= 0 (a buggy custom
 * strategy) becomes `fallbackMs`, so a bad strategy can slow recovery but never stop it.
 */
export function safeDelay(strategy: BackoffStrategy, attempt: number, fallbackMs: number): number {
  let d: number;
  try {
    d = Number(strategy.delay(attempt));
  } catch {
    return fallbackMs;
  }
  return Number.isFinite(d) && d >= 0 ? d : fallbackMs;
}
