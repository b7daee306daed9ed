/**
 * A deliberately tiny RESP2 client used by the embedded-server harness ({@link RedisProcess})
 * and by tests: one short-lived connection per call, no pooling, no reconnection, a hard
 * deadline on the whole exchange so a paused (SIGSTOP) server cannot hang the caller.
 *
 * It is not the production driver (that is ioredis behind `src/driver`). Replies are decoded as:
 * simple string → `string`, error → {@link RespReplyError}, integer → `number` (`bigint` beyond
 * 2^53), bulk string → UTF-8 `string` (`null` for the null bulk), array → `RespValue[]` (`null`
 * for the null array), nested to any depth up to {@link MAX_DEPTH}.
 */
import net from 'node:net';
import tls from 'node:tls';

/** A decoded RESP2 reply. Error replies nested inside arrays appear as {@link RespReplyError}. */
export type RespValue = string | number | bigint | null | RespReplyError | RespValue[];

/** One command argument. Numbers are sent as their decimal text. */
export type RespArg = string | number | Buffer;

/** An error reply from the server (`-ERR ...`). `message` is the error line without the `-`. */
export class RespReplyError extends Error {
  /** First word of the error line, e.g. `ERR`, `NOAUTH`, `WRONGPASS`, `LOADING`. */
  readonly prefix: string;
  constructor(line: string) {
    super(line);
    this.name = 'RespReplyError';
    this.prefix = line.split(' ', 1)[0] ?? '';
  }
}

/** Maximum array nesting depth accepted by {@link parseReply}. */
export const MAX_DEPTH = 64;

/** Where to connect: TCP `host`/`port` (optionally TLS), or a unix socket `path`. */
export interface RespTarget {
  /** Loopback host. Default `'127.0.0.1'`. */
  host?: string;
  /** TCP port (required unless `path` is set). */
  port?: number;
  /** Unix domain socket path. Takes precedence over `host`/`port`. */
  path?: string;
  /** When set, connect with `tls.connect` using these options (merged with host/port). */
  tls?: tls.ConnectionOptions;
}

/** Per-call options of {@link respPipeline} and {@link respCommand}. */
export interface RespCallOptions {
  /** Deadline for connect + write + all replies, in milliseconds. Default `5000`. */
  timeoutMs?: number;
  /** When set, `AUTH [username] password` is sent before the command(s). */
  password?: string;
  /** ACL user name for `AUTH`. Default: none (the `default` user). */
  username?: string;
}

/** Default deadline of one harness call, in milliseconds. */
export const DEFAULT_RESP_TIMEOUT_MS = 5000;

/** Encodes one command as a RESP array of bulk strings. */
export function encodeCommand(args: readonly RespArg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const data = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg), 'utf8');
    parts.push(Buffer.from(`$${data.length}\r\n`), data, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

const INCOMPLETE: unique symbol = Symbol('incomplete');
type Step = readonly [RespValue, number] | typeof INCOMPLETE;

function protocolError(what: string): Error {
  return Object.assign(new Error(`RESP protocol error: ${what}`), { code: 'ERR_RESP_PROTOCOL' });
}

function parseInteger(text: string): number | bigint {
  if (!/^-?\d+$/.test(text)) throw protocolError(`bad integer ${JSON.stringify(text)}`);
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

function parseLength(text: string): number {
  const n = parseInteger(text);
  if (typeof n !== 'number' || n < -1) throw protocolError(`bad length ${JSON.stringify(text)}`);
  return n;
}

function parseAt(buf: Buffer, pos: number, depth: number): Step {
  if (depth > MAX_DEPTH) throw protocolError('nesting too deep');
  if (pos >= buf.length) return INCOMPLETE;
  const type = buf[pos];
  const eol = buf.indexOf('\r\n', pos + 1);
  if (eol === -1) return INCOMPLETE;
  const line = buf.toString('utf8', pos + 1, eol);
  const next = eol + 2;
  switch (type) {
    case 0x2b: // '+'
      return [line, next];
    case 0x2d: // '-'
      return [new RespReplyError(line), next];
    case 0x3a: // ':'
      return [parseInteger(line), next];
    case 0x24: {
      // '$'
      const len = parseLength(line);
      if (len === -1) return [null, next];
      if (buf.length < next + len + 2) return INCOMPLETE;
      if (buf[next + len] !== 0x0d || buf[next + len + 1] !== 0x0a) throw protocolError('bulk string not terminated by CRLF');
      return [buf.toString('utf8', next, next + len), next + len + 2];
    }
    case 0x2a: {
      // '*'
      const count = parseLength(line);
      if (count === -1) return [null, next];
      const items: RespValue[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const step = parseAt(buf, at, depth + 1);
        if (step === INCOMPLETE) return INCOMPLETE;
        items.push(step[0]);
        at = step[1];
      }
      return [items, at];
    }
    default:
      throw protocolError(`unexpected type byte 0x${(type ?? 0).toString(16)}`);
  }
}

/**
 * Parses one reply starting at `offset`.
 *
 * @returns The value and the offset just past it, or `undefined` if `buf` does not yet hold a
 *   complete reply.
 * @throws Error with `code = 'ERR_RESP_PROTOCOL'` on malformed input.
 */
export function parseReply(buf: Buffer, offset = 0): { value: RespValue; offset: number } | undefined {
  const step = parseAt(buf, offset, 0);
  return step === INCOMPLETE ? undefined : { value: step[0], offset: step[1] };
}

function connect(target: RespTarget): net.Socket {
  if (target.path !== undefined) return net.connect({ path: target.path });
  if (target.port === undefined) throw new Error('RespTarget needs a port or a path');
  const host = target.host ?? '127.0.0.1';
  if (target.tls) return tls.connect({ ...target.tls, host, port: target.port });
  return net.connect({ host, port: target.port });
}

/**
 * Sends `commands` pipelined on one fresh connection and resolves with one reply per command
 * (error replies are returned as {@link RespReplyError} values, not thrown). When
 * `options.password` is set, `AUTH` is sent first and its reply is not included; if `AUTH`
 * fails the promise rejects with that error.
 *
 * Rejects with an Error whose `code` is `'ETIMEDOUT'` after `options.timeoutMs` (default 5000
 * ms), with the socket error (`ECONNREFUSED`, `ECONNRESET`, …) if the connection fails, or with
 * `code = 'ERR_RESP_CLOSED'` if the server closes before answering everything.
 */
export function respPipeline(
  target: RespTarget,
  commands: readonly (readonly RespArg[])[],
  options: RespCallOptions = {},
): Promise<RespValue[]> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_RESP_TIMEOUT_MS;
  const all: (readonly RespArg[])[] = [];
  const auth = options.password !== undefined;
  if (auth) {
    all.push(options.username !== undefined ? ['AUTH', options.username, options.password ?? ''] : ['AUTH', options.password ?? '']);
  }
  all.push(...commands);
  return new Promise<RespValue[]>((resolve, reject) => {
    let socket: net.Socket;
    try {
      socket = connect(target);
    } catch (err) {
      reject(err);
      return;
    }
    let settled = false;
    let buffer: Buffer = Buffer.alloc(0);
    const replies: RespValue[] = [];
    const finish = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) {
        reject(err);
        return;
      }
      const authReply = auth ? replies.shift() : undefined;
      if (authReply instanceof RespReplyError) reject(authReply);
      else resolve(replies);
    };
    const timer = setTimeout(() => {
      finish(Object.assign(new Error(`Redis harness call timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      try {
        for (;;) {
          const parsed = parseReply(buffer);
          if (!parsed) break;
          replies.push(parsed.value);
          buffer = buffer.subarray(parsed.offset);
          if (replies.length === all.length) {
            finish(undefined);
            return;
          }
        }
      } catch (err) {
        finish(err as Error);
      }
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => {
      const msg = `connection closed after ${replies.length} of ${all.length} replies`;
      finish(Object.assign(new Error(msg), { code: 'ERR_RESP_CLOSED' }));
    });
    socket.write(Buffer.concat(all.map((c) => encodeCommand(c))));
  });
}

/**
 * Sends one command on a fresh connection (after `AUTH` when `options.password` is set) and
 * resolves with its reply. A top-level error reply rejects with {@link RespReplyError}.
 * See {@link respPipeline} for timeouts and connection errors.
 */
export async function respCommand(target: RespTarget, args: readonly RespArg[], options: RespCallOptions = {}): Promise<RespValue> {
  const [reply] = await respPipeline(target, [args], options);
  if (reply instanceof RespReplyError) throw reply;
  return reply ?? null;
}
