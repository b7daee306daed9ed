/**
 * Read routing of a Sentinel pool: a read-only command (`runsOnReplica`) or a pipeline of them
 * (`batchRunsOnReplica`, never a transaction), with an effective `readFrom` of `'replica'` or
 * `'preferReplica'`, goes to a replica of the {@link ReplicaSet}; everything else never comes
 * here (the pool sends it to the primary).
 *
 * One deadline (the call's `timeoutMs`, else `commandTimeoutMs`) covers the wait for the first
 * replica listing, every attempt and the fallback. A replica attempt that fails before or
 * while it runs — not sent, a connection lost, a timeout, a "not executed" reply (`LOADING`,
 * `MASTERDOWN`) — is tried again on another replica, and for `'preferReplica'` then on the
 * primary: a read runs twice at worst, which cannot change data. Other replies (`WRONGTYPE`, …)
 * reach the caller as they are. While a fallback exists an attempt gets at most half of the
 * time left, so a frozen replica (SIGSTOP) costs a read half its deadline, not all of it.
 * `'replica'` with no replica left is a {@link NoReplicaError} (`not-sent`): at once when none
 * is known, after the attempts when every replica failed.
 */
export type { ReplicaRouterStats } from '../../pool/stats.js';
import type { BatchCommand, BatchResult } from '../../driver/driver.js';
import { CommandTimeoutError, NoReplicaError, type PoolSnapshot } from '../../errors.js';
import type { Clock } from '../../internal/clock.js';
import type { ReadFrom } from '../../options/types.js';
import type { CallOptions } from '../../pool/core.js';
import type { ReplicaRouterStats } from '../../pool/stats.js';
import { replicaAttemptMs, replicaReadMovable } from '../../resilience/classify.js';
import { SUSPECT_MS, type ReplicaNode, type ReplicaPool, type ReplicaSet } from './replica-set.js';

/** Where a fallback to the primary goes (the Sentinel pool's own engine). */
export interface PrimaryPath {
  command(name: string, args: unknown[], buffer: boolean, call: CallOptions): Promise<unknown>;
  batch(cmds: BatchCommand[], call: CallOptions): Promise<BatchResult | null>;
  /** The primary pool's occupancy, for a timeout's message. */
  snapshot(): PoolSnapshot;
}

/** See the module comment. */
export class ReplicaRouter {
  readonly #set: ReplicaSet;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #primary: PrimaryPath;
  readonly counters: ReplicaRouterStats = { replicaReads: 0, primaryFallbacks: 0, retried: 0, noReplica: 0 };

  constructor(set: ReplicaSet, clock: Clock, commandTimeoutMs: number, primary: PrimaryPath) {
    this.#set = set;
    this.#clock = clock;
    this.#timeoutMs = commandTimeoutMs;
    this.#primary = primary;
  }

  /** One read-only command per `mode`. */
  command(name: string, args: unknown[], buffer: boolean, call: CallOptions | undefined, mode: ReadFrom): Promise<unknown> {
    return this.#read(
      name.toUpperCase(),
      call,
      mode,
      (pool, c) => pool.call(name, args, buffer, c),
      (c) => this.#primary.command(name, args, buffer, c),
    );
  }

  /** One pipeline of read-only commands per `mode`. */
  batch(cmds: BatchCommand[], call: CallOptions | undefined, mode: ReadFrom): Promise<BatchResult | null> {
    return this.#read(
      'PIPELINE',
      call,
      mode,
      (pool, c) => pool.batch(cmds, c),
      (c) => this.#primary.batch(cmds, c),
    );
  }

  async #read<T>(
    label: string,
    call: CallOptions | undefined,
    mode: ReadFrom,
    onReplica: (pool: ReplicaPool, call: CallOptions) => Promise<T>,
    onPrimary: (call: CallOptions) => Promise<T>,
  ): Promise<T> {
    const clock = this.#clock;
    const total = call?.timeoutMs ?? this.#timeoutMs;
    const deadline = clock.now() + total;
    const set = this.#set;
    set.activate();
    if (!set.loaded) await set.whenLoaded(deadline - clock.now());
    const tried = new Set<ReplicaNode>();
    let lastError: unknown;
    for (;;) {
      const node = set.pick(tried);
      const remaining = deadline - clock.now();
      if (!node) break;
      if (remaining <= 0) throw lastError ?? new CommandTimeoutError(label, total, 'not-sent', this.#primary.snapshot());
      const fallback = mode === 'preferReplica' || set.left(tried) > 1;
      const c: CallOptions = { ...call, timeoutMs: replicaAttemptMs(remaining, fallback) };
      node.inflight++;
      try {
        const value = await onReplica(node.pool, c);
        node.reads++;
        this.counters.replicaReads++;
        return value;
      } catch (err) {
        if (!replicaReadMovable(err)) throw err;
        lastError = err;
        tried.add(node);
        node.failures++;
        node.suspectUntil = clock.now() + SUSPECT_MS;
        this.counters.retried++;
      } finally {
        node.inflight--;
      }
    }
    if (mode === 'preferReplica') {
      const remaining = deadline - clock.now();
      if (remaining <= 0) throw lastError ?? new CommandTimeoutError(label, total, 'not-sent', this.#primary.snapshot());
      this.counters.primaryFallbacks++;
      return onPrimary({ ...call, timeoutMs: remaining });
    }
    this.counters.noReplica++;
    const detail =
      tried.size > 0
        ? `every replica failed (${tried.size} tried)`
        : set.loaded
          ? 'no usable replica is known (SENTINEL REPLICAS)'
          : 'the sentinels did not list the replicas in time';
    throw new NoReplicaError(label, detail, lastError === undefined ? undefined : { cause: lastError });
  }
}
