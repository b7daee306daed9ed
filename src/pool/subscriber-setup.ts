/**
 * Validation and connection setup of `pool.subscriber()`: the options (tracking into CLIENT
 * arguments, durations), the driver capabilities a subscriber needs (pushes; invalidations for
 * tracking), subscription names, and the per-slot grouping of shard channels (a cluster refuses
 * an SSUBSCRIBE whose channels hash to different slots; a single node accepts the groups too).
 */
import type { DriverConnection } from '../driver/driver.js';
import { ArgumentError, ConfigError } from '../errors.js';
import { groupBySlot } from '../topology/cluster/keys.js';
import type { SubscriberTracking } from './subscriber-types.js';

/** The three kinds of subscription, named by their subscribe command. */
export type Kind = 'subscribe' | 'psubscribe' | 'ssubscribe';
/** The unsubscribe command of each kind. */
export const UNSUB: Record<Kind, string> = { subscribe: 'unsubscribe', psubscribe: 'punsubscribe', ssubscribe: 'sunsubscribe' };
/** The kinds in the order they are restored after a reconnect. */
export const KINDS: readonly Kind[] = ['subscribe', 'psubscribe', 'ssubscribe'];

/** Validates the `tracking` option into CLIENT arguments (TRACKING ON BCAST PREFIX …). */
export function trackingArgs(t: SubscriberTracking | undefined): string[] | undefined {
  if (t === undefined) return undefined;
  if (typeof t !== 'object' || t === null) throw new ConfigError('subscriber.tracking', 'must be an object ({ prefixes, bcast })');
  if ((t as { bcast?: unknown }).bcast !== undefined && (t as { bcast?: unknown }).bcast !== true)
    throw new ConfigError(
      'subscriber.tracking.bcast',
      'must be true (a subscriber runs no reads of its own, so only BCAST tracking applies)',
    );
  const prefixes: unknown = t.prefixes;
  if (!Array.isArray(prefixes)) throw new ConfigError('subscriber.tracking.prefixes', 'must be an array of strings (empty: every key)');
  const out = ['TRACKING', 'ON', 'BCAST'];
  prefixes.forEach((p: unknown, i) => {
    if (typeof p !== 'string') throw new ConfigError(`subscriber.tracking.prefixes[${i}]`, `must be a string, got ${typeof p}`);
    out.push('PREFIX', p);
  });
  return out;
}

/** A duration option: a positive number of ms (`Infinity` allowed: off), or the default. */
export function positiveMs(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v > 0) || (Number.isFinite(v) && v > 2 ** 31 - 1))
    throw new ConfigError(name, `must be a positive number of ms (at most 2^31 - 1) or Infinity, got ${String(v)}`);
  return v;
}

/**
 * What a subscriber connection must be able to do: report pushes, and invalidations when
 * `tracking` is on. Returns the refusal (the caller gives the lease back first), or undefined.
 */
export function connectionRefusal(conn: DriverConnection, tracking: boolean): ConfigError | undefined {
  if (typeof conn.onPush !== 'function')
    return new ConfigError('driver', 'this driver cannot carry pub/sub (no onPush): pool.subscriber() needs the ioredis driver');
  if (tracking && conn.invalidations !== true)
    return new ConfigError(
      'subscriber.tracking',
      conn.protocol === 2
        ? 'this connection speaks RESP2 (the server refused HELLO 3), which has no invalidation pushes: tracking needs RESP3 (Redis ≥ 6 with HELLO allowed); REDIRECT to __redis__:invalidate is not supported'
        : 'this driver cannot report invalidation pushes: tracking needs the ioredis driver (RESP3) on a release with the hook point (see docs/ARCHITECTURE.md)',
    );
  return undefined;
}

/** Subscription names as strings (Buffers decoded); ArgumentError names the first bad one. */
export function subscriptionNames(kind: Kind, names: ReadonlyArray<string | Buffer>): string[] {
  const out: string[] = [];
  for (let i = 0; i < names.length; i++) {
    const n = names[i];
    if (typeof n === 'string') out.push(n);
    else if (Buffer.isBuffer(n)) out.push(n.toString());
    else throw new ArgumentError(kind.toUpperCase(), i, 'must be a string or Buffer');
  }
  return out;
}

/**
 * The names to send in one command each: shard channels grouped by slot (first-seen order),
 * channels and patterns all at once.
 */
export function commandGroups(kind: Kind, names: readonly string[]): string[][] {
  if (kind !== 'ssubscribe') return names.length === 0 ? [] : [[...names]];
  return groupBySlot(names);
}
