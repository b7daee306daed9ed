/**
 * Errors of the cache layer. They are not {@link RedpoolError}s on purpose: fail-open swallows
 * Redis trouble (redpool errors), and these say something is wrong with a value, a codec or a
 * factory — problems that must reach the caller whatever `failOpen` says (except a foreign or
 * corrupt stored value, which fail-open turns into a miss: the store, not the code, is at fault).
 */

/** Stable codes of {@link CacheError}. Documented in docs/cache.md; never renamed. */
export type CacheErrorCode =
  /** A stored value is not in the cache's format (foreign writer) or is damaged. */
  | 'ERR_CACHE_CORRUPT'
  /** A stored value decompresses (or is) larger than `maxValueBytes`. */
  | 'ERR_CACHE_VALUE_TOO_LARGE'
  /** The value cannot be serialized without loss (a function, a WeakMap, undefined, …). */
  | 'ERR_CACHE_SERIALIZE'
  /** A codec or compression the options name is not available (msgpackr not installed, no zstd in this Node). */
  | 'ERR_CACHE_CODEC_UNAVAILABLE'
  /** `incr`/`decr` on a key that holds a serialized (non-integer) value. */
  | 'ERR_CACHE_NOT_INTEGER'
  /** A `getOrSet` factory did not finish within `factoryTimeoutMs` and no stale value could be served. */
  | 'ERR_CACHE_FACTORY_TIMEOUT'
  /** The cache was closed. */
  | 'ERR_CACHE_CLOSED';

/** An error of the cache layer. Switch on `code`. */
export class CacheError extends Error {
  /** Stable machine-readable code. */
  readonly code: CacheErrorCode;
  /** The cache key involved, when one is (never the value). */
  readonly key: string | undefined;
  /** The `createCache` option involved, when one is (e.g. `compression.algorithm`, `serializer`). */
  readonly option: string | undefined;
  constructor(code: CacheErrorCode, message: string, options?: { cause?: unknown; key?: string; option?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CacheError';
    this.code = code;
    this.key = options?.key;
    this.option = options?.option;
  }
}
