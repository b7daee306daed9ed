/**
 * Serializers: value ⇄ bytes. JSON (default) keeps the types plain JSON loses — Date, Buffer /
 * Uint8Array, BigInt, Map, Set, NaN/±Infinity/-0, undefined inside arrays — as tagged objects, and
 * refuses what it cannot keep (functions, symbols, WeakMap, RegExp, …) instead of storing `{}`.
 * msgpack uses the optional peer `msgpackr`, loaded on first use. A custom serializer names
 * itself with an `id` (16–255) that is written into every value's header.
 */
import { createRequire } from 'node:module';
import { CacheError } from './errors.js';

/** Turns values into bytes and back. */
export interface Serializer {
  /** Written into every value's header so the value stays readable after a settings change. 16–255 for custom serializers. */
  readonly id: number;
  /** Short name for stats and errors. */
  readonly name?: string;
  /** The bytes of `value`. Throw (anything) for a value it cannot keep: the error reaches the caller. */
  encode(value: unknown): Uint8Array;
  /** The value of bytes `encode` produced. A throw here makes the stored value `ERR_CACHE_CORRUPT`. */
  decode(bytes: Buffer): unknown;
}

/** Codec ids in the header. 0–15 are redpool's. */
export const CODEC = { bytes: 0, json: 1, msgpack: 2 } as const;

// The tag key: an own property with this name marks a typed value. A user object that has
// the same key is itself wrapped (tag 'o'), so no user data is ever mistaken for a tag.
const TAG = '__rp$';

function fail(what: string, path: string): never {
  throw new CacheError(
    'ERR_CACHE_SERIALIZE',
    `cannot serialize ${what} at ${path || 'the top level'} without loss (use a custom serializer)`,
  );
}

/**
 * JSON.stringify with a replacer: the walk stays native (several times faster than copying the
 * value in JS first). The replacer looks at `this[key]`, the value before `toJSON`, so a Date or
 * a Buffer is seen as itself, not as its JSON form.
 */
/**
 * True when `v` holds anything plain JSON would not keep as it is (so the tagging replacer is
 * needed). A read-only walk: far cheaper than the replacer's per-key callbacks, and most cached
 * values are plain.
 */
function needsTags(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return false;
    case 'number':
      return !Number.isFinite(v) || Object.is(v, -0);
    case 'object':
      break;
    default:
      return true; // bigint, undefined, function, symbol
  }
  if (v === null) return false;
  if (depth > 64) return true; // let the replacer (and JSON's own cycle check) deal with it
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (needsTags(v[i], depth + 1)) return true;
    return false;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return true;
  for (const k in v) {
    if (k === TAG) return true;
    const x = (v as Record<string, unknown>)[k];
    if (x === undefined) continue; // dropped, as JSON does
    if (needsTags(x, depth + 1)) return true;
  }
  return false;
}

function encodeJson(value: unknown): string {
  if (!needsTags(value, 0)) return JSON.stringify(value);
  const wrapped = new WeakSet<object>();
  function replacer(this: unknown, key: string, v: unknown): unknown {
    const orig = (this as Record<string, unknown>)[key];
    const where = key === '' ? '' : `key ${JSON.stringify(key)}`;
    switch (typeof orig) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        if (Object.is(orig, -0)) return { [TAG]: 'N', v: '-0' };
        return Number.isFinite(orig) ? orig : { [TAG]: 'N', v: String(orig) };
      case 'bigint':
        return { [TAG]: 'n', v: orig.toString() };
      case 'undefined':
        // Kept inside arrays (JSON would write null); dropped from objects, as JSON does.
        return Array.isArray(this) ? { [TAG]: 'u' } : undefined;
      case 'function':
        return fail('a function', where);
      case 'symbol':
        return fail('a symbol', where);
      case 'object':
        break;
    }
    if (orig === null) return null;
    if (orig instanceof Date) return { [TAG]: 'D', v: Number.isNaN(orig.getTime()) ? null : orig.toISOString() };
    if (orig instanceof Uint8Array) return { [TAG]: 'B', v: Buffer.from(orig.buffer, orig.byteOffset, orig.byteLength).toString('base64') };
    if (orig instanceof Map) return { [TAG]: 'M', v: [...orig] };
    if (orig instanceof Set) return { [TAG]: 'S', v: [...orig] };
    if (ArrayBuffer.isView(orig) || orig instanceof ArrayBuffer) return fail(`a ${orig.constructor.name} (only Uint8Array/Buffer)`, where);
    if (orig instanceof RegExp || orig instanceof Error || orig instanceof WeakMap || orig instanceof WeakSet || orig instanceof Promise)
      return fail(`a ${orig.constructor.name}`, where);
    if (v !== orig) return v; // its own toJSON() result
    if (!Array.isArray(orig) && Object.prototype.hasOwnProperty.call(orig, TAG) && !wrapped.has(orig)) {
      // User data with the tag key: wrapped once, so it is never read back as a tag.
      wrapped.add(orig);
      return { [TAG]: 'o', v: orig };
    }
    return v;
  }
  return JSON.stringify(value, replacer);
}

function decodeJsonValue(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = decodeJsonValue(v[i]);
    return v;
  }
  const o = v as Record<string, unknown>;
  const tag = o[TAG];
  if (tag !== undefined) {
    const x = o['v'];
    switch (tag) {
      case 'N':
        return Number(x);
      case 'n':
        return BigInt(x as string);
      case 'u':
        return undefined;
      case 'D':
        return new Date(x === null ? NaN : (x as string));
      case 'B':
        return Buffer.from(x as string, 'base64');
      case 'M':
        return new Map((x as [unknown, unknown][]).map(([k, y]) => [decodeJsonValue(k), decodeJsonValue(y)]));
      case 'S':
        return new Set((x as unknown[]).map(decodeJsonValue));
      case 'o': {
        const inner = x as Record<string, unknown>;
        for (const k of Object.keys(inner)) inner[k] = decodeJsonValue(inner[k]);
        return inner;
      }
      default:
        throw new CacheError('ERR_CACHE_CORRUPT', `unknown JSON type tag ${JSON.stringify(tag)}`);
    }
  }
  for (const k of Object.keys(o)) o[k] = decodeJsonValue(o[k]);
  return o;
}

/** The default serializer: JSON with explicit handling of the types plain JSON loses. */
export const jsonSerializer: Serializer = Object.freeze({
  id: CODEC.json,
  name: 'json',
  encode(value: unknown): Uint8Array {
    return Buffer.from(encodeJson(value), 'utf8');
  },
  decode(bytes: Buffer): unknown {
    const text = bytes.toString('utf8');
    // A tag always appears as the literal "__rp$" key; without one the parse result is final and
    // the second walk (most of the cost on large values) is skipped.
    return text.includes(`"${TAG}"`) ? decodeJsonValue(JSON.parse(text)) : JSON.parse(text);
  },
});

interface Packr {
  pack(v: unknown): Uint8Array;
  unpack(b: Uint8Array): unknown;
}

let packr: Packr | undefined;

const requirePeer = (name: string): unknown => createRequire(import.meta.url)(name);
let loadPeer: (name: string) => unknown = requirePeer;

/**
 * @internal Test seam: how optional peers are resolved (`undefined`: back to `require`). Also
 * forgets an msgpackr already loaded, so a missing module can be simulated without uninstalling it.
 */
export function setPeerLoaderForTests(load: ((name: string) => unknown) | undefined): void {
  loadPeer = load ?? requirePeer;
  packr = undefined;
}

/** Loads msgpackr on first use (it is an optional peer dependency). */
function loadPackr(): Packr {
  if (packr) return packr;
  let mod: { Packr: new (o: object) => Packr };
  try {
    mod = loadPeer('msgpackr') as typeof mod;
    if (typeof mod?.Packr !== 'function') throw new TypeError('msgpackr has no Packr export');
  } catch (err) {
    throw new CacheError(
      'ERR_CACHE_CODEC_UNAVAILABLE',
      "serializer 'msgpack' needs the optional peer dependency msgpackr, which could not be loaded: npm install msgpackr",
      { cause: err, option: 'serializer' },
    );
  }
  // structuredClone: Map, Set, Date, cycles; records keep objects and Maps apart; values are
  // self-describing (no shared structures), so any process with msgpackr reads them.
  packr = new mod.Packr({ structuredClone: true, moreTypes: true, int64AsType: 'bigint' });
  return packr;
}

/** msgpack through the optional peer `msgpackr` (loaded on first use). */
export const msgpackSerializer: Serializer = Object.freeze({
  id: CODEC.msgpack,
  name: 'msgpack',
  encode(value: unknown): Uint8Array {
    if (value === undefined) fail('undefined', '');
    return loadPackr().pack(value);
  },
  decode(bytes: Buffer): unknown {
    return loadPackr().unpack(bytes);
  },
});

/** Throws ERR_CACHE_CODEC_UNAVAILABLE now if msgpackr is missing (createCache calls it so the error comes early). */
export function checkMsgpackAvailable(): void {
  loadPackr();
}
