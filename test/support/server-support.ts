/**
 * Support code for {@link RedisProcess}: typed errors, binary lookup, redis.conf quoting, and the
 * module-level registry of live child processes that a `process.on('exit')` hook SIGKILLs.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { RedisServerNotFoundError, resolveBinary } from '../../src/cli/embedded-server.js';

// The product's lookup and error: a missing redis-server reads the same in the CLI and in tests.
export { RedisServerNotFoundError, resolveBinary };

/** Thrown when the server exits or does not answer PING before the start deadline. */
export class RedisStartError extends Error {
  /** Always `'ERR_REDIS_SERVER_START'`. */
  readonly code = 'ERR_REDIS_SERVER_START';
  /** Last lines of the server log and stderr. */
  readonly logTail: string;
  constructor(message: string, logTail: string) {
    super(`${message}\n--- redis-server log tail ---\n${logTail}`);
    this.name = 'RedisStartError';
    this.logTail = logTail;
  }
}

/** Live `redis-server` children started by this module. */
export const live = new Set<ChildProcess>();
/** Temp directories to remove at exit if their owner never stopped. */
export const leftoverDirs = new Set<string>();
let exitHookInstalled = false;

function killAllNow(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of leftoverDirs) rmSync(dir, { recursive: true, force: true });
}

/** Installs (once) the exit hook that SIGKILLs {@link live} and removes {@link leftoverDirs}. */
export function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAllNow);
}

const signalHooks = new Set<NodeJS.Signals>();

/**
 * Opt-in: on each of `signals`, SIGKILL every live server and remove its directory (the
 * `'exit'` hook does not run when Node dies from a signal). If this is the only listener for
 * that signal it then re-raises the signal, so the default behaviour (terminate) is kept; if
 * other listeners exist they decide what happens next. Idempotent per signal.
 *
 * @param signals - Default `['SIGINT', 'SIGTERM', 'SIGHUP']`.
 */
export function cleanupOnSignals(signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']): void {
  for (const signal of signals) {
    if (signalHooks.has(signal)) continue;
    signalHooks.add(signal);
    const handler = (): void => {
      killAllNow();
      if (process.listenerCount(signal) === 1) {
        process.off(signal, handler);
        signalHooks.delete(signal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, handler);
  }
}

/** Quotes a value for a redis.conf line (double quotes, `\xHH` for anything unusual). */
export function confQuote(value: string): string {
  let out = '"';
  for (const byte of Buffer.from(value, 'utf8')) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}

/** Internal: the server exited because its port was taken; carries the error to report. */
export class AddrInUse extends Error {
  readonly startError: RedisStartError;
  constructor(startError: RedisStartError) {
    super(startError.message);
    this.startError = startError;
  }
}

/** Resolves after `ms` milliseconds (real timer). */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
