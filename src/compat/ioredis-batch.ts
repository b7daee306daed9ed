/**
 * `multi()` / `pipeline()` of the ioredis view: an ioredis-style chainable recorder whose
 * `exec()` runs as one pool batch on one lane. Scripts defined with `defineCommand` work inside
 * it: before a MULTI every script it uses is loaded (SCRIPT LOAD); before a pipeline only the
 * scripts the pool's cache does not know, and an entry that still meets NOSCRIPT is re-run with EVAL.
 */
import { installCommands, kDispatch, kFail } from '../commands/surface.js';
import type { BatchResult } from '../driver/driver.js';
import type { Pool } from '../pool/pool.js';
import { coerce, ioredisError, settle, splitCallback, type Callback } from './coerce.js';
import { isNoScript, scriptArgs, type ScriptCache, type ScriptDef } from './scripts.js';

interface Entry {
  name: string;
  args: unknown[];
  buffer: boolean;
  script: ScriptDef | undefined;
}

/** Shared pieces a batch needs from its view. */
export interface BatchContext {
  readonly pool: Pool;
  readonly scripts: ReadonlyMap<string, ScriptDef>;
  readonly cache: ScriptCache;
  /** Key prefixing (identity without a keyPrefix). */
  prefix(name: string, args: unknown[]): unknown[];
  /** Rejects when the view has ended. */
  check(): Error | undefined;
}

/** ioredis-style chainable batch. Every command method records and returns `this`. */
export class IoredisBatch {
  readonly #ctx: BatchContext;
  readonly #atomic: boolean;
  readonly #entries: Entry[] = [];
  #error: Error | undefined;

  /** @internal Made by the view's `multi()` / `pipeline()`. */
  constructor(ctx: BatchContext, atomic: boolean, initial?: unknown[][]) {
    this.#ctx = ctx;
    this.#atomic = atomic;
    for (const def of ctx.scripts.values()) {
      const add =
        (buffer: boolean) =>
        (...args: unknown[]): this =>
          this.#record(def.name, args, buffer, def);
      Object.defineProperty(this, def.name, { value: add(false), configurable: true, writable: true });
      Object.defineProperty(this, `${def.name}Buffer`, { value: add(true), configurable: true, writable: true });
    }
    if (Array.isArray(initial)) for (const [name, ...args] of initial) this[kDispatch](String(name).toLowerCase(), args, false);
  }

  /** Commands recorded so far. */
  get length(): number {
    return this.#entries.length;
  }

  /** @internal Records an argument error, reported by `exec()`. */
  [kFail](err: Error): this {
    this.#error ??= err;
    return this;
  }

  /** @internal Every command method records through here. */
  [kDispatch](name: string, args: unknown[], buffer: boolean): this {
    const def = this.#ctx.scripts.get(name);
    return this.#record(name, args, buffer, def);
  }

  #record(name: string, raw: unknown[], buffer: boolean, script: ScriptDef | undefined): this {
    splitCallback(raw); // ioredis ignores per-command callbacks in a batch until exec; so do we
    const args = coerce(name, raw);
    if (script)
      this.#entries.push({ name: 'evalsha', args: this.#ctx.prefix('evalsha', [script.sha, ...scriptArgs(script, args)]), buffer, script });
    else this.#entries.push({ name, args: this.#ctx.prefix(name, args), buffer, script: undefined });
    return this;
  }

  /** Runs the batch: `[error, reply]` pairs (ioredis's shape), or null when a WATCHed key changed. */
  exec(cb?: Callback): Promise<BatchResult | null> {
    return settle(this.#run(), cb);
  }

  async #run(): Promise<BatchResult | null> {
    const ctx = this.#ctx;
    const ended = ctx.check() ?? this.#error;
    if (ended) throw ended;
    try {
      // A transaction cannot fall back to EVAL inside EXEC, so for MULTI every script is loaded
      // first (SCRIPT LOAD is idempotent); a pipeline trusts the cache and re-runs NOSCRIPT entries.
      const missing = new Map<string, ScriptDef>();
      for (const e of this.#entries)
        if (e.script && (this.#atomic || !ctx.cache.loaded.has(e.script.sha))) missing.set(e.script.sha, e.script);
      for (const def of missing.values()) {
        await ctx.pool.script('LOAD', def.lua);
        ctx.cache.loaded.add(def.sha);
      }
      const batch = this.#atomic ? ctx.pool.multi() : ctx.pool.pipeline();
      for (const e of this.#entries) batch[kDispatch](e.name, e.args, e.buffer);
      const res = await batch.exec();
      if (res && !this.#atomic) {
        for (let i = 0; i < res.length; i++) {
          const e = this.#entries[i]!;
          if (!e.script || !isNoScript(res[i]![0])) continue;
          ctx.cache.loaded.delete(e.script.sha);
          const evalArgs = [e.script.lua, ...e.args.slice(1)];
          try {
            res[i] = [null, await ctx.pool[kDispatch]('eval', evalArgs, e.buffer)];
          } catch (err) {
            res[i] = [err as Error, null];
          }
        }
      }
      return res;
    } catch (err) {
      throw ioredisError(err);
    }
  }
}

installCommands(IoredisBatch.prototype, new Set(['exec']));
