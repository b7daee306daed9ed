/**
 * What every driver needs the same way: Node TLS options from ours (SNI defaulted to the host
 * name), the error codes that mean "TLS failed", and redaction of the arguments Redis quotes in
 * some error replies. One place, so the drivers cannot drift apart on security behaviour.
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { ConnectionError } from '../errors.js';
import type { TlsOptions } from '../options/endpoint.js';
import type { ConnectSpec } from './driver.js';

/** Node/OpenSSL error codes that mean the TLS layer failed (verification, protocol). */
export const TLS_ERROR_CODES = /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|CERT_|EPROTO$)/;

/**
 * Node `tls.connect` options for `tls`. Verification stays on unless `insecureSkipVerify`;
 * `tls.connect` sends no SNI unless told (unlike https), so `servername` defaults to the host
 * name when the host is not an IP address.
 */
export function tlsConnectionOptions(spec: Pick<ConnectSpec, 'host'>, tls: TlsOptions): ConnectionOptions {
  const out: ConnectionOptions = { rejectUnauthorized: tls.insecureSkipVerify !== true };
  if (tls.ca !== undefined) out.ca = tls.ca;
  if (tls.cert !== undefined) out.cert = tls.cert;
  if (tls.key !== undefined) out.key = tls.key;
  if (tls.passphrase !== undefined) out.passphrase = tls.passphrase;
  if (tls.minVersion !== undefined) out.minVersion = tls.minVersion;
  if (tls.ciphers !== undefined) out.ciphers = tls.ciphers;
  const servername = tls.servername ?? (isIP(spec.host) ? undefined : spec.host);
  if (servername !== undefined) out.servername = servername;
  return out;
}

/**
 * Redis quotes the first arguments of an unknown command in its reply ("ERR unknown command
 * 'X', with args beginning with: 'hunter2' "); a mistyped command carrying a secret would leak
 * it into logs, so that part is cut.
 */
export function redactReply(message: string): string {
  return message.replace(/(, with args beginning with:).*$/s, '$1 <redacted>');
}

/**
 * The end of one connection, as the driver contract wants it reported: listeners run exactly
 * once, with the first recorded cause; a listener added after the end runs at once. Both drivers
 * keep one of these instead of their own flag, cause and listener list.
 */
export class ConnectionEnd {
  #ended = false;
  #cause: Error | undefined;
  #listeners: Array<(cause?: Error) => void> = [];

  /** True once `end()` ran. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The first error recorded (the socket's or the handshake's), if any. */
  get cause(): Error | undefined {
    return this.#cause;
  }

  /** Records `err` as the cause unless one is already known. */
  note(err: Error): void {
    this.#cause ??= err;
  }

  /** Replaces the cause (ioredis reports the most telling error last). */
  set(err: Error): void {
    this.#cause = err;
  }

  /** Registers `listener` (runs at once if the connection already ended). */
  onEnd(listener: (cause?: Error) => void): void {
    if (this.#ended) listener(this.#cause);
    else this.#listeners.push(listener);
  }

  /** A promise for the end, for a graceful close() to await. */
  whenEnded(): Promise<void> {
    return new Promise((resolve) => this.onEnd(() => resolve()));
  }

  /** Marks the end and runs every listener once. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const ls = this.#listeners;
    this.#listeners = [];
    for (const l of ls) l(this.#cause);
  }
}

/**
 * Races a driver's connect against the connect deadline and the pool's abort signal, and cleans
 * up both whatever wins. `timeoutError` is built when the deadline passes (so it can say which
 * phase hung). An abort rejects with a `not-sent` ConnectionError.
 */
export async function raceConnect<T>(spec: Pick<ConnectSpec, 'endpoint' | 'connectTimeoutMs' | 'signal'>, connecting: Promise<T>, timeoutError: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError()), spec.connectTimeoutMs);
  });
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new ConnectionError(`connect to ${spec.endpoint} aborted: the pool is closing`, 'not-sent'));
    if (spec.signal?.aborted) onAbort();
    else spec.signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([connecting, timeout, aborted]);
  } finally {
    clearTimeout(timer);
    if (onAbort) spec.signal?.removeEventListener('abort', onAbort);
  }
}
