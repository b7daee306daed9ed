/**
 * The cache API on a redpool pool: typed get/set with TTLs, batched reads, pipelined writes,
 * counters, prefix-bounded clear, and fail-open around every Redis call. Uses only the pool's
 * public API (commands through `pool.with({ timeoutMs })`, Buffer replies, pipelines, EVAL).
 */
import { ConfigError, type Pool } from '../index.js';
import { decode, encode, hasCompression, isRawInteger, type CodecSettings, type Decoded, type Meta } from './codec.js';
import { CacheError } from './errors.js';
import { FailOpenLog, isRedisTrouble } from './fail-open.js';
import { NearCache } from './near.js';
import { InflateMemo } from './inflate-memo.js';
import { resolveCacheOptions, checkNumber, type CacheOptions, type ResolvedCacheOptions } from './options.js';
import { ReadBatcher } from './read-batcher.js';
import { checkMsgpackAvailable, jsonSerializer, msgpackSerializer } from './serializers.js';
import { Stampede, type GetOrSetOptions } from './stampede.js';
import { newCounters, type CacheStats, type CounterName } from './stats.js';
import { subscriberInvalidationSource } from './invalidation.js';
import { subscriberWake } from './wake.js';
import type { Subscriber } from '../index.js';
import type { CacheInternals, CallOptions, SetOptions } from './calls.js';

export type { CallOptions, SetOptions } from './calls.js';

// Lua: INCRBY that gives a new key the cache's TTL (INCR alone would create it without one).
const INCR_SCRIPT = `local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if v == tonumber(ARGV[1]) and tonumber(ARGV[2]) > 0 and redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`;

const SCAN_COUNT = 1000;
const UNDEFINED = Promise.resolve(undefined);
const UNLINK_BATCH = 500;

/** A cache on a pool. Create with {@link createCache}. */
export class Cache {
  readonly #pool: Pool;
  readonly #o: ResolvedCacheOptions;
  readonly #codec: CodecSettings;
  readonly #counters = newCounters();
  readonly #log: FailOpenLog;
  readonly #batcher: ReadBatcher;
  readonly #views = new Map<number, ReturnType<Pool['with']>>();
  readonly #keyStart: number;
  readonly #stampede: Stampede;
  readonly #near: NearCache | undefined;
  /** The cache's one pub/sub connection (near-cache invalidations and lock wake-ups), taken on first need. */
  #sub: Subscriber | undefined;
  #closed = false;

  constructor(pool: Pool, options?: CacheOptions) {
    this.#pool = pool;
    this.#o = resolveCacheOptions(options, pool.options.commandTimeoutMs, pool.options.logger || undefined);
    const o = this.#o;
    if (o.compression && !hasCompression(o.compression.algorithm))
      throw new CacheError(
        'ERR_CACHE_CODEC_UNAVAILABLE',
        `compression.algorithm '${o.compression.algorithm}' is not in this runtime's node:zlib (Node ${process.versions.node}; zstd needs ≥ 22.15 / 23.8): choose 'deflate', 'gzip' or 'brotli'`,
        { option: 'compression.algorithm' },
      );
    if (o.serializer === 'msgpack') checkMsgpackAvailable();
    this.#codec = {
      serializer: o.serializer === 'json' ? jsonSerializer : o.serializer === 'msgpack' ? msgpackSerializer : o.serializer,
      compression: o.compression,
      maxValueBytes: o.maxValueBytes,
      // Reading never depends on the current settings, so a cache without compression still reuses inflated payloads of old values.
      memo: new InflateMemo(o.compression ? o.compression.memoBytes : 8 * 2 ** 20),
    };
    this.#keyStart = o.prefix ? o.prefix.length + 1 : 0;
    this.#log = new FailOpenLog(o.name, o.logger, o.failOpenLogIntervalMs);
    this.#batcher = new ReadBatcher(
      (keys, timeoutMs) =>
        keys.length === 1
          ? this.#view(timeoutMs)
              .getBuffer(keys[0]!)
              .then((v) => [v])
          : this.#view(timeoutMs).mgetBuffer(...keys),
      () => this.#counters.coalesced++,
    );
    const sub = (): Subscriber => this.#subscriber();
    this.#near = o.local
      ? new NearCache(o.local, subscriberInvalidationSource(sub), () => this.#counters.nearFlushes++, o.prefix)
      : undefined;
    this.#stampede = new Stampede(this.#internals(), o, subscriberWake(sub));
  }

  /** The validated options. */
  get options(): ResolvedCacheOptions {
    return this.#o;
  }

  /** The Redis key of a cache key (`prefix:key`). */
  key(key: string): string {
    if (typeof key !== 'string' || key.length === 0) throw new ConfigError('key', 'expected a non-empty string');
    return this.#keyStart ? `${this.#o.prefix}:${key}` : key;
  }

  #view(timeoutMs: number): ReturnType<Pool['with']> {
    let v = this.#views.get(timeoutMs);
    if (!v) {
      if (this.#views.size > 64) this.#views.clear(); // per-call deadlines vary; keep the memo small
      v = this.#pool.with({ timeoutMs });
      this.#views.set(timeoutMs, v);
    }
    return v;
  }

  #timeout(opts: CallOptions | undefined): number {
    return opts?.timeoutMs === undefined ? this.#o.timeoutMs : checkNumber('timeoutMs', opts.timeoutMs, 1, 2 ** 31);
  }

  #count(name: CounterName, n = 1): void {
    this.#counters[name] += n;
  }

  /** Runs Redis work; on Redis trouble with fail-open, counts, logs and returns `fallback`. */
  async #redis<T, F>(op: string, opts: CallOptions | undefined, fn: (timeoutMs: number) => Promise<T>, fallback: F): Promise<T | F> {
    if (this.#closed) throw new CacheError('ERR_CACHE_CLOSED', 'cache is closed');
    const timeoutMs = this.#timeout(opts);
    try {
      return await fn(timeoutMs);
    } catch (err) {
      if (!isRedisTrouble(err)) throw err;
      this.#counters.errors++;
      if (!(opts?.failOpen ?? this.#o.failOpen)) throw err;
      this.#counters.failedOpen++;
      this.#log.note(op, err, Date.now());
      return fallback;
    }
  }

  /** Decodes a stored value; a corrupt one is a miss when failing open, else thrown. */
  async #decode(buf: Buffer, key: string, opts: CallOptions | undefined): Promise<Decoded | undefined> {
    try {
      return await decode(buf, this.#codec, key);
    } catch (err) {
      this.#counters.corrupt++;
      if (err instanceof CacheError && (opts?.failOpen ?? this.#o.failOpen)) {
        this.#log.note('decode', err, Date.now());
        return undefined;
      }
      throw err;
    }
  }

  /** Reads one key with its header metadata (for getOrSet). */
  async #read(key: string, opts: CallOptions | undefined): Promise<{ hit: Decoded | undefined; failed: boolean }> {
    const full = this.key(key);
    const near = this.#near;
    if (near !== undefined) {
      const e = near.lookup(key);
      if (e !== undefined) {
        if (e.present) this.#counters.nearHits++;
        else this.#nearMiss();
        return { hit: e.present ? { value: e.value, meta: e.meta } : undefined, failed: false };
      }
    }
    const epoch = near === undefined ? 0 : near.epoch();
    let failed = false;
    const buf = await this.#redis('get', opts, (t) => this.#batcher.get(full, t), undefined).then((v) => {
      if (v === undefined) failed = true;
      return v ?? null;
    });
    const hit = buf === null ? undefined : await this.#decode(buf, key, opts);
    if (hit) {
      this.#counters.hits++;
      near?.put(key, true, hit.value, hit.meta, buf!.length, epoch);
    } else {
      this.#counters.misses++;
      // A real "not there" (not a failed-open read, not a corrupt value) is tracked like a value.
      if (buf === null && !failed) near?.put(key, false, undefined, undefined, 0, epoch);
    }
    return { hit, failed };
  }

  #nearMiss(): void {
    this.#counters.nearMisses++;
    this.#counters.misses++;
  }

  /**
   * The value of `key`, or `undefined` (missing, expired, or — failing open — unreachable).
   * A near-cache answer costs no async function and no allocation: the entry's resolved promise
   * is handed out again.
   */
  get<T = unknown>(key: string, opts?: CallOptions): Promise<T | undefined> {
    const near = this.#near;
    if (near !== undefined && typeof key === 'string' && key.length !== 0) {
      const e = near.lookup(key);
      if (e !== undefined) {
        if (!e.present) {
          this.#nearMiss();
          return UNDEFINED;
        }
        this.#counters.nearHits++;
        return (e.promise ??= Promise.resolve(e.value)) as Promise<T | undefined>;
      }
    }
    return this.#read(key, opts).then((r) => r.hit?.value as T | undefined);
  }

  /** True when `key` exists (EXISTS; no value transferred). */
  async has(key: string, opts?: CallOptions): Promise<boolean> {
    const full = this.key(key);
    const e = this.#near?.lookup(key);
    if (e !== undefined) return e.present;
    return (await this.#redis('has', opts, (t) => this.#view(t).exists(full), 0)) === 1;
  }

  #ttl(ttlMs: number | undefined): number {
    const ttl = ttlMs === undefined ? this.#o.defaultTtlMs : checkNumber('ttlMs', ttlMs, 1, 2 ** 52, { infinite: true });
    if (ttl === Infinity || this.#o.ttlJitter === 0) return ttl;
    return Math.round(ttl * (1 + Math.random() * this.#o.ttlJitter));
  }

  async #encode(key: string, value: unknown, meta?: Meta): Promise<Buffer | string> {
    if (value === undefined)
      throw new CacheError('ERR_CACHE_SERIALIZE', 'cannot store undefined (it reads back as a miss); store null instead', { key });
    const e = await encode(value, this.#codec, meta, key);
    this.#counters.bytesBeforeCompression += e.rawBytes;
    this.#counters.bytesAfterCompression += e.storedBytes;
    return e.data;
  }

  /** Stores `value`. Resolves false when `nx` found the key, or when the write was skipped failing open. */
  async set(key: string, value: unknown, opts?: SetOptions): Promise<boolean> {
    return this.#set(key, value, opts, undefined);
  }

  async #set(
    key: string,
    value: unknown,
    opts: SetOptions | undefined,
    meta: Meta | undefined,
    ttlMs = this.#ttl(opts?.ttlMs),
  ): Promise<boolean> {
    const full = this.key(key);
    const data = await this.#encode(key, value, meta);
    const args: (string | number | Buffer)[] = [full, data];
    if (ttlMs !== Infinity) args.push('PX', ttlMs);
    if (opts?.nx) args.push('NX');
    this.#near?.forget(key);
    const reply = await this.#redis('set', opts, (t) => this.#view(t).call('SET', ...args), null);
    // Again after the write: a read sent meanwhile on another connection may have seen the old value.
    this.#near?.forget(key);
    if (reply !== 'OK') return false;
    this.#counters.sets++;
    return true;
  }

  /** Deletes `key` (UNLINK). Resolves true when it existed. */
  async delete(key: string, opts?: CallOptions): Promise<boolean> {
    const full = this.key(key);
    this.#near?.forget(key);
    const n = await this.#redis('delete', opts, (t) => this.#view(t).unlink(full), 0);
    this.#near?.forget(key);
    this.#counters.deletes += n;
    return n > 0;
  }

  /** Values of `keys` in order (`undefined` for a miss), in one MGET. */
  async getMany<T = unknown>(keys: readonly string[], opts?: CallOptions): Promise<(T | undefined)[]> {
    if (keys.length === 0) return [];
    const full = keys.map((k) => this.key(k));
    const out: (T | undefined)[] = new Array<T | undefined>(keys.length);
    const ask: number[] = [];
    const near = this.#near;
    for (let i = 0; i < keys.length; i++) {
      const e = near?.lookup(keys[i]!);
      if (e === undefined) ask.push(i);
      else if (e.present) {
        this.#counters.nearHits++;
        out[i] = e.value as T;
      } else this.#nearMiss();
    }
    if (ask.length === 0) return out;
    const epoch = near === undefined ? 0 : near.epoch();
    const bufs = await this.#redis('getMany', opts, (t) => this.#view(t).mgetBuffer(...ask.map((i) => full[i]!)), null);
    for (let j = 0; j < ask.length; j++) {
      const i = ask[j]!;
      const buf = bufs?.[j] ?? null;
      const hit = buf === null ? undefined : await this.#decode(buf, keys[i]!, opts);
      if (hit) {
        this.#counters.hits++;
        near?.put(keys[i]!, true, hit.value, hit.meta, buf!.length, epoch);
      } else {
        this.#counters.misses++;
        if (buf === null && bufs !== null) near?.put(keys[i]!, false, undefined, undefined, 0, epoch);
      }
      out[i] = hit?.value as T | undefined;
    }
    return out;
  }

  /** Stores several values in one pipeline. Resolves how many were written (0 when skipped failing open). */
  async setMany(entries: Iterable<readonly [string, unknown]> | Record<string, unknown>, opts?: Omit<SetOptions, 'nx'>): Promise<number> {
    const list = Symbol.iterator in entries ? [...(entries as Iterable<readonly [string, unknown]>)] : Object.entries(entries);
    if (list.length === 0) return 0;
    const commands: unknown[][] = [];
    for (const [key, value] of list) {
      const full = this.key(key);
      const ttl = this.#ttl(opts?.ttlMs);
      const data = await this.#encode(key, value);
      this.#near?.forget(key);
      commands.push(ttl === Infinity ? ['set', full, data] : ['set', full, data, 'PX', ttl]);
    }
    const results = await this.#redis('setMany', opts, (t) => this.#view(t).pipeline(commands).exec(), null);
    for (const [key] of list) this.#near?.forget(key);
    let ok = 0;
    for (const [err, reply] of results ?? []) {
      if (err) {
        // One failed command in a pipeline is still Redis trouble: thrown unless failing open.
        if (!(opts?.failOpen ?? this.#o.failOpen)) throw err;
        this.#counters.errors++;
        this.#counters.failedOpen++;
        this.#log.note('setMany', err, Date.now());
      } else if (reply === 'OK') ok++;
    }
    this.#counters.sets += ok;
    return ok;
  }

  /** Remaining TTL in ms; `Infinity` for a key without expiry; `undefined` when missing (or unreachable, failing open). */
  async ttl(key: string, opts?: CallOptions): Promise<number | undefined> {
    const full = this.key(key);
    const ms = await this.#redis('ttl', opts, (t) => this.#view(t).pttl(full), -2);
    return ms === -2 ? undefined : ms === -1 ? Infinity : ms;
  }

  /** Sets a new TTL on an existing key (`Infinity` removes the expiry). Resolves false when the key is missing. */
  async expire(key: string, ttlMs: number, opts?: CallOptions): Promise<boolean> {
    const full = this.key(key);
    const ttl = checkNumber('ttlMs', ttlMs, 1, 2 ** 52, { infinite: true });
    this.#near?.forget(key);
    const n = await this.#redis(
      'expire',
      opts,
      (t) => (ttl === Infinity ? this.#view(t).persist(full) : this.#view(t).pexpire(full, ttl)),
      0,
    );
    return n === 1;
  }

  /**
   * Adds `by` (default 1) atomically on the server and resolves the new value; a new key starts
   * at 0 and gets `defaultTtlMs`. Throws ERR_CACHE_NOT_INTEGER when the key holds a serialized
   * value. Failing open resolves `undefined`.
   */
  async incr(key: string, by = 1, opts?: CallOptions): Promise<number | undefined> {
    if (!isRawInteger(by)) throw new ConfigError('by', `expected a safe integer, got ${String(by)}`);
    const full = this.key(key);
    const ttl = this.#o.defaultTtlMs === Infinity ? 0 : this.#ttl(undefined);
    this.#near?.forget(key);
    // A non-integer value is the caller's data, not Redis trouble: converted before fail-open sees it.
    return this.#redis(
      'incr',
      opts,
      (t) =>
        (this.#view(t).eval(INCR_SCRIPT, 1, full, by, ttl) as Promise<number>).catch((err: unknown) => {
          if ((err as { prefix?: string }).prefix === 'ERR' && /not an integer/.test((err as Error).message))
            throw new CacheError('ERR_CACHE_NOT_INTEGER', `key ${JSON.stringify(key)} holds a serialized value, not a raw integer`, {
              key,
              cause: err,
            });
          throw err;
        }),
      undefined,
    );
  }

  /** `incr(key, -by)`. */
  decr(key: string, by = 1, opts?: CallOptions): Promise<number | undefined> {
    return this.incr(key, -by, opts);
  }

  /**
   * Deletes every key of this cache whose name starts with `subPrefix` (SCAN MATCH + UNLINK in
   * batches; never FLUSHDB, never a key outside the prefix). Resolves how many were deleted.
   */
  async deleteByPrefix(subPrefix: string, opts?: CallOptions): Promise<number> {
    if (typeof subPrefix !== 'string') throw new ConfigError('subPrefix', 'expected a string');
    if (!this.#o.prefix && subPrefix === '')
      throw new ConfigError('prefix', 'clear() on a cache without a prefix would delete the whole database; give the cache a prefix');
    const pattern = `${this.#o.prefix ? `${this.#o.prefix}:` : ''}${subPrefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    this.#near?.flush();
    return this.#redis(
      'clear',
      opts,
      async (t) => {
        const view = this.#view(t);
        let cursor = '0';
        let deleted = 0;
        do {
          const [next, keys] = await view.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
          cursor = next;
          for (let i = 0; i < keys.length; i += UNLINK_BATCH) deleted += await view.unlink(...keys.slice(i, i + UNLINK_BATCH));
        } while (cursor !== '0');
        this.#counters.deletes += deleted;
        return deleted;
      },
      0,
    );
  }

  /** Deletes every key under this cache's prefix. Refused (ConfigError) for a cache without a prefix. */
  clear(opts?: CallOptions): Promise<number> {
    return this.deleteByPrefix('', opts);
  }

  /**
   * The value of `key`, or the factory's (stored with `ttlMs`), computed once per process
   * however many callers ask at once — and once across processes with `lock`. See {@link GetOrSetOptions}.
   */
  getOrSet<T>(key: string, factory: () => T | Promise<T>, opts?: GetOrSetOptions): Promise<T> {
    return this.#stampede.getOrSet(key, factory, opts);
  }

  /** A snapshot of the counters. */
  stats(): CacheStats {
    return { name: this.#o.name, ...this.#counters, nearEntries: this.#near?.size ?? 0 };
  }

  /**
   * Waits until the near cache (when configured) is coherent and serving. Resolves false when
   * the attempt failed (the subscriber keeps retrying on its backoff); rejects with a
   * `ConfigError` (option `subscriber.tracking`) when this connection can never carry
   * invalidations (a driver without them, a RESP2 connection).
   */
  ready(): Promise<boolean> {
    return this.#near ? this.#near.start() : Promise.resolve(true);
  }

  /** Stops the near cache and closes the cache's subscriber connection; later calls reject ERR_CACHE_CLOSED. Does not close the pool. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#near?.close();
    await this.#sub?.close();
  }

  /**
   * The subscriber, created on first need. With a near cache it tracks the cache's prefix (the
   * pool applies CLIENT TRACKING on each of its connections); lock waiters subscribe on it too.
   */
  #subscriber(): Subscriber {
    if (this.#sub) return this.#sub;
    const prefix = this.#o.prefix ? `${this.#o.prefix}:` : '';
    const l = this.#o.local;
    this.#sub = this.#pool.subscriber(
      l ? { tracking: { prefixes: prefix ? [prefix] : [] }, pingIntervalMs: l.pingIntervalMs, pingTimeoutMs: l.pingTimeoutMs } : undefined,
    );
    return this.#sub;
  }

  #internals(): CacheInternals {
    return {
      read: (key, opts) => this.#read(key, opts),
      write: (key, value, opts, meta, ttlMs) => this.#set(key, value, opts, meta, ttlMs),
      redis: (op, opts, fn, fallback) => this.#redis(op, opts, fn, fallback),
      view: (t) => this.#view(t),
      count: (name, n) => this.#count(name, n),
      fullKey: (key) => this.key(key),
    };
  }
}

/**
 * Creates a cache on `pool`. Options are validated now (ConfigError `ERR_INVALID_OPTION` names
 * the option); nothing is sent to Redis until the first call (or `ready()` with a near cache).
 * @example
 * const cache = createCache(pool, { prefix: 'kibray', defaultTtlMs: 300_000 });
 * const user = await cache.getOrSet(`user:${id}`, () => db.user(id), { ttlMs: 60_000 });
 */
export function createCache(pool: Pool, options?: CacheOptions): Cache {
  return new Cache(pool, options);
}
