/**
 * `pool.pipeline()` / `pool.multi()`: a recorder with the chainable command surface. Nothing is
 * sent until `exec()`, which writes the whole batch in one go on one connection (so a MULTI
 * batch cannot interleave with other callers' commands on a shared lane).
 */
import type { ChainableCommander } from 'ioredis';
import type { BatchCommand, BatchResult } from '../driver/driver.js';
import { LeaseRequiredError, RedpoolError } from '../errors.js';
import { checkArgs } from './arguments.js';
import { blockTimeMs, refusedOnShared } from './command-table.js';
import { installCommands, kDispatch, kFail } from './surface.js';

/** Runs a finished batch; supplied by the pool (shared lane) or a lease (its connection). */
export type BatchRunner = (commands: BatchCommand[], atomic: boolean) => Promise<BatchResult | null>;

/** A recorded pipeline or transaction; the ioredis chainable types describe its methods. */
export interface Batch extends ChainableCommander {}

/** A recorded pipeline or transaction: chain commands, then `exec()`. */
export class Batch {
  readonly #run: BatchRunner;
  readonly #atomic: boolean;
  readonly #shared: boolean;
  readonly #commands: BatchCommand[] = [];
  #error: RedpoolError | undefined;

  constructor(run: BatchRunner, atomic: boolean, shared: boolean, initial?: unknown[][]) {
    this.#run = run;
    this.#atomic = atomic;
    this.#shared = shared;
    for (const c of initial ?? []) {
      const [name, ...args] = c;
      this[kDispatch](String(name).toLowerCase(), args, false);
    }
  }

  /** Commands recorded so far. */
  get length(): number {
    return this.#commands.length;
  }

  /** @internal */
  [kFail](err: Error): this {
    this.#error ??= err as RedpoolError;
    return this;
  }

  /** @internal */
  [kDispatch](name: string, args: unknown[], buffer: boolean): this {
    if (this.#error) return this;
    try {
      if (this.#shared) {
        const refused = refusedOnShared(name, args);
        if (refused) throw new LeaseRequiredError(refused);
        if (blockTimeMs(name, args) !== undefined) throw new LeaseRequiredError(name.toUpperCase(), 'blocking');
      }
      checkArgs(name, args);
      this.#commands.push([buffer ? `${name}Buffer` : name, ...args]);
    } catch (err) {
      this.#error = err as RedpoolError;
    }
    return this;
  }

  /**
   * Sends the batch. Resolves with `[error, reply]` per command (ioredis shape), or `null` for a
   * transaction aborted by WATCH. Rejects without sending if a command was refused or malformed.
   */
  exec(): Promise<BatchResult | null> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#commands.length === 0) return Promise.resolve([]);
    return this.#run(this.#commands.splice(0), this.#atomic);
  }
}

installCommands(Batch.prototype, new Set(['exec']));
