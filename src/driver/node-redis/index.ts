/**
 * A driver on node-redis v5 (`redis` package, an optional peer dependency): one client per
 * connection, raw `sendCommand` with ioredis-shaped arguments and replies (see replies.ts), so
 * the pool's typed API behaves as with the default ioredis driver. node-redis never reconnects,
 * queues offline or resends here (`reconnectStrategy: false`, `disableOfflineQueue: true`).
 *
 * node-redis facts this file relies on (v5.12):
 * - a socket lost after `ready` emits 'error' (twice) but not 'end'; `destroy()`/`close()` emit
 *   'end'; pending commands are rejected synchronously right after the first 'error' emit;
 * - commands are written in a `setImmediate`, FIFO, through `queue.commandsToWrite()` — hooked
 *   to learn which commands reached the socket (outcome 'unknown') and which never did ('not-sent');
 * - `connectTimeout` covers TCP/TLS only: the handshake deadline is ours.
 */
import { createClient, ErrorReply, RESP_TYPES } from 'redis';
import { ConnectionError, ConnectTimeoutError, RedpoolError } from '../../errors.js';
import type { BatchCommand, BatchResult, ConnectSpec, Driver, DriverConnection, ReplySink } from '../driver.js';
import { ConnectionEnd, raceConnect, tlsConnectionOptions } from '../common.js';
import { commandError, connectError, isErrorReply } from './errors.js';
import { buffersToStrings, shapeReply, toWire, type WireArg } from './replies.js';

type Client = ReturnType<typeof createClient>;
type Send = (args: readonly WireArg[], options?: { typeMapping?: object }) => Promise<unknown>;

/** ioredis `…Buffer` methods return Buffers for bulk and simple strings; integers stay numbers. */
const BUFFER_OPTS = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.SIMPLE_STRING]: Buffer } };

function socketOptions(spec: ConnectSpec): Record<string, unknown> {
  const common = {
    connectTimeout: spec.connectTimeoutMs,
    reconnectStrategy: false as const,
    noDelay: true,
    keepAlive: spec.keepAliveMs > 0,
    ...(spec.keepAliveMs > 0 ? { keepAliveInitialDelay: spec.keepAliveMs } : {}),
  };
  if (spec.path) return { ...common, path: spec.path, tls: false };
  if (spec.tls) return { ...common, host: spec.host, port: spec.port, tls: true, ...tlsConnectionOptions(spec, spec.tls) };
  return { ...common, host: spec.host, port: spec.port };
}

/** A command's queue position: written iff `seq < written` (see {@link NodeRedisConnection.#written}). */
class NodeRedisConnection implements DriverConnection {
  readonly raw: Client;
  readonly #send: Send;
  readonly #end: ConnectionEnd;
  /** Queue entries handed to node-redis since the connection became ready. */
  #issued = 0;
  /**
   * `#issued` when node-redis last started writing its queue: every entry before it reached the
   * socket. Over-counts only under backpressure (entries left for 'drain'), which errs toward
   * 'unknown', never toward a false 'not-sent'. Infinity when the queue cannot be observed.
   */
  #written = Infinity;

  constructor(client: Client, endpoint: string) {
    this.raw = client;
    this.#end = new ConnectionEnd(endpoint);
    this.#send = client.sendCommand.bind(client) as unknown as Send;
    client.on('end', () => this.#endSoon());
  }

  /**
   * node-redis emits 'end' synchronously inside close()/destroy(), and rejects pending commands
   * synchronously too. Listeners run a macrotask later, like with ioredis: after every rejection
   * handler has run, and never re-entrantly inside the caller's close()/destroy().
   */
  #endSoon(): void {
    if (this.#end.ended || this.#ending) return;
    this.#ending = true;
    setImmediate(() => this.#end.end());
  }

  #ending = false;

  /** Called once connected: hooks the write path and starts watching for the socket's end. */
  ready(): void {
    this.#end.opened();
    const queue = (this.raw as unknown as { _getQueue?: () => { commandsToWrite?: () => unknown } })._getQueue?.();
    const original = queue?.commandsToWrite;
    if (queue && typeof original === 'function') {
      this.#written = 0;
      queue.commandsToWrite = () => {
        this.#written = this.#issued;
        return original.call(queue);
      };
    }
    this.raw.on('error', (err: Error) => {
      this.#end.note(err);
      // Pending commands are rejected right after this emit; tear down after that.
      process.nextTick(() => this.#teardown());
    });
    if (!this.raw.isReady) process.nextTick(() => this.#teardown());
  }

  /** Records a connect-phase error as the cause (the connect promise reports it). */
  noteError(err: Error): void {
    this.#end.note(err);
  }

  #teardown(): void {
    // A parser error leaves the socket open in an unknown state: drop it.
    if (this.raw.isOpen) {
      try {
        this.raw.destroy();
      } catch {
        // already closed
      }
    }
    this.#endSoon();
  }

  command(name: string, args: readonly unknown[], buffer: boolean): Promise<unknown> {
    return new Promise((resolve, reject) => this.send(name, args, buffer, { reply: resolve, error: reject }));
  }

  send(name: string, args: readonly unknown[], buffer: boolean, sink: ReplySink): void {
    let wireArgs: WireArg[];
    try {
      if (this.#end.ended || !this.raw.isReady) throw new ConnectionError(`${name.toUpperCase()}: connection not writable`, 'not-sent');
      wireArgs = toWire(name, args);
    } catch (err) {
      const error = commandError(err, name.toUpperCase(), false);
      queueMicrotask(() => sink.error(error));
      return;
    }
    const seq = this.#issued++;
    this.#send(wireArgs, buffer ? BUFFER_OPTS : undefined).then(
      (reply) => {
        let value: unknown;
        try {
          value = shapeReply(name, reply, isErrorReply);
        } catch (err) {
          sink.error(commandError(err, name.toUpperCase(), true));
          return;
        }
        sink.reply(value);
      },
      (err: unknown) => sink.error(commandError(err, name.toUpperCase(), seq < this.#written)),
    );
  }

  async batch(commands: BatchCommand[], atomic: boolean): Promise<BatchResult | null> {
    if (this.#end.ended || !this.raw.isReady)
      throw new ConnectionError(`${atomic ? 'EXEC' : 'PIPELINE'}: connection not writable`, 'not-sent');
    const names: string[] = [];
    const buffers: boolean[] = [];
    const wires: WireArg[][] = [];
    let anyBuffer = false;
    for (const [raw, ...args] of commands) {
      const buffer = raw.endsWith('Buffer');
      const name = buffer ? raw.slice(0, -6) : raw;
      names.push(name);
      buffers.push(buffer);
      anyBuffer ||= buffer;
      wires.push(toWire(name, args));
    }
    const first = this.#issued;
    // Everything is queued in this turn, so it leaves in one write and nothing interleaves.
    const sends: Array<Promise<unknown>> = [];
    if (atomic) sends.push(this.#send(['multi']));
    for (let i = 0; i < wires.length; i++) sends.push(this.#send(wires[i]!, !atomic && buffers[i] ? BUFFER_OPTS : undefined));
    // One EXEC reply carries every result: read it in Buffer mode if any command wants Buffers.
    if (atomic) sends.push(this.#send(['exec'], anyBuffer ? BUFFER_OPTS : undefined));
    this.#issued += sends.length;
    const settled = await Promise.allSettled(sends);
    const lost = settled.find((s) => s.status === 'rejected' && !(s.reason instanceof ErrorReply)) as PromiseRejectedResult | undefined;
    if (lost) throw commandError(lost.reason, atomic ? 'EXEC' : 'PIPELINE', first < this.#written);
    if (!atomic) {
      return settled.map((s, i): [Error | null, unknown] =>
        s.status === 'fulfilled'
          ? [null, shapeReply(names[i]!, s.value, isErrorReply)]
          : [commandError(s.reason, names[i]!.toUpperCase(), true), null],
      );
    }
    const exec = settled[settled.length - 1]!;
    // EXECABORT (a command was refused while queueing): ioredis rejects the whole transaction.
    if (exec.status === 'rejected') throw commandError(exec.reason, 'EXEC', true);
    const replies = exec.value;
    if (replies === null) return null; // a WATCHed key changed
    if (!Array.isArray(replies)) throw new ConnectionError(`EXEC: unexpected reply`, 'unknown');
    return replies.map((r: unknown, i): [Error | null, unknown] => {
      const name = names[i] ?? '';
      if (r instanceof ErrorReply) return [commandError(r, name.toUpperCase(), true), null];
      return [null, shapeReply(name, anyBuffer && !buffers[i] ? buffersToStrings(r) : r, isErrorReply)];
    });
  }

  onClose(listener: (cause?: Error) => void): void {
    this.#end.onEnd(listener);
  }

  async close(): Promise<void> {
    if (this.#end.ended) return;
    this.#end.closing();
    const ended = this.#end.whenEnded();
    // node-redis close(): refuse new commands, wait for pending replies, then drop the socket.
    // If the socket dies meanwhile its promise never settles, so wait for our own end instead.
    this.raw.close().catch(() => this.destroy());
    await ended;
  }

  destroy(): void {
    this.#end.closing();
    if (this.raw.isOpen) {
      try {
        this.raw.destroy(); // rejects pending commands, emits 'end'
        return;
      } catch {
        // already closed
      }
    }
    this.#endSoon();
  }
}

/**
 * Creates the node-redis v5 driver. Requires the `redis` package (v5).
 *
 * @example
 *   import { createPool } from 'redpool';
 *   import { nodeRedisDriver } from 'redpool/node-redis';
 *   const pool = createPool({ url: 'redis://localhost:6379', driver: nodeRedisDriver() });
 */
export function nodeRedisDriver(): Driver & { readonly rawClient?: Client } {
  return {
    name: 'node-redis',
    async connect(spec: ConnectSpec): Promise<DriverConnection> {
      const client = createClient({
        socket: socketOptions(spec) as never,
        ...(spec.username !== undefined ? { username: spec.username } : {}),
        ...(spec.password !== undefined ? { password: spec.password } : {}),
        database: spec.db,
        name: spec.connectionName,
        disableOfflineQueue: true,
        disableClientInfo: true,
        maintNotifications: 'disabled',
      });
      const conn = new NodeRedisConnection(client, spec.endpoint);
      let lastError: Error | undefined;
      // Until ready() takes over, errors only describe the failed connect.
      const onConnectError = (err: Error): void => {
        lastError ??= err;
        conn.noteError(err);
      };
      client.on('error', onConnectError);
      // node-redis' destroy() is a no-op on a socket still dialling (it would connect later and
      // live on), so a given-up connect is destroyed only once its socket exists.
      let abandoned = false;
      let socketUp = false;
      const drop = (): void => {
        if (client.isOpen) {
          try {
            client.destroy();
          } catch {
            // already closed
          }
        }
      };
      client.on('connect', () => {
        socketUp = true;
        if (abandoned) drop();
      });
      const connecting = client.connect();
      connecting.then(
        () => {
          if (abandoned) drop();
        },
        () => undefined,
      );
      const timeoutError = (): Error => {
        const err = new ConnectTimeoutError(spec.endpoint, spec.connectTimeoutMs);
        err.message += socketUp
          ? ' (the server did not answer the handshake (AUTH/SELECT/SETNAME))'
          : spec.tls
            ? ' (TCP connect or TLS handshake did not complete)'
            : ' (TCP connect did not complete)';
        return err;
      };
      try {
        await raceConnect(spec, connecting, timeoutError);
        client.off('error', onConnectError);
        conn.ready();
        return conn;
      } catch (err) {
        abandoned = true;
        if (socketUp) drop();
        if (err instanceof RedpoolError) throw err;
        throw connectError(spec, lastError && !(err instanceof ErrorReply) ? lastError : err);
      }
    },
  };
}
