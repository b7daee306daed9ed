/**
 * Recommendations from observed numbers, the "recommendations" list of a `/health/redis`
 * endpoint, with stable codes, levels and the numbers behind each one.
 * Pure functions of a {@link PoolStats} snapshot (plus, optionally, what the server reports), so
 * they are cheap, deterministic and testable without Redis. Every rule is listed in
 * docs/observability.md with how to alert on the same signal from metrics.
 */
import type { PoolStats } from '../pool/stats.js';
import { maxclientsFinding, type ServerLimits } from './server.js';

/** Severity of one finding. `critical`: callers are failing or about to; act now. */
export type AdviceLevel = 'info' | 'warning' | 'critical';

/** One recommendation. `code` is stable (alert on it); `message` is for humans and may change. */
export interface Advice {
  level: AdviceLevel;
  /** Stable identifier, e.g. `UTILIZATION_HIGH`. Listed in docs/observability.md. */
  code: string;
  /** What was seen and what to do, in one or two sentences. */
  message: string;
  /** The stat field (or `server.*` value) the rule looked at. */
  metric: string;
  /** The observed value, in the unit of `metric` (ratio 0..1, ms, count). */
  value: number;
  /** The threshold that was crossed, same unit as `value`. */
  threshold: number;
}

export type { ServerLimits } from './server.js';

/** Thresholds of the rules. Ratios are 0..1, durations milliseconds. */
export interface AdviceThresholds {
  /** Utilization above which to warn. @default 0.6 */
  utilizationWarning: number;
  /** Utilization above which it is critical. @default 0.8 */
  utilizationCritical: number;
  /** Average wait for a connection above which to warn, ms. @default 10 */
  waitWarningMs: number;
  /** Average wait for a connection above which it is critical, ms. @default 100 */
  waitCriticalMs: number;
  /**
   * Waits for connections other callers held (contention: `waits − connectWaits`) needed before
   * the average means anything: a fresh pool's first callers must not make a verdict. @default 20
   */
  waitMinSamples: number;
  /** `connected_clients / maxclients` above which to warn. @default 0.8 */
  serverClientsWarning: number;
  /** `connected_clients / maxclients` above which it is critical. @default 0.95 */
  serverClientsCritical: number;
}

/** The default thresholds (utilization: watch above 60 %, act above 80 %). */
export const DEFAULT_THRESHOLDS: Readonly<AdviceThresholds> = Object.freeze({
  utilizationWarning: 0.6,
  utilizationCritical: 0.8,
  waitWarningMs: 10,
  waitCriticalMs: 100,
  waitMinSamples: 20,
  serverClientsWarning: 0.8,
  serverClientsCritical: 0.95,
});

/** Options of {@link adviseFromStats}. */
export interface AdviceOptions {
  /**
   * An earlier snapshot of the same pool. When given, counter rules (exhaustion, timeouts,
   * errors, wait time) look only at what happened since then; otherwise at totals since the
   * pool was created, so one burst long ago keeps reporting.
   */
  previous?: PoolStats;
  /** Processes that each run a pool like this one against the same server. @default 1 */
  workers?: number;
  /** Pool settings the server rules compare against (pass `pool.options`). */
  pool?: { idleTimeoutMs?: number; healthCheckIntervalMs?: number };
  /** Overrides of {@link DEFAULT_THRESHOLDS}. */
  thresholds?: Partial<AdviceThresholds>;
}

const RANK: Record<AdviceLevel, number> = { critical: 0, warning: 1, info: 2 };

const pct = (ratio: number): string => `${(ratio * 100).toFixed(0)} %`;

/**
 * Turns a stats snapshot (and optionally the server's limits) into recommendations, most
 * severe first. An empty array means nothing to report. Never throws for any snapshot.
 *
 * @example
 * adviseFromStats(pool.stats(), { maxclients: 10000, connectedClients: 42 }, { pool: pool.options })
 */
export function adviseFromStats(stats: PoolStats, server?: ServerLimits, options?: AdviceOptions): Advice[] {
  const t: AdviceThresholds = { ...DEFAULT_THRESHOLDS, ...options?.thresholds };
  const prev = options?.previous;
  const delta = (pick: (s: PoolStats) => number): number => Math.max(0, pick(stats) - (prev ? pick(prev) : 0));
  const since = prev ? 'since the previous check' : 'since the pool started';
  const out: Advice[] = [];
  const add = (level: AdviceLevel, code: string, metric: string, value: number, threshold: number, message: string): void => {
    out.push({ level, code, message, metric, value, threshold });
  };

  // ---- pool state and health
  if (stats.state === 'closing' || stats.state === 'closed') {
    add('critical', 'POOL_CLOSED', 'state', 1, 0, `The pool is ${stats.state}; every command fails with ERR_POOL_CLOSED.`);
  } else if (stats.health === 'unavailable') {
    add(
      'critical',
      'POOL_UNAVAILABLE',
      'health',
      2,
      1,
      'Redis cannot be reached: commands fail fast with ERR_UNAVAILABLE while the pool reconnects in the background. Check the server, the network and the credentials.',
    );
  } else if (stats.health === 'degraded') {
    add(
      'warning',
      'POOL_DEGRADED',
      'health',
      1,
      0,
      'Recent connection attempts failed; the pool still serves from the connections it has. Check the server and the network.',
    );
  }

  // ---- utilization (watch above 60 %, act above 80 %)
  const u = stats.utilization;
  if (u > t.utilizationCritical) {
    add(
      'critical',
      'UTILIZATION_CRITICAL',
      'utilization',
      u,
      t.utilizationCritical,
      `Pool utilization is ${pct(u)} (above ${pct(t.utilizationCritical)}): increase max (now ${stats.max}) or find slow commands and long-held leases.`,
    );
  } else if (u > t.utilizationWarning) {
    add(
      'warning',
      'UTILIZATION_HIGH',
      'utilization',
      u,
      t.utilizationWarning,
      `Pool utilization is ${pct(u)} (above ${pct(t.utilizationWarning)}): watch it; sustained, it leaves little headroom for bursts.`,
    );
  }
  if (stats.pending > 0 && stats.pending >= stats.max) {
    add(
      'warning',
      'PENDING_HIGH',
      'pending',
      stats.pending,
      stats.max,
      `${stats.pending} callers are waiting for a connection, as many as the pool has connections (${stats.max}).`,
    );
  }

  // ---- counters
  const exhausted = delta((s) => s.exhausted);
  if (exhausted > 0) {
    add(
      'critical',
      'POOL_EXHAUSTED',
      'exhausted',
      exhausted,
      0,
      `The pool ran out of connections ${exhausted} time(s) ${since}: callers had to queue or were refused. Increase max, or shorten leases and blocking commands.`,
    );
  }
  const acquireTimeouts = delta((s) => s.acquireTimeouts);
  if (acquireTimeouts > 0) {
    add(
      'critical',
      'ACQUIRE_TIMEOUTS',
      'acquireTimeouts',
      acquireTimeouts,
      0,
      `${acquireTimeouts} caller(s) gave up waiting for a connection ${since} (ERR_ACQUIRE_TIMEOUT). The pool is too small for the load, leases are held too long, or Redis is slow.`,
    );
  }
  const commandTimeouts = delta((s) => s.commandTimeouts);
  if (commandTimeouts > 0) {
    add(
      'warning',
      'COMMAND_TIMEOUTS',
      'commandTimeouts',
      commandTimeouts,
      0,
      `${commandTimeouts} command(s) missed their deadline ${since}. Check SLOWLOG, server CPU and network latency before raising commandTimeoutMs.`,
    );
  }
  // Contention only: a wait that ended on a connection opened meanwhile (the cold start's first
  // callers, growth below max, reconnects) says how long a connect takes, not that the pool is
  // too small; and a handful of waits is no average.
  const waits = delta((s) => s.waits - s.connectWaits);
  if (waits > 0 && waits >= t.waitMinSamples) {
    const avg = delta((s) => s.waitMsTotal - s.connectWaitMsTotal) / waits;
    const metric = '(waitMsTotal-connectWaitMsTotal)/(waits-connectWaits)';
    if (avg > t.waitCriticalMs) {
      add(
        'critical',
        'WAIT_TIME_HIGH',
        metric,
        avg,
        t.waitCriticalMs,
        `Callers waited ${avg.toFixed(1)} ms on average for a connection other callers held, over ${waits} waits ${since} (above ${t.waitCriticalMs} ms): the pool is undersized for the load.`,
      );
    } else if (avg > t.waitWarningMs) {
      add(
        'warning',
        'WAIT_TIME_HIGH',
        metric,
        avg,
        t.waitWarningMs,
        `Callers waited ${avg.toFixed(1)} ms on average for a connection other callers held, over ${waits} waits ${since} (above ${t.waitWarningMs} ms).`,
      );
    }
  }
  const auth = delta((s) => s.errorsBy.auth);
  if (auth > 0) {
    add(
      'critical',
      'AUTH_ERRORS',
      'errorsBy.auth',
      auth,
      0,
      `${auth} connection attempt(s) were refused by authentication ${since}: check the password/ACL user (rotated credentials?).`,
    );
  }
  const connErrors = delta((s) => s.errorsBy.connect + s.errorsBy.connection + s.errorsBy.tls);
  if (connErrors > 0) {
    add(
      'warning',
      'CONNECTION_ERRORS',
      'errorsBy.connect+connection+tls',
      connErrors,
      0,
      `${connErrors} connection error(s) ${since}. Check server restarts, maxclients (INFO stats rejected_connections), network stability and TLS settings.`,
    );
  }

  // ---- the server's limits
  const workers = Math.max(1, options?.workers ?? 1);
  const maxclients = server?.maxclients;
  if (maxclients !== undefined && maxclients > 0) {
    const budget = stats.max * workers;
    const over = maxclientsFinding(
      budget,
      maxclients,
      workers > 1 ? `${workers} workers × max ${stats.max} = ${budget}` : `max ${stats.max}`,
    );
    if (over) add(over.level, 'MAX_ABOVE_MAXCLIENTS', 'max', budget, maxclients, `${over.message}. Lower max or raise maxclients.`);
    const connected = server?.connectedClients;
    if (connected !== undefined) {
      const ratio = connected / maxclients;
      if (ratio > t.serverClientsCritical) {
        add(
          'critical',
          'SERVER_CLIENTS_HIGH',
          'server.connectedClients/maxclients',
          ratio,
          t.serverClientsCritical,
          `The server has ${connected} of ${maxclients} clients connected (${pct(ratio)}): new connections are about to be refused. Look for connection leaks in every client of this server.`,
        );
      } else if (ratio > t.serverClientsWarning) {
        add(
          'warning',
          'SERVER_CLIENTS_HIGH',
          'server.connectedClients/maxclients',
          ratio,
          t.serverClientsWarning,
          `The server has ${connected} of ${maxclients} clients connected (${pct(ratio)}).`,
        );
      }
    }
  }
  const serverTimeoutS = server?.timeout;
  const po = options?.pool;
  if (serverTimeoutS !== undefined && serverTimeoutS > 0 && po) {
    const serverMs = serverTimeoutS * 1000;
    // Idle connections survive the server's timeout only if something touches them first: the
    // background PING (healthCheckIntervalMs) or idle eviction above `min` (idleTimeoutMs).
    const ping = po.healthCheckIntervalMs ?? 0;
    const keptIdleMs = ping > 0 ? ping : stats.min > 0 ? Infinity : po.idleTimeoutMs || Infinity;
    if (keptIdleMs >= serverMs) {
      add(
        'warning',
        'SERVER_IDLE_TIMEOUT',
        'healthCheckIntervalMs',
        ping,
        serverMs,
        `The server closes clients idle for ${serverTimeoutS} s, but the pool may keep a connection idle ${Number.isFinite(keptIdleMs) ? `for ${keptIdleMs} ms` : 'indefinitely'}: set healthCheckIntervalMs below ${serverMs} ms so idle connections are pinged (or idleTimeoutMs below it with min 0).`,
      );
    }
  }

  out.sort((a, b) => RANK[a.level] - RANK[b.level]);
  return out;
}

/** A one-line summary of advice: "Pool operating optimally" when empty. */
export function summarizeAdvice(advice: readonly Advice[]): string {
  if (advice.length === 0) return 'Pool operating optimally';
  const c = advice.filter((a) => a.level === 'critical').length;
  const w = advice.filter((a) => a.level === 'warning').length;
  const parts = [c ? `${c} critical` : '', w ? `${w} warning${w > 1 ? 's' : ''}` : ''].filter(Boolean);
  return parts.length ? `${parts.join(', ')}: ${advice[0]!.code}` : advice.map((a) => a.code).join(', ');
}

/** Parses `INFO clients` text and a `CONFIG GET timeout` reply into {@link ServerLimits}. */
export function parseServerLimits(info: string, configTimeout?: unknown): ServerLimits {
  const out: ServerLimits = {};
  const field = (name: string): number | undefined => {
    const m = new RegExp(`^${name}:(\\d+)\\s*$`, 'm').exec(info);
    return m ? Number(m[1]) : undefined;
  };
  const maxclients = field('maxclients');
  const connected = field('connected_clients');
  if (maxclients !== undefined) out.maxclients = maxclients;
  if (connected !== undefined) out.connectedClients = connected;
  // CONFIG GET replies ['timeout', '300'] (RESP2) or { timeout: '300' } (RESP3 map).
  let raw: unknown;
  if (Array.isArray(configTimeout)) raw = configTimeout[1];
  else if (configTimeout && typeof configTimeout === 'object') raw = (configTimeout as Record<string, unknown>)['timeout'];
  if (typeof raw === 'string' || Buffer.isBuffer(raw)) {
    const n = Number(String(raw));
    if (Number.isFinite(n) && n >= 0) out.timeout = n;
  }
  return out;
}

/** The two commands {@link fetchServerLimits} needs; a pool (or `pool.with(...)`) has both. */
export interface ServerLimitsSource {
  /** `INFO clients`: the text with `maxclients` and `connected_clients`. */
  info(section: 'clients'): Promise<string>;
  /** `CONFIG GET timeout`: the server's idle-client timeout in seconds. */
  config(subcommand: 'GET', parameter: 'timeout'): Promise<unknown>;
}

/**
 * Reads `maxclients`, `connected_clients` (INFO clients) and `timeout` (CONFIG GET) from the
 * server. Each part that fails (CONFIG is often disabled on managed Redis) is left out; never
 * rejects.
 */
export async function fetchServerLimits(source: ServerLimitsSource): Promise<ServerLimits> {
  const [info, timeout] = await Promise.allSettled([source.info('clients'), source.config('GET', 'timeout')]);
  return parseServerLimits(
    info.status === 'fulfilled' && typeof info.value === 'string' ? info.value : '',
    timeout.status === 'fulfilled' ? timeout.value : undefined,
  );
}
