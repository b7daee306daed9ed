/**
 * Reads on replicas (`readFrom: 'replica' | 'preferReplica'`): where a read-only command of the
 * shared API, or a pipeline part made only of such commands, goes, and what happens when the
 * replica fails it. All inside the caller's one deadline:
 *
 * - It goes to one replica of its slot's shard (a keyless one: any replica), round robin.
 * - A `MOVED`/`ASK` from the replica (the slot moved, or the replica lost `READONLY`) is
 *   followed as on the primary path (map patched, `maxRedirections`).
 * - The replica did not take it (pool unavailable, connect failed, drained) or lost the
 *   connection after the write: read-only, so running it again is safe. It goes to another
 *   replica of the shard, then (`'preferReplica'`) to the primary. The failed replica is left
 *   out of routing for a while (`replicas.ts`) and asked about in the next topology refresh.
 * - While another node could answer (another replica, or the primary for `'preferReplica'`), an
 *   attempt gets half of the time left (`replicaAttemptMs`, the rule the Sentinel router uses
 *   too): a frozen replica costs a read half its deadline, then the read runs elsewhere (a read
 *   may so run twice, which changes no data). The replica is left out of routing for the next
 *   reads. The last chance gets all the time left; its timeout ends the read (`'replica'`:
 *   `ERR_NO_REPLICA` with the timeout as its cause).
 * - No usable replica: `'preferReplica'` reads from the primary; `'replica'` fails with
 *   `NoReplicaError` (`ERR_NO_REPLICA`, `not-sent`) at once when the map lists none, without
 *   waiting for the deadline.
 */
import type { BatchCommand, BatchResult } from '../driver/driver.js';
import { NoReplicaError, type RedpoolError } from '../errors.js';
import type { ReadFrom } from '../options.js';
import { kCall } from '../pool/api.js';
import type { CallOptions } from '../pool/core.js';
import { replicaAttemptMs, replicaReadMovable } from '../resilience/classify.js';
import { parseRedirect } from '../topology/cluster/redirect.js';
import type { ClusterNodes, NodeEntry } from './nodes.js';

/** Failures that prove the node did not take the command, so it may go elsewhere. */
export const NOT_TAKEN: ReadonlySet<string> = new Set([
  'ERR_UNAVAILABLE',
  'ERR_POOL_CLOSED',
  'ERR_CONNECTION',
  'ERR_CONNECT_TIMEOUT',
  'ERR_ACQUIRE_TIMEOUT',
]);

/** One routed call. */
export interface RouteRequest {
  readonly name: string;
  readonly args: unknown[];
  readonly buffer: boolean;
  readonly call: CallOptions | undefined;
  /** Slot of its keys; `undefined`: keyless (any primary). */
  readonly slot: number | undefined;
  /** When the caller's deadline started (pool clock). */
  readonly started: number;
}

/** What the replica path needs of the router (`router.ts`), which imports this module. */
export interface ReadRouter {
  /** Whether the pool is open (no new attempt otherwise). */
  readonly open: boolean;
  /** The pool's `commandTimeoutMs` (a call's `timeoutMs` overrides it). */
  readonly commandTimeoutMs: number;
  readonly counters: { replicaReads: number; replicaFallbacks: number };
  /** The primary path (`'preferReplica'` fallback). */
  primary(req: RouteRequest): Promise<unknown>;
  /** Follows a redirect `err` answered by `entry`. */
  continue(req: RouteRequest, err: unknown, entry: NodeEntry): Promise<unknown>;
  /** The error of a call whose deadline passed before it could be sent. */
  expired(req: RouteRequest, timeoutMs: number, cause: unknown): Error;
}

function noReplica(nodes: ClusterNodes, name: string, slot: number | undefined, tried: number, cause: unknown): NoReplicaError {
  const where = slot === undefined ? 'the cluster' : `slot ${slot}`;
  const known = nodes.replicas.known(slot);
  const detail =
    known === 0
      ? `${where} has no online replica in the cluster map`
      : tried > 0
        ? `every usable replica of ${where} failed it (${tried} tried)`
        : `the ${known} replica(s) of ${where} are failing (left out of routing for a few seconds)`;
  return new NoReplicaError(name.toUpperCase(), detail, cause === undefined ? undefined : { cause });
}

/** A replica read failed on `entry` this way: leave it out of routing and tell the refresher. */
function failed(nodes: ClusterNodes, entry: NodeEntry, err: unknown): void {
  const code = (err as RedpoolError | undefined)?.code;
  if (!replicaReadMovable(err)) return;
  nodes.replicas.penalize(entry);
  nodes.suspect(entry, code === 'ERR_COMMAND_TIMEOUT' ? 'timeout' : 'connection-error');
}

/**
 * One read-only command on a replica; see the module comment. The first attempt is the primary
 * path's shape (one pick, the node pool's own call, no extra async frame); only a failure or a
 * missing replica enters the loop.
 */
export function replicaRead(nodes: ClusterNodes, router: ReadRouter, req: RouteRequest, mode: ReadFrom): Promise<unknown> {
  const replicas = nodes.replicas;
  const replica = replicas.enabled && nodes.map ? replicas.pick(req.slot) : undefined;
  if (!replica) return replicaLoop(nodes, router, req, mode, undefined, undefined);
  router.counters.replicaReads++;
  const remaining = req.started + (req.call?.timeoutMs ?? router.commandTimeoutMs) - nodes.clock.now();
  const attempt = { ...req.call, timeoutMs: replicaAttemptMs(remaining, mode === 'preferReplica' || replicas.known(req.slot) > 1) };
  return replica.pool[kCall](req.name, req.args, req.buffer, attempt).catch((err: unknown) =>
    replicaLoop(nodes, router, req, mode, replica, err),
  );
}

/** The replica path after `first` failed on `from` (or with no replica picked yet). */
async function replicaLoop(
  nodes: ClusterNodes,
  router: ReadRouter,
  req: RouteRequest,
  mode: ReadFrom,
  from: NodeEntry | undefined,
  first: unknown,
): Promise<unknown> {
  nodes.replicas.enable();
  const clock = nodes.clock;
  const timeoutMs = req.call?.timeoutMs ?? router.commandTimeoutMs;
  const deadline = req.started + timeoutMs;
  let tried: NodeEntry[] | undefined;
  let last: unknown;
  if (from) {
    const e = first as RedpoolError;
    if (e?.code === 'ERR_REPLY' && parseRedirect(e.message)) return router.continue(req, first, from);
    failed(nodes, from, first);
    if (!replicaReadMovable(first)) throw first;
    tried = [from];
    last = first;
  }
  // No map yet: wait for the first one (within the deadline) before deciding there is no replica.
  if (!nodes.map) {
    await nodes.wait(req.slot, deadline);
    if (!nodes.map) throw router.expired(req, timeoutMs, last);
  }
  for (;;) {
    const replica = nodes.replicas.pick(req.slot, tried);
    if (!replica) {
      if (mode === 'preferReplica' && router.open) {
        // The primary gets what is left of the caller's deadline (an attempt may have used half).
        const now = clock.now();
        if (deadline - now <= 0) throw router.expired(req, timeoutMs, last);
        router.counters.replicaFallbacks++;
        return router.primary({ ...req, started: now, call: { ...req.call, timeoutMs: deadline - now } });
      }
      throw noReplica(nodes, req.name, req.slot, tried?.length ?? 0, last);
    }
    const remaining = deadline - clock.now();
    if (remaining <= 0 || !router.open) throw router.expired(req, timeoutMs, last);
    router.counters.replicaReads++;
    const fallback = mode === 'preferReplica' || nodes.replicas.known(req.slot) - (tried?.length ?? 0) > 1;
    try {
      return await replica.pool[kCall](req.name, req.args, req.buffer, { ...req.call, timeoutMs: replicaAttemptMs(remaining, fallback) });
    } catch (err) {
      const e = err as RedpoolError;
      if (e?.code === 'ERR_REPLY' && parseRedirect(e.message)) return router.continue(req, err, replica);
      failed(nodes, replica, err);
      if (!replicaReadMovable(err)) throw err;
      (tried ??= []).push(replica);
      last = err;
    }
  }
}

/** Where a pipeline part ran and what it answered. */
export interface PartOutcome {
  readonly entry: NodeEntry;
  readonly results: BatchResult;
}

/**
 * A pipeline part whose commands all may run on a replica (`batchRunsOnReplica`): on a replica
 * of `slot`'s shard; when the whole part fails in a way that proves it can run elsewhere
 * (`replicaReadMovable` for every command), on the next replica, then (`'preferReplica'`) on
 * `primary` through `send`. With `'replica'` and none left, each command gets `NoReplicaError`.
 * Commands answered `MOVED`/`ASK` come back as they are: the caller follows them from `entry`.
 */
export async function replicaPart(
  nodes: ClusterNodes,
  router: ReadRouter,
  mode: ReadFrom,
  slot: number | undefined,
  primary: NodeEntry,
  cmds: BatchCommand[],
  send: (entry: NodeEntry, cmds: BatchCommand[]) => Promise<BatchResult>,
  deadline: number,
): Promise<PartOutcome> {
  nodes.replicas.enable();
  let tried: NodeEntry[] | undefined;
  let last: unknown;
  for (;;) {
    const replica = nodes.replicas.pick(slot, tried);
    if (!replica) break;
    if (deadline - nodes.clock.now() <= 0) break;
    router.counters.replicaReads++;
    const results = await send(replica, cmds);
    const err = results[0]?.[0];
    if (!(err && results.every(([e]) => e !== null && replicaReadMovable(e)))) {
      for (const [e] of results) if (e) failed(nodes, replica, e);
      return { entry: replica, results };
    }
    failed(nodes, replica, err);
    (tried ??= []).push(replica);
    last = err;
  }
  if (mode === 'preferReplica') {
    router.counters.replicaFallbacks++;
    return { entry: primary, results: await send(primary, cmds) };
  }
  const name = String(cmds[0]?.[0] ?? 'pipeline');
  const error = noReplica(nodes, name.endsWith('Buffer') ? name.slice(0, -6) : name, slot, tried?.length ?? 0, last);
  return { entry: primary, results: cmds.map(() => [error, undefined]) };
}
