/**
 * The stored form of a value: a 5-byte versioned header (magic, format, codec, compression,
 * flags), optional metadata, then the serialized and maybe compressed payload. Raw integers are
 * stored as plain decimal text without a header, so INCR/DECR work on them server side.
 *
 *   byte 0  0xC0 magic: never the first byte of UTF-8 text or of a decimal integer, so a value
 *           another client wrote is told apart from ours, never misread
 *   byte 1  format version (1)
 *   byte 2  codec id (0 bytes, 1 json, 2 msgpack, 16–255 custom)
 *   byte 3  compression (0 none, 1 deflate, 2 gzip, 3 brotli, 4 zstd)
 *   byte 4  flags: bit 0 = an 8-byte soft-expiry time follows, bit 1 = an 8-byte logical
 *           expiry time follows (ms since the epoch, float64 BE each, in that order)
 *
 * Reading never depends on the current settings beyond "can this codec be loaded": a value
 * written with gzip is read by a cache now configured for brotli.
 */
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { CacheError } from './errors.js';
import type { InflateMemo } from './inflate-memo.js';
import type { CompressionAlgorithm } from './options.js';
import { CODEC, jsonSerializer, msgpackSerializer, type Serializer } from './serializers.js';

const MAGIC = 0xc0;
const FORMAT = 1;
const HEADER = 5;
const FLAG_SOFT = 1;
const FLAG_HARD = 2;
/** Below this many bytes compression runs synchronously: cheaper than a threadpool hop. */
const SYNC_LIMIT = 64 * 1024;

const COMPRESSION_ID: Record<CompressionAlgorithm, number> = { deflate: 1, gzip: 2, brotli: 3, zstd: 4 };
const COMPRESSION_NAME = ['none', 'deflate', 'gzip', 'brotli', 'zstd'] as const;

type Zfn = (buf: Buffer, opts: zlib.ZlibOptions & zlib.BrotliOptions) => Buffer;
type ZfnAsync = (buf: Buffer, opts: zlib.ZlibOptions & zlib.BrotliOptions) => Promise<Buffer>;
interface Algo {
  compress: Zfn;
  compressAsync: ZfnAsync;
  decompress: Zfn;
  decompressAsync: ZfnAsync;
  levelKey: 'zlib' | 'brotli' | 'zstd';
}

const z = zlib as unknown as Record<string, unknown>;
function algo(c: string, d: string, levelKey: Algo['levelKey']): Algo | undefined {
  const cs = z[`${c}Sync`],
    ds = z[`${d}Sync`],
    ca = z[c],
    da = z[d];
  if (typeof cs !== 'function' || typeof ds !== 'function' || typeof ca !== 'function' || typeof da !== 'function') return undefined;
  return {
    compress: cs as Zfn,
    decompress: ds as Zfn,
    compressAsync: promisify(ca as (b: Buffer, o: object, cb: (e: Error | null, r: Buffer) => void) => void) as ZfnAsync,
    decompressAsync: promisify(da as (b: Buffer, o: object, cb: (e: Error | null, r: Buffer) => void) => void) as ZfnAsync,
    levelKey,
  };
}
const ALGOS: (Algo | undefined)[] = [
  undefined,
  algo('deflate', 'inflate', 'zlib'),
  algo('gzip', 'gunzip', 'zlib'),
  algo('brotliCompress', 'brotliDecompress', 'brotli'),
  algo('zstdCompress', 'zstdDecompress', 'zstd'), // Node ≥ 22.15 / 23.8 only
];

/** True when this runtime's node:zlib has `algorithm`. */
export function hasCompression(algorithm: CompressionAlgorithm): boolean {
  return ALGOS[COMPRESSION_ID[algorithm]] !== undefined;
}

function compressOptions(a: Algo, level: number | undefined): zlib.ZlibOptions & zlib.BrotliOptions {
  if (level === undefined) return {};
  if (a.levelKey === 'zlib') return { level };
  if (a.levelKey === 'brotli') return { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: level } };
  const zstdLevel = (zlib.constants as unknown as Record<string, number>)['ZSTD_c_compressionLevel'];
  return zstdLevel === undefined ? {} : ({ params: { [zstdLevel]: level } } as zlib.BrotliOptions);
}

/** What the codec needs from the cache's settings. */
export interface CodecSettings {
  readonly serializer: Serializer;
  readonly compression: { readonly algorithm: CompressionAlgorithm; readonly minBytes: number; readonly level: number | undefined } | false;
  readonly maxValueBytes: number;
  /** Decompressed payloads of recent reads (per key, checked against the stored bytes); none: always decompress. */
  readonly memo?: InflateMemo | undefined;
}

/** An encoded value and its sizes (for the bytes-before/after-compression counters). */
export interface Encoded {
  /** What to store: a Buffer, or a decimal string for a raw integer. */
  readonly data: Buffer | string;
  /** Serialized size before compression. */
  readonly rawBytes: number;
  /** Stored size. */
  readonly storedBytes: number;
}

/** Metadata carried in the header. */
export interface Meta {
  /** Soft expiry (ms since the epoch): after it `getOrSet` refreshes, serving this value meanwhile. */
  softExpiresAt?: number;
  /** Logical expiry (ms since the epoch): after it the value is served only in grace (factory or Redis failing). */
  expiresAt?: number;
}

/** A decoded value and its metadata. */
export interface Decoded {
  readonly value: unknown;
  readonly meta: Meta;
}

/** True for a number stored raw (so INCR works on it). */
export function isRawInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && !Object.is(v, -0);
}

/** Serializes, maybe compresses, and prefixes the header. */
export async function encode(value: unknown, s: CodecSettings, meta: Meta = {}, key?: string): Promise<Encoded> {
  if (isRawInteger(value) && meta.softExpiresAt === undefined && meta.expiresAt === undefined) {
    const text = String(value);
    return { data: text, rawBytes: text.length, storedBytes: text.length };
  }
  let codec: number;
  let payload: Buffer;
  if (value instanceof Uint8Array) {
    // Top-level bytes are stored as they are (no base64, no JSON tag), whatever the serializer.
    codec = CODEC.bytes;
    payload = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  } else {
    codec = s.serializer.id;
    const out = s.serializer.encode(value);
    if (!(out instanceof Uint8Array))
      throw new CacheError('ERR_CACHE_SERIALIZE', `serializer ${s.serializer.name ?? s.serializer.id} returned ${typeof out}, not bytes`, {
        key,
      });
    payload = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  }
  const rawBytes = payload.length;
  if (rawBytes > s.maxValueBytes)
    throw new CacheError('ERR_CACHE_VALUE_TOO_LARGE', `value is ${rawBytes} bytes serialized, above maxValueBytes (${s.maxValueBytes})`, {
      key,
    });
  let compression = 0;
  const c = s.compression;
  if (c && rawBytes >= c.minBytes) {
    const id = COMPRESSION_ID[c.algorithm];
    const a = ALGOS[id];
    if (!a)
      throw new CacheError(
        'ERR_CACHE_CODEC_UNAVAILABLE',
        `compression '${c.algorithm}' is not in this runtime's node:zlib (Node ${process.versions.node})`,
      );
    const opts = compressOptions(a, c.level);
    const packed = rawBytes < SYNC_LIMIT ? a.compress(payload, opts) : await a.compressAsync(payload, opts);
    // Kept only when it saves something: random or already-compressed bytes grow.
    if (packed.length < rawBytes) {
      payload = packed;
      compression = id;
    }
  }
  const soft = meta.softExpiresAt !== undefined;
  const hard = meta.expiresAt !== undefined;
  const head = Buffer.allocUnsafe(HEADER + (soft ? 8 : 0) + (hard ? 8 : 0));
  head[0] = MAGIC;
  head[1] = FORMAT;
  head[2] = codec;
  head[3] = compression;
  head[4] = (soft ? FLAG_SOFT : 0) | (hard ? FLAG_HARD : 0);
  if (soft) head.writeDoubleBE(meta.softExpiresAt!, HEADER);
  if (hard) head.writeDoubleBE(meta.expiresAt!, HEADER + (soft ? 8 : 0));
  const data = Buffer.concat([head, payload]);
  return { data, rawBytes, storedBytes: data.length };
}

const INTEGER = /^-?(0|[1-9][0-9]{0,15})$/;

function corrupt(key: string | undefined, why: string, cause?: unknown): CacheError {
  return new CacheError('ERR_CACHE_CORRUPT', `value${key === undefined ? '' : ` of key ${JSON.stringify(key)}`} is not readable: ${why}`, {
    key,
    cause,
  });
}

/** Reads a stored value. Throws CacheError ERR_CACHE_CORRUPT / _VALUE_TOO_LARGE / _CODEC_UNAVAILABLE, never anything else. */
export async function decode(buf: Buffer, s: CodecSettings, key?: string): Promise<Decoded> {
  if (buf.length === 0 || buf[0] !== MAGIC) {
    // Not ours, unless it is an integer stored raw (by us, or grown by INCR).
    if (buf.length <= 17) {
      const text = buf.toString('latin1');
      if (INTEGER.test(text)) {
        const n = Number(text);
        if (Number.isSafeInteger(n)) return { value: n, meta: {} };
      }
    }
    throw corrupt(key, 'no redpool header (written by another client?)');
  }
  if (buf.length < HEADER) throw corrupt(key, 'truncated header');
  if (buf[1] !== FORMAT) throw corrupt(key, `unknown format version ${buf[1]} (written by a newer redpool?)`);
  const codec = buf[2]!;
  const compression = buf[3]!;
  const flags = buf[4]!;
  if ((flags & ~(FLAG_SOFT | FLAG_HARD)) !== 0) throw corrupt(key, `unknown header flags 0x${flags.toString(16)}`);
  let offset = HEADER;
  const meta: Meta = {};
  for (const [flag, field] of [
    [FLAG_SOFT, 'softExpiresAt'],
    [FLAG_HARD, 'expiresAt'],
  ] as const) {
    if ((flags & flag) === 0) continue;
    if (buf.length < offset + 8) throw corrupt(key, 'truncated header');
    meta[field] = buf.readDoubleBE(offset);
    offset += 8;
  }
  let payload = buf.subarray(offset);
  if (compression !== 0) {
    const name = COMPRESSION_NAME[compression];
    if (name === undefined) throw corrupt(key, `unknown compression id ${compression}`);
    const a = ALGOS[compression];
    if (!a)
      throw new CacheError('ERR_CACHE_CODEC_UNAVAILABLE', `value is compressed with '${name}', which this runtime's node:zlib lacks`, {
        key,
      });
    const packed = payload;
    const seen = key === undefined ? undefined : s.memo?.get(key, packed);
    if (seen !== undefined && seen.length <= s.maxValueBytes) payload = seen;
    else {
      // maxOutputLength stops a decompression bomb while it inflates, not after.
      const opts = { maxOutputLength: s.maxValueBytes };
      try {
        payload = packed.length < SYNC_LIMIT / 4 ? a.decompress(packed, opts) : await a.decompressAsync(packed, opts);
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
          throw new CacheError('ERR_CACHE_VALUE_TOO_LARGE', `value inflates beyond maxValueBytes (${s.maxValueBytes})`, {
            key,
            cause: err,
          });
        throw corrupt(key, `${name} data is damaged`, err);
      }
      if (key !== undefined) s.memo?.put(key, packed, payload);
    }
  } else if (payload.length > s.maxValueBytes) {
    throw new CacheError('ERR_CACHE_VALUE_TOO_LARGE', `value is ${payload.length} bytes, above maxValueBytes (${s.maxValueBytes})`, {
      key,
    });
  }
  const serializer =
    codec === CODEC.bytes
      ? undefined
      : codec === CODEC.json
        ? jsonSerializer
        : codec === CODEC.msgpack
          ? msgpackSerializer
          : codec === s.serializer.id
            ? s.serializer
            : null;
  if (serializer === null) throw corrupt(key, `written with custom serializer id ${codec}, not configured here`);
  if (serializer === undefined) return { value: payload, meta };
  try {
    return { value: serializer.decode(payload), meta };
  } catch (err) {
    if (err instanceof CacheError) throw err;
    throw corrupt(key, `${serializer.name ?? `codec ${codec}`} payload does not parse`, err);
  }
}
