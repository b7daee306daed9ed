/**
 * Argument checks done before anything is written (bad-input row I11). Strings, Buffers,
 * typed arrays and finite numbers are sent as they are (numbers as their decimal text);
 * arrays are flattened one level by ioredis; plain objects and Maps are accepted where
 * ioredis expands them into field/value pairs (HSET, MSET, …). Everything else — undefined,
 * null, booleans, symbols, bigints, functions, NaN, ±Infinity — is an {@link ArgumentError}.
 */
import { ArgumentError } from '../errors.js';

/** Commands whose object/Map arguments ioredis expands into field/value pairs. */
const OBJECT_ARGS = new Set(['hset', 'hmset', 'mset', 'msetnx']);

function checkScalar(command: string, index: number, v: unknown): void {
  switch (typeof v) {
    case 'string':
      return;
    case 'number':
      if (!Number.isFinite(v)) throw new ArgumentError(command, index, `is ${v}; send "+inf"/"-inf" as strings`);
      return;
    case 'object':
      if (v !== null && (Buffer.isBuffer(v) || ArrayBuffer.isView(v))) return;
      break;
    default:
      break;
  }
  const what = v === null ? 'null' : Array.isArray(v) ? 'a nested array' : typeof v === 'object' ? 'an object' : typeof v;
  throw new ArgumentError(command, index, `must be a string, Buffer or finite number, got ${what}`);
}

/**
 * Throws {@link ArgumentError} for the first argument Redis cannot encode. A top-level typed
 * array that is not a Buffer is replaced (in `args`, the caller's rest-args copy) by a Buffer
 * view of the same bytes: ioredis would otherwise send `String(array)` ("1,2,3").
 */
export function checkArgs(name: string, args: unknown[]): void {
  for (let i = 0; i < args.length; i++) {
    const v = args[i];
    const t = typeof v;
    if (t === 'string' || (t === 'number' && Number.isFinite(v))) continue; // fast path
    if (Array.isArray(v)) {
      for (const inner of v) checkScalar(name.toUpperCase(), i, inner);
      continue;
    }
    if (v !== null && t === 'object' && OBJECT_ARGS.has(name) && !Buffer.isBuffer(v) && !ArrayBuffer.isView(v)) {
      const values = v instanceof Map ? [...v.entries()].flat() : Object.values(v as object);
      for (const inner of values) checkScalar(name.toUpperCase(), i, inner);
      continue;
    }
    checkScalar(name.toUpperCase(), i, v);
    if (ArrayBuffer.isView(v) && !Buffer.isBuffer(v)) args[i] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  }
}
