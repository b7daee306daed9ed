/**
 * The options every cache call takes, and the narrow view of a cache that its collaborators
 * (the stampede guard) get instead of the whole `Cache`.
 */
import type { Pool } from '../index.js';
import type { Decoded, Meta } from './codec.js';
import type { CounterName } from './stats.js';

/** Options every call takes. */
export interface CallOptions {
  /** Deadline of this call's Redis work, in ms. @default the cache's `timeoutMs` */
  timeoutMs?: number;
  /** Override the cache's `failOpen` for this call. */
  failOpen?: boolean;
}

/** Options of {@link Cache.set}. */
export interface SetOptions extends CallOptions {
  /** TTL in ms; `Infinity` = no expiry. @default the cache's `defaultTtlMs` */
  ttlMs?: number;
  /** Write only if the key does not exist. */
  nx?: boolean;
}

/** What getOrSet needs from the cache (internal). */
export interface CacheInternals {
  read(key: string, opts: CallOptions | undefined): Promise<{ hit: Decoded | undefined; failed: boolean }>;
  write(key: string, value: unknown, opts: SetOptions | undefined, meta: Meta, ttlMs: number): Promise<boolean>;
  redis<T, F>(op: string, opts: CallOptions | undefined, fn: (timeoutMs: number) => Promise<T>, fallback: F): Promise<T | F>;
  view(timeoutMs: number): ReturnType<Pool['with']>;
  count(name: CounterName, n?: number): void;
  fullKey(key: string): string;
}
