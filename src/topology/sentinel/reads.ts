/**
 * The replica side of a Sentinel pool, as `pool.ts` wires it: the {@link ReplicaSet} (one
 * single-node pool per usable replica, fed by the topology's discoveries) and the
 * {@link ReplicaRouter} (which reads go where), under the pool's budget: `max` per node (the
 * primary and each replica), and `maxTotal`, when set, across all of them through one
 * `BudgetGate` the primary's engine shares. Kept out of `pool.ts`, which only asks
 * {@link SentinelReads.routes} on its shared path.
 */
import type { BatchCommand, BatchResult } from '../../driver/driver.js';
import type { PoolOptions, ResolvedOptions } from '../../options.js';
import type { ReadFrom } from '../../options/types.js';
import { kBatch, kCall, type NodePool } from '../../pool/api.js';
import { budgetShortfall, type BudgetGate } from '../../pool/budget.js';
import type { CallOptions } from '../../pool/core.js';
import type { EngineTopology } from '../../pool/endpoint-source.js';
import type { SentinelStats } from '../../pool/stats.js';
import type { NodeAddress } from '../cluster/nat-map.js';
import type { ReplicaInfo } from './discovery.js';
import type { SentinelTopology } from './pool-topology.js';
import { ReplicaRouter, type PrimaryPath } from './replica-router.js';
import { ReplicaSet, type ReplicaPool } from './replica-set.js';

/** Builds one replica's pool (`pool.ts` passes `new Pool(options, parts)`). */
export type MakeSentinelNodePool = (options: PoolOptions, parts: { gate: BudgetGate | undefined; topology: EngineTopology }) => NodePool;

/** What {@link SentinelReads} is built from. */
export interface SentinelReadsOptions {
  readonly o: ResolvedOptions;
  /** The options as given (each replica's pool gets them with its own host/port). */
  readonly input: PoolOptions;
  /** The shared budget when `maxTotal` is set. */
  readonly gate: BudgetGate | undefined;
  readonly primary: PrimaryPath;
  readonly make: MakeSentinelNodePool;
  label(host: string, port: number): string;
  /** Something worth a `warning` event (a `maxTotal` short of every node's lanes). */
  warning(message: string): void;
}

/** A single-node pool seen as a {@link ReplicaPool} (its internal command and pipeline entry points). */
export function asReplicaPool(p: NodePool): ReplicaPool {
  return {
    get state() {
      return p.state;
    },
    call: (name, args, buffer, call) => p[kCall](name, args, buffer, call),
    batch: (cmds, call) => p[kBatch](cmds, false, call),
    ready: () => p.ready(),
    stats: () => p.stats(),
    close: (opts) => p.close(opts),
    destroy: () => p.destroy(),
  };
}

/** See the module comment. */
export class SentinelReads {
  /** The pool's `readFrom`. */
  readonly readFrom: ReadFrom;
  readonly set: ReplicaSet;
  readonly router: ReplicaRouter;
  #topology: SentinelTopology | undefined;
  /** Longest wait for the first listing at `ready()`, ms. */
  readonly #warmMs: number;
  readonly #o: ResolvedOptions;
  readonly #warning: (message: string) => void;
  /** The `maxTotal` shortfall last warned about (one warning per distinct shortfall). */
  #budgetWarning: string | undefined;

  constructor(options: SentinelReadsOptions) {
    const { o, input } = options;
    this.readFrom = o.readFrom;
    this.#warmMs = o.connectTimeoutMs;
    this.#o = o;
    this.#warning = options.warning;
    const { sentinel: _s, maxTotal: _m, readFrom: _r, ...rest } = input;
    this.set = new ReplicaSet({
      clock: o.clock,
      drainMs: o.commandTimeoutMs,
      label: options.label,
      primary: () => this.#topology?.primary,
      refresh: () => this.#topology?.refresh(),
      make: (address: NodeAddress, topology) =>
        asReplicaPool(options.make({ ...rest, host: address.host, port: address.port }, { gate: options.gate, topology })),
    });
    this.router = new ReplicaRouter(this.set, o.clock, o.commandTimeoutMs, options.primary);
    if (this.readFrom !== 'primary') this.set.activate();
  }

  /** Connects to the primary's topology (built after this: the pool's hooks call back here). */
  attach(topology: SentinelTopology): void {
    this.#topology = topology;
    topology.extraStats = (): Partial<SentinelStats> => ({
      readFrom: this.readFrom,
      replicas: this.set.stats(),
      reads: { ...this.router.counters },
    });
  }

  /** The topology's listing (every discovery). */
  update(list: ReplicaInfo[]): void {
    this.set.update(list);
    const message = budgetShortfall(this.#o.maxTotal, this.#o.lanes, 1, this.set.size);
    if (message === this.#budgetWarning) return;
    this.#budgetWarning = message;
    if (message !== undefined) this.#warning(message);
  }

  /** The primary moved (the promoted node must stop taking reads). */
  primaryMoved(): void {
    this.set.primaryMoved();
  }

  /**
   * Whether `name` goes to the replicas under `call` (the call's `readFrom`, else the pool's):
   * read-only per `runsOnReplica`, and not a `waitReplicas` call. The caller checks the name.
   */
  mode(call: CallOptions | undefined): ReadFrom {
    if (call === undefined) return this.readFrom;
    if (call.waitReplicas) return 'primary';
    return call.readFrom ?? this.readFrom;
  }

  /** A read-only command on a replica per `mode` (see `replica-router.ts`). */
  command(name: string, args: unknown[], buffer: boolean, call: CallOptions | undefined, mode: ReadFrom): Promise<unknown> {
    return this.router.command(name, args, buffer, call, mode);
  }

  /** A pipeline of read-only commands on one replica per `mode`. */
  batch(cmds: BatchCommand[], call: CallOptions | undefined, mode: ReadFrom): Promise<BatchResult | null> {
    return this.router.batch(cmds, call, mode);
  }

  /** At `ready()` with `readFrom` not `'primary'`: the listing, then each replica's warm-up (failures ignored). */
  warm(): Promise<void> {
    return this.readFrom === 'primary' ? Promise.resolve() : this.set.warm(this.#warmMs);
  }

  /** Closes every replica pool. */
  close(timeoutMs: number | undefined, destroy: boolean): Promise<void> {
    return this.set.close(timeoutMs, destroy);
  }
}
