/**
 * Routing of one command in a cluster, and what happens after a reply that proves it did not
 * run. The fast path is one slot computation, one table lookup and the node pool's own shared
 * path. Only failures enter the retry loop, which keeps the caller's one deadline:
 *
 * - `MOVED`: the map is patched at once, a refresh is requested, the command goes to the target.
 * - `ASK`: `ASKING` and the command go to the target in one write on one lane (a two-command
 *   batch), so nothing can come between them; a blocking command, which cannot share a lane,
 *   sends both on a lease of its own. The map is not changed.
 * - A node that could not take the command (`not-sent`: unavailable, connection refused, pool
 *   drained because the node left the map): a refresh is awaited (within the deadline) and the
 *   command goes wherever the map now says — it never ran, so this is no resend.
 * - `TRYAGAIN`/`CLUSTERDOWN`/`LOADING`: retried with backoff on the same node by the node pool,
 *   until the deadline (they did not run); reaching here means the deadline is spent.
 * - A timeout, or a connection lost after the write (`unknown`): a refresh *hint*, and the
 *   error goes to the caller. A write that may have run is never sent again, to any node.
 *
 * `MOVED`/`ASK` count against `maxRedirections`; everything counts against the deadline.
 *
 * A read-only command whose effective `readFrom` (the call's, else the pool's) is not
 * `'primary'` takes the replica path of `read-route.ts` instead; with `'primary'` the fast path
 * costs one comparison more.
 */
import { blockTimeMs, runsOnReplica } from '../commands/command-table.js';
import type { BatchCommand } from '../driver/driver.js';
import { CommandTimeoutError, RedpoolError, UnavailableError, type PoolSnapshot } from '../errors.js';
import type { ReadFrom, ResolvedOptions } from '../options.js';
import { kBatch, kCall } from '../pool/api.js';
import { kRun } from '../pool/lease.js';
import type { CallOptions } from '../pool/core.js';
import { commandSlot } from '../topology/cluster/keys.js';
import { parseRedirect } from '../topology/cluster/redirect.js';
import type { ClusterNodes, NodeEntry } from './nodes.js';
import { NOT_TAKEN, replicaRead, type ReadRouter, type RouteRequest } from './read-route.js';

export type { RouteRequest } from './read-route.js';

/** Counters of the router (in `stats().cluster`). */
export interface RouteCounters {
  /** `MOVED` replies followed. */
  moved: number;
  /** `ASK` replies followed. */
  ask: number;
  /** Commands re-routed after a node could not take them (they were never sent). */
  rerouted: number;
  /** Commands that failed because `maxRedirections` was reached. */
  redirectLimit: number;
  /** Commands (and pipeline parts) sent to a replica under `readFrom`. */
  replicaReads: number;
  /** `'preferReplica'` reads (and pipeline parts) that went to the primary: no usable replica, or its attempt failed. */
  replicaFallbacks: number;
}

const EMPTY: PoolSnapshot = { total: 0, idle: 0, busy: 0, lanes: 0, leased: 0, connecting: 0, pending: 0 };

/** See the module comment. */
export class Router implements ReadRouter {
  readonly #nodes: ClusterNodes;
  readonly #o: ResolvedOptions;
  readonly #maxRedirections: number;
  readonly #open: () => boolean;
  readonly #readFrom: ReadFrom;
  /** The pool's `commandTimeoutMs`. */
  readonly commandTimeoutMs: number;
  readonly counters: RouteCounters = { moved: 0, ask: 0, rerouted: 0, redirectLimit: 0, replicaReads: 0, replicaFallbacks: 0 };

  constructor(nodes: ClusterNodes, o: ResolvedOptions, open: () => boolean) {
    this.#nodes = nodes;
    this.#o = o;
    this.#maxRedirections = o.cluster?.maxRedirections ?? 5;
    this.#open = open;
    this.#readFrom = o.readFrom;
    this.commandTimeoutMs = o.commandTimeoutMs;
  }

  /** Whether the pool is still open (new attempts are made only then). */
  get open(): boolean {
    return this.#open();
  }

  /** Routes one command (shared API). Cross-slot keys reject before anything is sent. */
  command(name: string, args: unknown[], buffer: boolean, call: CallOptions | undefined): Promise<unknown> {
    let slot: number | undefined;
    try {
      slot = commandSlot(name, args);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const req: RouteRequest = { name, args, buffer, call, slot, started: this.#nodes.clock.now() };
    const readFrom = call?.readFrom ?? this.#readFrom;
    if (readFrom !== 'primary' && runsOnReplica(name)) return replicaRead(this.#nodes, this, req, readFrom);
    return this.primary(req);
  }

  /** Routes `req` to its slot's primary (keyless: any primary), then the retry loop on failure. */
  primary(req: RouteRequest): Promise<unknown> {
    const nodes = this.#nodes;
    const entry = req.slot === undefined ? nodes.any() : nodes.forSlot(req.slot);
    if (!entry) return this.#loop(req, undefined, undefined);
    return entry.pool[kCall](req.name, req.args, req.buffer, req.call).catch((err: unknown) => this.#loop(req, err, entry));
  }

  /** Whether `err` (from `entry`) is one the retry loop can act on: a redirect or a node that did not take the command. */
  retryable(err: unknown): boolean {
    const e = err as RedpoolError & { outcome?: string };
    if (e?.code === 'ERR_REPLY') return parseRedirect(e.message) !== undefined;
    return NOT_TAKEN.has(e?.code) && e.outcome === 'not-sent' && this.#open();
  }

  /**
   * A pipeline command's final error from `entry` (not retryable): the same refresh hints as a
   * routed command's (a deadline or a broken connection suspects the node).
   */
  observe(err: unknown, entry: NodeEntry | undefined): void {
    const e = err as RedpoolError & { prefix?: string };
    if (entry && e?.code === 'ERR_COMMAND_TIMEOUT') this.#nodes.suspect(entry, 'timeout');
    else if (entry && e?.code === 'ERR_CONNECTION') this.#nodes.suspect(entry, 'connection-error');
    else if (e?.prefix === 'CLUSTERDOWN') this.#nodes.refresher.hint('clusterdown');
  }

  /**
   * Continues a call after `err` from `entry` (or, with no error, routes it once a node is
   * known). Used by pipelines for their redirected commands too.
   */
  async continue(req: RouteRequest, err: unknown, entry: NodeEntry | undefined): Promise<unknown> {
    return this.#loop(req, err, entry);
  }

  async #loop(req: RouteRequest, first: unknown, firstEntry: NodeEntry | undefined): Promise<unknown> {
    const nodes = this.#nodes;
    const clock = nodes.clock;
    const timeoutMs = req.call?.timeoutMs ?? this.#o.commandTimeoutMs;
    const deadline = req.started + timeoutMs;
    let err = first;
    let entry = firstEntry;
    let redirects = 0;
    for (;;) {
      let target: NodeEntry | undefined;
      let asking = false;
      if (entry !== undefined) {
        const e = err as RedpoolError & { outcome?: string; prefix?: string };
        const r = e?.code === 'ERR_REPLY' ? parseRedirect(e.message) : undefined;
        if (r) {
          if (redirects >= this.#maxRedirections) {
            this.counters.redirectLimit++;
            throw err;
          }
          redirects++;
          this.counters[r.kind]++;
          target = nodes.redirected(r, entry);
          asking = r.kind === 'ask';
        } else if (this.retryable(err)) {
          this.counters.rerouted++;
          nodes.refresher.hint('connection-error');
        } else {
          if (e?.code === 'ERR_COMMAND_TIMEOUT') nodes.suspect(entry, 'timeout');
          else if (e?.code === 'ERR_CONNECTION') nodes.suspect(entry, 'connection-error');
          else if (e?.prefix === 'CLUSTERDOWN') nodes.refresher.hint('clusterdown');
          throw err;
        }
      }
      if (!this.#open()) throw err;
      if (!target) {
        // Rerouting: let a refresh (rate-limited, single flight) say where the slot is now.
        if (entry !== undefined) await nodes.refreshed('connection-error', deadline);
        target = await nodes.wait(req.slot, deadline);
      }
      const remaining = deadline - clock.now();
      if (!target || remaining <= 0) throw this.expired(req, timeoutMs, err);
      const call: CallOptions = { ...req.call, timeoutMs: remaining };
      entry = target;
      try {
        if (!asking) return await target.pool[kCall](req.name, req.args, req.buffer, call);
        // A blocking command cannot share a lane: ASKING and it go on a lease of their own.
        return blockTimeMs(req.name, req.args) === undefined
          ? await this.#asking(target, req, call)
          : await this.#askingLeased(target, req, call);
      } catch (next) {
        err = next;
      }
    }
  }

  /** `ASKING` + the command in one write on one lane of the importing node. */
  async #asking(target: NodeEntry, req: RouteRequest, call: CallOptions): Promise<unknown> {
    const cmd: BatchCommand = [req.buffer ? `${req.name}Buffer` : req.name, ...req.args];
    const res = await target.pool[kBatch]([['asking'], cmd], false, call);
    const [error, value] = res?.[1] ?? [new RedpoolError('ERR_CONNECTION', 'ASKING: no reply'), undefined];
    if (error) throw error;
    return value;
  }

  /**
   * `ASKING`, then the blocking command, on one exclusive connection of the importing node:
   * nothing can come between them. The lease wait spends the caller's deadline; the command's
   * own deadline counts from the call (the node pool's `commandTimeoutMs` plus its block time).
   */
  async #askingLeased(target: NodeEntry, req: RouteRequest, call: CallOptions): Promise<unknown> {
    const lease = await target.pool.acquire({ timeoutMs: Math.min(this.#o.acquireTimeoutMs, call.timeoutMs ?? this.#o.commandTimeoutMs) });
    try {
      await lease[kRun]('asking', [], false, undefined);
      return await lease[kRun](req.name, req.args, req.buffer, req.started);
    } finally {
      if (!lease.released) lease.release();
    }
  }

  /** The deadline passed (or no node serves the slot) while the command was never sent. */
  expired(req: RouteRequest, timeoutMs: number, cause: unknown): RedpoolError {
    const what = req.slot === undefined ? 'any slot' : `slot ${req.slot}`;
    if (!this.#nodes.map && cause === undefined)
      return new UnavailableError(`cluster topology unknown: no seed node answered CLUSTER SHARDS (${what})`, {
        cause: this.#nodes.lastRefreshError,
      });
    return new CommandTimeoutError(req.name.toUpperCase(), timeoutMs, 'not-sent', EMPTY, cause ?? this.#nodes.lastRefreshError);
  }
}
