/**
 * Groups: a sorted set of member channels per group (score: server time of the last groupAdd).
 * groupSend drops lapsed members, then delivers to every member's list in one script (per slot
 * on a pool that routes by slot), with one
 * message per list: several process-local members of one process share a list and get one
 * message naming them all.
 */
import type { CommandPool } from '../index.js';
import type { Envelope } from './envelope.js';
import { checkChannel, checkGroup, isProcessLocal, type Keys } from './keys.js';
import { MAX_BATCH, type Deliveries, type Delivery, type Guard, type Stale } from './deliver.js';
import { capacityOf, type ResolvedChannelOptions } from './options.js';
import { scripts } from './scripts.js';
import type { Counters } from './stats.js';

/** What happened to one member in a group send. */
export type MemberStatus = 'delivered' | 'full' | 'expired';

/** Result of `groupSend`. */
export interface GroupSendResult {
  /** Per member channel. */
  members: Record<string, MemberStatus>;
  delivered: number;
  full: number;
  expired: number;
}

/** What group operations need from their layer. */
export interface GroupContext {
  pool: CommandPool;
  o: ResolvedChannelOptions;
  keys: Keys;
  envelope: Envelope;
  counters: Counters;
  deliveries: Deliveries;
  groups: GroupCache;
  id(): string;
  see(channel: string): void;
}

export async function groupAdd(c: GroupContext, group: string, channel: string): Promise<void> {
  checkGroup('groupAdd', group);
  checkChannel('groupAdd', channel);
  await scripts.groupAdd.run(c.pool, [c.keys.group(group)], [channel, c.o.groupExpiryMs]);
}

export async function groupDiscard(c: GroupContext, group: string, channel: string): Promise<void> {
  checkGroup('groupDiscard', group);
  checkChannel('groupDiscard', channel);
  await c.pool.zrem(c.keys.group(group), channel);
}

/** How a group send reaches one member list. */
interface Target {
  key: string;
  channels: string[];
  capacity: number;
  /** The targets part of the envelope for process-local members; undefined: the shared envelope. */
  header: Buffer | undefined;
}

/** The member lists of a group, computed once per member set. */
interface Plan {
  signature: string;
  targets: Target[];
}

interface Lookup {
  lapsed: string[];
  live: string[];
}

/**
 * Per-layer state of group sends. Member lookups of one turn of the event loop are sent together
 * after it (so every group send of the turn shares one lookup per group, sent after all of them
 * were called: a send that follows an awaited groupAdd sees it), and the member plan — keys,
 * capacities, target headers — is reused while a group's member set does not change.
 */
export class GroupCache {
  readonly #turn = new Map<string, { promise: Promise<Lookup>; resolve(l: Lookup): void; reject(e: unknown): void }>();
  readonly #plans = new Map<string, Plan>();
  /** Member lookups sent (tests). */
  lookups = 0;

  lookup(c: GroupContext, group: string): Promise<Lookup> {
    let entry = this.#turn.get(group);
    if (!entry) {
      if (this.#turn.size === 0) setImmediate(() => this.#flush(c));
      let resolve!: (l: Lookup) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<Lookup>((res, rej) => ((resolve = res), (reject = rej)));
      this.#turn.set(group, (entry = { promise, resolve, reject }));
    }
    return entry.promise;
  }

  #flush(c: GroupContext): void {
    const turn = [...this.#turn];
    this.#turn.clear();
    for (const [group, e] of turn) {
      this.lookups++;
      scripts.groupMembers.run(c.pool, [c.keys.group(group)], [c.o.groupExpiryMs]).then((r) => {
        const [lapsed, live] = r as [Buffer[], Buffer[]];
        const l = { lapsed: lapsed.map(String), live: live.map(String) };
        c.counters.groupExpired += l.lapsed.length;
        e.resolve(l);
      }, e.reject);
    }
  }

  readonly #counted = new WeakSet<object>();

  /** True the first time `stale` is seen (each member check's lapsed members are counted once). */
  firstSeen(stale: object): boolean {
    if (this.#counted.has(stale)) return false;
    this.#counted.add(stale);
    return true;
  }

  /** The last plan of `group` (its members as of the last lookup or guarded delivery). */
  cached(group: string): Plan | undefined {
    return this.#plans.get(group);
  }

  /** The member lists of `live`, from cache while the member set is unchanged. */
  plan(c: GroupContext, group: string, live: readonly string[]): Plan {
    const signature = live.join('\n');
    const cached = this.#plans.get(group);
    if (cached?.signature === signature) return cached;
    // One list per ordinary member; process-local members grouped by their process's list.
    const byKey = new Map<string, Target>();
    for (const ch of live) {
      const key = c.keys.channel(ch);
      c.see(ch);
      const t = byKey.get(key);
      if (t) t.channels.push(ch);
      else byKey.set(key, { key, channels: [ch], capacity: capacityOf(c.o, ch).capacity, header: undefined });
    }
    for (const t of byKey.values()) if (isProcessLocal(t.channels[0]!)) t.header = c.envelope.header(t.channels);
    const plan = { signature, targets: [...byKey.values()] };
    // Bounded: a layer that sends to many groups keeps the most recent plans only.
    if (this.#plans.size >= 1000) this.#plans.delete(this.#plans.keys().next().value!);
    this.#plans.set(group, plan);
    return plan;
  }
}

export async function groupMembers(c: GroupContext, group: string): Promise<string[]> {
  checkGroup('groupMembers', group);
  return (await c.groups.lookup(c, group)).live;
}

export async function groupSend(c: GroupContext, group: string, message: unknown): Promise<GroupSendResult> {
  checkGroup('groupSend', group);
  const serialized = c.envelope.serialize(message);
  // A plan from an earlier send, on one endpoint: deliver at once, guarded by that member set
  // (checked in the delivery script: no lookup round trip). Otherwise, or when the members
  // changed, look them up first (the script's own reading, or a lookup).
  const cached = c.deliveries.bySlot ? undefined : c.groups.cached(group);
  let m: Lookup | undefined;
  if (cached && cached.targets.length <= MAX_BATCH) {
    const guard = { key: c.keys.group(group), members: cached.signature };
    const stored = await c.deliveries.submit(items(c, cached, serialized, guard));
    const stale = stored.find((s): s is Stale => typeof s === 'object');
    if (!stale) return tally(c, cached, stored as boolean[], { members: {}, delivered: 0, full: 0, expired: 0 });
    if (stale.checked) {
      m = { lapsed: stale.lapsed, live: stale.live };
      // Sends of one call with the same plan share one check (one Stale): count its lapsed once.
      if (c.groups.firstSeen(stale)) c.counters.groupExpired += m.lapsed.length;
    }
  }
  m ??= await c.groups.lookup(c, group);
  const result: GroupSendResult = { members: {}, delivered: 0, full: 0, expired: m.lapsed.length };
  for (const ch of m.lapsed) result.members[ch] = 'expired';
  if (m.live.length === 0) return result;
  const plan = c.groups.plan(c, group, m.live);
  // One script for every member (one per slot when the pool routes by slot): see deliver.ts.
  const stored = await c.deliveries.submit(items(c, plan, serialized));
  return tally(c, plan, stored as boolean[], result);
}

/** One delivery per member list of `plan`; process-local lists get their members' header. */
function items(c: GroupContext, plan: Plan, serialized: Buffer, guard?: Guard): Delivery[] {
  const shared = c.envelope.seal(serialized);
  const id = c.id();
  return plan.targets.map((t) => ({
    key: t.key,
    id,
    capacity: t.capacity,
    payload: t.header ? c.envelope.seal(serialized, t.header) : shared,
    ...(guard && { guard }),
  }));
}

/** Adds the per-member outcome of a delivery of `plan` to `result`. */
function tally(c: GroupContext, plan: Plan, stored: boolean[], result: GroupSendResult): GroupSendResult {
  plan.targets.forEach((t, i) => {
    const ok = stored[i] === true;
    for (const ch of t.channels) {
      result.members[ch] = ok ? 'delivered' : 'full';
      if (ok) result.delivered++;
      else result.full++;
    }
  });
  c.counters.sent += result.delivered;
  c.counters.full += result.full;
  return result;
}
