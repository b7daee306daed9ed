/**
 * The ioredis driver's direct path for plain shared commands (GET, SET, INCR, HGET, …): the
 * command is written as RESP and queued on the client's own reply queue, so ioredis's decoder
 * answers it, but no ioredis `Command` (args copy, promise, three closures, flag lookups, reply
 * transform) is built for it. That object and its promise were the largest single cost on the
 * hot path (CPU profile of `small`, 500 callers: ~30 % of client CPU in ioredis's command layer).
 *
 * Only commands that ioredis would send unchanged and answer without a reply transformer take
 * this path; everything else (transformed arguments or replies, blocking, subscriber, MULTI,
 * QUIT, arguments that are not strings, numbers or Buffers, ioredis command tracing on) uses
 * ioredis's own `Command`. The reply is converted exactly as a `Command` with `replyEncoding:
 * 'utf8'` does (Buffers to strings, recursively), or left as Buffers for `…Buffer` calls.
 *
 * This leans on three ioredis internals: `client.commandQueue` (a deque of `{command, stream,
 * select}`), `client.condition.select`, and the decoder calling `command.resolve(reply)` /
 * `command.reject(err)`. It is used by default only on the ioredis releases it was verified
 * against ({@link VERIFIED_IOREDIS}), and {@link directPathProbe} checks the internals on every
 * new connection with a PING sent this way; if anything is missing or the reply is wrong, that
 * connection uses the plain ioredis path.
 */
import { channel } from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { Command, type Redis } from 'ioredis';
import type { ReplySink } from './driver.js';

/**
 * The ioredis releases whose internals this path was verified against (the test suite and the
 * reliability report ran on them). `directPath: 'auto'` uses the path only on these; widen the
 * range after running both on a new release.
 */
export const VERIFIED_IOREDIS = /^6\.0\.\d+$/;

/** The installed ioredis version, or undefined when it cannot be read. */
export function ioredisVersion(): string | undefined {
  try {
    return (createRequire(import.meta.url)('ioredis/package.json') as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** The parts of an ioredis client the direct path touches. */
interface ClientInternals {
  status: string;
  stream?: Socket;
  condition?: { select?: number };
  commandQueue?: { push(item: { command: QueuedCommand; stream: undefined; select: number | undefined }): unknown };
}

interface CommandStatics {
  FLAGS?: Record<string, readonly string[]>;
  _transformer?: { argument: Record<string, unknown>; reply: Record<string, unknown> };
}

// ioredis traces each Command on this channel when someone subscribes: keep those visible.
const ioredisTrace = channel('tracing:ioredis:command:start');

const eligible = new Map<string, boolean>();

/** ioredis flags that only say where a command is allowed (lanes are never in those modes). */
const PERMISSIVE_FLAGS = new Set(['VALID_IN_SUBSCRIBER_MODE', 'VALID_IN_MONITOR_MODE']);

/**
 * Whether ioredis would send `name` with its arguments untouched and hand back the decoded
 * reply untransformed: no argument or reply transformer, and no special handling flag
 * (subscriber mode, blocking timeouts, QUIT, handshake, …).
 */
function isPlain(name: string): boolean {
  let ok = eligible.get(name);
  if (ok === undefined) {
    const statics = Command as unknown as CommandStatics;
    const t = statics._transformer;
    const flags = statics.FLAGS;
    // ioredis's tables are keyed in lower case; a name in any other case is left to ioredis.
    ok =
      name === name.toLowerCase() &&
      t !== undefined &&
      flags !== undefined &&
      !Object.hasOwn(t.argument, name) &&
      !Object.hasOwn(t.reply, name) &&
      !Object.entries(flags).some(([flag, list]) => !PERMISSIVE_FLAGS.has(flag) && list.includes(name)) &&
      name !== 'multi' &&
      name !== 'exec' &&
      name !== 'pipeline' &&
      name !== 'select' &&
      name !== 'monitor';
    if (eligible.size < 1_000) eligible.set(name, ok);
  }
  return ok;
}

/** String arguments from this length (UTF-16 units) up are written as chunks of their own. */
const SEPARATE_CHUNK = 16 * 1024;

/**
 * RESP for `name args…`, or undefined when an argument is not a string, number or Buffer
 * (arrays, objects, …: ioredis flattens and converts those itself). Numbers are written as
 * `String(n)`, as ioredis does.
 */
export function encodeCommand(name: string, args: readonly unknown[]): string | Array<string | Buffer> | undefined {
  let out = `*${args.length + 1}\r\n$${name.length}\r\n${name}\r\n`;
  let parts: Array<string | Buffer> | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (typeof a === 'string') {
      if (a.length < SEPARATE_CHUNK) out += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
      else {
        // A large value goes to the socket as its own chunk: appended, it would make the
        // turn's text a rope that the write must first flatten into a fresh heap copy.
        (parts ??= []).push(`${out}$${Buffer.byteLength(a)}\r\n`, a);
        out = '\r\n';
      }
    } else if (typeof a === 'number') {
      const s = String(a);
      out += `$${s.length}\r\n${s}\r\n`;
    } else if (Buffer.isBuffer(a)) {
      (parts ??= []).push(`${out}$${a.length}\r\n`, a);
      out = '\r\n';
    } else return undefined;
  }
  if (parts === undefined) return out;
  parts.push(out);
  return parts;
}

/** Buffers to UTF-8 strings, through arrays: what ioredis does for `replyEncoding: 'utf8'`. */
function toStrings(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString();
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = toStrings(v[i]);
    return out;
  }
  return v;
}

/**
 * What the direct path puts on ioredis's reply queue. ioredis reads `name`, `args`,
 * `pipelineIndex` and `inTransaction` (error replies, aborts on close) and calls `resolve`
 * with the decoded reply or `reject` with an error.
 */
class QueuedCommand {
  readonly name: string;
  readonly args: readonly unknown[];
  readonly pipelineIndex = undefined;
  readonly inTransaction = false;
  readonly #buffer: boolean;
  readonly #sink: ReplySink;
  readonly #onError: (err: unknown, command: string) => unknown;

  constructor(
    name: string,
    args: readonly unknown[],
    buffer: boolean,
    sink: ReplySink,
    onError: (err: unknown, command: string) => unknown,
  ) {
    this.name = name;
    this.args = args;
    this.#buffer = buffer;
    this.#sink = sink;
    this.#onError = onError;
  }

  /** Called by ioredis's decoder, synchronously inside its read loop. */
  resolve(reply: unknown): void {
    this.#sink.reply(this.#buffer ? reply : toStrings(reply));
  }

  /**
   * Called by ioredis for error replies and when the connection closes (possibly inside its
   * close handler): reported a microtask later, so the pool's reaction (destroying the lane,
   * retrying) never runs re-entrantly inside ioredis.
   */
  reject(err: unknown): void {
    const error = this.#onError(err, this.name.toUpperCase());
    queueMicrotask(() => this.#sink.error(error));
  }
}

/**
 * The RESP bytes of `name args…` for the direct path, or undefined when this command must go
 * through ioredis's own path (see the module comment).
 */
export function directWire(name: string, args: readonly unknown[]): string | Array<string | Buffer> | undefined {
  if (ioredisTrace.hasSubscribers || !isPlain(name)) return undefined;
  return encodeCommand(name, args);
}

/**
 * Puts a direct-path command on the client's reply queue. Its bytes must reach the socket
 * before any command queued after it (the queue order is the reply order).
 */
export function queueDirect(
  client: Redis,
  name: string,
  args: readonly unknown[],
  buffer: boolean,
  sink: ReplySink,
  onError: (err: unknown, command: string) => unknown,
): void {
  const c = client as unknown as ClientInternals;
  c.commandQueue!.push({ command: new QueuedCommand(name, args, buffer, sink, onError), stream: undefined, select: c.condition!.select });
}

/**
 * Checks, on a freshly connected client, that the internals the direct path relies on are
 * there and behave: a PING sent this way must come back as 'PONG'. Resolves false when the
 * direct path must not be used on this client (its commands then all go through ioredis).
 */
export function directPathProbe(client: Redis, onError: (err: unknown, command: string) => unknown): Promise<boolean> {
  const c = client as unknown as ClientInternals;
  if (typeof c.commandQueue?.push !== 'function' || c.condition === undefined || c.status !== 'ready' || !c.stream?.writable)
    return Promise.resolve(false);
  const stream = c.stream;
  const wire = directWire('ping', []);
  if (typeof wire !== 'string') return Promise.resolve(false);
  return new Promise<boolean>((resolve, reject) => {
    stream.write(wire);
    // An error reply (e.g. -LOADING while the server loads its dataset) came back through the
    // same queue, so the path works; anything else (the connection failed) fails the connect.
    const error = (err: unknown): void => {
      if ((err as { code?: unknown }).code === 'ERR_REPLY') resolve(true);
      else reject(err as Error);
    };
    queueDirect(client, 'ping', [], false, { reply: (v) => resolve(v === 'PONG'), error }, onError);
  });
}
