/**
 * Cluster routing input: which arguments of a command are keys (from the command table of
 * `@ioredis/commands`, the same table ioredis routes by), their hash slots (`cluster-key-slot`,
 * hash tags included), and the cross-slot check that refuses a command before anything is sent.
 */
import commands from '@ioredis/commands';
import calculateSlot from 'cluster-key-slot';
import { CrossSlotError } from '../../errors.js';

/** Number of hash slots in Redis Cluster (slots are 0 … 16383). */
export const SLOT_COUNT = 16384;

/** A key as a command argument: what the drivers accept. */
export type KeyArg = string | Buffer | number;

/** Hash slot (0–16383) of one key; `{tag}` hashing as Redis does. Numbers hash as their decimal text. */
export function keySlot(key: KeyArg): number {
  return calculateSlot(typeof key === 'number' ? String(key) : key);
}

/** Keys grouped by hash slot, groups in order of first appearance (e.g. one SSUBSCRIBE per group). */
export function groupBySlot(keys: readonly string[]): string[][] {
  const groups = new Map<number, string[]>();
  for (const k of keys) {
    const slot = keySlot(k);
    const g = groups.get(slot);
    if (g) g.push(k);
    else groups.set(slot, [k]);
  }
  return [...groups.values()];
}

/** Flattens one level the way ioredis does (`mget(['a', 'b'])`), so key positions match what is sent. */
function flatArgs(args: readonly unknown[]): KeyArg[] {
  const flat = args.some(Array.isArray) ? args.flat() : args;
  return flat.map((a) => (typeof a === 'string' || typeof a === 'number' || Buffer.isBuffer(a) ? a : String(a)));
}

/**
 * Zero-based indexes of the key arguments of `name` (any case) called with `args`, or `[]` for a
 * keyless command (PING, INFO, CLUSTER …) and for a command the table does not know (module
 * commands): those are routed to any node, as a keyless command is.
 */
export function keyIndexes(name: string, args: readonly unknown[]): number[] {
  const lower = name.toLowerCase();
  if (!commands.exists(lower)) return [];
  try {
    return commands.getKeyIndexes(lower, flatArgs(args));
  } catch {
    // Malformed arguments (e.g. a non-numeric numkeys): let the server answer with its own error.
    return [];
  }
}

/**
 * Commands whose one key is always their first argument (GET, SET, HSET, INCR, XADD … 171 of
 * them): routed without building the key list. Found by asking the table itself, minus every
 * command it special-cases (keys after a token such as SORT … STORE); if those cannot be read
 * from the table's code the set is empty and every command takes the general path.
 */
const SINGLE_KEY: ReadonlySet<string> = (() => {
  const special = new Set([...commands.getKeyIndexes.toString().matchAll(/case "([a-z_|-]+)":/g)].map((m) => m[1]));
  if (special.size === 0) return new Set<string>();
  const probe = ['k', 'x', 'x', 'x', 'x', 'x', 'x', 'x'];
  return new Set(
    commands.list.filter((name) => {
      if (special.has(name)) return false;
      try {
        return String(commands.getKeyIndexes(name, probe)) === '0' && String(commands.getKeyIndexes(name, ['k'])) === '0';
      } catch {
        return false;
      }
    }),
  );
})();

/**
 * The one slot every key of the command hashes to, or `undefined` when it has no key. Throws
 * {@link CrossSlotError} (`ERR_CROSS_SLOT`, `outcome: 'not-sent'`) when two keys disagree.
 * `name` is lower case, as the command surface passes it (other cases take the general path).
 */
export function commandSlot(name: string, args: readonly unknown[]): number | undefined {
  if (args.length > 0 && SINGLE_KEY.has(name)) {
    const key = args[0];
    if (typeof key === 'string' || Buffer.isBuffer(key)) return calculateSlot(key);
    if (typeof key === 'number') return calculateSlot(String(key));
  }
  const flat = flatArgs(args);
  const indexes = keyIndexes(name, flat);
  let first: { index: number; slot: number } | undefined;
  for (const index of indexes) {
    const key = flat[index];
    if (key === undefined) continue;
    const slot = keySlot(key);
    if (!first) first = { index, slot };
    else if (slot !== first.slot) throw new CrossSlotError(name.toUpperCase(), [first.index, index], [first.slot, slot]);
  }
  return first?.slot;
}

/**
 * {@link commandSlot} of a recorded command (`[name, ...args]`, `name` lower case, maybe with a
 * `Buffer` suffix) without copying its arguments on the fast path (a single-key command). A
 * pipeline routes every command through here.
 */
export function batchCommandSlot(cmd: readonly unknown[]): number | undefined {
  let name = cmd[0] as string;
  if (name.endsWith('Buffer')) name = name.slice(0, -6);
  if (cmd.length > 1 && SINGLE_KEY.has(name)) {
    const key = cmd[1];
    if (typeof key === 'string' || Buffer.isBuffer(key)) return calculateSlot(key);
    if (typeof key === 'number') return calculateSlot(String(key));
  }
  return commandSlot(name, cmd.slice(1));
}

/**
 * The one slot of a set of keys (a lease's `{ key }`, a transaction's keys), or `undefined` for
 * none. Throws {@link CrossSlotError} for keys in different slots; `command` names the caller.
 */
export function keysSlot(command: string, keys: readonly KeyArg[]): number | undefined {
  let first: number | undefined;
  for (let i = 0; i < keys.length; i++) {
    const slot = keySlot(keys[i] as KeyArg);
    if (first === undefined) first = slot;
    else if (slot !== first) throw new CrossSlotError(command, [0, i], [first, slot]);
  }
  return first;
}
