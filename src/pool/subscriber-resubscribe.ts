/**
 * Sending subscriptions on a subscriber's connection: one command per group (shard channels one
 * per slot), and restoring every held subscription on a new connection after a reconnect.
 */
import { ReplyError } from '../errors.js';
import { kDispatch } from '../commands/surface.js';
import type { Lease } from './lease.js';
import { commandGroups, type Kind } from './subscriber-setup.js';

/**
 * SSUBSCRIBEs in flight on a subscriber. ioredis reports a MOVED answer to one with the same
 * 'moved' signal as a server-initiated sunsubscribe; while one is in flight the signal is the
 * caller's rejection to handle, not a drop by the server.
 */
export interface Sending {
  shards: number;
}

/** Sends one subscribe command of `kind` for `names` (one slot's worth for shard channels). */
export async function sendSubscribe(lease: Lease, kind: Kind, names: string[], sending: Sending): Promise<void> {
  if (kind !== 'ssubscribe') {
    await lease[kDispatch](kind, names, false);
    return;
  }
  sending.shards++;
  try {
    await lease[kDispatch](kind, names, false);
  } finally {
    sending.shards--;
  }
}

/**
 * Re-sends the held subscriptions of one kind on a new connection. Names the server refuses
 * (e.g. ACL) are dropped from `held` and reported to `refused`; a lost connection rejects.
 */
export async function restoreSubscriptions(
  lease: Lease,
  kind: Kind,
  held: Set<string>,
  sending: Sending,
  refused: (error: ReplyError, names: string[]) => void,
): Promise<void> {
  for (const names of commandGroups(kind, [...held])) {
    try {
      await sendSubscribe(lease, kind, names, sending);
    } catch (err) {
      if (!(err instanceof ReplyError)) throw err;
      for (const n of names) held.delete(n);
      refused(err, names);
    }
  }
}
