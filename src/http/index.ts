/**
 * `redpool/http`: health and metrics endpoints for `node:http` servers and Express (or any
 * Connect-style framework). One handler serves
 *
 * - `GET {prefix}`        200 `{status:'healthy'|'degraded'}`, 503 `{status:'unavailable'}`
 * - `GET {prefix}/live`   200 while the process runs (never touches Redis)
 * - `GET {prefix}/ready`  200 once the pool is warmed up and not unavailable, else 503
 * - `GET {prefix}/redis`  stats + advice + health JSON (503 when unavailable)
 * - `GET {metricsPath}`   Prometheus text from the given registry (404 without one)
 *
 * and passes every other path to `next()` (or answers 404 without `next`). No optional peer is
 * imported: the registry is any object with `metrics()` and `contentType` (prom-client's
 * `Registry`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PoolLike } from '../pool/api.js';
import { HealthRoutes, type HealthRoutesOptions, type RouteResponse } from './routes.js';

export { HealthRoutes } from './routes.js';
export type { HealthRoutesOptions, MetricsRegistry, RedisHealthBody, Route, RouteResponse } from './routes.js';

/** Options of {@link createHealthHandler}; see {@link HealthRoutesOptions}. */
export type HealthHandlerOptions = HealthRoutesOptions;

/**
 * A `(req, res, next?)` handler: a `node:http` request listener and an Express middleware.
 * `routes` exposes the paths it serves.
 */
export interface HealthHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void;
  readonly routes: HealthRoutes;
}

/** Writes a {@link RouteResponse}; a HEAD request gets the headers only. */
export function sendRouteResponse(req: IncomingMessage, res: ServerResponse, r: RouteResponse): void {
  if (res.headersSent || res.writableEnded) return;
  const body = Buffer.from(r.body, 'utf8');
  res.writeHead(r.status, { ...r.headers, 'content-length': String(body.length) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Creates the handler.
 *
 * @example
 * // node:http
 * const health = createHealthHandler(pool, { registry });
 * http.createServer((req, res) => health(req, res, () => app(req, res))).listen(8080);
 * // Express
 * app.use(createHealthHandler(pool, { registry, prefix: '/health' }));
 */
export function createHealthHandler(pool: PoolLike, options: HealthHandlerOptions = {}): HealthHandler {
  const routes = new HealthRoutes(pool, options);
  const handler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void => {
    const url = req.url ?? '/';
    if (!routes.match(url)) {
      if (next) next();
      else
        sendRouteResponse(req, res, {
          status: 404,
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: '{"error":"not found"}',
        });
      return;
    }
    routes
      .handle(req.method ?? 'GET', url)
      .then((r) => {
        if (r) sendRouteResponse(req, res, r);
        else if (next) next();
      })
      .catch((err: unknown) => {
        // Only writing can throw here (e.g. the socket is gone); never crash the process.
        if (next) next(err);
        else res.destroy();
      });
  };
  return Object.assign(handler, { routes });
}
