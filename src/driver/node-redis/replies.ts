/**
 * Pure argument and reply transformations that make node-redis v5 (RESP2, raw `sendCommand`)
 * look exactly like ioredis to the pool's typed API. Only transformations ioredis applies in
 * RESP2-compatible ("legacy") mode are mirrored: its argument transformers (HSET/HMSET/MSET/
 * MSETNX objects and Maps), its argument flattening and stringification, and its one reply
 * transformer that changes a RESP2 shape (HGETALL → object). Buffer variants get Buffers for
 * bulk and simple strings, as ioredis `…Buffer` methods do.
 */
import { ReplyError } from '../../errors.js';
import { redactReply } from '../common.js';

/** A command argument as node-redis writes it. */
export type WireArg = string | Buffer;

/** Commands whose single trailing object/Map argument ioredis expands (after the key for HSET). */
const OBJECT_AFTER_KEY = new Set(['hset', 'hmset']);
const OBJECT_ONLY = new Set(['mset', 'msetnx']);

function wire(v: unknown): WireArg {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') {
    // ioredis: integers beyond 2^53 are printed exactly (1e21 would otherwise become "1e+21").
    return Number.isInteger(v) && !Number.isSafeInteger(v) ? BigInt(v).toString() : String(v);
  }
  if (Buffer.isBuffer(v)) return v;
  // ioredis would send String(typedArray) ("1,2,3"); the bytes are what a caller means.
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  // Unreachable after the pool's checkArgs; ioredis sends null/undefined as "".
  return v === null || v === undefined ? '' : String(v as string);
}

function pushPairs(out: WireArg[], obj: object): void {
  if (obj instanceof Map) {
    for (const [k, v] of obj) out.push(wire(k), wire(v));
    return;
  }
  for (const k of Object.keys(obj)) out.push(k, wire((obj as Record<string, unknown>)[k]));
}

function isPlainObjectArg(v: unknown): v is object {
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && !ArrayBuffer.isView(v);
}

/**
 * The wire form of `name args…`: arrays flattened one level, numbers as decimal text, Buffers
 * kept, and HSET/HMSET `(key, object|Map)` and MSET/MSETNX `(object|Map)` expanded to
 * field/value pairs — what ioredis sends for the same call. `name` must be lower case.
 */
export function toWire(name: string, args: readonly unknown[]): WireArg[] {
  const out: WireArg[] = [name];
  let flat = args;
  for (let i = 0; i < args.length; i++) {
    if (Array.isArray(args[i])) {
      flat = args.flat();
      break;
    }
  }
  if (flat.length === 2 && OBJECT_AFTER_KEY.has(name) && isPlainObjectArg(flat[1])) {
    out.push(wire(flat[0]));
    pushPairs(out, flat[1]);
    return out;
  }
  if (flat.length === 1 && OBJECT_ONLY.has(name) && isPlainObjectArg(flat[0])) {
    pushPairs(out, flat[0]);
    return out;
  }
  for (let i = 0; i < flat.length; i++) out.push(wire(flat[i]));
  return out;
}

/**
 * ioredis' HGETALL transformer: a flat `[field, value, …]` array becomes an object. Keys are
 * strings even in Buffer mode (a Buffer key is coerced to UTF-8 text); special names such as
 * `__proto__` become own properties instead of touching the prototype.
 */
export function pairsToObject(reply: unknown): unknown {
  if (!Array.isArray(reply)) return reply;
  const obj: Record<string, unknown> = {};
  for (let i = 0; i < reply.length; i += 2) {
    const key = String(reply[i]);
    const value: unknown = reply[i + 1];
    if (key in obj) Object.defineProperty(obj, key, { value, configurable: true, enumerable: true, writable: true });
    else obj[key] = value;
  }
  return obj;
}

/** Duck type of node-redis' `ErrorReply` (its errors keep `name === 'Error'`, so check the class by constructor chain). */
export type IsErrorReply = (v: unknown) => v is Error;

/**
 * Replaces error replies nested in an array (EXEC sent by name, a script returning an error
 * table) with {@link ReplyError}s, so no node-redis object escapes. `command`: upper case.
 */
export function translateNested(reply: unknown, command: string, isErrorReply: IsErrorReply): unknown {
  if (!Array.isArray(reply)) return reply;
  for (let i = 0; i < reply.length; i++) {
    const v: unknown = reply[i];
    if (isErrorReply(v)) reply[i] = new ReplyError(redactReply(v.message), command);
    else if (Array.isArray(v)) translateNested(v, command, isErrorReply);
  }
  return reply;
}

/** Deep-converts Buffers to UTF-8 strings (a non-Buffer entry of an EXEC read in Buffer mode). */
export function buffersToStrings(reply: unknown): unknown {
  if (Buffer.isBuffer(reply)) return reply.toString('utf8');
  if (Array.isArray(reply)) {
    for (let i = 0; i < reply.length; i++) reply[i] = buffersToStrings(reply[i]);
  }
  return reply;
}

/**
 * The ioredis-shaped reply of `name` (lower case). Only HGETALL changes shape in RESP2; EXEC
 * and scripts may carry nested error replies.
 */
export function shapeReply(name: string, reply: unknown, isErrorReply: IsErrorReply): unknown {
  if (name === 'hgetall') return pairsToObject(reply);
  if (name === 'exec' || name.startsWith('eval') || name.startsWith('fcall'))
    return translateNested(reply, name.toUpperCase(), isErrorReply);
  return reply;
}
