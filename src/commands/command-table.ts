/**
 * Command classes: which commands block (run on an exclusive lease), which change connection
 * state (refused on shared lanes), and which are safe to retry after they were written
 * (read-only). One table, read by the shared API, the lease and the retry classifier.
 */
import commands from '@ioredis/commands';

/** Every command name ioredis knows, lower case (MONITOR excluded, as ioredis does). */
export const COMMAND_NAMES: readonly string[] = commands.list.filter((c) => c !== 'monitor');

/**
 * The command classes, one table. `stateChanging`: commands that change per-connection state;
 * on the shared API they would leak that state to every other caller of the lane, so they are
 * refused there (use a lease) and are not on the `Pool` type. `poisoning`: after these a lease's
 * connection cannot be reset cheaply, so it is destroyed on release. `blocking`: commands that
 * hold the connection server-side, with where their block time is (`last`/`first` argument in
 * seconds, `lastMs` argument in ms, `blockOption` the ms after `BLOCK`); they run on a lease.
 * Read-only (safe to retry after an unknown outcome) comes from ioredis's command flags
 * (`isReadOnly()`).
 */
export const COMMAND_CLASSES = {
  stateChanging: [
    'select',
    'watch',
    'unwatch',
    'multi',
    'exec',
    'discard',
    'subscribe',
    'psubscribe',
    'ssubscribe',
    'unsubscribe',
    'punsubscribe',
    'sunsubscribe',
    'monitor',
    'auth',
    'hello',
    'reset',
    'quit',
    'readonly',
    'readwrite',
    'asking',
    'swapdb',
  ],
  /** CLIENT subcommands that change connection state (refused on lanes, poison a lease). */
  stateChangingClient: ['reply', 'tracking', 'setname', 'caching', 'no-evict', 'no-touch', 'setinfo'],
  poisoning: ['subscribe', 'psubscribe', 'ssubscribe', 'monitor', 'auth', 'hello', 'reset', 'quit', 'readonly', 'readwrite'],
  blocking: {
    blpop: 'last',
    brpop: 'last',
    brpoplpush: 'last',
    blmove: 'last',
    bzpopmin: 'last',
    bzpopmax: 'last',
    blmpop: 'first',
    bzmpop: 'first',
    xread: 'blockOption',
    xreadgroup: 'blockOption',
    wait: 'lastMs',
    waitaof: 'lastMs',
  },
} as const;

/** A command the shared API refuses (it changes connection state). */
export type StateChangingCommand = (typeof COMMAND_CLASSES.stateChanging)[number];
/** A command that may block the connection server-side. */
export type BlockingCommand = keyof typeof COMMAND_CLASSES.blocking;

/** See {@link COMMAND_CLASSES}`.stateChanging`. */
export const STATE_CHANGING: ReadonlySet<string> = new Set(COMMAND_CLASSES.stateChanging);

/** See {@link COMMAND_CLASSES}`.blocking`. */
export const BLOCKING_COMMANDS: readonly BlockingCommand[] = Object.keys(COMMAND_CLASSES.blocking) as BlockingCommand[];

const STATE_CHANGING_CLIENT: ReadonlySet<string> = new Set(COMMAND_CLASSES.stateChangingClient);

/** Returns the upper-case name of the refused form of a command, or undefined when it is fine on a lane. */
export function refusedOnShared(name: string, args: readonly unknown[]): string | undefined {
  if (STATE_CHANGING.has(name)) return name.toUpperCase();
  if (name === 'client') {
    const sub = String(args[0] ?? '').toLowerCase();
    if (STATE_CHANGING_CLIENT.has(sub)) return `CLIENT ${sub.toUpperCase()}`;
  }
  return undefined;
}

/** See {@link COMMAND_CLASSES}`.poisoning`. */
export const POISONS_CONNECTION: ReadonlySet<string> = new Set(COMMAND_CLASSES.poisoning);
/** See {@link COMMAND_CLASSES}`.stateChangingClient`. */
export const POISONING_CLIENT_SUBCOMMANDS = STATE_CHANGING_CLIENT;

const BLOCK_ARG: ReadonlyMap<string, 'last' | 'first' | 'blockOption' | 'lastMs'> = new Map(Object.entries(COMMAND_CLASSES.blocking));

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
  const where = BLOCK_ARG.get(name);
  if (where === undefined) return undefined;
  const w = words(args);
  switch (where) {
    case 'last': {
      const s = seconds(w[w.length - 1]);
      return s === 0 ? Infinity : s * 1000;
    }
    case 'first': {
      const s = seconds(w[0]);
      return s === 0 ? Infinity : s * 1000;
    }
    case 'lastMs': {
      const ms = seconds(w[w.length - 1]);
      return ms === 0 ? Infinity : ms;
    }
    case 'blockOption':
      for (let i = 0; i < w.length - 1; i++) {
        if (String(w[i]).toLowerCase() === 'block') {
          const ms = seconds(w[i + 1]);
          return ms === 0 ? Infinity : ms;
        }
      }
      return undefined;
  }
}

/** Read-only commands: a retry after an unknown outcome cannot change data. */
export function isReadOnly(name: string): boolean {
  return commands.exists(name) && commands.hasFlag(name, 'readonly') && !commands.hasFlag(name, 'blocking');
}

/**
 * Commands that may run on a replica under `readFrom` (the shared API only): read-only, not
 * blocking, and not a script or function call a replica would refuse to write through. One
 * rule for the Sentinel and the Cluster router.
 */
export function runsOnReplica(name: string): boolean {
  return isReadOnly(name);
}

/** A pipeline (never a transaction) may run on a replica when every command in it may. */
export function batchRunsOnReplica(names: readonly string[]): boolean {
  return names.length > 0 && names.every(runsOnReplica);
}
