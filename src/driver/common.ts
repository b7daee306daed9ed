/**
 * What every driver needs the same way: Node TLS options from ours (SNI defaulted to the host
 * name), the translation of a failed connect, the error codes that mean "TLS failed", and
 * redaction of the arguments Redis quotes in some error replies. One place, so the drivers (and
 * the load generator's plain connections) cannot drift apart on security behaviour.
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { AuthError, ConnectionError, ConnectTimeoutError, RedpoolError, ReplyError, TlsError } from '../errors.js';
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

const SUBCOMMAND = /(unknown subcommand(?: or wrong number of arguments for)? )'/i;

/**
 * Redis quotes arguments in two replies: an unknown command's first arguments ("ERR unknown
 * command 'X', with args beginning with: 'hunter2' ") and an unknown subcommand ("ERR unknown
 * subcommand 'hunter2'. Try CONFIG HELP."). A mistyped command carrying a secret would leak it
 * into errors and logs, so the quoted argument is cut; the command's own name stays.
 */
export function redactReply(message: string): string {
  let out = message.replace(/(, with args beginning with:).*$/s, '$1 <redacted>');
  const m = SUBCOMMAND.exec(out);
  if (m) {
    const start = m.index + m[1]!.length;
    // Redis writes "'<arg>'. Try <CMD> HELP."; the argument may itself contain "'".
    const close = out.lastIndexOf("'. Try ");
    out = `${out.slice(0, start)}<redacted>${close > start ? out.slice(close + 1) : ''}`;
  }
  return out;
}

/**
 * What {@link connectError} reads from a connect spec. `username`/`password` are only tested for
 * presence, to say which credential is missing; their values never reach a message.
 */
export type ConnectErrorSpec = Pick<ConnectSpec, 'endpoint' | 'connectTimeoutMs' | 'tls'> &
  Partial<Pick<ConnectSpec, 'username' | 'password'>>;

/** Where credentials go, as a user would write them (placeholders only). */
const CREDENTIALS_GO =
  'in the URL, redis://:<password>@<host>:<port> or redis://<user>:<password>@<host>:<port>, or in the `password`/`username` or `credentials` options';

/**
 * The next step after an auth failure at connect, from the reply's first word and whether a
 * username/password was sent: Redis's own text ("NOAUTH HELLO must be called with the client
 * already authenticated…") does not say that the fix is a password in the URL or the options.
 */
function authHint(reply: string, sent: Partial<Pick<ConnectSpec, 'username' | 'password'>>): string {
  if (reply.startsWith('NOPERM')) {
    return 'this user may not run the connect handshake (HELLO, CLIENT SETNAME, SELECT): allow those commands in its ACL';
  }
  if (reply.startsWith('NOAUTH')) {
    return `the server requires a password${sent.password === undefined ? ' and none was sent' : ''}: put it ${CREDENTIALS_GO}`;
  }
  if (sent.username === undefined) {
    return `the server rejected the password for its 'default' user (no username was sent): check it, and for an ACL user give the username too, ${CREDENTIALS_GO}`;
  }
  return `the server rejected this username and password, or the user is disabled: check both, ${CREDENTIALS_GO}`;
}

/**
 * Translates a failed connect (TCP, TLS or handshake) into the error the pool reports, for
 * every driver. `isReply` tells the driver's error replies apart (ioredis names them
 * 'ReplyError', node-redis uses its own class). Messages name the endpoint (redacted) and the
 * cause, never a credential; a reply's cause is a fresh {@link ReplyError} with the redacted
 * message only (an ioredis reply carries the HELLO/AUTH arguments: the password).
 */
export function connectError(spec: ConnectErrorSpec, err: unknown, isReply: (err: unknown) => boolean): RedpoolError {
  if (err instanceof RedpoolError) return err;
  const e = err as { message?: unknown; code?: unknown; constructor?: { name?: string } } | undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (isReply(err)) {
    const reply = redactReply(message);
    if (/^(WRONGPASS|NOAUTH|NOPERM)/.test(reply))
      return new AuthError(`authentication to ${spec.endpoint} failed: ${reply.trim()} (${authHint(reply, spec)})`);
    // e.g. "ERR max number of clients reached": the server refused this connection, nothing ran.
    return new ConnectionError(`connect to ${spec.endpoint} refused by the server: ${reply}`, 'not-sent', {
      cause: new ReplyError(reply, 'HANDSHAKE'),
    });
  }
  if (code !== undefined && TLS_ERROR_CODES.test(code)) {
    const hint = /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|RECORD_LAYER_FAILURE/.test(code)
      ? ' (is the server speaking TLS on this port?)'
      : '';
    // OpenSSL messages look like "80FC…:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:…/rec_layer_s3.c:1601:…\n": keep the reason.
    const reason = /SSL routines:[^:]*:([^:]+):/.exec(message)?.[1] ?? message.trim();
    return new TlsError(`TLS to ${spec.endpoint} failed: ${reason} [${code}]${hint}`, { cause: err });
  }
  if (code === 'ETIMEDOUT' || e?.constructor?.name === 'ConnectionTimeoutError') {
    const t = new ConnectTimeoutError(spec.endpoint, spec.connectTimeoutMs);
    t.message += spec.tls ? ' (TCP connect or TLS handshake did not complete)' : ' (TCP connect did not complete)';
    return t;
  }
  // Redis answers "-ERR max number of clients reached" and closes at once, usually before our
  // HELLO is written, so the reply is lost to EPIPE/ECONNRESET; a TLS-only port does the same.
  const hint = /Connection is closed|Socket closed unexpectedly|ECONNRESET|EPIPE|socket hang up/.test(`${message} ${code ?? ''}`)
    ? ` (the server closed the connection during the handshake: ${spec.tls ? 'client certificate missing or rejected, or maxclients reached' : 'maxclients reached, or a TLS-only port (use rediss://)'}?)`
    : '';
  return new ConnectionError(
    `connect to ${spec.endpoint} failed: ${message}${code && !message.includes(code) ? ` [${code}]` : ''}${hint}`,
    'not-sent',
    { cause: err },
  );
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
  readonly #endpoint: string;
  #open = false;
  #closing = false;

  /** `endpoint`: the redacted endpoint, for the cause of an end nobody explained. */
  constructor(endpoint: string) {
    this.#endpoint = endpoint;
  }

  /** The connect succeeded: from now on an end we did not ask for is a lost connection. */
  opened(): void {
    this.#open = true;
  }

  /** We are closing the connection (close/destroy): an end without an error is expected. */
  closing(): void {
    this.#closing = true;
  }

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

  /**
   * Marks the end and runs every listener once. Idempotent. A connection that was open and ends
   * without an error and without our asking was closed by the other side (CLIENT KILL, the
   * server's idle `timeout`, a restart, a proxy): the socket reports only a FIN, so the cause
   * is made here — listeners (and the `connection:closed` log line) get what happened instead
   * of `undefined`.
   */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#cause === undefined && this.#open && !this.#closing) {
      this.#cause = new ConnectionError(
        `connection to ${this.#endpoint} closed by the server (CLIENT KILL, its idle timeout, a restart) or by a proxy`,
        'unknown',
      );
    }
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
export async function raceConnect<T>(
  spec: Pick<ConnectSpec, 'endpoint' | 'connectTimeoutMs' | 'signal'>,
  connecting: Promise<T>,
  timeoutError: () => Error,
): Promise<T> {
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
