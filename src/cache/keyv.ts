/**
 * `keyvStore(cache)`: a Keyv storage adapter (and so a cache-manager 7 store) backed by a
 * redpool cache, so Keyv and cache-manager users get fail-open, compression, stampede-free
 * reads and the near cache with one line:
 *
 *   const keyv = new Keyv({ store: keyvStore(cache) });
 *   const manager = createCache({ stores: [keyv] });   // cache-manager
 *
 * Keyv hands the store whatever it serialized (a string by default; the raw `{ value, expires }`
 * with `serialize: undefined`), with TTLs in ms. Keyv's `namespace` becomes a sub-prefix, and
 * `clear()` deletes only that namespace (SCAN + UNLINK under the cache prefix, never FLUSHDB).
 */
import { EventEmitter } from 'node:events';
import type { Cache } from './cache.js';

/** The Keyv storage-adapter shape (structural: keyv is not a dependency of redpool). */
export interface KeyvStoreAdapter extends EventEmitter {
  opts: Record<string, unknown>;
  namespace?: string | undefined;
  /** The stored value, or undefined. */
  get(key: string): Promise<unknown>;
  /** Stores `value` for `ttl` ms (none or ≤ 0: no expiry). */
  set(key: string, value: unknown, ttl?: number): Promise<boolean>;
  /** Deletes `key`; true when it existed. */
  delete(key: string): Promise<boolean>;
  /** Deletes every key of Keyv's namespace (SCAN + UNLINK under the cache prefix). */
  clear(): Promise<void>;
  /** True when `key` exists. */
  has(key: string): Promise<boolean>;
  /** Values of `keys` in order, in one MGET. */
  getMany(keys: string[]): Promise<unknown[]>;
  /** Stores several values in one pipeline per distinct TTL. */
  setMany(values: { key: string; value: unknown; ttl?: number }[]): Promise<void>;
  /** Deletes `keys`; true when any existed. */
  deleteMany(keys: string[]): Promise<boolean>;
  /** Closes the cache (its near-cache connection), never the application's pool. */
  disconnect(): Promise<void>;
}

class RedpoolKeyvStore extends EventEmitter implements KeyvStoreAdapter {
  readonly #cache: Cache;
  opts: Record<string, unknown>;
  namespace?: string | undefined;

  constructor(cache: Cache) {
    super();
    this.#cache = cache;
    this.opts = { dialect: 'redis', url: 'redpool', cache: cache.options.name };
  }

  // Keyv prefixes keys with `${namespace}:` itself; they are used as given.
  async get(key: string): Promise<unknown> {
    return this.#cache.get(key);
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    const ttlMs = typeof ttl === 'number' && ttl > 0 ? ttl : Infinity;
    return this.#cache.set(key, value, { ttlMs });
  }

  async delete(key: string): Promise<boolean> {
    return this.#cache.delete(key);
  }

  async clear(): Promise<void> {
    await this.#cache.deleteByPrefix(this.namespace ? `${this.namespace}:` : '');
  }

  async has(key: string): Promise<boolean> {
    return this.#cache.has(key);
  }

  async getMany(keys: string[]): Promise<unknown[]> {
    return this.#cache.getMany(keys);
  }

  async setMany(values: { key: string; value: unknown; ttl?: number }[]): Promise<void> {
    // One pipeline per distinct TTL (Keyv usually passes one TTL for all).
    const byTtl = new Map<number, [string, unknown][]>();
    for (const v of values) {
      const ttl = typeof v.ttl === 'number' && v.ttl > 0 ? v.ttl : Infinity;
      let list = byTtl.get(ttl);
      if (!list) byTtl.set(ttl, (list = []));
      list.push([v.key, v.value]);
    }
    for (const [ttlMs, list] of byTtl) await this.#cache.setMany(list, { ttlMs });
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    let any = false;
    for (const k of keys) any = (await this.#cache.delete(k)) || any;
    return any;
  }

  async disconnect(): Promise<void> {
    // The pool belongs to the application; only the cache's own connection (near cache) ends.
    await this.#cache.close();
  }
}

/** A Keyv storage adapter on `cache`. See the module comment for Keyv and cache-manager use. */
export function keyvStore(cache: Cache): KeyvStoreAdapter {
  return new RedpoolKeyvStore(cache);
}
