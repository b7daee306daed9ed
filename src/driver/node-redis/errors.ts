/**
 * node-redis error translation: a command failure or a failed connect becomes redpool's typed
 * error, with the reply text redacted the same way as under the ioredis driver.
 */
import { ErrorReply } from 'redis';
import { AuthError, ConnectionError, ReplyError, RedpoolError } from '../../errors.js';
import type { ConnectSpec } from '../driver.js';
import { connectError as commonConnectError, redactReply } from '../common.js';

/** Whether a reply is one of node-redis's error replies. */
export const isErrorReply = (v: unknown): v is Error => v instanceof ErrorReply;

/** Translates a command failure. `written`: did the command reach the socket? */
export function commandError(err: unknown, command: string, written: boolean): RedpoolError {
  if (err instanceof RedpoolError) return err;
  if (err instanceof ErrorReply) {
    // WRONGPASS/NOAUTH concern the connection's identity; NOPERM is a per-command ACL refusal.
    if (/^(WRONGPASS|NOAUTH)/.test(err.message)) return new AuthError(err.message);
    return new ReplyError(redactReply(err.message), command);
  }
  const e = err as { message?: unknown; code?: unknown } | undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return new ConnectionError(`${command}: ${message}`, written ? 'unknown' : 'not-sent', { cause: err });
}

/** Translates a failed connect: the drivers' shared `connectError` (driver/common.ts), with node-redis's reply class. */
export function connectError(spec: Pick<ConnectSpec, 'endpoint' | 'connectTimeoutMs' | 'tls'>, err: unknown): RedpoolError {
  return commonConnectError(spec, err, (e) => e instanceof ErrorReply);
}
