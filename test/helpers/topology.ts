/**
 * Real multi-process topologies on loopback for scale-out tests: a Sentinel set (1 primary,
 * 1 replica, 3 sentinels, quorum 2) and a Cluster (3 primaries + 3 replicas). Built on
 * {@link startRedis}, so every process is tracked by PID, stopped by SIGTERM→SIGKILL and its temp
 * directory removed — by `stop()`, by the `t.after`/`after` hooks of the `with*`/`use*` variants
 * even when a test fails, by a failed start (everything started so far is stopped), and by the
 * harness's exit hook as a last resort.
 *
 * Recipes and timings: `../shared/research/scale-out.md` section 8. The cluster is formed with
 * `CLUSTER SET-CONFIG-EPOCH` + `ADDSLOTSRANGE` + `MEET` + `REPLICATE` (what `redis-cli --cluster
 * create` does, without its fixed 1 s waits).
 */
import net from 'node:net';
import { after, before, type TestContext } from 'node:test';
import { startRedis, waitFor, type RedisProcess } from './redis.js';

/** Number of hash slots in Redis Cluster. */
const SLOTS = 16384;

/** A free loopback TCP port (the kernel picks it). Used for cluster bus ports (`cluster-port`). */
async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('freePort: no port'))));
    });
  });
}

/** Reads `field:value` from an INFO / CLUSTER INFO text. */
export function infoField(text: unknown, field: string): string | undefined {
  if (typeof text !== 'string') return undefined;
  const m = new RegExp(`(?:^|\\r?\\n)${field}:([^\\r\\n]*)`).exec(text);
  return m?.[1];
}

/** A flat RESP2 `[k, v, k, v…]` array as an object (for SENTINEL MASTER / CLUSTER SHARDS entries). */
export function pairs(value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!Array.isArray(value)) return out;
  for (let i = 0; i + 1 < value.length; i += 2) out[String(value[i])] = value[i + 1];
  return out;
}

/** Stops every process in parallel; never throws (teardown must reach every PID). */
async function stopAll(processes: readonly RedisProcess[]): Promise<void> {
  await Promise.allSettled(processes.map((p) => p.stop()));
}

/**
 * Starts every process in parallel and waits for all of them to settle (so none is still
 * starting when a failure is reported); each started one is pushed to `started`, the first
 * failure is rethrown after all settled.
 */
async function startEach(starts: readonly (() => Promise<RedisProcess>)[], started: RedisProcess[]): Promise<RedisProcess[]> {
  const results = await Promise.allSettled(starts.map((s) => s()));
  const ok: RedisProcess[] = [];
  for (const r of results) if (r.status === 'fulfilled') ok.push(r.value);
  started.push(...ok);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return ok;
}

/** Milliseconds since `t0` (`performance.now()`), rounded to 0.1 ms. */
const since = (t0: number): number => Math.round((performance.now() - t0) * 10) / 10;

// ---------------------------------------------------------------- Cluster

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** Number of primaries. Default `3`. */
  primaries?: number;
  /** Replicas per primary. Default `1`. */
  replicasPerPrimary?: number;
  /** `cluster-node-timeout` in ms. Default `1000` (below ~500 gossip jitter risks false failovers). */
  nodeTimeoutMs?: number;
  /** `cluster-require-full-coverage`. Default `true` (the server default). */
  requireFullCoverage?: boolean;
  /** Extra `redis-server` arguments for every node. */
  args?: readonly string[];
  /** Deadline for the whole topology to become ready, in ms. Default `20000`. */
  readyTimeoutMs?: number;
}

/** One node of a {@link RedisCluster}. */
export interface ClusterNode {
  /** The process (PID, port, kill/pause/restart, `command`). */
  readonly server: RedisProcess;
  /** Cluster node id (`CLUSTER MYID`). */
  readonly id: string;
  /** Client port. */
  readonly port: number;
  /** Cluster bus port (`cluster-port`). */
  readonly busPort: number;
  /** Role at creation time (it changes after a failover; ask the server for the current one). */
  readonly initialRole: 'primary' | 'replica';
  /** For a replica: the id of the primary it was attached to at creation. */
  readonly initialPrimaryId?: string;
  /** Slot ranges `[start, end]` (inclusive) assigned at creation (primaries only). */
  readonly initialSlots: readonly (readonly [number, number])[];
}

/** Start-up timings of a topology in ms, for test logs and the benchmark notes. */
export interface TopologyTimings {
  /** All processes answering PING. */
  spawnMs: number;
  /** Topology commands sent (slots/meet/replicate, or sentinel monitor). */
  formMs: number;
  /** Until the readiness condition held. */
  readyMs: number;
  /** Sum: from the call to ready. */
  totalMs: number;
}

/** A running cluster; always {@link RedisCluster.stop} it (the `with`/`use` variants do). */
export interface RedisCluster {
  readonly nodes: readonly ClusterNode[];
  readonly primaries: readonly ClusterNode[];
  readonly replicas: readonly ClusterNode[];
  readonly timings: TopologyTimings;
  /** `{ host, port }` of every node: seeds for a cluster client. */
  seeds(): { host: string; port: number }[];
  /** The node with this client port or id. */
  node(portOrId: number | string): ClusterNode;
  /** PIDs of every process (current incarnation). */
  pids(): number[];
  /** Stops every node (SIGCONT first if paused), removes temp dirs. Idempotent. */
  stop(): Promise<void>;
}

/** Splits the slot space evenly, the way `redis-cli --cluster create` does. */
export function slotRanges(primaries: number): [number, number][] {
  const ranges: [number, number][] = [];
  const per = SLOTS / primaries;
  let first = 0;
  for (let i = 0; i < primaries; i++) {
    const last = i === primaries - 1 ? SLOTS - 1 : Math.round(per * (i + 1)) - 1;
    ranges.push([first, last]);
    first = last + 1;
  }
  return ranges;
}

/** Whether one node sees the whole cluster: state ok, every node known, every replica listed by `CLUSTER SLOTS`. */
async function nodeReady(node: ClusterNode, total: number): Promise<boolean> {
  const info = await node.server.command('CLUSTER', 'INFO');
  if (infoField(info, 'cluster_state') !== 'ok' || infoField(info, 'cluster_known_nodes') !== String(total)) return false;
  const slots = await node.server.command('CLUSTER', 'SLOTS');
  if (!Array.isArray(slots)) return false;
  let listed = 0;
  for (const range of slots) if (Array.isArray(range)) listed += range.length - 2;
  return listed === total;
}

async function spawnClusterNode(opts: ClusterOptions): Promise<{ server: RedisProcess; busPort: number }> {
  for (let attempt = 1; ; attempt++) {
    const busPort = await freePort();
    try {
      const server = await startRedis({
        args: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-port',
          String(busPort),
          '--cluster-node-timeout',
          String(opts.nodeTimeoutMs ?? 1000),
          '--cluster-require-full-coverage',
          opts.requireFullCoverage === false ? 'no' : 'yes',
          '--repl-diskless-sync-delay',
          '0',
          '--repl-ping-replica-period',
          '1',
          ...(opts.args ?? []),
        ],
      });
      return { server, busPort };
    } catch (err) {
      // The bus port may have been taken between probe and bind: try another one.
      if (attempt >= 3) throw err;
    }
  }
}

/**
 * Starts a cluster of `primaries × (1 + replicasPerPrimary)` nodes on free loopback ports and
 * resolves once every node reports `cluster_state:ok`, knows every node, and lists every replica
 * in `CLUSTER SLOTS`. On any failure every process started so far is stopped before rejecting.
 */
export async function startCluster(opts: ClusterOptions = {}): Promise<RedisCluster> {
  const nPrimaries = opts.primaries ?? 3;
  const perPrimary = opts.replicasPerPrimary ?? 1;
  const total = nPrimaries * (1 + perPrimary);
  const t0 = performance.now();
  const spawned = await Promise.allSettled(Array.from({ length: total }, () => spawnClusterNode(opts)));
  const servers = spawned.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = spawned.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stopAll(servers.map((s) => s.server));
    throw failed.reason;
  }
  try {
    const spawnMs = since(t0);
    const t1 = performance.now();
    const ids = await Promise.all(servers.map(async (s) => String(await s.server.command('CLUSTER', 'MYID'))));
    const ranges = slotRanges(nPrimaries);
    const nodes: ClusterNode[] = servers.map((s, i) => {
      const isPrimary = i < nPrimaries;
      const primaryIndex = isPrimary ? i : (i - nPrimaries) % nPrimaries;
      return {
        server: s.server,
        id: ids[i] ?? '',
        port: s.server.port,
        busPort: s.busPort,
        initialRole: isPrimary ? 'primary' : 'replica',
        ...(isPrimary ? {} : { initialPrimaryId: ids[primaryIndex] ?? '' }),
        initialSlots: isPrimary ? [ranges[i] ?? [0, 0]] : [],
      };
    });
    // Distinct config epochs up front (as redis-cli does) so no epoch-collision round is needed.
    await Promise.all(nodes.map((n, i) => n.server.command('CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1))));
    await Promise.all(
      nodes
        .filter((n) => n.initialRole === 'primary')
        .map((n) => {
          const [first, last] = n.initialSlots[0] ?? [0, 0];
          return n.server.command('CLUSTER', 'ADDSLOTSRANGE', String(first), String(last));
        }),
    );
    const first = nodes[0];
    if (!first) throw new Error('startCluster: no nodes');
    await Promise.all(nodes.slice(1).map((n) => first.server.command('CLUSTER', 'MEET', '127.0.0.1', String(n.port), String(n.busPort))));
    const deadline = opts.readyTimeoutMs ?? 20_000;
    // A replica can only REPLICATE a primary it has heard of through gossip.
    await waitFor(
      async () => {
        const known = await Promise.all(
          nodes.map(async (n) => infoField(await n.server.command('CLUSTER', 'INFO'), 'cluster_known_nodes')),
        );
        return known.every((k) => k === String(total));
      },
      { timeoutMs: deadline, message: 'cluster: every node knows every node' },
    );
    await Promise.all(
      nodes.filter((n) => n.initialPrimaryId !== undefined).map((n) => n.server.command('CLUSTER', 'REPLICATE', n.initialPrimaryId ?? '')),
    );
    const formMs = since(t1);
    const t2 = performance.now();
    await waitFor(async () => (await Promise.all(nodes.map((n) => nodeReady(n, total)))).every(Boolean), {
      timeoutMs: deadline,
      intervalMs: 25,
      message: 'cluster: state ok and every replica listed on every node',
    });
    const timings: TopologyTimings = { spawnMs, formMs, readyMs: since(t2), totalMs: since(t0) };
    let stopped: Promise<void> | undefined;
    return {
      nodes,
      primaries: nodes.filter((n) => n.initialRole === 'primary'),
      replicas: nodes.filter((n) => n.initialRole === 'replica'),
      timings,
      seeds: () => nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
      node(portOrId) {
        const found = nodes.find((n) => n.port === portOrId || n.id === portOrId);
        if (!found) throw new Error(`cluster: no node ${String(portOrId)}`);
        return found;
      },
      pids: () => nodes.map((n) => n.server.pid),
      stop: () => (stopped ??= stopAll(nodes.map((n) => n.server))),
    };
  } catch (err) {
    await stopAll(servers.map((s) => s.server));
    throw err;
  }
}

/** {@link startCluster} for one test, stopped by `t.after` also when the test fails. */
export async function withCluster(t: TestContext, opts: ClusterOptions = {}): Promise<RedisCluster> {
  const cluster = await startCluster(opts);
  t.after(() => cluster.stop());
  return cluster;
}

/** `describe`-level {@link startCluster}: started in `before`, stopped in `after`. */
export function useCluster(opts: ClusterOptions = {}): () => RedisCluster {
  let cluster: RedisCluster | undefined;
  before(async () => {
    cluster = await startCluster(opts);
  });
  after(async () => {
    await cluster?.stop();
  });
  return () => {
    if (!cluster) throw new Error('useCluster(): cluster not started yet');
    return cluster;
  };
}

// ---------------------------------------------------------------- Sentinel

/** Options of {@link startSentinelSet}. */
export interface SentinelSetOptions {
  /** Monitored master name. Default `'mymaster'`. */
  name?: string;
  /** Number of sentinels. Default `3`. */
  sentinels?: number;
  /** Quorum. Default `2`. */
  quorum?: number;
  /** `down-after-milliseconds`. Default `1000` (500 with the debug periods gave false +odown). */
  downAfterMs?: number;
  /** `failover-timeout` in ms (also the 2× wait before retrying a failover). Default `2000`. */
  failoverTimeoutMs?: number;
  /** Apply `SENTINEL DEBUG info-period 1000 publish-period 500` (faster discovery and demotion). Default `true`. */
  fastPeriods?: boolean;
  /** Extra `redis-server` arguments for the data nodes. */
  args?: readonly string[];
  /** Deadline for the set to become ready, in ms. Default `20000`. */
  readyTimeoutMs?: number;
  /** Replicas of the primary. Default `1`. */
  replicas?: number;
}

/** A running Sentinel set; always {@link SentinelSet.stop} it (the `with`/`use` variants do). */
export interface SentinelSet {
  readonly name: string;
  /** Initial primary (after a failover it is a replica; ask the sentinels for the current one). */
  readonly primary: RedisProcess;
  /** Initial replica (the first of {@link SentinelSet.replicas}). */
  readonly replica: RedisProcess;
  /** Every initial replica. */
  readonly replicas: readonly RedisProcess[];
  readonly sentinels: readonly RedisProcess[];
  readonly timings: TopologyTimings;
  /** `{ host, port }` of every sentinel. */
  sentinelAddresses(): { host: string; port: number }[];
  /** The data node (primary or replica) with this port. */
  dataNode(port: number): RedisProcess;
  /** Current primary `{ host, port }` as the first sentinel that answers reports it. */
  currentPrimary(): Promise<{ host: string; port: number }>;
  /** PIDs of every process (current incarnation). */
  pids(): number[];
  /** Stops sentinels first (no failover during teardown), then the data nodes. Idempotent. */
  stop(): Promise<void>;
}

async function sentinelReady(sentinel: RedisProcess, name: string, others: number, replicas: number): Promise<boolean> {
  const master = pairs(await sentinel.command('SENTINEL', 'MASTER', name));
  return master['num-other-sentinels'] === String(others) && master['num-slaves'] === String(replicas) && master['flags'] === 'master';
}

/**
 * Starts 1 primary, 1 replica and `sentinels` sentinels (`redis-sentinel`, configured at run
 * time with `SENTINEL MONITOR`/`SET`) and resolves once every sentinel sees the master, the
 * replica and every other sentinel, and the replica's link is up. On failure everything started
 * so far is stopped before rejecting.
 */
export async function startSentinelSet(opts: SentinelSetOptions = {}): Promise<SentinelSet> {
  const name = opts.name ?? 'mymaster';
  const nSentinels = opts.sentinels ?? 3;
  const dataArgs = ['--repl-diskless-sync-delay', '0', '--repl-ping-replica-period', '1', ...(opts.args ?? [])];
  const started: RedisProcess[] = [];
  const t0 = performance.now();
  try {
    const [primary, ...sentinels] = await startEach(
      [() => startRedis({ args: dataArgs }), ...Array.from({ length: nSentinels }, () => () => startRedis({ binary: 'redis-sentinel' }))],
      started,
    );
    if (!primary) throw new Error('startSentinelSet: no primary');
    const replicas = await startEach(
      Array.from(
        { length: opts.replicas ?? 1 },
        () => () => startRedis({ args: [...dataArgs, '--replicaof', '127.0.0.1', String(primary.port)] }),
      ),
      started,
    );
    const replica = replicas[0];
    if (!replica) throw new Error('startSentinelSet: no replica');
    const spawnMs = since(t0);
    const t1 = performance.now();
    await Promise.all(
      sentinels.map(async (s) => {
        await s.command('SENTINEL', 'MONITOR', name, '127.0.0.1', String(primary.port), String(opts.quorum ?? 2));
        await s.command(
          'SENTINEL',
          'SET',
          name,
          'down-after-milliseconds',
          String(opts.downAfterMs ?? 1000),
          'failover-timeout',
          String(opts.failoverTimeoutMs ?? 2000),
          'parallel-syncs',
          '1',
        );
        if (opts.fastPeriods ?? true) await s.command('SENTINEL', 'DEBUG', 'info-period', '1000', 'publish-period', '500');
      }),
    );
    const formMs = since(t1);
    const t2 = performance.now();
    await waitFor(
      async () => {
        for (const r of replicas) if (infoField(await r.command('INFO', 'replication'), 'master_link_status') !== 'up') return false;
        return (await Promise.all(sentinels.map((s) => sentinelReady(s, name, nSentinels - 1, replicas.length)))).every(Boolean);
      },
      { timeoutMs: opts.readyTimeoutMs ?? 20_000, intervalMs: 25, message: 'sentinel set: every sentinel sees master, replica and peers' },
    );
    const timings: TopologyTimings = { spawnMs, formMs, readyMs: since(t2), totalMs: since(t0) };
    const data = [primary, ...replicas];
    let stopped: Promise<void> | undefined;
    return {
      name,
      primary,
      replica,
      replicas,
      sentinels,
      timings,
      sentinelAddresses: () => sentinels.map((s) => ({ host: s.host, port: s.port })),
      dataNode(port) {
        const found = data.find((d) => d.port === port);
        if (!found) throw new Error(`sentinel set: no data node on port ${port}`);
        return found;
      },
      async currentPrimary() {
        let lastError: unknown;
        for (const s of sentinels) {
          try {
            const reply = await s.command('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name);
            if (Array.isArray(reply) && reply.length === 2) return { host: String(reply[0]), port: Number(reply[1]) };
          } catch (err) {
            lastError = err;
          }
        }
        throw new Error('sentinel set: no sentinel reported a primary', { cause: lastError });
      },
      pids: () => [...sentinels, ...data].map((p) => p.pid),
      stop: () =>
        (stopped ??= (async () => {
          await stopAll(sentinels);
          await stopAll(data);
        })()),
    };
  } catch (err) {
    await stopAll(started);
    throw err;
  }
}

/** {@link startSentinelSet} for one test, stopped by `t.after` also when the test fails. */
export async function withSentinelSet(t: TestContext, opts: SentinelSetOptions = {}): Promise<SentinelSet> {
  const set = await startSentinelSet(opts);
  t.after(() => set.stop());
  return set;
}

/** `describe`-level {@link startSentinelSet}: started in `before`, stopped in `after`. */
export function useSentinelSet(opts: SentinelSetOptions = {}): () => SentinelSet {
  let set: SentinelSet | undefined;
  before(async () => {
    set = await startSentinelSet(opts);
  });
  after(async () => {
    await set?.stop();
  });
  return () => {
    if (!set) throw new Error('useSentinelSet(): set not started yet');
    return set;
  };
}
