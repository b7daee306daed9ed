/**
 * Validation of per-call options (`pool.with(call)`), shared by every pool kind so a bad value
 * fails the same way everywhere: a `ConfigError` (`ERR_INVALID_OPTION`) naming the field, thrown
 * by `with()` before any command is sent.
 */
import { ConfigError } from '../errors.js';
import type { CallOptions } from '../pool/core.js';

const READ_FROM: ReadonlySet<unknown> = new Set(['primary', 'replica', 'preferReplica']);

/** Throws a `ConfigError` naming the field of `call` that is not valid. */
export function checkCallOptions(call: CallOptions): void {
  if (call.readFrom !== undefined && !READ_FROM.has(call.readFrom))
    throw new ConfigError(
      'readFrom',
      `expected 'primary', 'replica' or 'preferReplica', got ${JSON.stringify(call.readFrom) ?? typeof call.readFrom}`,
    );
}
