/**
 * An exclusive lease: one connection for one caller, with the full typed command surface
 * (WATCH/MULTI, SELECT, blocking commands, SUBSCRIBE …). The lease remembers what it changed
 * so release can put the connection back clean — UNWATCH, DISCARD, SELECT the pool's db — or
 * destroy it when the state cannot be reset (subscriber mode, MONITOR, CLIENT REPLY, AUTH …).
 * After release every method throws {@link LeaseReleasedError}, and so does a second release()
 * (capacity is never credited twice); destroy() after release is a no-op.
 */
import type { Redis, RedisCommander } from 'ioredis';
import { ConnectionError, LeaseReleasedError, type RedpoolError } from '../errors.js';
import { checkArgs } from '../commands/arguments.js';
import { Batch } from '../commands/batch.js';
import { blockTimeMs, POISONING_CLIENT_SUBCOMMANDS, POISONS_CONNECTION } from '../commands/command-table.js';
import { installCommands, kDispatch, kFail } from '../commands/surface.js';
import type { BatchCommand, BatchResult, DriverConnection } from '../driver/driver.js';
import type { CallOptions } from './core.js';
import { ConnState, type PooledConnection } from './pooled-connection.js';
import { guardRaw } from './raw-guard.js';
import type { DestroyReason } from './stats.js';

/** Internal: the lease's driver connection (for `pool.subscriber()`), undefined once released. */
export const kConnection: unique symbol = Symbol('redpool.lease.connection');
/** Internal: a long-lived lease (a subscriber) that leak detection must not report. */
export const kPinned: unique symbol = Symbol('redpool.lease.pinned');
/**
 * Internal: a check every command (and every command of a batch) passes before it is sent; it
 * throws to refuse (a cluster lease pinned to a slot refuses keys of other slots).
 */
export const kGuard: unique symbol = Symbol('redpool.lease.guard');

/**
 * The raw client type of a driver's connections. A driver declares it with a type-only
 * `rawClient?` property (the node-redis driver: its `RedisClientType`); drivers that do not
 * (the default ioredis driver) give an ioredis `Redis`.
 */
export type RawClientOf<D> = [D] extends [{ readonly rawClient?: infer R }] ? (unknown extends R ? Redis : Exclude<R, undefined>) : Redis;

/** Commands on a lease are the full ioredis command set; `Raw` is the driver's client type ({@link Lease.raw}). */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- merged with the class, which uses Raw
export interface Lease<Raw = Redis> extends Omit<RedisCommander, 'multi' | 'pipeline'> {}

/**
 * What a lease needs from the pool (implemented by `Leasing`): run commands on its connection
 * with deadlines, and take the connection back.
 */
export interface LeaseHost {
  /** The pool's db: release resets a lease that SELECTed another one. */
  readonly db: number;
  command(
    pc: PooledConnection,
    name: string,
    args: readonly unknown[],
    buffer: boolean,
    extraMs: number,
    call?: CallOptions,
    startedAt?: number,
  ): Promise<unknown>;
  batch(pc: PooledConnection, cmds: BatchCommand[], atomic: boolean, call?: CallOptions): Promise<BatchResult | null>;
  release(lease: Lease<unknown>, pc: PooledConnection, reset: BatchCommand[], poisoned: DestroyReason | undefined): void;
  discard(lease: Lease<unknown>, pc: PooledConnection): void;
}

/** Internal: run a command with a deadline that started before the lease was granted. */
export const kRun = Symbol('redpool.run');

/** An exclusive connection: see the module comment. Get one with `pool.acquire()`. */
export class Lease<Raw = Redis> {
  readonly #host: LeaseHost;
  readonly #pc: PooledConnection;
  readonly #acquiredAt: number;
  readonly #call: CallOptions | undefined;
  #released = false;
  #watching = false;
  #inMulti = false;
  #db: number;
  #poisoned: DestroyReason | undefined;
  #rawHandle: Raw | undefined;
  /** Set on leases held on purpose for a long time (subscribers): not reported as leaks. */
  [kPinned] = false;
  /** Internal: a check before every command; a cluster lease pinned to a slot refuses other slots. */
  [kGuard]: ((name: string, args: readonly unknown[]) => void) | undefined = undefined;
  /** Stack of the acquire() call, kept only when leak detection is on. */
  readonly acquireStack: string | undefined;

  /** @internal Leases are made by the pool (`pool.acquire()`). */
  constructor(host: LeaseHost, pc: PooledConnection, acquiredAt: number, stack: string | undefined, call?: CallOptions) {
    this.#host = host;
    this.#pc = pc;
    this.#acquiredAt = acquiredAt;
    this.#db = host.db;
    this.acquireStack = stack;
    this.#call = call;
  }

  /** Connection id (stable for the socket's lifetime; appears in events). */
  get id(): number {
    return this.#pc.id;
  }

  /** True after release() or destroy(). */
  get released(): boolean {
    return this.#released;
  }

  /** When the lease was granted (pool clock, ms). */
  get acquiredAt(): number {
    return this.#acquiredAt;
  }

  /**
   * The underlying client of the driver in use (an ioredis `Redis` under the default driver, a
   * node-redis client under `nodeRedisDriver()`), for APIs redpool does not wrap (e.g.
   * `subscribe` listeners). State you change through it is invisible to release(): call
   * `destroy()` afterwards unless you know the connection is clean.
   *
   * The handle is guarded so it cannot escape the pool's budget: `duplicate()` is refused
   * ({@link OutsideBudgetError}), and once the lease is released or its connection has ended,
   * `connect()` is refused and every command fails (LeaseReleasedError / ConnectionError).
   */
  get raw(): Raw {
    this.#check();
    this.#rawHandle ??= guardRaw((this.#pc.conn as DriverConnection).raw as Raw & object, () => this.#rawUnusable());
    return this.#rawHandle;
  }

  #rawUnusable(): RedpoolError | undefined {
    if (this.#released) return new LeaseReleasedError('lease.raw used after its lease was released');
    if (this.#pc.state === ConnState.Closed || this.#pc.state === ConnState.Closing)
      return new ConnectionError("Connection is closed. (the lease's connection has ended)", 'not-sent');
    return undefined;
  }

  /** Internal: the driver connection while the lease holds it. */
  [kConnection](): DriverConnection | undefined {
    return this.#released ? undefined : this.#pc.conn;
  }

  #check(): void {
    if (this.#released) throw new LeaseReleasedError();
  }

  #track(name: string, args: readonly unknown[]): void {
    switch (name) {
      case 'watch':
        this.#watching = true;
        break;
      case 'unwatch':
        this.#watching = false;
        break;
      case 'multi':
        this.#inMulti = true;
        break;
      case 'exec':
      case 'discard':
        this.#inMulti = false;
        this.#watching = false;
        break;
      case 'select': {
        const db = Number(args[0]);
        this.#db = Number.isInteger(db) ? db : NaN;
        break;
      }
      case 'client':
        if (POISONING_CLIENT_SUBCOMMANDS.has(String(args[0] ?? '').toLowerCase())) this.#poisoned = 'dirty';
        break;
      default:
        if (POISONS_CONNECTION.has(name)) this.#poisoned = 'dirty';
    }
  }

  /** @internal */
  [kFail](err: Error): Promise<never> {
    return Promise.reject(err);
  }

  /** @internal */
  [kDispatch](name: string, args: unknown[], buffer: boolean): Promise<unknown> {
    return this[kRun](name, args, buffer, undefined);
  }

  /** Runs a command; its deadline counts from `startedAt` when given (the pool's call time). */
  [kRun](name: string, args: unknown[], buffer: boolean, startedAt: number | undefined): Promise<unknown> {
    try {
      this.#check();
      checkArgs(name, args);
      this[kGuard]?.(name, args);
    } catch (err) {
      return Promise.reject(err);
    }
    this.#track(name, args);
    const block = blockTimeMs(name, args);
    const extra = block === undefined ? 0 : Number.isNaN(block) ? 0 : block;
    return this.#host.command(this.#pc, name, args, buffer, extra, this.#call, startedAt);
  }

  /** Records a pipeline to run on this connection. */
  pipeline(commands?: unknown[][]): Batch {
    this.#check();
    return new Batch((cmds, atomic) => this.#runBatch(cmds, atomic), false, false, commands);
  }

  /** Records a MULTI/EXEC transaction to run on this connection (honours an earlier WATCH). */
  multi(commands?: unknown[][]): Batch {
    this.#check();
    return new Batch((cmds, atomic) => this.#runBatch(cmds, atomic), true, false, commands);
  }

  #runBatch(cmds: BatchCommand[], atomic: boolean): Promise<BatchResult | null> {
    if (this.#released) return Promise.reject(new LeaseReleasedError());
    const guard = this[kGuard];
    try {
      if (guard) for (const [n, ...a] of cmds) guard(n.replace(/Buffer$/, ''), a);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    for (const [n, ...a] of cmds) this.#track(n.replace(/Buffer$/, ''), a);
    if (atomic) this.#watching = false; // EXEC always unwatches
    return this.#host.batch(this.#pc, cmds, atomic, this.#call);
  }

  /**
   * Returns the connection to the pool (reset first if needed). Calling it twice throws
   * {@link LeaseReleasedError} and never credits capacity twice.
   */
  release(): void {
    this.#check();
    this.#released = true;
    const reset: BatchCommand[] = [];
    if (this.#inMulti) reset.push(['discard']);
    if (this.#watching) reset.push(['unwatch']);
    if (Number.isNaN(this.#db)) this.#poisoned ??= 'dirty';
    else if (this.#db !== this.#host.db) reset.push(['select', this.#host.db]);
    this.#host.release(this, this.#pc, reset, this.#poisoned);
  }

  /** Closes the connection instead of returning it (use when its state is unknown). Idempotent. */
  destroy(): void {
    if (this.#released) return;
    this.#released = true;
    this.#host.discard(this, this.#pc);
  }

  /** `await using lease = await pool.acquire()` releases at the end of the block (no-op if already released). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#released) this.release();
  }
}

installCommands(Lease.prototype, new Set(['multi', 'pipeline']));
