/**
 * Fail-open policy: which errors a cache may swallow, and the rate-limited warning. Only
 * redpool errors about Redis or the pool are swallowed (timeouts, connection loss, an
 * unavailable or closed pool, error replies); a bad argument, a serializer bug or a throwing
 * factory always reaches the caller.
 */
import { isRedpoolError, type Logger } from '../index.js';

/** True when `err` is Redis or pool trouble that fail-open turns into a miss. */
export function isRedisTrouble(err: unknown): boolean {
  if (!isRedpoolError(err)) return false;
  const code = (err as { code: string }).code;
  return code !== 'ERR_INVALID_ARGUMENT' && code !== 'ERR_INVALID_OPTION';
}

/** Logs each error code at most once per interval, with how many were suppressed since. */
export class FailOpenLog {
  readonly #logger: Logger | undefined;
  readonly #intervalMs: number;
  readonly #cache: string;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(cache: string, logger: Logger | undefined, intervalMs: number) {
    this.#cache = cache;
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  note(op: string, err: unknown, now: number): void {
    if (!this.#logger) return;
    const code = (err as { code?: string }).code ?? 'UNKNOWN';
    const seen = this.#last.get(code);
    if (seen && now - seen.at < this.#intervalMs) {
      seen.suppressed++;
      return;
    }
    this.#last.set(code, { at: now, suppressed: 0 });
    // The message only, never keys or values: keys can carry user data.
    this.#logger.warn(
      { cache: this.#cache, op, code, error: (err as Error).message, suppressed: seen?.suppressed ?? 0 },
      'redis_cache_fail_open',
    );
  }
}
