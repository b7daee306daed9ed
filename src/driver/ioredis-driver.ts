/**
 * The default driver: one ioredis client per connection, configured so that ioredis never
 * reconnects, queues offline or resends (the pool owns the lifecycle). Errors are translated
 * into redpool errors here, and ioredis reply errors are replaced so their `command.args`
 * (which may hold an AUTH password) never escape.
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Redis } from 'ioredis';
import {
  AuthError,
  ConnectionError,
  ConnectTimeoutError,
  ReplyError,
  RedpoolError,
  TlsError,
} from '../errors.js';
import type { TlsOptions } from '../options.js';
import type { BatchCommand, BatchResult, ConnectSpec, Driver, DriverConnection } from './driver.js';

type AnyFn = (...args: unknown[]) => Promise<unknown>;

const NOT_WRITTEN = /Stream isn't writeable|enableOfflineQueue/;
const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|CERT_|EPROTO$)/;

/** Translates an ioredis/Node error into a redpool error. `written`: was the command on the wire? */
export function translateError(err: unknown, command: string, written: boolean): RedpoolError {
  if (err instanceof RedpoolError) return err;
  const e = err as { name?: string; message?: string; code?: string };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (e?.name === 'ReplyError') {
    if (/^(WRONGPASS|NOAUTH|NOPERM)/.test(message)) return new AuthError(message);
    return new ReplyError(message, command);
  }
  if (NOT_WRITTEN.test(message)) return new ConnectionError(`${command}: connection not writable`, 'not-sent');
  if (typeof e?.code === 'string' && TLS_CODES.test(e.code)) return new TlsError(`TLS: ${message}`, { cause: err });
  return new ConnectionError(`${command}: ${message}`, written ? 'unknown' : 'not-sent', { cause: err });
}

function tlsOptions(spec: ConnectSpec, tls: TlsOptions): ConnectionOptions {
  const out: ConnectionOptions = { rejectUnauthorized: tls.insecureSkipVerify !== true };
  if (tls.ca !== undefined) out.ca = tls.ca;
  if (tls.cert !== undefined) out.cert = tls.cert;
  if (tls.key !== undefined) out.key = tls.key;
  if (tls.passphrase !== undefined) out.passphrase = tls.passphrase;
  if (tls.minVersion !== undefined) out.minVersion = tls.minVersion;
  if (tls.ciphers !== undefined) out.ciphers = tls.ciphers;
  // Node's tls.connect does not send SNI unless told (unlike https): default it to the host.
  const servername = tls.servername ?? (isIP(spec.host) ? undefined : spec.host);
  if (servername !== undefined) out.servername = servername;
  return out;
}

class IoredisConnection implements DriverConnection {
  readonly raw: Redis;
  #closed = false;
  #cause: Error | undefined;
  #listeners: Array<(cause?: Error) => void> = [];

  constructor(client: Redis) {
    this.raw = client;
    // An 'error' event without a listener would crash the process; keep the last one as the cause.
    client.on('error', (err: Error) => {
      this.#cause = err;
    });
    client.once('end', () => this.#ended());
  }

  #ended(): void {
    if (this.#closed) return;
    this.#closed = true;
    const cause = this.#cause;
    for (const l of this.#listeners) l(cause);
    this.#listeners = [];
  }

  command(name: string, args: readonly unknown[], buffer: boolean): Promise<unknown> {
    const client = this.raw as unknown as Record<string, AnyFn | undefined>;
    const fn = client[buffer ? `${name}Buffer` : name];
    const p = fn ? fn.apply(this.raw, args as unknown[]) : (buffer ? this.raw.callBuffer(name, ...(args as string[])) : this.raw.call(name, ...(args as string[])));
    return p.catch((err: unknown) => {
      throw translateError(err, name.toUpperCase(), true);
    });
  }

  async batch(commands: BatchCommand[], atomic: boolean): Promise<BatchResult | null> {
    const chain = atomic ? this.raw.multi(commands as string[][]) : this.raw.pipeline(commands as string[][]);
    try {
      const res = (await chain.exec()) as BatchResult | null;
      if (res) {
        for (let i = 0; i < res.length; i++) {
          const entry = res[i]!;
          if (entry[0]) entry[0] = translateError(entry[0], String(commands[i]?.[0] ?? '').toUpperCase(), true);
        }
      }
      return res;
    } catch (err) {
      // EXECABORT and friends carry `previousErrors` with raw args: replace them.
      throw translateError(err, atomic ? 'EXEC' : 'PIPELINE', true);
    }
  }

  onClose(listener: (cause?: Error) => void): void {
    if (this.#closed) listener(this.#cause);
    else this.#listeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    const ended = new Promise<void>((resolve) => this.onClose(() => resolve()));
    try {
      await this.raw.quit();
    } catch {
      // QUIT on a broken socket fails; the socket is going away either way.
      this.raw.disconnect();
    }
    await ended;
  }

  destroy(): void {
    this.raw.disconnect();
  }
}

/** Creates the ioredis driver. */
export function ioredisDriver(): Driver {
  return {
    name: 'ioredis',
    async connect(spec: ConnectSpec): Promise<DriverConnection> {
      const client = new Redis({
        ...(spec.path ? { path: spec.path } : { host: spec.host, port: spec.port }),
        ...(spec.username !== undefined ? { username: spec.username } : {}),
        ...(spec.password !== undefined ? { password: spec.password } : {}),
        ...(spec.tls ? { tls: tlsOptions(spec, spec.tls) } : {}),
        db: spec.db,
        lazyConnect: true,
        enableOfflineQueue: false,
        retryStrategy: () => null,
        reconnectOnError: null,
        autoResendUnfulfilledCommands: false,
        autoResubscribe: false,
        maxRetriesPerRequest: 0,
        enableReadyCheck: false,
        disableClientInfo: true,
        showFriendlyErrorStack: false,
        connectTimeout: spec.connectTimeoutMs,
        keepAlive: spec.keepAliveMs,
        noDelay: true,
        connectionName: spec.connectionName,
        enableAutoPipelining: spec.autoPipelining,
      });
      const conn = new IoredisConnection(client);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ConnectTimeoutError(spec.endpoint, spec.connectTimeoutMs)), spec.connectTimeoutMs);
      });
      try {
        await Promise.race([client.connect(), timeout]);
        return conn;
      } catch (err) {
        client.disconnect();
        if (err instanceof RedpoolError) throw err;
        const t = translateError(err, 'CONNECT', false);
        if (t instanceof ConnectionError) {
          const msg = (err as Error)?.message ?? String(err);
          throw new ConnectionError(`connect to ${spec.endpoint} failed: ${msg}`, 'not-sent', { cause: err });
        }
        throw t;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
