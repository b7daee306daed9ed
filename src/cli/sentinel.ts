/**
 * Sentinel mode of `redpool health` and `redpool monitor` (`--sentinel host:port,… --name
 * mymaster`): every listed sentinel is asked for its view of the master (`SENTINEL MASTER`:
 * address, flags, quorum) and `SENTINEL CKQUORUM`; a one-connection pool with the `sentinel`
 * option finds the primary as an application's pool would (its `health()` and
 * `stats().sentinel`), and the primary and every replica (from `SENTINEL REPLICAS` and the
 * primary's INFO) are read through their own one-connection tool pools for role, replication
 * offset and lag. Credentials: the URL's (if given) for the data nodes — its host is not used —
 * and `REDPOOL_SENTINEL_USERNAME` / `REDPOOL_SENTINEL_PASSWORD` for the sentinels (never on the
 * command line, never printed).
 */
import { parseRedisUrl, type HealthStatus, type Pool, type PoolOptions, type SentinelStats } from '../index.js';
import { infoNumber, openToolPool, type InfoFields } from '../load/server-info.js';
import { str, UsageError, type Parsed } from './args.js';
import { AddressPools, within } from './address-pools.js';

/** Sentinels listed at most (as the `sentinel` option allows). */
const MAX_SENTINELS = 16;

/** What `--sentinel` and `--name` resolve to. */
export interface SentinelTarget {
  name: string;
  sentinels: { host: string; port: number }[];
  /** `redis-sentinel://h:p,h:p/name`: credential-free, safe to print. */
  display: string;
  /** Credentials and TLS of the sentinels (from the environment). */
  sentinelAuth: { username?: string; password?: string; tls?: boolean };
  /** Credentials, TLS and db of the data nodes (from the URL). */
  data: Pick<PoolOptions, 'username' | 'password' | 'tls' | 'db'>;
}

const fmt = (a: { host: string; port: number }): string => `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;

// Errors name the entry by position, never quote it: whatever was typed there (a URL with a
// password, by mistake) stays off the terminal.
function parseAddress(raw: string, i: number, of: number): { host: string; port: number } {
  const at = of > 1 ? ` (entry ${i + 1} of ${of})` : '';
  const m = /^(?:\[([^\]]+)\]|([^:[\]/@]+))(?::(\d+))?$/.exec(raw.trim());
  if (!m) throw new UsageError(`--sentinel: expected host:port${at}`);
  const port = m[3] === undefined ? 26379 : Number(m[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--sentinel: port must be 1..65535${at}`);
  return { host: (m[1] ?? m[2])!, port };
}

/**
 * The Sentinel target of a command line, or undefined without `--sentinel`. `--name` is
 * required with it (and refused without it); `url` supplies the data nodes' credentials.
 */
export function sentinelTarget(p: Parsed, url: string | undefined, env: NodeJS.ProcessEnv = process.env): SentinelTarget | undefined {
  const list = str(p, 'sentinel');
  const name = str(p, 'name');
  if (list === undefined) {
    if (name !== undefined)
      throw new UsageError('--name is the Sentinel master name: give the sentinels with --sentinel host:port[,host:port]');
    return undefined;
  }
  if (p.values['cluster'] === true) throw new UsageError('--sentinel and --cluster cannot be combined');
  if (name === undefined) throw new UsageError('--sentinel needs --name (the master name the sentinels monitor, e.g. mymaster)');
  if (name === '' || /\s/.test(name)) throw new UsageError('--name must be a non-empty master name without spaces');
  const parts = list.split(',').filter((s) => s.trim() !== '');
  if (parts.length === 0) throw new UsageError('--sentinel: expected host:port[,host:port…]');
  if (parts.length > MAX_SENTINELS) throw new UsageError(`--sentinel: at most ${MAX_SENTINELS} sentinels`);
  const sentinels = parts.map((raw, i) => parseAddress(raw, i, parts.length));
  const data: SentinelTarget['data'] = {};
  if (url !== undefined) {
    const u = parseRedisUrl(url); // already checked by target()
    if (u.path !== undefined) throw new UsageError('--sentinel: the URL gives the data nodes credentials and TLS; a unix:// URL cannot');
    if (u.username !== undefined) data.username = u.username;
    if (u.password !== undefined) data.password = u.password;
    if (u.tls) data.tls = true;
    if (u.db !== undefined) data.db = u.db;
  }
  const sentinelAuth: SentinelTarget['sentinelAuth'] = {};
  if (env['REDPOOL_SENTINEL_USERNAME']) sentinelAuth.username = env['REDPOOL_SENTINEL_USERNAME'];
  if (env['REDPOOL_SENTINEL_PASSWORD']) sentinelAuth.password = env['REDPOOL_SENTINEL_PASSWORD'];
  if (p.values['sentinel-tls'] === true) sentinelAuth.tls = true;
  return { name, sentinels, display: `redis-sentinel://${sentinels.map(fmt).join(',')}/${name}`, sentinelAuth, data };
}

/** The CLI's pool on the primary: one connection, found through the sentinels. */
export function openSentinelToolPool(t: SentinelTarget, timeoutMs: number): Pool {
  return openToolPool({ ...t.data, sentinel: { name: t.name, sentinels: t.sentinels, ...t.sentinelAuth } }, timeoutMs);
}

/** Reply fields of a `SENTINEL MASTER` / `REPLICAS` entry (RESP2 flat array or RESP3 map). */
export function fields(entry: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (k: unknown, v: unknown): void => {
    out[String(k)] = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  };
  if (Array.isArray(entry)) for (let i = 0; i + 1 < entry.length; i += 2) put(entry[i], entry[i + 1]);
  else if (entry instanceof Map) for (const [k, v] of entry) put(k, v);
  else if (entry !== null && typeof entry === 'object') for (const [k, v] of Object.entries(entry)) put(k, v);
  return out;
}

const nz = (s: string | undefined): number | null => (s === undefined || s === '' || !Number.isFinite(Number(s)) ? null : Number(s));
const round3 = (ms: number | null): number | null => (ms === null ? null : Math.round(ms * 1000) / 1000);

/** One sentinel as `redpool health` reports it. */
export interface SentinelReport {
  address: string;
  reachable: boolean;
  /** The primary this sentinel names (`SENTINEL MASTER` ip:port), or null. */
  primary: string | null;
  /** Its flags for the master (`master`, `s_down`, `o_down`, …). */
  flags: string[];
  quorum: number | null;
  /** `SENTINEL CKQUORUM`: null when not asked or not answered. */
  quorumOk: boolean | null;
  replicas: number | null;
  otherSentinels: number | null;
  latencyMs: number | null;
  /** Why it is not fine, or ''. */
  message: string;
}

/** One data node in a Sentinel report. */
export interface SentinelNodeReport {
  address: string;
  /** As the sentinels and the pool see it. */
  role: 'primary' | 'replica';
  /** `role` from the node's own INFO (`master`/`slave`), or null when it did not answer. */
  reportedRole: string | null;
  status: HealthStatus;
  latencyMs: number | null;
  message: string;
  /** Sentinel flags of a replica (`s_down`, `disconnected`, …; the role flag dropped). */
  flags: string[];
  /** `master_link_status` of a replica. */
  replicaLink: string | null;
  /** `master_repl_offset` (primary) or `slave_repl_offset` (replica), bytes. */
  offset: number | null;
  /** Replica: bytes behind the primary's offset. */
  lagBytes: number | null;
  /** Replica: seconds since its last ack, as the primary's INFO reports it. */
  lagSec: number | null;
  server: { version: string | null; connectedClients: number | null; maxclients: number | null; usedMemoryHuman: string | null } | null;
}

/** The Sentinel part of `redpool health --json`. */
export interface SentinelSection {
  name: string;
  /** The primary the pool found (stats().sentinel.primary), or null. */
  primary: string | null;
  sentinels: SentinelReport[];
  nodes: SentinelNodeReport[];
  /** The pool's `stats().sentinel`. */
  stats: SentinelStats | null;
}

/** What {@link checkSentinel} returns. */
export interface SentinelCheck {
  status: HealthStatus;
  latencyMs: number | null;
  message: string;
  problems: string[];
  sentinel: SentinelSection;
  pool: { total: number; lanes: number; idle: number; busy: number; pending: number; connecting: number } | null;
}

/** What one sentinel says: its report, plus its `SENTINEL REPLICAS` list. */
async function askSentinel(
  pools: AddressPools,
  address: string,
  name: string,
  timeoutMs: number,
): Promise<{ report: SentinelReport; replicas: Record<string, string>[] | undefined }> {
  const pool = pools.get(address);
  const report: SentinelReport = {
    address,
    reachable: false,
    primary: null,
    flags: [],
    quorum: null,
    quorumOk: null,
    replicas: null,
    otherSentinels: null,
    latencyMs: null,
    message: '',
  };
  const started = performance.now();
  const master = await within(pool.call('SENTINEL', 'MASTER', name) as Promise<unknown>, timeoutMs * 2);
  if (master === undefined) {
    // A refused connection and an unknown master name both land here: PING tells them apart.
    const pong = await within(pool.call('PING') as Promise<unknown>, timeoutMs);
    report.reachable = pong !== undefined;
    report.message = pong === undefined ? `no answer within ${timeoutMs * 2} ms` : `does not monitor "${name}"`;
    return { report, replicas: undefined };
  }
  report.reachable = true;
  report.latencyMs = round3(performance.now() - started);
  const m = fields(master);
  if (m['ip'] !== undefined && m['port'] !== undefined) report.primary = fmt({ host: m['ip'], port: Number(m['port']) });
  report.flags = (m['flags'] ?? '').split(',').filter((f) => f !== '');
  report.quorum = nz(m['quorum']);
  report.replicas = nz(m['num-slaves']);
  report.otherSentinels = nz(m['num-other-sentinels']);
  const [ck, reps] = await Promise.all([
    pool.call('SENTINEL', 'CKQUORUM', name).then(
      () => true,
      (err: unknown) => (err instanceof Error && /NOQUORUM/i.test(err.message) ? false : null),
    ),
    within(pool.call('SENTINEL', 'REPLICAS', name) as Promise<unknown>, timeoutMs * 2),
  ]);
  report.quorumOk = ck;
  if (ck === false) report.message = 'CKQUORUM: quorum or failover authorization cannot be reached';
  return { report, replicas: Array.isArray(reps) ? reps.map(fields) : undefined };
}

/** `slaveN:ip=…,port=…,state=…,offset=…,lag=…` lines of a primary's INFO, by address. */
function replicasOfPrimary(info: InfoFields | undefined): Map<string, { offset: number | null; lag: number | null; state: string }> {
  const out = new Map<string, { offset: number | null; lag: number | null; state: string }>();
  for (const [k, v] of Object.entries(info ?? {})) {
    if (!/^slave\d+$/.test(k)) continue;
    const f = Object.fromEntries(v.split(',').map((kv) => kv.split('=') as [string, string]));
    if (f['ip'] && f['port'])
      out.set(fmt({ host: f['ip'], port: Number(f['port']) }), { offset: nz(f['offset']), lag: nz(f['lag']), state: f['state'] ?? '?' });
  }
  return out;
}

function serverOf(info: InfoFields | undefined): SentinelNodeReport['server'] {
  return info
    ? {
        version: info['redis_version'] ?? null,
        connectedClients: infoNumber(info, 'connected_clients'),
        maxclients: infoNumber(info, 'maxclients'),
        usedMemoryHuman: info['used_memory_human'] ?? null,
      }
    : null;
}

/** The sentinels' answers, with the replica list each gave. */
export interface SentinelView {
  sentinels: SentinelReport[];
  /** `SENTINEL REPLICAS` of each sentinel (same order), undefined where it did not answer. */
  lists: (Record<string, string>[] | undefined)[];
}

/** Asks every sentinel (in parallel). Never rejects. */
export async function viewOfSentinels(t: SentinelTarget, pools: AddressPools, timeoutMs: number): Promise<SentinelView> {
  const answers = await Promise.all(t.sentinels.map((a) => askSentinel(pools, fmt(a), t.name, timeoutMs)));
  return { sentinels: answers.map((a) => a.report), lists: answers.map((a) => a.replicas) };
}

/**
 * The replicas by address, from the list of a sentinel that agrees with the pool on the
 * primary (the one to trust after a failover), else from the first that answered.
 */
export function replicasOf(view: SentinelView, primary: string | null): Map<string, Record<string, string>> {
  let i = view.lists.findIndex((l, k) => l !== undefined && (primary === null || view.sentinels[k]!.primary === primary));
  if (i < 0) i = view.lists.findIndex((l) => l !== undefined);
  const out = new Map<string, Record<string, string>>();
  for (const r of view.lists[i] ?? []) if (r['ip'] && r['port']) out.set(fmt({ host: r['ip'], port: Number(r['port']) }), r);
  return out;
}

/** Runs the Sentinel check. Never rejects; no primary found gives status 'unavailable'. */
export async function checkSentinel(t: SentinelTarget, timeoutMs: number): Promise<SentinelCheck> {
  const pool = openSentinelToolPool(t, timeoutMs);
  const sentinelPools = new AddressPools(t.sentinelAuth, timeoutMs);
  const dataPools = new AddressPools(t.data, timeoutMs);
  try {
    // The sentinels (≤ 4 × timeout) in parallel with the pool's ready, health and the primary's
    // INFO (2 + 2 ×), then the replicas (2 ×): about 6 × timeout in all.
    const [view, [report, primary, primaryInfo]] = await Promise.all([
      viewOfSentinels(t, sentinelPools, timeoutMs),
      (async () => {
        await within(pool.ready(), timeoutMs * 2);
        const found = pool.stats().sentinel?.primary ?? null;
        const [health, info] = await Promise.all([
          within(pool.health({ timeoutMs }), timeoutMs * 2),
          found === null ? Promise.resolve(undefined) : dataPools.info(found),
        ]);
        return [health, found, info] as const;
      })(),
    ]);
    const st = pool.stats();
    const replicas = replicasOf(view, primary);
    const fromPrimary = replicasOfPrimary(primaryInfo);
    const replicaAddrs = [...new Set([...replicas.keys(), ...fromPrimary.keys()])]
      .filter((a) => a !== primary)
      .sort((x, y) => x.localeCompare(y, 'en', { numeric: true }));
    const replicaChecks = await Promise.all(
      replicaAddrs.map(async (a) => {
        const [h, info] = await Promise.all([within(dataPools.get(a).health({ timeoutMs }), timeoutMs * 2), dataPools.info(a)]);
        return { h, info };
      }),
    );
    const problems: string[] = [];
    const nodes: SentinelNodeReport[] = [];
    const primaryOffset = infoNumber(primaryInfo ?? {}, 'master_repl_offset');
    if (primary !== null) {
      const role = primaryInfo?.['role'] ?? null;
      let status: HealthStatus = report?.status ?? 'unavailable';
      let message = report?.message ?? `no answer within ${timeoutMs} ms`;
      if (role !== null && role !== 'master') {
        status = 'degraded';
        message = `the sentinels' primary reports role ${role}`;
      }
      nodes.push({
        address: primary,
        role: 'primary',
        reportedRole: role,
        status,
        latencyMs: round3(report?.latencyMs ?? null),
        message,
        flags: [],
        replicaLink: null,
        offset: primaryOffset,
        lagBytes: null,
        lagSec: null,
        server: serverOf(primaryInfo),
      });
      if (status !== 'healthy') problems.push(`primary ${primary}: ${status}: ${message}`);
    }
    replicaAddrs.forEach((a, i) => {
      const { h, info } = replicaChecks[i]!;
      const s = replicas.get(a);
      const flags = (s?.['flags'] ?? '').split(',').filter((f) => f !== '' && f !== 'slave');
      const link = info?.['master_link_status'] ?? null;
      const offset = infoNumber(info ?? {}, 'slave_repl_offset') ?? nz(s?.['slave-repl-offset']);
      let status: HealthStatus = h?.status ?? 'unavailable';
      let message = h?.status === 'unavailable' && h.lastError ? h.lastError.message : (h?.message ?? `no answer within ${timeoutMs} ms`);
      if (status === 'healthy' && info?.['role'] !== undefined && info['role'] !== 'slave')
        [status, message] = ['degraded', `reports role ${info['role']}`];
      else if (status === 'healthy' && link !== null && link !== 'up')
        [status, message] = ['degraded', `replica link to the primary is ${link}`];
      else if (status === 'healthy' && flags.some((f) => /s_down|o_down|disconnected/.test(f)))
        [status, message] = ['degraded', `flagged ${flags.join(',')} by the sentinels`];
      if (status !== 'healthy') problems.push(`replica ${a}: ${status}: ${message}`);
      nodes.push({
        address: a,
        role: 'replica',
        reportedRole: info?.['role'] ?? null,
        status,
        latencyMs: round3(h?.latencyMs ?? null),
        message,
        flags,
        replicaLink: link,
        offset,
        lagBytes: primaryOffset !== null && offset !== null ? Math.max(0, primaryOffset - offset) : null,
        lagSec: fromPrimary.get(a)?.lag ?? null,
        server: serverOf(info),
      });
    });
    for (const s of view.sentinels) {
      if (!s.reachable) problems.push(`sentinel ${s.address}: unreachable`);
      else if (s.primary === null) problems.push(`sentinel ${s.address}: ${s.message}`);
      else {
        if (primary !== null && s.primary !== primary)
          problems.push(`sentinel ${s.address} names ${s.primary} as the primary, the pool uses ${primary}`);
        const down = s.flags.filter((f) => f === 's_down' || f === 'o_down');
        if (down.length) problems.push(`sentinel ${s.address} flags the primary ${down.join(',')}`);
        if (s.quorumOk === false) problems.push(`sentinel ${s.address}: ${s.message}`);
      }
    }
    if (primary !== null && replicaAddrs.length === 0) problems.push('no replica: a failover has nowhere to go');
    let status: HealthStatus = primary === null ? 'unavailable' : (report?.status ?? 'unavailable');
    if (status === 'healthy' && problems.length > 0) status = 'degraded';
    const reachable = view.sentinels.filter((s) => s.reachable).length;
    const healthyReplicas = nodes.filter((n) => n.role === 'replica' && n.status === 'healthy').length;
    const message =
      primary === null
        ? (report?.lastError?.message ?? `no primary found for "${t.name}" within ${timeoutMs * 2} ms`)
        : `primary ${primary}, ${healthyReplicas}/${replicaAddrs.length} replicas healthy, ${reachable}/${view.sentinels.length} sentinels reachable`;
    return {
      status,
      latencyMs: round3(report?.latencyMs ?? null),
      message,
      problems,
      sentinel: { name: t.name, primary, sentinels: view.sentinels, nodes, stats: st.sentinel ?? null },
      pool: { total: st.total, lanes: st.lanes, idle: st.idle, busy: st.busy, pending: st.pending, connecting: st.connecting },
    };
  } finally {
    await Promise.all([pool.destroy(), sentinelPools.destroy(), dataPools.destroy()]);
  }
}
