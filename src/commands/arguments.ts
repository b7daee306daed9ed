/**
 * Argument checks done before anything is written, so a malformed call fails typed with nothing sent. Strings, Buffers,
 * typed arrays and finite numbers are sent as they are (numbers as their decimal text);
 * arrays are flattened one level by ioredis; plain objects and Maps are accepted where
 * ioredis expands them into field/value pairs (HSET, MSET, …). Everything else — undefined,
 * null, booleans, symbols, bigints, functions, NaN, ±Infinity — is an {@link ArgumentError}.
 */
import { ArgumentError } from '../errors.js';

/** Commands whose object/Map arguments ioredis expands into field/value pairs. */
const OBJECT_ARGS = new Set(['hset', 'hmset', 'mset', 'msetnx']);

function checkScalar(name: string, index: number, v: unknown): void {
  switch (typeof v) {
    case 'string':
      return;
    case 'number':
      if (!Number.isFinite(v)) throw new ArgumentError(name.toUpperCase(), index, `is ${v}; send "+inf"/"-inf" as strings`);
      return;
    case 'object':
      if (v !== null && (Buffer.isBuffer(v) || ArrayBuffer.isView(v))) return;
      break;
    default:
      break;
  }
  const what = v === null ? 'null' : Array.isArray(v) ? 'a nested array' : typeof v === 'object' ? 'an object' : typeof v;
  throw new ArgumentError(name.toUpperCase(), index, `must be a string, Buffer or finite number, got ${what}`);
}

/** A typed array that is not a Buffer: ioredis would send `String(v)` ("1,2,3"), not its bytes. */
function isBareView(v: unknown): v is ArrayBufferView {
  return ArrayBuffer.isView(v) && !Buffer.isBuffer(v);
}

/** A Buffer over the same bytes (no copy). */
function asBuffer(v: ArrayBufferView): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Field/value pairs of an object or Map, flat, with typed-array values as Buffers. */
function pairsOf(obj: object): unknown[] {
  const out: unknown[] = [];
  const push = (k: unknown, val: unknown): void => {
    out.push(isBareView(k) ? asBuffer(k) : k, isBareView(val) ? asBuffer(val) : val);
  };
  if (obj instanceof Map) for (const [k, val] of obj) push(k, val);
  else for (const k of Object.keys(obj)) push(k, (obj as Record<string, unknown>)[k]);
  return out;
}

/**
 * Throws {@link ArgumentError} for the first argument Redis cannot encode. A typed array that
 * is not a Buffer — at the top level, or inside an array argument (which the drivers flatten
 * one level) — is sent as a Buffer view of the same bytes: ioredis would otherwise send
 * `String(array)` ("1,2,3"). A top-level one is replaced in `args` (the caller's rest-args
 * copy); an array holding one is replaced by a converted copy, never edited, because it
 * belongs to the caller; an HSET/HMSET/MSET/MSETNX object or Map holding one as a value is
 * replaced by its field/value pairs as a flat array. With no typed array nothing is allocated.
 */
export function checkArgs(name: string, args: unknown[]): void {
  for (let i = 0; i < args.length; i++) {
    const v = args[i];
    const t = typeof v;
    if (t === 'string' || (t === 'number' && Number.isFinite(v))) continue; // fast path
    if (Array.isArray(v)) {
      let copy: unknown[] | undefined;
      for (let j = 0; j < v.length; j++) {
        const inner: unknown = v[j];
        checkScalar(name, i, inner);
        if (isBareView(inner)) (copy ??= v.slice())[j] = asBuffer(inner);
      }
      if (copy) args[i] = copy;
      continue;
    }
    if (v !== null && t === 'object' && OBJECT_ARGS.has(name) && !Buffer.isBuffer(v) && !ArrayBuffer.isView(v)) {
      const values = v instanceof Map ? [...v.entries()].flat() : Object.values(v as object);
      let views = false;
      for (const inner of values) {
        checkScalar(name, i, inner);
        views ||= isBareView(inner);
      }
      // ioredis would send a typed array value as "1,2,3": pass the pairs as a flat array
      // instead (the drivers flatten it one level, as they expand the object), bytes as Buffers.
      if (views) args[i] = pairsOf(v as object);
      continue;
    }
    checkScalar(name, i, v);
    if (isBareView(v)) args[i] = asBuffer(v);
  }
}
