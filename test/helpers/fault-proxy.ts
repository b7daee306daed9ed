/**
 * In-process TCP fault proxy (toxiproxy-like) between a client and a loopback Redis.
 *
 * Modes apply to every connection, including ones already open:
 * - `pass()`: forward both ways (reopens the listener on the same port after `refuse()`).
 * - `delay(ms)`: every chunk, both directions, is delivered `ms` later; order is preserved.
 * - `blackhole()`: data in both directions is read and dropped. Connections accepted in this mode
 *   never get an upstream connection and stay open (and dead) until `resetAll()`/`close()`.
 * - `refuse()`: closes the listener (new connects get ECONNREFUSED); open connections keep
 *   passing data. Combine with `resetAll()` for a full outage.
 * - `truncateReplyAfter(n, then)` / `resetAfterBytes(n)`: per connection, forward the first `n`
 *   server→client bytes counted from the moment the mode is set, then `reset` (RST after
 *   {@link RESET_SETTLE_MS}, default), `close` (FIN) or `hang` (drop everything after, keep the
 *   socket open).
 *
 * A client that closes its socket always tears down its upstream connection too (in every mode),
 * so the server does not keep connections the client already gave up on.
 */
import net from 'node:net';

/** Pause between forwarding the last truncated byte and the RST, in ms. */
export const RESET_SETTLE_MS = 25;

/** What happens once a truncating connection has forwarded its `n` bytes. */
export type TruncateAction = 'reset' | 'close' | 'hang';

/** Current proxy mode. */
export type FaultMode =
  | { kind: 'pass' }
  | { kind: 'delay'; ms: number }
  | { kind: 'blackhole' }
  | { kind: 'refuse' }
  | { kind: 'truncate'; bytes: number; then: TruncateAction };

/** Byte and connection counters since {@link FaultProxy.start}. */
export interface FaultProxyStats {
  /** Client connections accepted. */
  accepted: number;
  /** Bytes forwarded client→server. */
  bytesUp: number;
  /** Bytes forwarded server→client. */
  bytesDown: number;
  /** Bytes read and dropped client→server (blackhole, hang). */
  droppedUp: number;
  /** Bytes read and dropped server→client (blackhole, truncate, hang). */
  droppedDown: number;
}

type ItemBody = { data: Buffer; then?: () => void } | { end: true } | { action: () => void };
type Item = ItemBody & { at: number };

/** An ordered, optionally delayed, one-direction byte stream. */
class Lane {
  readonly #dest: net.Socket;
  readonly #count: (n: number) => void;
  #queue: Item[] = [];
  #timer: NodeJS.Timeout | undefined;
  #lastAt = 0;
  constructor(dest: net.Socket, count: (n: number) => void) {
    this.#dest = dest;
    this.#count = count;
  }
  push(item: ItemBody, delayMs: number): void {
    const at = Math.max(Date.now() + delayMs, this.#lastAt);
    this.#lastAt = at;
    this.#queue.push({ ...item, at });
    if (this.#queue.length === 1 && delayMs <= 0) this.#flush();
    else this.#schedule();
  }
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
  }
  #schedule(): void {
    const head = this.#queue[0];
    if (this.#timer || !head) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#flush();
      },
      Math.max(0, head.at - Date.now()),
    );
  }
  #flush(): void {
    const now = Date.now();
    while (this.#queue[0] && this.#queue[0].at <= now) {
      const item = this.#queue.shift()!;
      if ('action' in item) item.action();
      else if (this.#dest.destroyed) continue;
      else if ('end' in item) this.#dest.end();
      else {
        this.#count(item.data.length);
        const then = item.then;
        this.#dest.write(item.data, then ? () => then() : undefined);
      }
    }
    this.#schedule();
  }
}

class Link {
  readonly client: net.Socket;
  upstream: net.Socket | undefined;
  up: Lane | undefined;
  down: Lane;
  /** Server→client bytes forwarded since the current truncate mode was set. */
  downSent = 0;
  /** Truncation happened: drop everything from now on. */
  cut = false;
  /** Accepted in blackhole mode: never connected upstream. */
  dead = false;
  /** Pending delayed reset after a truncation. */
  timer: NodeJS.Timeout | undefined;
  readonly #onDestroy: (link: Link) => void;
  constructor(client: net.Socket, down: Lane, onDestroy: (link: Link) => void) {
    this.client = client;
    this.down = down;
    this.#onDestroy = onDestroy;
  }
  destroy(reset: boolean): void {
    this.#onDestroy(this);
    clearTimeout(this.timer);
    this.up?.clear();
    this.down.clear();
    if (reset && typeof this.client.resetAndDestroy === 'function' && !this.client.destroyed) this.client.resetAndDestroy();
    else this.client.destroy();
    this.upstream?.destroy();
  }
}

/** See the module comment for the modes. Create with {@link FaultProxy.start}. */
export class FaultProxy {
  /** Upstream (usually a RedisProcess) this proxy forwards to. */
  readonly target: { host: string; port: number };
  /** Byte and connection counters. */
  readonly stats: FaultProxyStats = { accepted: 0, bytesUp: 0, bytesDown: 0, droppedUp: 0, droppedDown: 0 };
  #port = 0;
  #mode: FaultMode = { kind: 'pass' };
  #server: net.Server | undefined;
  #retired: net.Server[] = [];
  #links = new Set<Link>();
  #closed: Promise<void> | undefined;

  /**
   * Starts a proxy on a free 127.0.0.1 port forwarding to `target` (host defaults to
   * `'127.0.0.1'`; only loopback targets are accepted). Starts in `pass` mode.
   */
  static async start(target: { host?: string; port: number }): Promise<FaultProxy> {
    const host = target.host ?? '127.0.0.1';
    if (!['127.0.0.1', '::1', 'localhost'].includes(host)) throw new Error(`FaultProxy: target ${host} is not loopback`);
    const proxy = new FaultProxy({ host: target.host ?? '127.0.0.1', port: target.port });
    await proxy.#listen(0);
    return proxy;
  }

  private constructor(target: { host: string; port: number }) {
    this.target = target;
  }

  /** Listening port (stable across `refuse()`/`pass()`). */
  get port(): number {
    return this.#port;
  }
  /** Always `'127.0.0.1'`. */
  get host(): string {
    return '127.0.0.1';
  }
  /** `redis://127.0.0.1:PORT`. */
  get url(): string {
    return `redis://127.0.0.1:${this.#port}`;
  }
  /** Currently open client connections. */
  get connections(): number {
    return this.#links.size;
  }
  /** The current mode. */
  get mode(): FaultMode {
    return this.#mode;
  }

  /** Forward both ways with no delay. Reopens the listener (same port) after {@link refuse}. */
  pass(): Promise<void> {
    return this.#setMode({ kind: 'pass' });
  }
  /** Delay every chunk in both directions by `ms` milliseconds, preserving order. */
  delay(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError('delay(ms): ms must be >= 0');
    return this.#setMode({ kind: 'delay', ms });
  }
  /** Accept and read, forward nothing either way. */
  blackhole(): Promise<void> {
    return this.#setMode({ kind: 'blackhole' });
  }
  /** Close the listener: new connects get ECONNREFUSED. Open connections are left alone. */
  refuse(): Promise<void> {
    return this.#setMode({ kind: 'refuse' });
  }
  /** Forward the first `n` server→client bytes per connection, then `then` (default `'reset'`). */
  truncateReplyAfter(n: number, then: TruncateAction = 'reset'): Promise<void> {
    if (!(n >= 0)) throw new RangeError('truncateReplyAfter(n): n must be >= 0');
    for (const link of this.#links) {
      link.downSent = 0;
      link.cut = false;
    }
    return this.#setMode({ kind: 'truncate', bytes: n, then });
  }
  /** Same as `truncateReplyAfter(n, 'reset')`: a proxy that resets mid-reply. */
  resetAfterBytes(n: number): Promise<void> {
    return this.truncateReplyAfter(n, 'reset');
  }

  /** Destroys every open client connection with a TCP RST (and its upstream). Mode unchanged. */
  resetAll(): void {
    for (const link of [...this.#links]) link.destroy(true);
  }

  /** Stops listening and destroys every socket. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      for (const link of [...this.#links]) link.destroy(false);
      const servers = [...this.#retired, ...(this.#server ? [this.#server] : [])];
      this.#server = undefined;
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
    })();
    return this.#closed;
  }

  async #setMode(mode: FaultMode): Promise<void> {
    if (this.#closed) throw new Error('FaultProxy is closed');
    this.#mode = mode;
    if (mode.kind === 'refuse') {
      if (this.#server) {
        this.#server.close();
        this.#retired.push(this.#server);
        this.#server = undefined;
      }
    } else if (!this.#server) {
      await this.#listen(this.#port);
    }
  }

  async #listen(port: number): Promise<void> {
    const deadline = Date.now() + 3000;
    for (;;) {
      const server = net.createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host: '127.0.0.1', port }, () => {
            server.off('error', reject);
            resolve();
          });
        });
        server.on('error', () => undefined);
        const address = server.address();
        this.#port = typeof address === 'object' && address ? address.port : port;
        this.#server = server;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  #accept(client: net.Socket): void {
    this.stats.accepted++;
    client.setNoDelay(true);
    const down = new Lane(client, (n) => (this.stats.bytesDown += n));
    const link = new Link(client, down, (l) => this.#links.delete(l));
    this.#links.add(link);
    client.on('error', () => undefined);
    client.on('close', () => link.destroy(false));
    if (this.#mode.kind === 'blackhole') link.dead = true;
    else this.#connectUpstream(link);
    client.on('data', (chunk: Buffer) => this.#fromClient(link, chunk));
    client.on('end', () => {
      // A client that hangs up is gone whatever the mode; only the FIN itself is not forwarded.
      if (link.dead || link.cut || this.#mode.kind === 'blackhole') link.destroy(false);
      else link.up?.push({ end: true }, this.#delayMs());
    });
  }

  #connectUpstream(link: Link): void {
    const upstream = net.connect({ host: this.target.host, port: this.target.port, allowHalfOpen: true });
    upstream.setNoDelay(true);
    link.upstream = upstream;
    link.up = new Lane(upstream, (n) => (this.stats.bytesUp += n));
    upstream.on('error', () => undefined);
    upstream.on('close', () => link.client.destroy());
    upstream.on('data', (chunk: Buffer) => this.#fromServer(link, chunk));
    upstream.on('end', () => {
      if (this.#mode.kind !== 'blackhole' && !link.cut) link.down.push({ end: true }, this.#delayMs());
    });
  }

  #delayMs(): number {
    return this.#mode.kind === 'delay' ? this.#mode.ms : 0;
  }

  #fromClient(link: Link, chunk: Buffer): void {
    if (link.dead || link.cut || this.#mode.kind === 'blackhole' || !link.up) {
      this.stats.droppedUp += chunk.length;
      return;
    }
    link.up.push({ data: chunk }, this.#delayMs());
  }

  #fromServer(link: Link, chunk: Buffer): void {
    const mode = this.#mode;
    if (link.cut || mode.kind === 'blackhole') {
      this.stats.droppedDown += chunk.length;
      return;
    }
    if (mode.kind !== 'truncate') {
      link.down.push({ data: chunk }, this.#delayMs());
      return;
    }
    const remaining = mode.bytes - link.downSent;
    if (chunk.length < remaining) {
      link.downSent += chunk.length;
      link.down.push({ data: chunk }, 0);
      return;
    }
    link.cut = true;
    link.downSent = mode.bytes;
    this.stats.droppedDown += chunk.length - remaining;
    const after = (): void => this.#afterTruncate(link, mode.then);
    if (remaining > 0) link.down.push({ data: chunk.subarray(0, remaining), then: after }, 0);
    else link.down.push({ action: after }, 0);
  }

  #afterTruncate(link: Link, then: TruncateAction): void {
    // Data and RST arriving together are reported by libuv as a clean EOF, so give the client a
    // moment to read the forwarded bytes before the RST.
    if (then === 'reset') link.timer = setTimeout(() => link.destroy(true), RESET_SETTLE_MS);
    else if (then === 'close') link.client.end(() => link.destroy(false));
    // 'hang': link.cut already drops everything from now on.
  }
}
