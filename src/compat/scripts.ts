/**
 * Lua scripts for the views' `defineCommand`: EVALSHA first, EVAL when the server answers
 * NOSCRIPT (a restart or SCRIPT FLUSH), and one cache of loaded hashes per pool, shared by every
 * view of it. The cache forgets everything when a connection is lost to an error (the server
 * may have restarted with an empty script cache); batches use it to load scripts up front.
 */
import { createHash } from 'node:crypto';
import { ConfigError, ReplyError } from '../errors.js';
import type { Pool } from '../pool/pool.js';

/** A script registered with `defineCommand`. */
export interface ScriptDef {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
  /** Fixed key count; undefined: the caller passes it as the first argument. */
  readonly numberOfKeys: number | undefined;
}

/** Hashes known to be loaded on the server since the last lost connection. */
export class ScriptCache {
  readonly loaded = new Set<string>();
  constructor(pool: Pool) {
    pool.on('connection:closed', (p) => {
      if (p.reason === 'error') this.loaded.clear();
    });
  }
}

const caches = new WeakMap<Pool, ScriptCache>();

/** The pool's script cache (one per pool, created on first use). */
export function scriptCache(pool: Pool): ScriptCache {
  let c = caches.get(pool);
  if (!c) {
    c = new ScriptCache(pool);
    caches.set(pool, c);
  }
  return c;
}

/** Validates a `defineCommand` definition (ConfigError names the field). */
export function scriptDef(name: unknown, def: { lua?: unknown; numberOfKeys?: unknown } | undefined): ScriptDef {
  if (typeof name !== 'string' || name === '') throw new ConfigError('defineCommand.name', 'must be a non-empty string');
  if (typeof def?.lua !== 'string') throw new ConfigError('defineCommand.lua', 'must be the script source (a string)');
  const n = def.numberOfKeys;
  if (n !== undefined && n !== null && !(Number.isInteger(n) && (n as number) >= 0))
    throw new ConfigError('defineCommand.numberOfKeys', `must be a non-negative integer, got ${String(n)}`);
  return {
    name,
    lua: def.lua,
    sha: createHash('sha1').update(def.lua).digest('hex'),
    numberOfKeys: n === undefined || n === null ? undefined : (n as number),
  };
}

/** `numkeys key… arg…` for a call of `def` with (coerced) `args`. */
export function scriptArgs(def: ScriptDef, args: readonly unknown[]): unknown[] {
  return def.numberOfKeys === undefined ? [...args] : [def.numberOfKeys, ...args];
}

/** True for a NOSCRIPT error reply. */
export function isNoScript(err: unknown): boolean {
  return err instanceof ReplyError ? err.prefix === 'NOSCRIPT' : /NOSCRIPT/.test(String((err as Error | undefined)?.message));
}

type Exec = (name: string, args: unknown[], buffer: boolean) => Promise<unknown>;

/** Runs a script: EVALSHA, then EVAL on NOSCRIPT (which also loads it). */
export async function runScript(exec: Exec, cache: ScriptCache, def: ScriptDef, args: unknown[], buffer: boolean): Promise<unknown> {
  try {
    const r = await exec('evalsha', [def.sha, ...args], buffer);
    cache.loaded.add(def.sha);
    return r;
  } catch (err) {
    if (!isNoScript(err)) throw err;
    cache.loaded.delete(def.sha);
    const r = await exec('eval', [def.lua, ...args], buffer);
    cache.loaded.add(def.sha);
    return r;
  }
}
