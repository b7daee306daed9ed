/**
 * A scriptable in-memory driver for unit tests of code that uses a pool: no sockets. Commands
 * are answered by a handler (default: a tiny key/value store); connects can be made to fail,
 * hang or succeed on demand; connections can be killed to simulate a lost server.
 */
import type { BatchCommand, BatchResult, ConnectSpec, Driver, DriverConnection, PushKind, ReplySink } from '../driver/driver.js';
import { ConnectionError, ReplyError } from '../errors.js';

/** Answers one command. Return a value, a promise, or throw a redpool error. */
export type FakeHandler = (name: string, args: readonly unknown[], conn: FakeConnection) => unknown;

export class FakeConnection implements DriverConnection {
  readonly id: number;
  readonly spec: ConnectSpec;
  readonly raw: unknown = null;
  /** Reports `invalidate` pushes (see {@link push}); copied from the driver's `invalidations`. */
  readonly invalidations: boolean;
  /** Arguments of the last `CLIENT TRACKING` sent (after TRACKING), as strings; undefined until one was. */
  get tracking(): string[] | undefined {
    for (let i = this.log.length - 1; i >= 0; i--) {
      const [name, sub, ...rest] = this.log[i]!;
      if (name === 'client' && String(sub).toLowerCase() === 'tracking') return rest.map(String);
    }
    return undefined;
  }
  readonly #driver: FakeDriver;
  #closed = false;
  #listeners: Array<(cause?: Error) => void> = [];
  #pushListeners: Array<(kind: PushKind, args: readonly Buffer[]) => void> = [];
  #pending = new Set<ReplySink>();
  /** Commands received, in order (name and args). */
  readonly log: Array<[string, ...unknown[]]> = [];

  constructor(id: number, spec: ConnectSpec, driver: FakeDriver) {
    this.id = id;
    this.spec = spec;
    this.#driver = driver;
    this.invalidations = driver.invalidations;
  }

  /** Whether the connection was closed (by `close()`, `destroy()` or a simulated drop). */
  get closed(): boolean {
    return this.#closed;
  }

  command(name: string, args: readonly unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => this.#run(name, args, { reply: resolve, error: reject }));
  }

  /**
   * The callback fast path ({@link DriverConnection.send}), which `command()` wraps; hidden
   * (own property `undefined`) when the driver's `sendPath` is false.
   */
  send(name: string, args: readonly unknown[], _buffer: boolean, sink: ReplySink): void {
    this.#run(name, args, sink);
  }

  #run(name: string, args: readonly unknown[], sink: ReplySink): void {
    if (this.#closed) {
      queueMicrotask(() => sink.error(new ConnectionError(`${name.toUpperCase()}: connection not writable`, 'not-sent')));
      return;
    }
    this.log.push([name, ...args]);
    this.#pending.add(sink);
    Promise.resolve()
      .then(() => this.#driver.handler(name, args, this))
      .then(
        (v) => {
          if (this.#pending.delete(sink)) sink.reply(v);
        },
        (e: unknown) => {
          if (this.#pending.delete(sink)) sink.error(e);
        },
      );
  }

  async batch(commands: BatchCommand[], atomic: boolean): Promise<BatchResult | null> {
    const out: BatchResult = [];
    if (atomic) this.log.push(['multi']);
    for (const [name, ...args] of commands) {
      try {
        out.push([null, await this.command(name.replace(/Buffer$/, ''), args)]);
      } catch (e) {
        if (e instanceof ConnectionError) throw e;
        out.push([e as Error, null]);
      }
    }
    if (atomic) this.log.push(['exec']);
    return out;
  }

  onClose(listener: (cause?: Error) => void): void {
    if (this.#closed) listener();
    else this.#listeners.push(listener);
  }

  onPush(listener: (kind: PushKind, args: readonly Buffer[]) => void): void {
    this.#pushListeners.push(listener);
  }

  /**
   * Delivers a push to this connection's listeners (strings are sent as UTF-8 bytes). For
   * `invalidate` pass the keys; none means "every key", as the real driver reports a null list.
   */
  push(kind: PushKind, ...args: Array<string | Buffer>): void {
    const bytes = args.map((a) => (typeof a === 'string' ? Buffer.from(a) : a));
    for (const l of this.#pushListeners) l(kind, bytes);
  }

  /** Simulates the socket ending: pending commands fail with outcome 'unknown'. */
  kill(cause?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const sink of this.#pending) sink.error(new ConnectionError('connection lost', 'unknown'));
    this.#pending.clear();
    this.#driver.open.delete(this);
    const ls = this.#listeners;
    this.#listeners = [];
    queueMicrotask(() => {
      for (const l of ls) l(cause);
    });
  }

  async close(): Promise<void> {
    this.kill();
  }

  destroy(): void {
    this.kill();
  }
}

/** Controls for the next connects. */
export type ConnectBehaviour = 'ok' | 'fail' | 'hang';

export class FakeDriver implements Driver {
  readonly name = 'fake';
  readonly open = new Set<FakeConnection>();
  readonly all: FakeConnection[] = [];
  #seq = 0;
  /** What connects do; `fail` rejects with a ConnectionError. */
  behaviour: ConnectBehaviour = 'ok';
  /** Connect attempts made. */
  attempts = 0;
  /**
   * Whether new connections offer the `send` fast path (as the real drivers do). Set it to
   * false to drive the pool through `command()` only, as a third-party driver might.
   */
  sendPath = true;
  /** Whether new connections report `invalidate` pushes; false acts as a driver that cannot. */
  invalidations = true;
  /** Resolvers for hanging connects, to release them from a test. */
  readonly hanging: Array<{
    /** Completes the connect. */
    ok: () => void;
    /** Fails the connect with `e`. */
    fail: (e: Error) => void;
  }> = [];
  readonly store = new Map<string, unknown>();
  handler: FakeHandler = (name, args, conn) => {
    switch (name) {
      case 'ping':
        return 'PONG';
      case 'get':
        return this.store.get(String(args[0])) ?? null;
      case 'set':
        this.store.set(String(args[0]), String(args[1]));
        return 'OK';
      case 'del':
        return this.store.delete(String(args[0])) ? 1 : 0;
      case 'incr': {
        const v = Number(this.store.get(String(args[0])) ?? 0) + 1;
        this.store.set(String(args[0]), String(v));
        return v;
      }
      case 'select':
      case 'watch':
      case 'unwatch':
      case 'discard':
      case 'multi':
        return 'OK';
      case 'blpop':
        return new Promise(() => undefined); // blocks until killed
      case 'client':
        if (String(args[0]).toLowerCase() === 'id') return conn.id;
        if (String(args[0]).toLowerCase() === 'tracking') return 'OK';
        throw new ReplyError(`ERR unknown subcommand '${String(args[0])}'`, 'CLIENT');
      case 'subscribe':
      case 'psubscribe':
      case 'ssubscribe':
      case 'unsubscribe':
      case 'punsubscribe':
      case 'sunsubscribe':
        return args.length;
      default:
        throw new ReplyError(`ERR unknown command '${name}'`, name.toUpperCase());
    }
  };

  connect(spec: ConnectSpec): Promise<DriverConnection> {
    this.attempts++;
    const make = (): FakeConnection => {
      const c = new FakeConnection(++this.#seq, spec, this);
      if (!this.sendPath) Object.defineProperty(c, 'send', { value: undefined });
      this.open.add(c);
      this.all.push(c);
      return c;
    };
    switch (this.behaviour) {
      case 'ok':
        return Promise.resolve().then(make);
      case 'fail':
        return Promise.reject(new ConnectionError(`connect to ${spec.endpoint} failed: ECONNREFUSED`, 'not-sent'));
      case 'hang':
        return new Promise((resolve, reject) => {
          const entry = { ok: () => resolve(make()), fail: reject };
          this.hanging.push(entry);
          // An aborted connect (pool closing) is withdrawn: a test can no longer complete it.
          spec.signal?.addEventListener(
            'abort',
            () => {
              const i = this.hanging.indexOf(entry);
              if (i >= 0) this.hanging.splice(i, 1);
              reject(new ConnectionError('connect aborted', 'not-sent'));
            },
            { once: true },
          );
        });
    }
  }

  /** Kills every open connection (server went away). */
  killAll(): void {
    for (const c of [...this.open]) c.kill(new Error('server closed the connection'));
  }
}
