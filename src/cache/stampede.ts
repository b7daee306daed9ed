/**
 * getOrSet with stampede protection: one factory call per key per process (single flight),
 * optionally one across processes (a SET NX PX lock with a random token, released by a script
 * that also publishes a wake-up), soft TTL with stale-while-revalidate, a grace period that
 * serves the stale value when the factory or Redis fails, and factory timeouts.
 */
import { randomBytes } from 'node:crypto';
import type { CallOptions, CacheInternals } from './calls.js';
import { CacheError } from './errors.js';
import { checkNumber, type ResolvedCacheOptions } from './options.js';
import { pollingWake, type WakeSource } from './wake.js';

/** Options of `getOrSet`. */
export interface GetOrSetOptions extends CallOptions {
  /** How long a computed value is valid, in ms; `Infinity` = forever. @default the cache's `defaultTtlMs` */
  ttlMs?: number;
  /** Fresh for this long (ms, ≤ ttlMs); after it the value is served while one caller refreshes it in the background. @default ttlMs (no early refresh) */
  softTtlMs?: number;
  /** Kept this long past `ttlMs` (ms) and served if the factory throws or times out, or Redis fails. @default 0 */
  graceMs?: number;
  /** Factory deadline in ms; past it the stale value is served if there is one, else ERR_CACHE_FACTORY_TIMEOUT. @default the cache's `factoryTimeoutMs` */
  factoryTimeoutMs?: number;
  /** Take a cross-process lock so one process in the fleet computes. @default the cache's `lock` */
  lock?: boolean;
  /** Longest wait for another process's lock before computing anyway, in ms. @default the cache's `lockTtlMs` */
  lockWaitMs?: number;
}

// Deletes the lock only if we still own it, and wakes waiters in every process.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) redis.call('PUBLISH', KEYS[1], '1') return 1 end return 0`;

type Stale = { value: unknown } | undefined;

/** getOrSet's machinery for one cache (internal; the cache owns one). */
export class Stampede {
  readonly #i: CacheInternals;
  readonly #o: ResolvedCacheOptions;
  readonly #wake: WakeSource;
  readonly #inflight = new Map<string, Promise<unknown>>();
  readonly #refreshing = new Set<string>();

  constructor(internals: CacheInternals, o: ResolvedCacheOptions, wake: WakeSource = pollingWake()) {
    this.#i = internals;
    this.#o = o;
    this.#wake = wake;
  }

  getOrSet<T>(key: string, factory: () => T | Promise<T>, opts: GetOrSetOptions | undefined): Promise<T> {
    if (typeof factory !== 'function')
      return Promise.reject(new CacheError('ERR_CACHE_SERIALIZE', 'getOrSet: factory must be a function', { key }));
    const full = this.#i.fullKey(key);
    const running = this.#inflight.get(full);
    if (running) {
      this.#i.count('coalesced');
      return running as Promise<T>;
    }
    const p = this.#run(key, full, factory, opts).finally(() => this.#inflight.delete(full));
    this.#inflight.set(full, p);
    return p;
  }

  async #run<T>(key: string, full: string, factory: () => T | Promise<T>, opts: GetOrSetOptions | undefined): Promise<T> {
    const { hit, failed } = await this.#i.read(key, opts);
    if (hit) {
      const now = Date.now();
      const soft = hit.meta.softExpiresAt ?? Infinity;
      const hard = hit.meta.expiresAt ?? Infinity;
      if (now < soft) return hit.value as T;
      if (now < hard) {
        this.#i.count('staleServed');
        this.#refresh(key, full, factory, opts, hit.value);
        return hit.value as T;
      }
      return this.#compute(key, full, factory, opts, { value: hit.value }, false);
    }
    return this.#compute(key, full, factory, opts, undefined, failed);
  }

  /** Stale-while-revalidate: one background refresh per key; its errors are counted, not thrown (no caller waits). */
  #refresh<T>(key: string, full: string, factory: () => T | Promise<T>, opts: GetOrSetOptions | undefined, stale: unknown): void {
    if (this.#refreshing.has(full)) return;
    this.#refreshing.add(full);
    this.#compute(key, full, factory, opts, { value: stale }, false)
      .catch(() => undefined) // counted as factoryErrors inside #compute
      .finally(() => this.#refreshing.delete(full))
      .catch(() => undefined);
  }

  async #compute<T>(
    key: string,
    full: string,
    factory: () => T | Promise<T>,
    opts: GetOrSetOptions | undefined,
    stale: Stale,
    redisFailed: boolean,
  ): Promise<T> {
    let token: string | undefined;
    const lockKey = this.#i.fullKey(`__lock__:${key}`);
    if ((opts?.lock ?? this.#o.lock) && !redisFailed) {
      const got = await this.#lockOrWait(key, lockKey, opts);
      if ('value' in got) return got.value as T;
      token = got.token;
    }
    let handedOff = false;
    try {
      const timeoutMs =
        opts?.factoryTimeoutMs === undefined
          ? this.#o.factoryTimeoutMs
          : checkNumber('factoryTimeoutMs', opts.factoryTimeoutMs, 1, 2 ** 31, { infinite: true });
      this.#i.count('factoryCalls');
      const produced = Promise.resolve().then(factory);
      let value: T;
      try {
        value = await this.#within(produced, timeoutMs, key);
      } catch (err) {
        this.#i.count('factoryErrors');
        if (err instanceof CacheError && err.code === 'ERR_CACHE_FACTORY_TIMEOUT') {
          // The factory goes on: store its value when it arrives, and only then release the lock.
          handedOff = true;
          produced
            .then((v) => this.#store(key, v, opts, redisFailed))
            .catch(() => undefined)
            .finally(() => this.#release(lockKey, token))
            .catch(() => undefined);
        }
        if (stale) {
          this.#i.count('staleServed');
          return stale.value as T;
        }
        throw err;
      }
      await this.#store(key, value, opts, redisFailed);
      return value;
    } finally {
      if (!handedOff) await this.#release(lockKey, token);
    }
  }

  #within<T>(p: Promise<T>, timeoutMs: number, key: string): Promise<T> {
    if (timeoutMs === Infinity) return p;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new CacheError('ERR_CACHE_FACTORY_TIMEOUT', `getOrSet factory did not finish within ${timeoutMs}ms`, { key })),
        timeoutMs,
      );
      p.then(resolve, reject)
        .finally(() => clearTimeout(timer))
        .catch(() => undefined);
    });
  }

  async #store(key: string, value: unknown, opts: GetOrSetOptions | undefined, redisFailed: boolean): Promise<void> {
    // undefined cannot be stored (it reads back as a miss); Redis down: skip the write.
    if (value === undefined || redisFailed) return;
    const ttl = opts?.ttlMs === undefined ? this.#o.defaultTtlMs : checkNumber('ttlMs', opts.ttlMs, 1, 2 ** 52, { infinite: true });
    const soft = opts?.softTtlMs === undefined ? undefined : checkNumber('softTtlMs', opts.softTtlMs, 0, ttl, { infinite: true });
    const grace = opts?.graceMs === undefined ? 0 : checkNumber('graceMs', opts.graceMs, 0, 2 ** 52);
    const jittered = ttl === Infinity || this.#o.ttlJitter === 0 ? ttl : Math.round(ttl * (1 + Math.random() * this.#o.ttlJitter));
    const now = Date.now();
    const meta = soft === undefined && grace === 0 ? {} : { softExpiresAt: now + (soft ?? jittered), expiresAt: now + jittered };
    await this.#i.write(key, value, opts, meta, jittered === Infinity ? Infinity : jittered + grace);
  }

  /** Takes the lock, or waits for its holder and returns the value it stored. Gives up waiting after lockWaitMs and computes. */
  async #lockOrWait(
    key: string,
    lockKey: string,
    opts: GetOrSetOptions | undefined,
  ): Promise<{ token: string | undefined } | { value: unknown }> {
    const waitMs = opts?.lockWaitMs === undefined ? this.#o.lockTtlMs : checkNumber('lockWaitMs', opts.lockWaitMs, 0, 2 ** 31);
    const deadline = Date.now() + waitMs;
    const token = randomBytes(12).toString('base64url');
    for (let attempt = 0; ; attempt++) {
      const reply = await this.#i.redis('lock', opts, (t) => this.#i.view(t).set(lockKey, token, 'PX', this.#o.lockTtlMs, 'NX'), undefined);
      if (reply === 'OK') return { token };
      if (reply === undefined) return { token: undefined }; // Redis trouble, failing open: compute without the lock
      if (attempt === 0) this.#i.count('lockWaits');
      const left = deadline - Date.now();
      if (left <= 0) return { token: undefined };
      await this.#wake.wait(lockKey, left, attempt);
      const { hit } = await this.#i.read(key, opts);
      if (hit && Date.now() < (hit.meta.expiresAt ?? Infinity)) return { value: hit.value };
    }
  }

  async #release(lockKey: string, token: string | undefined): Promise<void> {
    if (token === undefined) return;
    this.#wake.notifyLocal(lockKey);
    await this.#i.redis('unlock', { failOpen: true }, (t) => this.#i.view(t).eval(RELEASE, 1, lockKey, token), 0);
  }
}
