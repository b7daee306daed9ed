/**
 * The default driver: one ioredis client per connection, configured so that ioredis never
 * reconnects, queues offline or resends (the pool owns the lifecycle). Errors are translated
 * into redpool errors here, and ioredis reply errors are replaced so their `command.args`
 * (which may hold an AUTH password) never escape.
 */
import type { Socket } from 'node:net';
import { Redis } from 'ioredis';
import { AuthError, ConfigError, ConnectionError, ConnectTimeoutError, ReplyError, RedpoolError, TlsError } from '../errors.js';
import {
  connectError as commonConnectError,
  type ConnectErrorSpec,
  ConnectionEnd,
  raceConnect,
  redactReply,
  TLS_ERROR_CODES,
  tlsConnectionOptions,
} from './common.js';
import { directPathProbe, directWire, ioredisVersion, queueDirect, VERIFIED_IOREDIS } from './ioredis-direct.js';
import { invalidationHookAvailable, onInvalidate } from './ioredis-push.js';
import type { BatchCommand, BatchResult, ConnectSpec, Driver, DriverConnection, PushKind, ReplySink } from './driver.js';

export { redactReply } from './common.js';

type AnyFn = (...args: unknown[]) => Promise<unknown>;

/** Names whose ioredis method is not a plain command (it returns a builder, not a promise). */
const VIA_CALL = new Set(['multi', 'exec', 'pipeline']);

const NOT_WRITTEN = /Stream isn't writeable|enableOfflineQueue/;

/** Translates an ioredis/Node error into a redpool error. `written`: was the command on the wire? */
export function translateError(err: unknown, command: string, written: boolean): RedpoolError {
  if (err instanceof RedpoolError) return err;
  const e = err as { name?: string; message?: string; code?: string };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (isReplyError(err)) {
    // WRONGPASS/NOAUTH concern the connection's identity; NOPERM is a per-command ACL refusal
    // (the connection is fine, the command did not run), so it stays a ReplyError.
    if (/^(WRONGPASS|NOAUTH)/.test(message)) return new AuthError(message);
    return new ReplyError(redactReply(message), command);
  }
  if (NOT_WRITTEN.test(message)) return new ConnectionError(`${command}: connection not writable`, 'not-sent');
  if (typeof e?.code === 'string' && TLS_ERROR_CODES.test(e.code)) return new TlsError(`TLS: ${message}`, { cause: err });
  return new ConnectionError(`${command}: ${message}`, written ? 'unknown' : 'not-sent', { cause: err });
}

/** ioredis's socket (not part of its typed API; absent before connect). */
function streamOf(client: Redis): Socket | undefined {
  return (client as unknown as { stream?: Socket }).stream;
}

/** {@link translateError} for a command that was written. */
function translateWritten(err: unknown, command: string): RedpoolError {
  return translateError(err, command, true);
}

/** ioredis error replies (from redis-errors): recognised by name. */
const isReplyError = (err: unknown): boolean => (err as { name?: unknown } | undefined)?.name === 'ReplyError';

/**
 * Translates a failed connect (TCP, TLS or handshake) into the error the pool reports: the
 * drivers' shared {@link commonConnectError}, with ioredis's reply errors.
 */
export function connectError(spec: ConnectErrorSpec, err: unknown): RedpoolError {
  return commonConnectError(spec, err, isReplyError);
}

/**
 * A {@link ConnectTimeoutError} whose message says which phase never finished — TCP, TLS, or
 * the Redis handshake — because "timed out" alone does not tell a blackholed port from a
 * TLS/plaintext mismatch (a TLS ClientHello sent to a plaintext Redis gets no answer at all).
 */
function connectTimeout(spec: ConnectSpec, client: Redis): ConnectTimeoutError {
  const err = new ConnectTimeoutError(spec.endpoint, spec.connectTimeoutMs);
  const stream = streamOf(client);
  let phase: string;
  if (!stream || stream.connecting) phase = 'TCP connect did not complete';
  else if (client.status === 'connecting')
    phase = spec.tls ? 'TLS handshake did not complete: is the server speaking TLS on this port?' : 'connection not ready';
  else phase = 'the server did not answer the handshake (HELLO/AUTH/SETNAME)';
  err.message = `${err.message} (${phase})`;
  return err;
}

/**
 * Closes an ioredis client's socket now. `client.disconnect()` alone only `end()`s the socket
 * (FIN) and arms a ref'd 2 s timer that is cleared on 'close': a frozen or blackholed peer then
 * keeps the socket (and the pool slot) for 2 s, and a socket that already closed leaves the
 * timer pending. So: skip sockets that are already closed, destroy the rest right away.
 */
function hardClose(client: Redis): void {
  const stream = streamOf(client);
  if (client.status === 'end') return;
  if (stream?.closed) return; // ioredis ends by itself (retryStrategy is off)
  client.disconnect();
  stream?.destroy();
}

class IoredisConnection implements DriverConnection {
  readonly #client: Redis;
  /**
   * Set once the client is handed out (`lease.raw`): from then on direct-path commands are
   * written at once instead of batched in `#out`, because a command the caller sends through
   * ioredis itself goes straight to the socket and must not overtake ours (the reply queue
   * order is the wire order).
   */
  #exposed = false;
  readonly #end: ConnectionEnd;

  constructor(client: Redis, endpoint: string) {
    this.#client = client;
    this.#end = new ConnectionEnd(endpoint);
    // An 'error' event without a listener would crash the process; keep the last one as the cause.
    client.on('error', (err: Error) => {
      this.#end.set(err);
    });
    client.once('end', () => this.#end.end());
  }

  /** ioredis's socket (absent before connect). */
  get #stream(): Socket | undefined {
    return streamOf(this.#client);
  }

  /** The ioredis client. Handing it out (`lease.raw`) switches off the batching of direct-path text. */
  get raw(): Redis {
    if (!this.#exposed) {
      this.#exposed = true;
      this.#flushOut(this.#stream);
    }
    return this.#client;
  }

  /** The last socket/handshake error ioredis emitted (its promises often say only "Connection is closed."). */
  get lastError(): Error | undefined {
    return this.#end.cause;
  }

  #scheduled = false;
  /** RESP text of direct-path commands not yet handed to the socket (see #flushOut). */
  #out = '';

  readonly #uncork = (): void => {
    this.#scheduled = false;
    const stream = this.#stream;
    this.#flushOut(stream);
    if (stream && stream.writableCorked > 0) stream.uncork();
  };

  /**
   * Hands the pending direct-path text to the socket. Called before anything else is written
   * (ioredis's own commands, batches, QUIT), so bytes leave in reply-queue order. If the
   * socket is gone the text is dropped: those commands are on ioredis's queue and fail with
   * the connection (outcome 'unknown', never a silent loss).
   */
  #flushOut(stream: Socket | undefined): void {
    if (this.#out.length === 0) return;
    const out = this.#out;
    this.#out = '';
    if (stream?.writable) stream.write(out);
  }

  /**
   * Write coalescing: the first command of an event-loop turn corks the socket and a
   * process.nextTick uncorks it, so every command issued in that turn leaves in one write
   * instead of one write syscall each (the cost that dominated a CPU profile of the hot path).
   * Direct-path commands are appended to one string, which reaches the socket as a single
   * chunk. Unlike ioredis auto-pipelining this adds no per-command objects.
   */
  #coalesce(): void {
    if (this.#scheduled) return;
    const stream = this.#stream;
    if (!stream || !stream.writable) return;
    this.#scheduled = true;
    stream.cork();
    process.nextTick(this.#uncork);
  }

  command(name: string, args: readonly unknown[], buffer: boolean): Promise<unknown> {
    return new Promise((resolve, reject) => this.send(name, args, buffer, { reply: resolve, error: reject }));
  }

  /** Plain commands skip ioredis's Command object (see ioredis-direct.ts); set after a probe. */
  direct = false;

  /** Turns the direct path on if this client passes its probe (a PING sent that way). */
  async probeDirect(): Promise<void> {
    this.direct = await directPathProbe(this.#client, translateWritten);
  }

  send(name: string, args: readonly unknown[], buffer: boolean, sink: ReplySink): void {
    if (this.direct) {
      const client = this.#client as unknown as { status: string; stream?: Socket };
      if (client.status !== 'ready' || client.stream?.writable !== true) {
        const error = new ConnectionError(`${name.toUpperCase()}: connection not writable`, 'not-sent');
        queueMicrotask(() => sink.error(error));
        return;
      }
      const wire = directWire(name, args);
      if (wire !== undefined) {
        this.#coalesce();
        if (typeof wire === 'string') {
          if (this.#exposed) client.stream.write(wire);
          else this.#out += wire;
        } else {
          this.#flushOut(client.stream);
          for (const part of wire) client.stream.write(part);
        }
        queueDirect(this.#client, name, args, buffer, sink, translateWritten);
        return;
      }
    }
    this.#coalesce();
    this.#flushOut(this.#stream);
    const client = this.#client as unknown as Record<string, AnyFn | undefined>;
    // multi/exec/pipeline are ioredis builder methods, not commands: send those by name.
    const fn = VIA_CALL.has(name) ? undefined : client[buffer ? `${name}Buffer` : name];
    let p: Promise<unknown>;
    try {
      p = fn
        ? fn.apply(this.#client, args as unknown[])
        : buffer
          ? this.#client.callBuffer(name, ...(args as string[]))
          : this.#client.call(name, ...(args as string[]));
    } catch (err) {
      const error = translateError(err, name.toUpperCase(), false);
      queueMicrotask(() => sink.error(error));
      return;
    }
    p.then(
      (value) => sink.reply(value),
      (err: unknown) => sink.error(translateError(err, name.toUpperCase(), true)),
    );
  }

  async batch(commands: BatchCommand[], atomic: boolean): Promise<BatchResult | null> {
    if (!atomic && this.direct) return this.#pipeline(commands);
    this.#coalesce();
    this.#flushOut(this.#stream);
    const chain = atomic ? this.#client.multi() : this.#client.pipeline();
    const queue = chain as unknown as Record<string, ((...args: unknown[]) => unknown) | undefined>;
    for (const [name, ...args] of commands) {
      // ioredis's `pipeline(commands)` calls `this[name]`, which is undefined for a command its
      // table lacks (module commands such as JSON.SET): queue those by name, as `call` does.
      const buffer = name.endsWith('Buffer');
      const method = VIA_CALL.has(name) || name in Object.prototype ? undefined : queue[name];
      if (method) method.apply(chain, args);
      else if (buffer) chain.callBuffer(name.slice(0, -6), ...(args as string[]));
      else chain.call(name, ...(args as string[]));
    }
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

  /**
   * A pipeline on the direct path: each command goes out as a plain command would (RESP text
   * appended to the turn's one write, a reply sink each), in order and contiguous (one
   * synchronous loop), with no ioredis Pipeline and Command objects: those and their promises
   * were most of a cluster pipeline's client CPU. Each command keeps its own verdict, as from
   * `Pipeline.exec()`: a reply error, or the connection's (`not-sent` when it could not be
   * written, `unknown` after).
   */
  #pipeline(commands: BatchCommand[]): Promise<BatchResult> {
    const n = commands.length;
    const out: BatchResult = new Array<[Error | null, unknown]>(n);
    if (n === 0) return Promise.resolve(out);
    return new Promise<BatchResult>((resolve) => {
      let left = n;
      for (let i = 0; i < n; i++) {
        const cmd = commands[i]!;
        const full = cmd[0];
        const buffer = full.endsWith('Buffer');
        this.send(buffer ? full.slice(0, -6) : full, cmd.slice(1), buffer, {
          reply: (value) => {
            out[i] = [null, value];
            if (--left === 0) resolve(out);
          },
          error: (err) => {
            out[i] = [err instanceof Error ? err : new Error(String(err)), undefined];
            if (--left === 0) resolve(out);
          },
        });
      }
    });
  }

  onClose(listener: (cause?: Error) => void): void {
    this.#end.onEnd(listener);
  }

  /** The connect succeeded (see {@link ConnectionEnd.opened}). */
  opened(): void {
    this.#end.opened();
  }

  /** Whether `invalidate` pushes are reported: ioredis drops them, so they come through a hook on its internals (ioredis-push.ts). */
  get invalidations(): boolean {
    // On RESP2 the server sends a tracking connection nothing at all (invalidations need a push frame or a REDIRECT).
    return this.protocol !== 2 && invalidationHookAvailable();
  }

  /** The negotiated RESP version: ioredis falls back to 2 when the server refuses HELLO 3 (`condition.protocol`, an internal). */
  get protocol(): 2 | 3 | undefined {
    const p = (this.#client as unknown as { condition?: { protocol?: unknown } }).condition?.protocol;
    return p === 2 || p === 3 ? p : undefined;
  }

  /**
   * Pub/sub pushes: ioredis parses them in subscriber mode; only the Buffer events are read (no
   * string copies). `invalidate` pushes come from the hook in ioredis-push.ts when it is available.
   */
  onPush(listener: (kind: PushKind, args: readonly Buffer[]) => void): void {
    const c = this.#client;
    onInvalidate(c, (keys) => listener('invalidate', keys));
    c.on('messageBuffer', (channel: Buffer, message: Buffer) => listener('message', [channel, message]));
    c.on('smessageBuffer', (channel: Buffer, message: Buffer) => listener('smessage', [channel, message]));
    // ioredis (≥ 6) reports a `sunsubscribe` that answers no command of ours (the server dropped
    // shard channels of a slot that moved) as 'moved', without the channel names.
    c.on('moved', () => listener('sunsubscribe', []));
    // ioredis hands the pattern of a pmessageBuffer over as a string.
    c.on('pmessageBuffer', (pattern: string | Buffer, channel: Buffer, message: Buffer) =>
      listener('pmessage', [typeof pattern === 'string' ? Buffer.from(pattern) : pattern, channel, message]),
    );
  }

  async close(): Promise<void> {
    if (this.#end.ended) return;
    this.#end.closing();
    const ended = this.#end.whenEnded();
    this.#flushOut(this.#stream);
    try {
      await this.#client.quit();
    } catch {
      // QUIT on a broken socket fails; the socket is going away either way.
      hardClose(this.#client);
    }
    await ended;
  }

  destroy(): void {
    this.#end.closing();
    hardClose(this.#client);
  }
}

/** Options of {@link ioredisDriver}. */
export interface IoredisDriverOptions {
  /**
   * Send plain commands (no argument or reply transformer in ioredis) without building an
   * ioredis `Command` for each: about twice the throughput on small commands. It relies on
   * ioredis internals, so `'auto'` uses it only on the ioredis releases it was verified against
   * (6.0.x) and otherwise sends every command through ioredis; `true` uses it on any release.
   * Either way each new connection is probed first and falls back to ioredis's own path if the
   * probe fails. Off when the pool sets `autoPipelining` (that asks for ioredis's own batching).
   * @default 'auto'
   */
  readonly directPath?: boolean | 'auto';
}

/** Creates the ioredis driver (the default driver of every pool). */
export function ioredisDriver(options: IoredisDriverOptions = {}): Driver {
  const mode = options.directPath ?? 'auto';
  if (mode !== true && mode !== false && mode !== 'auto')
    throw new ConfigError('driver.directPath', `must be true, false or 'auto', got ${String(mode as unknown)}`);
  const direct = mode === true || (mode === 'auto' && VERIFIED_IOREDIS.test(ioredisVersion() ?? ''));
  return {
    name: 'ioredis',
    async connect(spec: ConnectSpec): Promise<DriverConnection> {
      const client = new Redis({
        ...(spec.path ? { path: spec.path } : { host: spec.host, port: spec.port }),
        ...(spec.username !== undefined ? { username: spec.username } : {}),
        ...(spec.password !== undefined ? { password: spec.password } : {}),
        ...(spec.tls ? { tls: tlsConnectionOptions(spec, spec.tls) } : {}),
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
      const conn = new IoredisConnection(client, spec.endpoint);
      try {
        // The pool closing mid-connect aborts the dial instead of waiting for connectTimeoutMs.
        await raceConnect(
          spec,
          client.connect().then(() => (direct && !spec.autoPipelining ? conn.probeDirect() : undefined)),
          () => connectTimeout(spec, client),
        );
        conn.opened();
        return conn;
      } catch (err) {
        hardClose(client);
        if (err instanceof RedpoolError) throw err;
        throw connectError(spec, conn.lastError ?? err);
      }
    },
  };
}
