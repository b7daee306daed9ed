/**
 * Fencing by generation, for a pool that follows a topology (Sentinel): what happens to each
 * connection of an older generation when the primary moves, and to a connection whose reply
 * proves its node is not the primary. Kept apart from the engine so the engine stays the owner
 * of connection lifetimes and this file only says which lifetime ends how.
 */
import type { RedpoolError } from '../errors.js';
import type { EngineTopology } from './endpoint-source.js';
import { kPinned } from './lease.js';
import { ConnState, type PooledConnection } from './pooled-connection.js';
import type { DestroyReason } from './stats.js';

/** What fencing may do to a connection (implemented by the engine). */
export interface FenceOps {
  /** Graceful: no new work, in-flight work finishes, then QUIT. */
  retire(pc: PooledConnection, reason: DestroyReason): void;
  /** Immediate. */
  destroyConn(pc: PooledConnection, reason: DestroyReason): void;
}

/**
 * Fences every connection older than `generation`: lanes leave routing and drain (in-flight
 * commands keep their own verdict, never re-sent), idle lease connections close, connections
 * being validated or reset are dropped, subscribers' (pinned leases) are dropped
 * so they resubscribe on the new primary. Active leases are left to the lease path: their next
 * command fails `not-sent` and release destroys them. Connecting ones are closed when they
 * connect.
 */
export function fenceOlderThan(
  conns: Iterable<PooledConnection>,
  generation: number,
  leases: Iterable<{ readonly id: number; readonly [kPinned]: boolean }>,
  ops: FenceOps,
): void {
  const pinned = new Set<number>();
  for (const lease of leases) if (lease[kPinned]) pinned.add(lease.id);
  for (const pc of [...conns]) {
    if (pc.generation >= generation) continue;
    switch (pc.state) {
      case ConnState.Lane:
      case ConnState.Probing:
      case ConnState.Idle:
        ops.retire(pc, 'retarget');
        break;
      case ConnState.Validating:
      case ConnState.Resetting:
        ops.destroyConn(pc, 'retarget');
        break;
      case ConnState.Leased:
        if (pinned.has(pc.id)) ops.destroyConn(pc, 'retarget');
        break;
      default:
        break;
    }
  }
}

/**
 * A reply that says `pc`'s node is not a usable primary: `READONLY` (a replica now: the lane
 * leaves routing at once, so a retry cannot come back to it) or `MASTERDOWN`. Told to the
 * topology, which decides whether to rediscover. Nothing happens without a topology: a
 * single-node pool treats these replies exactly as before (retried as "not executed").
 */
export function onNotPrimaryReply(topology: EngineTopology | undefined, pc: PooledConnection, error: RedpoolError, ops: FenceOps): void {
  const hint = topology?.hint;
  if (!hint || error.code !== 'ERR_REPLY') return;
  const prefix = (error as { prefix?: string }).prefix;
  if (prefix === 'READONLY') {
    if (pc.state === ConnState.Lane || pc.state === ConnState.Probing) ops.retire(pc, 'retarget');
    hint('readonly', pc.generation);
  } else if (prefix === 'MASTERDOWN') hint('masterdown', pc.generation);
}

/** The first error reply (`ERR_REPLY`) among a batch's per-command results, if any. */
export function firstReplyError(result: ReadonlyArray<readonly [Error | null, unknown]> | null): RedpoolError | undefined {
  if (!Array.isArray(result)) return undefined;
  for (const [err] of result) if (err && (err as RedpoolError).code === 'ERR_REPLY') return err as RedpoolError;
  return undefined;
}
