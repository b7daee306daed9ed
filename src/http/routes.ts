/**
 * The health and metrics routes, independent of any HTTP framework: `node:http`/Express
 * ({@link createHealthHandler}) and Fastify (`redpool/fastify`) both translate to and from
 * {@link RouteResponse}. Bodies are built from the public pool API only and never carry secrets
 * (the endpoint is the redacted one, user names are not included). Routes and bodies are
 * documented in docs/observability.md.
 */
import { adviseFromStats, fetchServerLimits, summarizeAdvice, type Advice, type ServerLimits } from '../health/advice.js';
import type { PoolLike } from '../pool/api.js';
import type { HealthReport } from '../pool/pool.js';
import type { PoolStats } from '../pool/stats.js';

/** What `/metrics` needs of a registry: a prom-client `Registry` fits. */
export interface MetricsRegistry {
  /** The exposition text of every registered metric. */
  metrics(): Promise<string> | string;
  /** The `Content-Type` of that text. */
  readonly contentType: string;
}

/** Options of the health routes. */
export interface HealthRoutesOptions {
  /** Path prefix of the health routes. @default '/health' */
  prefix?: string;
  /** Path of the Prometheus endpoint; `false` to not serve it. @default '/metrics' */
  metricsPath?: string | false;
  /** Registry served at `metricsPath`; without one that path answers 404. */
  registry?: MetricsRegistry;
  /** Deadline of the health PING, in ms. @default min(commandTimeoutMs, 2000) */
  timeoutMs?: number;
  /**
   * Let `/health/redis` read the server's `maxclients`, `connected_clients` (INFO clients) and
   * `timeout` (CONFIG GET) for the server advice rules. @default true
   */
  serverInfo?: boolean;
  /** How long server info is reused, in ms. @default 30000 */
  serverInfoTtlMs?: number;
  /**
   * Counter-based advice (exhaustion, timeouts, errors, wait time) looks at the last
   * `adviceWindowMs` to `2 × adviceWindowMs` rather than at totals since start. @default 300000
   */
  adviceWindowMs?: number;
  /** Worker processes sharing the server, for the maxclients rule. @default 1 */
  workers?: number;
}

/** A response, ready for any framework. */
export interface RouteResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Body of `/health/redis`. */
export interface RedisHealthBody {
  status: HealthReport['status'];
  pool: string;
  endpoint: string;
  latencyMs: number | null;
  message: string;
  lastError: HealthReport['lastError'];
  checkedAt: string;
  stats: PoolStats;
  advice: Advice[];
  summary: string;
  server: ServerLimits | null;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

function json(status: number, body: unknown, extra?: Record<string, string>): RouteResponse {
  return { status, headers: { ...JSON_HEADERS, ...extra }, body: JSON.stringify(body) };
}

function normalizePrefix(p: string): string {
  let out = p.startsWith('/') ? p : `/${p}`;
  while (out.length > 1 && out.endsWith('/')) out = out.slice(0, -1);
  return out === '/' ? '' : out;
}

/** The routes a health handler serves. */
export type Route = 'health' | 'live' | 'ready' | 'redis' | 'metrics';

/** The routes of one pool. Create once; {@link handle} per request. */
export class HealthRoutes {
  readonly pool: PoolLike;
  /** Absolute paths served, by route. */
  readonly paths: Readonly<Record<Route, string | undefined>>;
  readonly #o: HealthRoutesOptions;
  readonly #byPath = new Map<string, Route>();
  #health: Promise<HealthReport> | undefined;
  #server: { at: number; value: Promise<ServerLimits | null> } | undefined;
  #checkpoints: { prev: { at: number; stats: PoolStats } | undefined; cur: { at: number; stats: PoolStats } | undefined } = {
    prev: undefined,
    cur: undefined,
  };

  constructor(pool: PoolLike, options: HealthRoutesOptions = {}) {
    this.pool = pool;
    this.#o = options;
    const prefix = normalizePrefix(options.prefix ?? '/health');
    const metrics = options.metricsPath === false ? undefined : normalizePrefix(options.metricsPath ?? '/metrics') || '/';
    this.paths = {
      health: prefix || '/',
      live: `${prefix}/live`,
      ready: `${prefix}/ready`,
      redis: `${prefix}/redis`,
      metrics,
    };
    for (const [route, path] of Object.entries(this.paths) as Array<[Route, string | undefined]>) {
      if (path !== undefined && !this.#byPath.has(path)) this.#byPath.set(path, route);
    }
  }

  /** Which route a request path (query string allowed) maps to, if any. */
  match(url: string): Route | undefined {
    let path = url;
    const q = path.search(/[?#]/);
    if (q >= 0) path = path.slice(0, q);
    while (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    return this.#byPath.get(path || '/');
  }

  /**
   * Answers a request, or resolves `undefined` when the path is not one of these routes.
   * Only GET and HEAD are served (405 otherwise). Never rejects.
   */
  async handle(method: string, url: string): Promise<RouteResponse | undefined> {
    const route = this.match(url);
    if (!route) return undefined;
    if (method !== 'GET' && method !== 'HEAD') return json(405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
    try {
      switch (route) {
        case 'live':
          return json(200, { status: 'alive', uptimeSeconds: Math.round(process.uptime()) });
        case 'health':
          return await this.#healthRoute();
        case 'ready':
          return await this.#readyRoute();
        case 'redis':
          return await this.#redisRoute();
        case 'metrics':
          return await this.#metricsRoute();
      }
    } catch {
      // Details could leak internals; the pool's own logs carry them.
      return json(500, { status: 'error', error: 'health check failed' });
    }
  }

  /** One PING at a time: concurrent probes share it. */
  #check(): Promise<HealthReport> {
    this.#health ??= this.pool.health(this.#o.timeoutMs === undefined ? undefined : { timeoutMs: this.#o.timeoutMs }).finally(() => {
      this.#health = undefined;
    });
    return this.#health;
  }

  async #healthRoute(): Promise<RouteResponse> {
    const r = await this.#check();
    return json(r.status === 'unavailable' ? 503 : 200, {
      status: r.status,
      pool: this.pool.options.name,
      checks: { redis: { status: r.status, latencyMs: roundMs(r.latencyMs), message: r.message, lastError: r.lastError } },
      checkedAt: new Date(r.checkedAt).toISOString(),
    });
  }

  async #readyRoute(): Promise<RouteResponse> {
    const pool = this.pool;
    // ready() warms the pool up on the first probe and is memoized once it succeeds; the live
    // health flag then decides, so a pool that lost Redis turns not-ready again.
    let warm: string;
    try {
      warm = await withDeadline(pool.ready(), this.#o.timeoutMs ?? Math.min(pool.options.commandTimeoutMs, 2_000));
    } catch {
      warm = 'unavailable';
    }
    const s = pool.stats();
    const ok = s.state === 'open' && warm !== 'unavailable' && warm !== 'timeout' && s.health !== 'unavailable';
    return json(ok ? 200 : 503, { status: ok ? 'ready' : 'not_ready', health: s.health, state: s.state });
  }

  async #redisRoute(): Promise<RouteResponse> {
    const report = await this.#check();
    const stats = report.stats;
    const server = report.status === 'unavailable' ? null : await this.#serverLimits();
    const advice = adviseFromStats(stats, server ?? undefined, {
      previous: this.#baseline(stats),
      workers: this.#o.workers,
      pool: this.pool.options,
    });
    const body: RedisHealthBody = {
      status: report.status,
      pool: this.pool.options.name,
      endpoint: endpointOf(this.pool.options),
      latencyMs: roundMs(report.latencyMs),
      message: report.message,
      lastError: report.lastError,
      checkedAt: new Date(report.checkedAt).toISOString(),
      stats,
      advice,
      summary: summarizeAdvice(advice),
      server,
    };
    return json(report.status === 'unavailable' ? 503 : 200, body);
  }

  async #metricsRoute(): Promise<RouteResponse> {
    const registry = this.#o.registry;
    if (!registry) return json(404, { error: 'no metrics registry configured' });
    const text = await registry.metrics();
    return { status: 200, headers: { 'content-type': registry.contentType, 'cache-control': 'no-store' }, body: text };
  }

  /** Snapshot from between one and two advice windows ago (undefined at first: totals since start). */
  #baseline(now: PoolStats): PoolStats | undefined {
    const windowMs = this.#o.adviceWindowMs ?? 300_000;
    const t = Date.now();
    const c = this.#checkpoints;
    if (!c.cur) c.cur = { at: t, stats: now };
    else if (t - c.cur.at >= windowMs) {
      c.prev = c.cur;
      c.cur = { at: t, stats: now };
    }
    return c.prev?.stats;
  }

  #serverLimits(): Promise<ServerLimits | null> {
    if (this.#o.serverInfo === false) return Promise.resolve(null);
    const ttl = this.#o.serverInfoTtlMs ?? 30_000;
    const now = Date.now();
    if (!this.#server || now - this.#server.at >= ttl) {
      const timeoutMs = this.#o.timeoutMs ?? Math.min(this.pool.options.commandTimeoutMs, 2_000);
      const view = this.pool.with({ timeoutMs });
      this.#server = {
        at: now,
        value: fetchServerLimits({
          info: (section) => view.info(section),
          config: (sub, param) => view.config(sub, param),
        }).then((l) => (Object.keys(l).length ? l : null)),
      };
    }
    return this.#server.value;
  }
}

/** Resolves with `p`'s value, or `'timeout'` after `ms`. The timer never keeps the process up. */
function withDeadline<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
    timer.unref();
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** Milliseconds to the microsecond: `0.6002059999996163` reads as `0.6`. */
function roundMs(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 1000) / 1000;
}

/** The endpoint to report: the URL (no secrets), or for a cluster its seeds. */
function endpointOf(o: PoolLike['options']): string {
  return o.cluster ? `cluster:${o.cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',')}` : o.endpoint;
}
