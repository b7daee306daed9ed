/**
 * Groups: a sorted set of member channels per group (score: server time of the last groupAdd).
 * groupSend drops lapsed members, then delivers to every member's list in one script (per slot
 * on a pool that routes by slot), with one
 * message per list: several process-local members of one process share a list and get one
 * message naming them all.
 */
import type { Pool } from '../index.js';
import type { Envelope } from './envelope.js';
import { checkChannel, checkGroup, isProcessLocal, type Keys } from './keys.js';
import type { Deliveries, Delivery } from './deliver.js';
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
  pool: Pool;
  o: ResolvedChannelOptions;
  keys: Keys;
  envelope: Envelope;
  counters: Counters;
  deliveries: Deliveries;
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

async function members(c: GroupContext, group: string): Promise<{ lapsed: string[]; live: string[] }> {
  const r = (await scripts.groupMembers.run(c.pool, [c.keys.group(group)], [c.o.groupExpiryMs])) as [Buffer[], Buffer[]];
  return { lapsed: r[0].map(String), live: r[1].map(String) };
}

export async function groupMembers(c: GroupContext, group: string): Promise<string[]> {
  checkGroup('groupMembers', group);
  const m = await members(c, group);
  c.counters.groupExpired += m.lapsed.length;
  return m.live;
}

export async function groupSend(c: GroupContext, group: string, message: unknown): Promise<GroupSendResult> {
  checkGroup('groupSend', group);
  const m = await members(c, group);
  const result: GroupSendResult = { members: {}, delivered: 0, full: 0, expired: m.lapsed.length };
  for (const ch of m.lapsed) result.members[ch] = 'expired';
  c.counters.groupExpired += m.lapsed.length;
  if (m.live.length === 0) return result;
  const serialized = c.envelope.serialize(message);
  // One list per ordinary member; process-local members grouped by their process's list.
  const byKey = new Map<string, { channels: string[]; capacity: number; local: boolean }>();
  for (const ch of m.live) {
    const key = c.keys.channel(ch);
    c.see(ch);
    const entry = byKey.get(key);
    if (entry) entry.channels.push(ch);
    else byKey.set(key, { channels: [ch], capacity: capacityOf(c.o, ch).capacity, local: isProcessLocal(ch) });
  }
  const shared = c.envelope.seal(serialized);
  const id = c.id();
  const keys = [...byKey.keys()];
  const items: Delivery[] = [];
  for (const [key, e] of byKey) items.push({ key, id, capacity: e.capacity, payload: e.local ? c.envelope.seal(serialized, e.channels) : shared });
  // One script for every member (one per slot when the pool routes by slot): see deliver.ts.
  const stored = await c.deliveries.submit(items);
  keys.forEach((key, i) => {
    const ok = stored[i] === true;
    for (const ch of byKey.get(key)!.channels) {
      result.members[ch] = ok ? 'delivered' : 'full';
      if (ok) result.delivered++;
      else result.full++;
    }
  });
  c.counters.sent += result.delivered;
  c.counters.full += result.full;
  return result;
}
