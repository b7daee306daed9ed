/**
 * The check of per-call options (`pool.with(call)`), in one place for the single-node, Sentinel
 * and Cluster pools: called where a `with()` view is built, so a bad value fails at once, not on
 * the first command of the view.
 */
import { ConfigError } from '../errors.js';
import type { CallOptions } from '../pool/core.js';
import { OPTIONS } from '../options/table.js';
import { typeName } from '../options/validate.js';

/** The pool option's values (the option table is the one place they are written). */
const READ_FROM: ReadonlySet<unknown> = new Set(OPTIONS.readFrom.values);

/**
 * Validates `call` and returns it unchanged. Throws {@link ConfigError} (`ERR_INVALID_OPTION`)
 * naming the field: `readFrom` must be `'primary'`, `'replica'` or `'preferReplica'` (or absent).
 * The value is echoed only when it is a short string (never an object's contents).
 */
export function checkCallOptions<C extends CallOptions | undefined>(call: C): C {
  if (call === undefined) return call;
  if (call === null || typeof call !== 'object')
    throw new ConfigError('call', `expected an object of per-call options, got ${typeName(call)}`);
  const readFrom = (call as { readFrom?: unknown }).readFrom;
  if (readFrom !== undefined && !READ_FROM.has(readFrom)) {
    const shown = typeof readFrom === 'string' && readFrom.length <= 32 ? `'${readFrom}'` : typeName(readFrom);
    throw new ConfigError('readFrom', `expected ${[...READ_FROM].map((v) => `'${String(v)}'`).join(', ')}, got ${shown}`);
  }
  return call;
}
