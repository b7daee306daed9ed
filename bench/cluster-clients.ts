/**
 * The cluster clients bench/cluster.ts compares, behind one interface so every client runs the
 * same workload code: redpool's cluster pool, ioredis 6 `Cluster` and node-redis 5
 * `createCluster`. Each is created inside its own cell process.
 *
 * Settings: every client at its defaults, except the per-command deadline of the failover cells
 * (`deadlineMs`): redpool `commandTimeoutMs`, ioredis `redisOptions.commandTimeout` (what
 * research/scale-out.md §4 measured with). node-redis 5 has no deadline for a command already
 * written; the workload's hang guard bounds its calls instead (counted as `unsettled`).
 */
import { Cluster } from 'ioredis';
import { createCluster } from 'redis';
import { createPool } from '../src/index.js';
import type { LedgerClient } from '../test/fault/lib/cluster-ledger.js';

/** Client ids, in table order. */
export const CLUSTER_CLIENTS = ['redpool', 'ioredis', 'node-redis'] as const;
export type ClusterClientId = (typeof CLUSTER_CLIENTS)[number];

/** redpool's per-node connection ceiling in the bench (`max`), and the cap across the cluster. */
export const REDPOOL_MAX = 10;
export const REDPOOL_MAX_TOTAL = 30;

/** Table labels and what each client is configured as. */
export const CLUSTER_CLIENT_INFO: Record<ClusterClientId, { label: string; what: string }> = {
  redpool: {
    label: 'redpool cluster',
    what: `createPool({ cluster: { nodes }, max: ${REDPOOL_MAX}, maxTotal: ${REDPOOL_MAX_TOTAL} }), otherwise defaults`,
  },
  ioredis: { label: 'ioredis Cluster', what: 'new Cluster(nodes) from ioredis 6, defaults (one connection per node)' },
  'node-redis': { label: 'node-redis createCluster', what: 'createCluster({ rootNodes }) from redis 5, defaults (one client per primary)' },
};

/** One seed node. */
export interface Seed {
  host: string;
  port: number;
}

/** What a bench cell drives. */
export interface ClusterBenchClient extends LedgerClient {
  readonly id: ClusterClientId;
  /** Sends `commands` (all keys in one slot) as one pipeline; resolves when every reply is in. */
  pipeline(commands: readonly (readonly string[])[]): Promise<unknown>;
  close(): Promise<void>;
}

/** Options for {@link createClusterClient}. */
export interface ClientSettings {
  /** Per-command deadline in ms, or undefined for the client's default. */
  deadlineMs?: number;
}

async function redpool(seeds: readonly Seed[], s: ClientSettings): Promise<ClusterBenchClient> {
  const pool = createPool({
    cluster: { nodes: seeds.map((n) => ({ host: n.host, port: n.port })) },
    max: REDPOOL_MAX,
    maxTotal: REDPOOL_MAX_TOTAL,
    name: 'bench-cluster',
    ...(s.deadlineMs !== undefined ? { commandTimeoutMs: s.deadlineMs } : {}),
  });
  await pool.ready();
  return {
    id: 'redpool',
    rpush: (k, v) => pool.rpush(k, v),
    set: (k, v) => pool.set(k, v),
    get: (k) => pool.get(k),
    pipeline: (cmds) => pool.pipeline(cmds.map((c) => [...c])).exec(),
    close: () => pool.close(),
  };
}

async function ioredis(seeds: readonly Seed[], s: ClientSettings): Promise<ClusterBenchClient> {
  const cluster = new Cluster(
    seeds.map((n) => ({ host: n.host, port: n.port })),
    s.deadlineMs !== undefined ? { redisOptions: { commandTimeout: s.deadlineMs } } : {},
  );
  cluster.on('error', () => undefined); // counted per call; the event would crash the cell
  await new Promise<void>((resolve, reject) => {
    cluster.once('ready', resolve);
    cluster.once('end', () => reject(new Error('ioredis Cluster ended before ready')));
  });
  return {
    id: 'ioredis',
    rpush: (k, v) => cluster.rpush(k, v),
    set: (k, v) => cluster.set(k, v),
    get: (k) => cluster.get(k),
    pipeline: (cmds) => cluster.pipeline(cmds.map((c) => [...c])).exec(),
    close: async () => {
      cluster.disconnect();
      await Promise.resolve();
    },
  };
}

interface NodeRedisMultiLike {
  set(key: string, value: string): NodeRedisMultiLike;
  get(key: string): NodeRedisMultiLike;
  execAsPipeline(): Promise<unknown>;
}

/** The subset of a node-redis 5 cluster the bench uses (its generics are too deep to name). */
interface NodeRedisClusterLike {
  connect(): Promise<unknown>;
  on(event: 'error', listener: (err: Error) => void): unknown;
  rPush(key: string, value: string): Promise<unknown>;
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  multi(routing?: string): NodeRedisMultiLike;
  close(): Promise<void>;
  destroy(): void;
}

async function nodeRedis(seeds: readonly Seed[]): Promise<ClusterBenchClient> {
  const cluster = createCluster({
    rootNodes: seeds.map((n) => ({ socket: { host: n.host, port: n.port } })),
  }) as unknown as NodeRedisClusterLike;
  cluster.on('error', () => undefined);
  await cluster.connect();
  return {
    id: 'node-redis',
    rpush: (k, v) => cluster.rPush(k, v),
    set: (k, v) => cluster.set(k, v),
    get: (k) => cluster.get(k),
    pipeline: (cmds) => {
      let m = cluster.multi(cmds[0]?.[1]);
      // The bench pipelines hold SET and GET only (typed methods: node-redis 5's addCommand is internal).
      for (const [name, key, value] of cmds) m = name === 'set' ? m.set(key!, value!) : m.get(key!);
      return m.execAsPipeline();
    },
    close: async () => {
      // close() waits for replies that may never come (a frozen node): bounded, then destroy.
      await Promise.race([cluster.close().catch(() => undefined), new Promise((r) => setTimeout(r, 1_000))]);
      cluster.destroy();
    },
  };
}

/** Creates and connects client `id` on the cluster of `seeds`. */
export function createClusterClient(
  id: ClusterClientId,
  seeds: readonly Seed[],
  settings: ClientSettings = {},
): Promise<ClusterBenchClient> {
  switch (id) {
    case 'redpool':
      return redpool(seeds, settings);
    case 'ioredis':
      return ioredis(seeds, settings);
    case 'node-redis':
      return nodeRedis(seeds);
  }
}
