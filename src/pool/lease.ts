/**
 * An exclusive lease: one connection for one caller, with the full typed command surface
 * (WATCH/MULTI, SELECT, blocking commands, SUBSCRIBE …). The lease remembers what it changed
 * so release can put the connection back clean — UNWATCH, DISCARD, SELECT the pool's db — or
 * destroy it when the state cannot be reset (subscriber mode, MONITOR, CLIENT REPLY, AUTH …).
 * After release every method throws {@link LeaseReleasedError}; release is idempotent.
 */
import type { Redis, RedisCommander } from 'ioredis';
import { ConnectionError, LeaseReleasedError, type RedpoolError } from '../errors.js';
import { checkArgs } from '../commands/arguments.js';
import { Batch } from '../commands/batch.js';
import { blockTimeMs, POISONING_CLIENT_SUBCOMMANDS, POISONS_CONNECTION } from '../commands/command-table.js';
import { installCommands, kDispatch, kFail } from '../commands/surface.js';
import type { BatchCommand, BatchResult, DriverConnection } from '../driver/driver.js';
import type { CallOptions, Engine } from './engine.js';
import { ConnState, type PooledConnection } from './pooled-connection.js';
import { guardRaw } from './raw-guard.js';
import type { DestroyReason } from './stats.js';

/** Internal: the lease's driver connection (for `pool.subscriber()`), undefined once released. */
export const kConnection: unique symbol = Symbol('redpool.lease.connection');
/** Internal: a long-lived lease (a subscriber) that leak detection must not report. */
export const kPinned: unique symbol = Symbol('redpool.lease.pinned');

/** Commands on a lease are the full ioredis command set. */
export interface Lease extends Omit<RedisCommander, 'multi' | 'pipeline'> {}

export class Lease {
  readonly #engine: Engine;
  readonly #pc: PooledConnection;
  readonly #acquiredAt: number;
  readonly #call: CallOptions | undefined;
  #released = false;
  #watching = false;
  #inMulti = false;
  #db: number;
  #poisoned: DestroyReason | undefined;
  #rawHandle: Redis | undefined;
  /** Set on leases held on purpose for a long time (subscribers): not reported as leaks. */
  [kPinned] = false;
  /** Stack of the acquire() call, kept only when leak detection is on. */
  readonly acquireStack: string | undefined;

  constructor(engine: Engine, pc: PooledConnection, acquiredAt: number, stack: string | undefined, call?: CallOptions) {
    this.#engine = engine;
    this.#pc = pc;
    this.#acquiredAt = acquiredAt;
    this.#db = engine.o.db;
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
   * The underlying ioredis client, for APIs redpool does not wrap (e.g. `subscribe` listeners).
   * State you change through it is invisible to release(): call `destroy()` afterwards unless
   * you know the connection is clean.
   *
   * The handle is guarded so it cannot escape the pool's budget: `duplicate()` is refused
   * ({@link OutsideBudgetError}), and once the lease is released or its connection has ended,
   * `connect()` is refused and every command fails (LeaseReleasedError / ConnectionError).
   */
  get raw(): Redis {
    this.#check();
    this.#rawHandle ??= guardRaw((this.#pc.conn as DriverConnection).raw as Redis, () => this.#rawUnusable());
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
      case 'watch': this.#watching = true; break;
      case 'unwatch': this.#watching = false; break;
      case 'multi': this.#inMulti = true; break;
      case 'exec': case 'discard': this.#inMulti = false; this.#watching = false; break;
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

  [kFail](err: Error): Promise<never> {
    return Promise.reject(err);
  }

  [kDispatch](name: string, args: unknown[], buffer: boolean): Promise<unknown> {
    try {
      this.#check();
      checkArgs(name, args);
    } catch (err) {
      return Promise.reject(err);
    }
    this.#track(name, args);
    const block = blockTimeMs(name, args);
    const extra = block === undefined ? 0 : Number.isNaN(block) ? 0 : block;
    return this.#engine.leasing.command(this.#pc, name, args, buffer, extra, this.#call);
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
    for (const [n, ...a] of cmds) this.#track(n.replace(/Buffer$/, ''), a);
    if (atomic) this.#watching = false; // EXEC always unwatches
    return this.#engine.leasing.batch(this.#pc, cmds, atomic, this.#call);
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
    else if (this.#db !== this.#engine.o.db) reset.push(['select', this.#engine.o.db]);
    this.#engine.leasing.release(this, this.#pc, reset, this.#poisoned);
  }

  /** Closes the connection instead of returning it (use when its state is unknown). Idempotent. */
  destroy(): void {
    if (this.#released) return;
    this.#released = true;
    this.#engine.leasing.discard(this, this.#pc);
  }

  /** `await using lease = await pool.acquire()` releases at the end of the block (no-op if already released). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#released) this.release();
  }
}

installCommands(Lease.prototype, new Set(['multi', 'pipeline']));
