/**
 * `redpool health [URL]`: one health check through a pool plus the server's facts from INFO.
 * Exit 0 healthy, 1 degraded, 2 unavailable. Every step has a deadline and the whole command a
 * hard one, so a frozen server (SIGSTOP, blackholed network) answers 2 quickly, never hangs.
 */
import { adviseFromStats, type Advice, type HealthReport, type HealthStatus, type Pool } from '../index.js';
import { infoNumber, openToolPool, readInfo, type InfoFields } from '../load/server-info.js';
import { EXIT, num, parse, target } from './args.js';
import { checkCluster, type ClusterReport } from './cluster.js';
import { checkSentinel, sentinelTarget, type SentinelSection, type SentinelTarget } from './sentinel.js';
import { paint, print, printJson } from './output.js';

export const HEALTH_HELP = `Usage: redpool health [URL] [options]

Connects with a one-connection pool, runs a health check (PING with a deadline) and reads
server facts: version, mode, role, connected clients, maxclients (CONFIG GET, if permitted).
The URL defaults to $REDIS_URL, then redis://127.0.0.1:6379.

A Redis Cluster node (INFO cluster_enabled:1, or --cluster) is a seed: every node is checked,
primaries through a cluster pool (one connection each), replicas directly, and listed with
role, slots, health, latency, clients and memory; the status is the worst that matters
(a failed or unreachable node, uncovered slots, cluster_state not ok: degraded or worse).

A Sentinel deployment (--sentinel host:port[,host:port] --name MASTER): every sentinel is
asked for its view of the primary (flags, quorum, CKQUORUM), a pool finds the primary through
them (its stats().sentinel is shown), and the primary and every replica are listed with role,
replication offset and lag. The URL, if given, only supplies the data nodes' credentials and
TLS; the sentinels' come from REDPOOL_SENTINEL_USERNAME / REDPOOL_SENTINEL_PASSWORD.

Options:
  --url URL          Redis URL (instead of the argument)
  --cluster          treat the URL as a cluster seed (without it: when the server says so)
  --sentinel LIST    sentinels as host:port[,host:port…] (port default 26379)
  --name MASTER      the master name the sentinels monitor (required with --sentinel)
  --sentinel-tls     TLS to the sentinels
  --timeout MS       deadline of each step in milliseconds (default 2000)
  --json             print the report as JSON
  -h, --help         show this help

Exit codes: 0 healthy, 1 degraded (answers, but with problems: loading, replica link down,
clients near maxclients, recent connect failures), 2 unavailable (or bad arguments).`;

const HEALTH_OPTIONS = {
  url: { type: 'string' },
  timeout: { type: 'string', short: 't' },
  json: { type: 'boolean' },
  cluster: { type: 'boolean' },
  sentinel: { type: 'string' },
  name: { type: 'string' },
  'sentinel-tls': { type: 'boolean' },
} as const;

/** What `redpool health --json` prints. */
export interface HealthOutput {
  command: 'health';
  target: string;
  status: HealthStatus;
  latencyMs: number | null;
  message: string;
  /** Why the status is not healthy, one line each. */
  problems: string[];
  server: {
    version: string | null;
    mode: string | null;
    role: string | null;
    uptimeSec: number | null;
    connectedClients: number | null;
    blockedClients: number | null;
    maxclients: number | null;
    /** Where maxclients came from: CONFIG GET, INFO, or null when unknown. */
    maxclientsSource: 'config' | 'info' | null;
    usedMemoryHuman: string | null;
    rejectedConnections: number | null;
  } | null;
  pool: { total: number; lanes: number; idle: number; busy: number; pending: number; connecting: number } | null;
  /** Cluster mode only: the cluster state and every node (then `server` is null: see each node's). */
  cluster?: ClusterReport;
  /** Sentinel mode only: the sentinels, the primary and its replicas, the pool's `stats().sentinel`. */
  sentinel?: SentinelSection;
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

async function maxclientsFromConfig(pool: Pool): Promise<number | null> {
  try {
    const reply = (await pool.config('GET', 'maxclients')) as unknown;
    const raw = Array.isArray(reply) ? reply[1] : (reply as Record<string, unknown> | null)?.['maxclients'];
    const n = Number(raw);
    return raw !== undefined && Number.isFinite(n) ? n : null;
  } catch {
    return null; // CONFIG is often disabled (managed Redis, ACLs)
  }
}

function serverFacts(info: InfoFields, configMax: number | null): NonNullable<HealthOutput['server']> {
  const infoMax = infoNumber(info, 'maxclients');
  return {
    version: info['redis_version'] ?? null,
    mode: info['redis_mode'] ?? null,
    role: info['role'] ?? null,
    uptimeSec: infoNumber(info, 'uptime_in_seconds'),
    connectedClients: infoNumber(info, 'connected_clients'),
    blockedClients: infoNumber(info, 'blocked_clients'),
    maxclients: configMax ?? infoMax,
    maxclientsSource: configMax !== null ? 'config' : infoMax !== null ? 'info' : null,
    usedMemoryHuman: info['used_memory_human'] ?? null,
    rejectedConnections: infoNumber(info, 'rejected_connections'),
  };
}

/** The check of a cluster (`cluster` set). Never rejects. */
async function checkClusterHealth(url: string | undefined, display: string, timeoutMs: number): Promise<HealthOutput> {
  const c = await checkCluster(url, timeoutMs);
  return {
    command: 'health',
    target: display,
    status: c.status,
    latencyMs: c.latencyMs,
    message: c.message,
    problems: c.problems,
    server: null,
    pool: c.pool,
    cluster: c.cluster,
  };
}

/** The check of a Sentinel deployment. Never rejects. */
async function checkSentinelHealth(t: SentinelTarget, timeoutMs: number): Promise<HealthOutput> {
  const c = await checkSentinel(t, timeoutMs);
  return {
    command: 'health',
    target: t.display,
    status: c.status,
    latencyMs: c.latencyMs,
    message: c.message,
    problems: c.problems,
    server: null,
    pool: c.pool,
    sentinel: c.sentinel,
  };
}

/**
 * Runs the check. Never rejects; an unreachable server gives status 'unavailable'. A cluster
 * node (`cluster_enabled:1`, or `cluster` true) is checked as the seed of its cluster.
 */
export async function checkHealth(url: string | undefined, display: string, timeoutMs: number, cluster = false): Promise<HealthOutput> {
  if (cluster) return checkClusterHealth(url, display, timeoutMs);
  const single = await checkNode(url, display, timeoutMs);
  return single.clusterEnabled ? checkClusterHealth(url, display, timeoutMs) : single.out;
}

async function checkNode(
  url: string | undefined,
  display: string,
  timeoutMs: number,
): Promise<{ out: HealthOutput; clusterEnabled: boolean }> {
  const pool = openToolPool(url ?? {}, timeoutMs);
  const out: HealthOutput = {
    command: 'health',
    target: display,
    status: 'unavailable',
    latencyMs: null,
    message: '',
    problems: [],
    server: null,
    pool: null,
  };
  try {
    await withDeadline(
      pool.ready().catch(() => undefined),
      timeoutMs * 2,
    );
    const report: HealthReport | undefined = await withDeadline(pool.health({ timeoutMs }), timeoutMs * 2);
    if (!report) {
      out.message = `no answer within ${timeoutMs} ms`;
      return { out, clusterEnabled: false };
    }
    out.status = report.status;
    out.latencyMs = report.latencyMs === null ? null : Math.round(report.latencyMs * 1000) / 1000;
    out.message = report.status === 'unavailable' && report.lastError ? report.lastError.message : report.message;
    const st = report.stats;
    out.pool = { total: st.total, lanes: st.lanes, idle: st.idle, busy: st.busy, pending: st.pending, connecting: st.connecting };
    if (report.status === 'unavailable') return { out, clusterEnabled: false };
    if (report.status === 'degraded') out.problems.push(report.message);
    const [info, configMax] = await Promise.all([
      withDeadline(
        readInfo(pool).catch(() => undefined),
        timeoutMs,
      ),
      withDeadline(maxclientsFromConfig(pool), timeoutMs),
    ]);
    if (!info) {
      out.status = 'degraded';
      out.problems.push('INFO failed or timed out');
      return { out, clusterEnabled: false };
    }
    out.server = serverFacts(info, configMax ?? null);
    if (info['cluster_enabled'] === '1') return { out, clusterEnabled: true };
    if (info['loading'] === '1') out.problems.push('the server is loading its dataset');
    if (info['role'] === 'slave' && info['master_link_status'] !== 'up')
      out.problems.push(`replica link to the primary is ${info['master_link_status'] ?? 'unknown'}`);
    const limits = {
      ...(out.server.maxclients !== null ? { maxclients: out.server.maxclients } : {}),
      ...(out.server.connectedClients !== null ? { connectedClients: out.server.connectedClients } : {}),
    };
    const serverAdvice = adviseFromStats(pool.stats(), limits).filter((a: Advice) => a.metric.startsWith('server.'));
    for (const a of serverAdvice) out.problems.push(a.message);
    if (out.problems.length > 0 && out.status === 'healthy') out.status = 'degraded';
    return { out, clusterEnabled: false };
  } finally {
    await pool.destroy();
  }
}

function uptime(sec: number | null): string {
  if (sec === null) return '?';
  if (sec < 120) return `${sec}s`;
  if (sec < 7200) return `${Math.round(sec / 60)}m`;
  if (sec < 172800) return `${Math.round(sec / 3600)}h`;
  return `${Math.round(sec / 86400)}d`;
}

const colourOf = (s: HealthStatus): 'green' | 'yellow' | 'red' => (s === 'healthy' ? 'green' : s === 'degraded' ? 'yellow' : 'red');

/** One line per node of a cluster report, primaries first. */
function clusterLines(c: ClusterReport): string[] {
  const lines = [`  cluster  state ${c.state ?? '?'}, ${c.coveredSlots}/16384 slots covered, ${c.knownNodes} nodes`];
  const width = Math.max(0, ...c.nodes.map((n) => n.address.length));
  for (const n of c.nodes) {
    const s = n.server;
    const latency = n.latencyMs === null ? '–' : `${n.latencyMs} ms`;
    const what = n.role === 'primary' ? `${n.slots} slots` : `of ${n.primary ?? '?'}, link ${s?.replicaLink ?? '?'}`;
    const facts = s
      ? `clients ${s.connectedClients ?? '?'} / ${s.maxclients ?? '?'}, memory ${s.usedMemoryHuman ?? '?'}`
      : 'INFO: no answer';
    const pool = n.pool ? `, pool total ${n.pool.total} busy ${n.pool.busy} pending ${n.pool.pending}` : '';
    const flags = n.flags.length ? ` [${n.flags.join(',')}]` : '';
    lines.push(
      `  ${n.role.padEnd(8)} ${n.address.padEnd(width)}  ${paint(n.status.padEnd(11), colourOf(n.status))} ${latency.padStart(9)}  ${what}, ${facts}${pool}${flags}`,
    );
  }
  return lines;
}

const bytes = (n: number | null): string => (n === null ? '?' : `${n} B`);

/** The sentinels, then the primary and its replicas, then the pool's Sentinel figures. */
function sentinelLines(s: SentinelSection): string[] {
  const lines: string[] = [];
  const width = Math.max(0, ...s.sentinels.map((x) => x.address.length), ...s.nodes.map((n) => n.address.length));
  for (const x of s.sentinels) {
    const view = !x.reachable
      ? paint('unreachable', 'red')
      : x.primary === null
        ? paint(x.message, 'yellow')
        : `primary ${x.primary} [${x.flags.join(',')}], quorum ${x.quorum ?? '?'} (${x.quorumOk === null ? 'CKQUORUM ?' : x.quorumOk ? 'CKQUORUM ok' : paint('NOQUORUM', 'yellow')}), ${x.replicas ?? '?'} replicas, ${x.otherSentinels ?? '?'} other sentinels`;
    lines.push(`  sentinel ${x.address.padEnd(width)}  ${view}`);
  }
  for (const n of s.nodes) {
    const latency = n.latencyMs === null ? '–' : `${n.latencyMs} ms`;
    const repl =
      n.role === 'primary'
        ? `offset ${n.offset ?? '?'}`
        : `link ${n.replicaLink ?? '?'}, offset ${n.offset ?? '?'}, lag ${bytes(n.lagBytes)}${n.lagSec === null ? '' : ` / ${n.lagSec} s`}`;
    const facts = n.server
      ? `clients ${n.server.connectedClients ?? '?'} / ${n.server.maxclients ?? '?'}, memory ${n.server.usedMemoryHuman ?? '?'}`
      : 'INFO: no answer';
    const flags = n.flags.length ? ` [${n.flags.join(',')}]` : '';
    lines.push(
      `  ${n.role.padEnd(8)} ${n.address.padEnd(width)}  ${paint(n.status.padEnd(11), colourOf(n.status))} ${latency.padStart(9)}  role ${n.reportedRole ?? '?'}, ${repl}, ${facts}${flags}`,
    );
  }
  const st = s.stats;
  if (st)
    lines.push(
      `  pool     sentinel "${st.name}": generation ${st.generation}, ${st.changes} moves, ${st.sentinels} sentinels known, ${st.discoveries} discoveries, subscribed ${st.subscribed}/${st.subscriptions}, ${st.connectionsOpen} sentinel connections open`,
    );
  return lines;
}

/** Text rendering of a health report. */
export function healthText(h: HealthOutput): string {
  const colour = h.status === 'healthy' ? 'green' : h.status === 'degraded' ? 'yellow' : 'red';
  const lines = [`${h.target}  ${paint(h.status, colour)}  ${h.message}`];
  const s = h.server;
  if (s) {
    lines.push(
      `  server   redis ${s.version ?? '?'} (${s.mode ?? '?'}), role ${s.role ?? '?'}, up ${uptime(s.uptimeSec)}, memory ${s.usedMemoryHuman ?? '?'}`,
    );
    const share = s.maxclients && s.connectedClients !== null ? ` (${((s.connectedClients / s.maxclients) * 100).toFixed(1)} %)` : '';
    const max =
      s.maxclients === null
        ? 'maxclients unknown'
        : `maxclients ${s.maxclients}${s.maxclientsSource === 'info' ? ' (from INFO; CONFIG GET not permitted)' : ''}`;
    lines.push(
      `  clients  ${s.connectedClients ?? '?'} connected / ${max}${share}, ${s.blockedClients ?? '?'} blocked, ${s.rejectedConnections ?? '?'} rejected since start`,
    );
  }
  if (h.pool)
    lines.push(
      `  pool     total ${h.pool.total}, lanes ${h.pool.lanes}, idle ${h.pool.idle}, busy ${h.pool.busy}, pending ${h.pool.pending}`,
    );
  if (h.cluster) lines.push(...clusterLines(h.cluster));
  if (h.sentinel) lines.push(...sentinelLines(h.sentinel));
  for (const p of h.problems) lines.push(`  problem  ${p}`);
  return lines.join('\n');
}

/** Runs `redpool health`; resolves with the exit code. */
export async function healthCommand(argv: string[]): Promise<number> {
  const p = parse(argv, HEALTH_OPTIONS, 1);
  if (p.values['help']) {
    print(HEALTH_HELP);
    return EXIT.ok;
  }
  const t = target(p);
  const sentinel = sentinelTarget(p, t.url);
  const timeoutMs = num(p, 'timeout', 2_000, { min: 10, max: 600_000, integer: true });
  // A hard stop on top of the per-step deadlines: one node answers within about 3 × timeout; a
  // cluster (more steps: topology, every node's INFO) within about 3 + 6 × timeout.
  const hardMs = timeoutMs * 9 + 1_000;
  const fallback: HealthOutput = {
    command: 'health',
    target: sentinel?.display ?? t.display,
    status: 'unavailable',
    latencyMs: null,
    message: `no answer within ${hardMs} ms`,
    problems: [],
    server: null,
    pool: null,
  };
  const run = sentinel ? checkSentinelHealth(sentinel, timeoutMs) : checkHealth(t.url, t.display, timeoutMs, p.values['cluster'] === true);
  const h = (await withDeadline(run, hardMs)) ?? fallback;
  if (p.values['json']) printJson(h);
  else print(healthText(h));
  return h.status === 'healthy' ? EXIT.ok : h.status === 'degraded' ? EXIT.failure : 2;
}
