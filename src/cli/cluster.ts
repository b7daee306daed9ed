/**
 * Cluster mode of `redpool health` and `redpool monitor`: the URL names one seed node; the CLI
 * opens a one-connection-per-primary cluster pool on it (its `health()` and `stats().nodes` are
 * the per-primary view), lists every node — replicas included — from `CLUSTER NODES`, and reads
 * each node's INFO through its own one-connection tool pool. Used when `--cluster` is given or
 * the server reports `cluster_enabled:1`.
 */
import { createPool, parseRedisUrl, type ClusterPool, type HealthStatus, type PoolOptions } from '../index.js';
import { infoNumber, toolPoolOptions } from '../load/server-info.js';
import { AddressPools, within } from './address-pools.js';

/** One node as `CLUSTER NODES` lists it. */
export interface TopologyNode {
  id: string;
  /** `host:port` (the client port; the bus port and hostname are dropped). */
  address: string;
  role: 'primary' | 'replica';
  /** For a replica: its primary's id. */
  primaryId: string | null;
  /** Flags other than the role and `myself` (`fail`, `fail?`, `handshake`, `noaddr`, …). */
  flags: string[];
  /** `connected` or `disconnected` (the cluster bus link, as the answering node sees it). */
  linkState: string;
  /** Slots served (primaries). */
  slots: number;
}

/** Parses the text of `CLUSTER NODES` (one node per line). Lines it cannot read are skipped. */
export function parseClusterNodes(text: string): TopologyNode[] {
  const out: TopologyNode[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(' ');
    if (f.length < 8) continue;
    const [id, addr, flagText, master, , , , linkState, ...slotSpecs] = f as [string, string, string, string, ...string[]];
    const address = addr.split('@')[0]!.split(',')[0]!;
    const flags = flagText.split(',');
    let slots = 0;
    for (const spec of slotSpecs) {
      if (spec.startsWith('[')) continue; // a slot being migrated or imported: counted at its owner
      const [a, b] = spec.split('-').map(Number);
      if (a !== undefined && Number.isInteger(a)) slots += (b ?? a) - a + 1;
    }
    out.push({
      id,
      address,
      role: flags.includes('master') ? 'primary' : 'replica',
      primaryId: master === '-' ? null : master,
      flags: flags.filter((x) => x !== 'master' && x !== 'slave' && x !== 'myself' && x !== 'noflags'),
      linkState: linkState ?? 'unknown',
      slots,
    });
  }
  // Primaries first (by address), each followed by nothing: replicas after, by address.
  return out.sort((x, y) =>
    x.role === y.role ? x.address.localeCompare(y.address, 'en', { numeric: true }) : x.role === 'primary' ? -1 : 1,
  );
}

/** Connection settings of the seed URL, reused for every node (credentials, TLS). */
interface Seed {
  host: string;
  port: number;
  common: Pick<PoolOptions, 'username' | 'password' | 'tls'>;
}

function seedOf(url: string | undefined): Seed {
  const u = parseRedisUrl(url ?? 'redis://127.0.0.1:6379');
  return {
    host: u.host ?? '127.0.0.1',
    port: u.port ?? 6379,
    common: {
      ...(u.username !== undefined ? { username: u.username } : {}),
      ...(u.password !== undefined ? { password: u.password } : {}),
      ...(u.tls ? { tls: true } : {}),
    },
  };
}

/** The CLI's cluster pool: one connection per primary, the tool pool's deadlines and quiet logger. */
export function openClusterToolPool(url: string | undefined, timeoutMs: number): ClusterPool {
  const seed = seedOf(url);
  return createPool({
    ...seed.common,
    cluster: { nodes: [{ host: seed.host, port: seed.port }], refreshIntervalMs: Infinity },
    ...toolPoolOptions(timeoutMs),
  });
}

/** `CLUSTER NODES` through the cluster pool (any primary answers), or undefined. */
export async function readTopology(pool: ClusterPool, timeoutMs: number): Promise<TopologyNode[] | undefined> {
  const text = await within(pool.call('CLUSTER', 'NODES') as Promise<unknown>, timeoutMs);
  return typeof text === 'string' ? parseClusterNodes(text) : undefined;
}

/** Tool pools for a cluster's nodes, with the URL's credentials and TLS. */
export function nodePools(url: string | undefined, timeoutMs: number): AddressPools {
  return new AddressPools(seedOf(url).common, timeoutMs);
}

/** One node in `redpool health --json` (cluster mode). */
export interface ClusterNodeReport {
  id: string;
  address: string;
  role: 'primary' | 'replica';
  /** For a replica: its primary's address. */
  primary: string | null;
  slots: number;
  flags: string[];
  status: HealthStatus;
  /** PING round trip in ms (the cluster pool's for a primary, the node's tool pool's for a replica). */
  latencyMs: number | null;
  message: string;
  server: {
    version: string | null;
    connectedClients: number | null;
    maxclients: number | null;
    usedMemoryHuman: string | null;
    /** A replica's `master_link_status`. */
    replicaLink: string | null;
    loading: boolean;
  } | null;
  /** The CLI's own pool on a primary (`stats().nodes`): connections, idle, busy, pending. */
  pool: { total: number; idle: number; busy: number; pending: number } | null;
}

/** The cluster part of `redpool health --json`. */
export interface ClusterReport {
  /** `cluster_state` from CLUSTER INFO on the seed (or the first node that answered). */
  state: string | null;
  coveredSlots: number;
  knownNodes: number;
  nodes: ClusterNodeReport[];
}

const round3 = (ms: number | null): number | null => (ms === null ? null : Math.round(ms * 1000) / 1000);

/** What {@link checkCluster} returns: the aggregate plus the per-node rows. */
export interface ClusterCheck {
  status: HealthStatus;
  latencyMs: number | null;
  message: string;
  problems: string[];
  cluster: ClusterReport;
  pool: { total: number; lanes: number; idle: number; busy: number; pending: number; connecting: number };
}

/** Runs the cluster check. Never rejects; no answering seed gives status 'unavailable'. */
export async function checkCluster(url: string | undefined, timeoutMs: number): Promise<ClusterCheck> {
  const pool = openClusterToolPool(url, timeoutMs);
  const pools = nodePools(url, timeoutMs);
  try {
    // Steps in parallel where they can be: ready (2 × timeout), then health + topology + CLUSTER
    // INFO (2 ×), then every node's INFO and the replicas' PINGs (2 ×).
    await within(pool.ready(), timeoutMs * 2);
    const [report, found, clusterInfo] = await Promise.all([
      within(pool.health({ timeoutMs }), timeoutMs * 2),
      readTopology(pool, timeoutMs),
      within(pool.call('CLUSTER', 'INFO') as Promise<unknown>, timeoutMs),
    ]);
    const topology = found ?? [];
    const stats = pool.stats();
    const [infos, singles] = await Promise.all([
      Promise.all(topology.map((n) => pools.info(n.address))),
      Promise.all(
        topology.map((n) =>
          report?.nodes[n.id] ? Promise.resolve(undefined) : within(pools.get(n.address).health({ timeoutMs }), timeoutMs * 2),
        ),
      ),
    ]);
    const byId = new Map(topology.map((n) => [n.id, n]));
    const problems: string[] = [];
    const nodes: ClusterNodeReport[] = topology.map((n, i): ClusterNodeReport => {
      const info = infos[i];
      const own = report?.nodes[n.id];
      const single = singles[i];
      let status: HealthStatus = own?.status ?? single?.status ?? 'unavailable';
      let message = own?.message ?? single?.message ?? `no answer within ${timeoutMs} ms`;
      const replicaLink = info?.['master_link_status'] ?? null;
      if (n.flags.includes('fail') || n.flags.includes('fail?')) {
        status = n.flags.includes('fail') ? 'unavailable' : status === 'healthy' ? 'degraded' : status;
        message = `flagged ${n.flags.join(',')} by the cluster; ${message}`;
      }
      if (status === 'healthy' && n.role === 'replica' && replicaLink !== null && replicaLink !== 'up') {
        status = 'degraded';
        message = `replica link to the primary is ${replicaLink}`;
      }
      if (status === 'healthy' && info?.['loading'] === '1') {
        status = 'degraded';
        message = 'loading its dataset';
      }
      if (status !== 'healthy') problems.push(`${n.role} ${n.address}: ${status}: ${message}`);
      const ps = stats.nodes[n.id];
      return {
        id: n.id,
        address: n.address,
        role: n.role,
        primary: n.primaryId === null ? null : (byId.get(n.primaryId)?.address ?? n.primaryId),
        slots: n.slots,
        flags: n.flags,
        status,
        latencyMs: round3(own?.latencyMs ?? single?.latencyMs ?? null),
        message,
        server: info
          ? {
              version: info['redis_version'] ?? null,
              connectedClients: infoNumber(info, 'connected_clients'),
              maxclients: infoNumber(info, 'maxclients'),
              usedMemoryHuman: info['used_memory_human'] ?? null,
              replicaLink,
              loading: info['loading'] === '1',
            }
          : null,
        pool: ps ? { total: ps.total, idle: ps.idle, busy: ps.busy, pending: ps.pending } : null,
      };
    });
    const state = typeof clusterInfo === 'string' ? (/cluster_state:(\w+)/.exec(clusterInfo)?.[1] ?? null) : null;
    const covered = stats.cluster.coveredSlots;
    if (state !== null && state !== 'ok') problems.unshift(`cluster_state is ${state}`);
    if (covered < 16384 && topology.length > 0) problems.unshift(`${16384 - covered} of 16384 slots have no reachable primary`);
    let status: HealthStatus = report?.status ?? 'unavailable';
    if (topology.length === 0) status = 'unavailable';
    else if (status === 'healthy' && problems.length > 0) status = 'degraded';
    const primaries = nodes.filter((n) => n.role === 'primary');
    return {
      status,
      latencyMs: round3(report?.latencyMs ?? null),
      message:
        topology.length === 0
          ? (report?.lastError?.message ?? `no cluster node answered within ${timeoutMs} ms`)
          : `${nodes.filter((n) => n.status === 'healthy').length}/${nodes.length} nodes healthy (${primaries.length} primaries, ${nodes.length - primaries.length} replicas), ${covered}/16384 slots covered`,
      problems,
      cluster: { state, coveredSlots: covered, knownNodes: topology.length, nodes },
      pool: {
        total: stats.total,
        lanes: stats.lanes,
        idle: stats.idle,
        busy: stats.busy,
        pending: stats.pending,
        connecting: stats.connecting,
      },
    };
  } finally {
    await Promise.all([pool.destroy(), pools.destroy()]);
  }
}
