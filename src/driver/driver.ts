/**
 * The driver seam: the only place the engine touches a Redis client library. A driver makes
 * connections; a connection runs commands and batches and reports its own end exactly once.
 * Contract for implementations:
 * - connections never reconnect, queue offline or resend by themselves (the pool replaces them);
 * - every rejection is a redpool error: {@link ReplyError} for error replies, or an error with
 *   `outcome` 'not-sent' (never written) or 'unknown' (written, no reply);
 * - `onClose` listeners run once, after which every pending command has been rejected, and
 *   never synchronously inside `close()`/`destroy()` (the engine may be mid-loop).
 * - `spec.signal` aborts a connect in progress: reject promptly and leave no socket behind.
 */
import type { ResolvedEndpoint } from '../options/endpoint.js';

/** Everything a driver needs to open one connection (the endpoint, with fresh credentials). */
export interface ConnectSpec extends ResolvedEndpoint {
  /** Covers TCP, TLS and the handshake (AUTH, SELECT, SETNAME), in milliseconds. */
  readonly connectTimeoutMs: number;
  /** TCP keepalive initial delay in milliseconds; 0 disables it. */
  readonly keepAliveMs: number;
  /** Sent with CLIENT SETNAME so the server can list our connections. */
  readonly connectionName: string;
  readonly autoPipelining: boolean;
  /** Human-readable, credential-free endpoint for error messages. */
  readonly endpoint: string;
  /** Aborted when the pool closes mid-connect: stop and reject promptly (any error will do). */
  readonly signal?: AbortSignal | undefined;
}

/** A batch entry: command name followed by its arguments. */
export type BatchCommand = [name: string, ...args: unknown[]];
/** Per-command results of a batch: `[error, reply]` pairs, as ioredis returns them. */
export type BatchResult = Array<[Error | null, unknown]>;

/**
 * Where {@link DriverConnection.send} reports a command's outcome: exactly one call, exactly
 * once, never synchronously inside `send()`.
 */
export interface ReplySink {
  /** The reply (error replies go to `error` as a {@link ReplyError}). */
  reply(value: unknown): void;
  /** A redpool error, under the same contract as a `command()` rejection. */
  error(err: unknown): void;
}

/** One open connection. */
export interface DriverConnection {
  /** Runs one command; `buffer` asks for Buffer replies. */
  command(name: string, args: readonly unknown[], buffer: boolean): Promise<unknown>;
  /**
   * Optional fast path for the shared lanes: `command()` reporting to `sink` instead of
   * returning a promise. Saves the engine one promise, two closures and one microtask hop per
   * command (about a tenth of the hot path's CPU); a driver without it is driven through
   * `command()`.
   */
  send?(name: string, args: readonly unknown[], buffer: boolean, sink: ReplySink): void;
  /**
   * Writes `commands` in one go. `atomic` wraps them in MULTI/EXEC; then `null` means a
   * WATCHed key changed and nothing ran.
   */
  batch(commands: BatchCommand[], atomic: boolean): Promise<BatchResult | null>;
  /** Registers a listener for the end of this connection (called once, with the cause if any). */
  onClose(listener: (cause?: Error) => void): void;
  /** Graceful: QUIT after pending replies, then close. Resolves when closed. */
  close(): Promise<void>;
  /** Immediate: drop the socket; pending commands reject with outcome 'unknown'. */
  destroy(): void;
  /** The underlying client object, for escape hatches (`lease.raw`). */
  readonly raw: unknown;
  /**
   * Optional: registers a listener for pub/sub pushes on this connection, once it is in
   * subscriber mode (`pool.subscriber()` needs it; a driver without it cannot serve one).
   * `kind` is the push type; `args` are raw bytes: `message`/`smessage` → `[channel, payload]`,
   * `pmessage` → `[pattern, channel, payload]`, `invalidate` (only when {@link invalidations}
   * is true) → the invalidated keys, where an empty list means "every key" (the server sent a
   * null key list: FLUSHDB/FLUSHALL), `sunsubscribe` → `[]` (the server dropped shard channels
   * on its own, as a cluster node does when their slot moves away; which ones is not reported).
   * Listeners run synchronously per push, in order.
   */
  onPush?(listener: (kind: PushKind, args: readonly Buffer[]) => void): void;
  /**
   * True when {@link onPush} also reports the RESP3 `invalidate` pushes of `CLIENT TRACKING`
   * (`pool.subscriber({ tracking })` needs it). Absent or false: they are not reported.
   */
  readonly invalidations?: boolean;
  /**
   * The RESP version this connection negotiated, when the driver knows it. RESP2 (a server that
   * refuses `HELLO 3`) carries no push frames on a connection that runs commands, so
   * {@link invalidations} is false on it.
   */
  readonly protocol?: 2 | 3;
}

/**
 * The push types a driver reports through {@link DriverConnection.onPush}: pub/sub messages,
 * `invalidate` for client-side caching (CLIENT TRACKING), and `sunsubscribe` for shard channels
 * the server unsubscribed on its own (a slot migration).
 */
export type PushKind = 'message' | 'pmessage' | 'smessage' | 'invalidate' | 'sunsubscribe';

/** A connection factory. */
export interface Driver {
  /** Driver name for logs and stats, e.g. 'ioredis'. */
  readonly name: string;
  /** Opens a ready connection or rejects with a typed error (connect, auth, TLS, timeout). */
  connect(spec: ConnectSpec): Promise<DriverConnection>;
}
