/**
 * Command classes: which commands block (run on an exclusive lease), which change connection
 * state (refused on shared lanes), and which are safe to retry after they were written
 * (read-only). One table, read by the shared API, the lease and the retry classifier.
 */
import commands from '@ioredis/commands';

/** Every command name ioredis knows, lower case (MONITOR excluded, as ioredis does). */
export const COMMAND_NAMES: readonly string[] = commands.list.filter((c) => c !== 'monitor');

/**
 * Commands that change per-connection state. On the shared API they would leak that state to
 * every other caller of the lane, so they are refused there (use a lease).
 */
export const STATE_CHANGING = new Set([
  'select', 'watch', 'unwatch', 'multi', 'exec', 'discard', 'subscribe', 'psubscribe', 'ssubscribe',
  'unsubscribe', 'punsubscribe', 'sunsubscribe', 'monitor', 'auth', 'hello', 'reset', 'quit',
  'readonly', 'readwrite', 'asking', 'swapdb',
]);

/** CLIENT subcommands that change connection state. */
const STATE_CHANGING_CLIENT = new Set(['reply', 'tracking', 'setname', 'caching', 'no-evict', 'no-touch', 'setinfo']);

/** Returns the upper-case name of the refused form of a command, or undefined when it is fine on a lane. */
export function refusedOnShared(name: string, args: readonly unknown[]): string | undefined {
  if (STATE_CHANGING.has(name)) return name.toUpperCase();
  if (name === 'client') {
    const sub = String(args[0] ?? '').toLowerCase();
    if (STATE_CHANGING_CLIENT.has(sub)) return `CLIENT ${sub.toUpperCase()}`;
  }
  return undefined;
}

/**
 * Commands after which a lease's connection cannot be reset cheaply; such a lease is destroyed
 * on release instead of returned.
 */
export const POISONS_CONNECTION = new Set([
  'subscribe', 'psubscribe', 'ssubscribe', 'monitor', 'auth', 'hello', 'reset', 'quit', 'readonly', 'readwrite',
]);
export const POISONING_CLIENT_SUBCOMMANDS = STATE_CHANGING_CLIENT;

const LAST_ARG_SECONDS = new Set(['blpop', 'brpop', 'brpoplpush', 'blmove', 'bzpopmin', 'bzpopmax']);
const FIRST_ARG_SECONDS = new Set(['blmpop', 'bzmpop']);

/** Flattens one level the way ioredis does, so option scans see the real words. */
function words(args: readonly unknown[]): unknown[] {
  return args.some(Array.isArray) ? args.flat() : (args as unknown[]);
}

function seconds(v: unknown): number {
  const n = Number(typeof v === 'string' || typeof v === 'number' ? v : NaN);
  return Number.isFinite(n) && n >= 0 ? n : NaN;
}

/**
 * For a blocking command, its server-side block time in milliseconds (`Infinity` for "block
 * forever", `NaN` if unreadable); `undefined` if the command does not block with these args.
 */
export function blockTimeMs(name: string, args: readonly unknown[]): number | undefined {
  if (LAST_ARG_SECONDS.has(name)) {
    const w = words(args);
    const s = seconds(w[w.length - 1]);
    return s === 0 ? Infinity : s * 1000;
  }
  if (FIRST_ARG_SECONDS.has(name)) {
    const s = seconds(words(args)[0]);
    return s === 0 ? Infinity : s * 1000;
  }
  if (name === 'xread' || name === 'xreadgroup') {
    const w = words(args);
    for (let i = 0; i < w.length - 1; i++) {
      if (String(w[i]).toLowerCase() === 'block') {
        const ms = seconds(w[i + 1]);
        return ms === 0 ? Infinity : ms;
      }
    }
    return undefined;
  }
  if (name === 'wait' || name === 'waitaof') {
    const w = words(args);
    const ms = seconds(w[w.length - 1]);
    return ms === 0 ? Infinity : ms;
  }
  return undefined;
}

/** Read-only commands: a retry after an unknown outcome cannot change data. */
export function isReadOnly(name: string): boolean {
  return commands.exists(name) && commands.hasFlag(name, 'readonly') && !commands.hasFlag(name, 'blocking');
}
