/**
 * `createCache` options: the table, defaults and validation. Bad input throws the pool's
 * {@link ConfigError} (`ERR_INVALID_OPTION`) naming the option, e.g. `compression.minBytes`.
 */
import { ConfigError, type Logger } from '../index.js';
import type { Serializer } from './serializers.js';

/** Compression algorithms from `node:zlib`. `zstd` needs Node ≥ 22.15 / 23.8. */
export type CompressionAlgorithm = 'deflate' | 'gzip' | 'brotli' | 'zstd';

/** Compression settings. */
export interface CompressionOptions {
  /** Algorithm. @default 'deflate' (zlib, as django-redis's ZlibCompressor) */
  algorithm?: CompressionAlgorithm;
  /** Values whose serialized form is at least this many bytes are compressed. @default 100 */
  minBytes?: number;
  /** Algorithm level (zlib 0–9, brotli 0–11, zstd 1–22). @default the algorithm's default (zlib 6, brotli 4) */
  level?: number;
  /**
   * Bytes (compressed + decompressed) of recently read values kept so that re-reading an
   * unchanged value skips decompression: a payload is reused only when Redis returns exactly the
   * bytes it came from, and it is parsed anew every time (no shared objects). A value whose two
   * forms together exceed 1/8 of this is not kept. 0: off. @default 8 MiB
   */
  memoBytes?: number;
}

/** Near cache (in-process tier) settings. */
export interface LocalOptions {
  /** Most entries kept. @default 10000 */
  maxEntries?: number;
  /** Most bytes of stored (encoded) values kept. @default 64 MiB */
  maxBytes?: number;
  /** Longest an entry is served locally, in ms (a bound in case an invalidation is late). @default 60000 */
  ttlMs?: number;
  /**
   * Liveness PING period of the invalidation connection, in ms (the subscriber's
   * `pingIntervalMs`): a frozen server is noticed within this plus `pingTimeoutMs`, and the near
   * cache empties itself then. `Infinity`: no PING. @default 1000
   */
  pingIntervalMs?: number;
  /** How long that PING may go unanswered before the connection counts as lost, in ms. @default 2000 */
  pingTimeoutMs?: number;
}

/** Options of `createCache`. */
export interface CacheOptions {
  /** Label in stats, logs and metrics (never a key). @default the prefix, or 'default' */
  name?: string;
  /** Every key is stored as `${prefix}:${key}`. @default '' (no prefix) */
  prefix?: string;
  /** TTL of `set` without a `ttlMs`, in ms; `Infinity` = no expiry. @default 300000 (django's TIMEOUT 300 s) */
  defaultTtlMs?: number;
  /** 'json' (default), 'msgpack' (needs the optional peer `msgpackr`), or a custom {@link Serializer}. */
  serializer?: 'json' | 'msgpack' | Serializer;
  /** Compression above a size, or `false` for none. @default { algorithm: 'deflate', minBytes: 100 } */
  compression?: CompressionOptions | false;
  /** Redis errors, deadlines and an unavailable pool turn reads into misses and skip writes. @default true */
  failOpen?: boolean;
  /** A fail-open error is logged at most once per this many ms (per error code). @default 30000 */
  failOpenLogIntervalMs?: number;
  /** Where fail-open warnings go. @default the pool's `logger`, else none */
  logger?: Logger;
  /** Deadline of each cache call's Redis work, in ms. @default the pool's `commandTimeoutMs` */
  timeoutMs?: number;
  /** Largest value written or read (after decompression), in bytes: the bomb guard. @default 64 MiB */
  maxValueBytes?: number;
  /** Random spread added to TTLs written, as a fraction (0.1 = up to +10 %). @default 0 */
  ttlJitter?: number;
  /** In-process near cache kept coherent by Redis invalidations; off unless given. @default false */
  local?: LocalOptions | false;
  /** Cross-process lock of `getOrSet` (SET NX PX + token). Per call `lock` overrides. @default false */
  lock?: boolean;
  /** Longest a `getOrSet` lock is held before it expires by itself, in ms. @default 10000 */
  lockTtlMs?: number;
  /** `getOrSet` factory deadline in ms; `Infinity` = none. @default Infinity */
  factoryTimeoutMs?: number;
}

/** Options after defaults and validation. */
export interface ResolvedCacheOptions {
  readonly name: string;
  readonly prefix: string;
  readonly defaultTtlMs: number;
  readonly serializer: 'json' | 'msgpack' | Serializer;
  readonly compression:
    | {
        readonly algorithm: CompressionAlgorithm;
        readonly minBytes: number;
        readonly level: number | undefined;
        readonly memoBytes: number;
      }
    | false;
  readonly failOpen: boolean;
  readonly failOpenLogIntervalMs: number;
  readonly logger: Logger | undefined;
  readonly timeoutMs: number;
  readonly maxValueBytes: number;
  readonly ttlJitter: number;
  readonly local:
    | {
        readonly maxEntries: number;
        readonly maxBytes: number;
        readonly ttlMs: number;
        readonly pingIntervalMs: number;
        readonly pingTimeoutMs: number;
      }
    | false;
  readonly lock: boolean;
  readonly lockTtlMs: number;
  readonly factoryTimeoutMs: number;
}

const KEYS = new Set<string>([
  'name',
  'prefix',
  'defaultTtlMs',
  'serializer',
  'compression',
  'failOpen',
  'failOpenLogIntervalMs',
  'logger',
  'timeoutMs',
  'maxValueBytes',
  'ttlJitter',
  'local',
  'lock',
  'lockTtlMs',
  'factoryTimeoutMs',
]);
const ALGORITHMS: readonly CompressionAlgorithm[] = ['deflate', 'gzip', 'brotli', 'zstd'];
const LEVELS: Record<CompressionAlgorithm, [number, number]> = { deflate: [0, 9], gzip: [0, 9], brotli: [0, 11], zstd: [1, 22] };

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** Checks a number option. `infinite`: `Infinity` allowed; `int`: must be an integer. */
export function checkNumber(name: string, v: unknown, min: number, max: number, flags: { infinite?: boolean; int?: boolean } = {}): number {
  if (typeof v !== 'number') throw new ConfigError(name, `expected a number, got ${typeName(v)}`);
  if (Number.isNaN(v)) throw new ConfigError(name, 'must not be NaN');
  if (v === Infinity && flags.infinite) return v;
  if (!Number.isFinite(v)) throw new ConfigError(name, 'must be finite');
  if (flags.int && !Number.isInteger(v)) throw new ConfigError(name, `must be an integer, got ${v}`);
  if (v < min) throw new ConfigError(name, `must be >= ${min}, got ${v}`);
  if (v > max) throw new ConfigError(name, `must be <= ${max}, got ${v}`);
  return v;
}

function checkObject(name: string, v: unknown, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(name, `expected an object, got ${typeName(v)}`);
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw new ConfigError(`${name}.${k}`, 'unknown option');
  return v as Record<string, unknown>;
}

function checkBool(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(name, `expected a boolean, got ${typeName(v)}`);
  return v;
}

/** Validates `o` and applies defaults. `poolTimeoutMs`/`poolLogger` come from the pool. */
export function resolveCacheOptions(
  o: CacheOptions | undefined,
  poolTimeoutMs: number,
  poolLogger: Logger | undefined,
): ResolvedCacheOptions {
  const opts = (o ?? {}) as Record<string, unknown>;
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts))
    throw new ConfigError('options', `expected an object, got ${typeName(opts)}`);
  for (const k of Object.keys(opts)) if (!KEYS.has(k)) throw new ConfigError(k, 'unknown option');
  const has = (k: string): boolean => opts[k] !== undefined;

  let prefix = '';
  if (has('prefix')) {
    if (typeof opts['prefix'] !== 'string') throw new ConfigError('prefix', `expected a string, got ${typeName(opts['prefix'])}`);
    prefix = opts['prefix'];
    // Glob characters would let clear() (SCAN MATCH prefix:*) reach keys outside the prefix.
    if (/[*?[\]\\]/.test(prefix)) throw new ConfigError('prefix', 'must not contain glob characters (* ? [ ] \\)');
  }
  let name = prefix || 'default';
  if (has('name')) {
    if (typeof opts['name'] !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(opts['name']))
      throw new ConfigError('name', 'expected 1–64 characters of letters, digits, _ . : -');
    name = opts['name'];
  }
  const serializer = opts['serializer'] ?? 'json';
  if (serializer !== 'json' && serializer !== 'msgpack') {
    const s = serializer as Partial<Serializer>;
    if (typeof s !== 'object' || s === null) throw new ConfigError('serializer', "expected 'json', 'msgpack' or a serializer object");
    if (typeof s.encode !== 'function') throw new ConfigError('serializer.encode', 'expected a function');
    if (typeof s.decode !== 'function') throw new ConfigError('serializer.decode', 'expected a function');
    // 0–15 are redpool's own codecs; a custom id is what makes its values recognisable later.
    checkNumber('serializer.id', s.id, 16, 255, { int: true });
  }

  let compression: ResolvedCacheOptions['compression'] = { algorithm: 'deflate', minBytes: 100, level: undefined, memoBytes: 8 * 2 ** 20 };
  if (opts['compression'] === false) compression = false;
  else if (has('compression')) {
    const c = checkObject('compression', opts['compression'], ['algorithm', 'minBytes', 'level', 'memoBytes']);
    const algorithm = (c['algorithm'] ?? 'deflate') as CompressionAlgorithm;
    if (!ALGORITHMS.includes(algorithm))
      throw new ConfigError('compression.algorithm', `expected one of ${ALGORITHMS.map((a) => `'${a}'`).join(', ')}`);
    const minBytes = c['minBytes'] === undefined ? 100 : checkNumber('compression.minBytes', c['minBytes'], 0, 2 ** 31, { int: true });
    const [lo, hi] = LEVELS[algorithm];
    const level = c['level'] === undefined ? undefined : checkNumber('compression.level', c['level'], lo, hi, { int: true });
    const memoBytes =
      c['memoBytes'] === undefined ? 8 * 2 ** 20 : checkNumber('compression.memoBytes', c['memoBytes'], 0, 2 ** 40, { int: true });
    compression = { algorithm, minBytes, level, memoBytes };
  }

  let local: ResolvedCacheOptions['local'] = false;
  if (has('local') && opts['local'] !== false) {
    const l = checkObject('local', opts['local'], ['maxEntries', 'maxBytes', 'ttlMs', 'pingIntervalMs', 'pingTimeoutMs']);
    local = {
      maxEntries: l['maxEntries'] === undefined ? 10_000 : checkNumber('local.maxEntries', l['maxEntries'], 1, 10_000_000, { int: true }),
      maxBytes: l['maxBytes'] === undefined ? 64 * 2 ** 20 : checkNumber('local.maxBytes', l['maxBytes'], 1, 2 ** 40, { int: true }),
      ttlMs: l['ttlMs'] === undefined ? 60_000 : checkNumber('local.ttlMs', l['ttlMs'], 1, 2 ** 31),
      pingIntervalMs:
        l['pingIntervalMs'] === undefined
          ? 1_000
          : checkNumber('local.pingIntervalMs', l['pingIntervalMs'], 1, 2 ** 31 - 1, { infinite: true }),
      pingTimeoutMs: l['pingTimeoutMs'] === undefined ? 2_000 : checkNumber('local.pingTimeoutMs', l['pingTimeoutMs'], 1, 2 ** 31 - 1),
    };
  }

  if (has('logger')) {
    const l = opts['logger'] as Partial<Logger>;
    if (typeof l !== 'object' || l === null || typeof l.warn !== 'function')
      throw new ConfigError('logger', 'expected an object with a warn() method');
  }

  return Object.freeze({
    name,
    prefix,
    defaultTtlMs: has('defaultTtlMs') ? checkNumber('defaultTtlMs', opts['defaultTtlMs'], 1, 2 ** 52, { infinite: true }) : 300_000,
    serializer: serializer as ResolvedCacheOptions['serializer'],
    compression,
    failOpen: has('failOpen') ? checkBool('failOpen', opts['failOpen']) : true,
    failOpenLogIntervalMs: has('failOpenLogIntervalMs')
      ? checkNumber('failOpenLogIntervalMs', opts['failOpenLogIntervalMs'], 0, 2 ** 31)
      : 30_000,
    logger: (opts['logger'] as Logger | undefined) ?? poolLogger,
    timeoutMs: has('timeoutMs')
      ? checkNumber('timeoutMs', opts['timeoutMs'], 1, 2 ** 31)
      : Number.isFinite(poolTimeoutMs)
        ? poolTimeoutMs
        : 5_000,
    maxValueBytes: has('maxValueBytes')
      ? checkNumber('maxValueBytes', opts['maxValueBytes'], 1, 512 * 2 ** 20, { int: true })
      : 64 * 2 ** 20,
    ttlJitter: has('ttlJitter') ? checkNumber('ttlJitter', opts['ttlJitter'], 0, 1) : 0,
    local,
    lock: has('lock') ? checkBool('lock', opts['lock']) : false,
    lockTtlMs: has('lockTtlMs') ? checkNumber('lockTtlMs', opts['lockTtlMs'], 1, 2 ** 31) : 10_000,
    factoryTimeoutMs: has('factoryTimeoutMs')
      ? checkNumber('factoryTimeoutMs', opts['factoryTimeoutMs'], 1, 2 ** 31, { infinite: true })
      : Infinity,
  });
}
