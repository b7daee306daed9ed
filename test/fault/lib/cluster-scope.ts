/**
 * One cluster fault test's resources — a real 3 + 3 cluster (test/helpers/topology.ts) and the
 * redpool cluster pools on it — torn down by a single `t.after` in the right order: pools first
 * (close settles, nothing left busy, no connection named after the pool on any live node, no
 * timer left), then every frozen node thawed, then every process stopped. Plus the fault tools
 * the cluster scenarios share: a per-node connection watch (`CLIENT LIST`), waiting for a
 * replica's promotion, and a hand-driven slot migration.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { createPool } from '../../../src/pool/pool.js';
import type { ClusterPool } from '../../../src/cluster/cluster-pool.js';
import type { ClusterOptions, PoolOptions } from '../../../src/options.js';
import { startCluster, type ClusterNode, type ClusterOptions as TopologyOptions, type RedisCluster } from '../../helpers/topology.js';
import { Transcript } from './capture.js';
import { settle, sleep } from './guard.js';
import { clientList } from './server.js';
import { TimerTracker } from './timers.js';

/** Pool options of the cluster scenarios: short deadlines so faults show in milliseconds. */
export const CLUSTER_FAST: PoolOptions = {
  max: 4,
  lanes: 1,
  commandTimeoutMs: 500,
  connectTimeoutMs: 400,
  acquireTimeoutMs: 800,
  healthCheckIntervalMs: 0,
  housekeepingIntervalMs: 50,
  reconnectBackoff: { delay: (attempt: number) => Math.min(200, 20 * 2 ** (attempt - 1)) },
};

/** A cluster pool under test. */
export interface ClusterFaultPool {
  pool: ClusterPool;
  /** Pool name; our connections are named `redpool:<name>:…` on every node. */
  name: string;
  transcript: Transcript;
}

let seq = 0;

/** Prefix of the connection names of pool `name`. */
export function clusterNamePrefix(name: string): string {
  return `redpool:${name}:`;
}

/** Connections of pool `name` on `node` (0 when the node does not answer: dead or frozen). */
export async function nodeConnections(node: ClusterNode, name: string): Promise<number> {
  if (!node.server.alive || node.server.paused) return 0;
  const list = await clientList(node.server).catch(() => []);
  return list.filter((c) => c['name']?.startsWith(clusterNamePrefix(name))).length;
}

/** Per-test cluster resources. Create with {@link clusterScope}. */
export class ClusterScope {
  readonly #pools: ClusterFaultPool[] = [];
  readonly #timers = new TimerTracker(process.env['FAULT_TIMER_STACKS'] === '1');
  readonly #cleanups: (() => unknown)[] = [];
  // Pool timers are unref'd: keep the loop alive between the bounded awaits of a test.
  readonly #keepAlive = setInterval(() => undefined, 1_000);
  #cluster: RedisCluster | undefined;

  /** Starts the cluster of this test (once). */
  async cluster(opts: TopologyOptions = {}): Promise<RedisCluster> {
    assert.equal(this.#cluster, undefined, 'one cluster per scope');
    this.#cluster = await startCluster(opts);
    return this.#cluster;
  }

  /** Runs `fn` at teardown, after the pools are closed and before the cluster stops. */
  defer(fn: () => unknown): void {
    this.#cleanups.push(fn);
  }

  /** A cluster pool on this scope's cluster, options over {@link CLUSTER_FAST}. */
  pool(label: string, options: Omit<PoolOptions, 'cluster'> = {}, cluster: Omit<ClusterOptions, 'nodes'> = {}): ClusterFaultPool {
    const c = this.#cluster;
    assert.ok(c, 'start the cluster first');
    const name = `fc${process.pid % 10_000}-${label}-${++seq}`;
    const transcript = new Transcript();
    if (this.#pools.length === 0) this.#timers.start();
    const pool = createPool({ ...CLUSTER_FAST, ...options, cluster: { nodes: c.seeds(), ...cluster }, name, logger: transcript.logger });
    pool.on('warning', (w) => transcript.text(w.message));
    const fp = { pool, name, transcript };
    this.#pools.push(fp);
    return fp;
  }

  async teardown(): Promise<void> {
    const failures: unknown[] = [];
    for (const fn of this.#cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        failures.push(err);
      }
    }
    for (const fp of this.#pools.reverse()) {
      try {
        await this.#checkClosed(fp);
      } catch (err) {
        failures.push(err);
      } finally {
        await settle(fp.pool.destroy(), 2_000, 'pool.destroy()').catch((e: unknown) => failures.push(e));
      }
    }
    if (this.#pools.length > 0) {
      const live = await this.#timers.settledCount();
      if (live > 0)
        failures.push(
          new assert.AssertionError({ message: `${live} timer(s) still pending after close\n${this.#timers.stacks().join('\n--\n')}` }),
        );
      this.#timers.stop();
    }
    if (this.#cluster) {
      for (const n of this.#cluster.nodes) if (n.server.paused) n.server.resume();
      await this.#cluster.stop();
    }
    clearInterval(this.#keepAlive);
    if (failures.length > 0) throw failures[0];
  }

  async #checkClosed(fp: ClusterFaultPool): Promise<void> {
    const { pool, name, transcript } = fp;
    transcript.value(pool.stats());
    const closed = await settle(pool.close({ timeoutMs: 1_000 }), 4_000, 'pool.close()');
    assert.ok(closed.ok, `pool.close() rejected: ${String((closed as { error?: unknown }).error)}`);
    const s = pool.stats();
    assert.deepEqual(
      { total: s.total, busy: s.busy, pending: s.pending, connecting: s.connecting, inflight: s.inflight, state: s.state },
      { total: 0, busy: 0, pending: 0, connecting: 0, inflight: 0, state: 'closed' },
      'cluster pool not empty after close',
    );
    const nodes = this.#cluster?.nodes ?? [];
    for (let i = 0; ; i++) {
      const left = await Promise.all(nodes.map((n) => nodeConnections(n, name)));
      if (left.every((x) => x === 0)) break;
      assert.ok(i < 60, `connections named ${clusterNamePrefix(name)}* still on the nodes after close: ${left.join(' ')}`);
      await sleep(50);
    }
  }
}

/** Creates a {@link ClusterScope} whose teardown runs in `t.after`. */
export function clusterScope(t: TestContext): ClusterScope {
  const s = new ClusterScope();
  t.after(() => s.teardown());
  return s;
}

/** Peaks of a {@link ConnectionWatch}. */
export interface ConnectionPeaks {
  /** Most connections of the pool seen at once on each node, in `cluster.nodes` order. */
  perNode: number[];
  /** Most connections seen at once summed over the nodes (one sample). */
  total: number;
  samples: number;
}

/**
 * Samples `CLIENT LIST` on every node every `intervalMs` and keeps the most connections named
 * after pool `name` seen per node and in total: the server-side view of the budget.
 */
export class ConnectionWatch {
  readonly #peaks: ConnectionPeaks;
  #running = true;
  readonly #loop: Promise<void>;

  constructor(cluster: RedisCluster, name: string, intervalMs = 50) {
    const peaks: ConnectionPeaks = { perNode: cluster.nodes.map(() => 0), total: 0, samples: 0 };
    this.#peaks = peaks;
    this.#loop = (async () => {
      while (this.#running) {
        const counts = await Promise.all(cluster.nodes.map((n) => nodeConnections(n, name)));
        counts.forEach((c, i) => (peaks.perNode[i] = Math.max(peaks.perNode[i]!, c)));
        peaks.total = Math.max(
          peaks.total,
          counts.reduce((a, b) => a + b, 0),
        );
        peaks.samples++;
        await sleep(intervalMs);
      }
    })();
  }

  async stop(): Promise<ConnectionPeaks> {
    this.#running = false;
    await this.#loop;
    return this.#peaks;
  }
}

/** The replica of `primary` at creation. */
export function replicaOf(cluster: RedisCluster, primary: ClusterNode): ClusterNode {
  const r = cluster.replicas.find((n) => n.initialPrimaryId === primary.id);
  assert.ok(r, `no replica of ${primary.port}`);
  return r;
}

/** Polls `ROLE` on `node` until it says master; resolves with the ms waited (bounded). */
export async function waitPromoted(node: ClusterNode, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    const role = await node.server.commandWith({ timeoutMs: 300 }, 'ROLE').catch(() => undefined);
    if (Array.isArray(role) && role[0] === 'master') return performance.now() - t0;
    await sleep(25);
  }
  assert.fail(`${node.port} not promoted within ${timeoutMs} ms`);
}

/**
 * Moves `slot` from `from` to `to` by hand, the way `redis-cli --cluster reshard` does:
 * `SETSLOT IMPORTING` on the target, `SETSLOT MIGRATING` on the source, `GETKEYSINSLOT` +
 * `MIGRATE … KEYS` in batches until the slot is empty on the source (keys written meanwhile are
 * redirected with ASK), then `SETSLOT NODE` on the target, the source and the other primaries.
 * `pauseMs` between batches keeps the slot in the migrating state long enough for the load to
 * meet ASK redirects. Bounded: at most `maxBatches` batches.
 */
export async function migrateSlot(
  cluster: RedisCluster,
  slot: number,
  from: ClusterNode,
  to: ClusterNode,
  opts: { batch?: number; pauseMs?: number; maxBatches?: number } = {},
): Promise<{ keysMoved: number; batches: number }> {
  const s = String(slot);
  await to.server.command('CLUSTER', 'SETSLOT', s, 'IMPORTING', from.id);
  await from.server.command('CLUSTER', 'SETSLOT', s, 'MIGRATING', to.id);
  let keysMoved = 0;
  let batches = 0;
  for (; batches < (opts.maxBatches ?? 1_000); batches++) {
    const keys = (await from.server.command('CLUSTER', 'GETKEYSINSLOT', s, String(opts.batch ?? 20))) as string[];
    if (keys.length === 0) break;
    await from.server.command('MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', ...keys);
    keysMoved += keys.length;
    await sleep(opts.pauseMs ?? 20);
  }
  await to.server.command('CLUSTER', 'SETSLOT', s, 'NODE', to.id);
  await from.server.command('CLUSTER', 'SETSLOT', s, 'NODE', to.id);
  for (const p of cluster.primaries)
    if (p !== from && p !== to) await p.server.command('CLUSTER', 'SETSLOT', s, 'NODE', to.id).catch(() => undefined);
  return { keysMoved, batches };
}
