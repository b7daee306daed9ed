/**
 * `redpool/fastify`: a Fastify plugin (fastify-plugin, so the decoration is visible to the whole
 * app) that decorates `fastify.redis` with a pool (or `fastify.redis[namespace]`), serves the
 * same health and metrics routes as `redpool/http`, and on `onClose` closes the pool only if it
 * created it. `fastify` and `fastify-plugin` are optional peer dependencies imported only here.
 *
 * @example
 * await app.register(redpool, { poolOptions: { url: process.env.REDIS_URL, max: 20 }, metrics: registry });
 * app.get('/hits', async () => ({ hits: await app.redis.incr('hits') }));
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { ConfigError } from '../errors.js';
import { HealthRoutes, type HealthRoutesOptions, type MetricsRegistry } from '../http/routes.js';
import type { PoolOptions } from '../options.js';
import { createPool, type Pool } from '../pool/pool.js';

/**
 * Pools registered under a namespace, for typing `fastify.redis.<namespace>`. Augment it:
 * `declare module 'redpool/fastify' { interface RedpoolNamespaces { cache: Pool } }`.
 */
export interface RedpoolNamespaces {}

declare module 'fastify' {
  interface FastifyInstance {
    /** The pool (or, with `namespace`, the pools by namespace) registered by redpool. */
    redis: Pool & RedpoolNamespaces;
  }
}

/** Options of the plugin. Give `pool` or `poolOptions` (or neither: `REDIS_URL` / defaults). */
export interface RedpoolFastifyOptions extends Omit<HealthRoutesOptions, 'registry'> {
  /** A pool you created; the plugin never closes it. */
  pool?: Pool;
  /**
   * Options (or URL) for a pool the plugin creates, warms up (`ready()`), and closes on `onClose`.
   * A single-node pool: `cluster` is refused (`ConfigError`, option `poolOptions.cluster`), since
   * `fastify.redis` is typed `Pool`.
   */
  poolOptions?: Omit<PoolOptions, 'cluster'> | string;
  /**
   * Decorate `fastify.redis[namespace]` instead of `fastify.redis`, so several pools can be
   * registered. With a namespace the health routes default to `/health/<namespace>`.
   */
  namespace?: string;
  /** Deadline of the pool's `close()` on `onClose`, in ms. @default 10000 */
  closeTimeoutMs?: number;
  /** Registry served at `metricsPath` (e.g. a prom-client `Registry`); not served without one. */
  metrics?: MetricsRegistry;
  /** Register the health routes. @default true */
  routes?: boolean;
}

const plugin: FastifyPluginAsync<RedpoolFastifyOptions> = async (fastify: FastifyInstance, opts: RedpoolFastifyOptions) => {
  if (opts.pool && opts.poolOptions !== undefined) throw new ConfigError('pool', 'give either pool or poolOptions, not both');
  const ns = opts.namespace;
  if (ns !== undefined && (typeof ns !== 'string' || ns === '')) throw new ConfigError('namespace', 'must be a non-empty string');
  const holder = fastify.hasDecorator('redis') ? (fastify.redis as unknown as Record<string, unknown>) : undefined;
  if (ns === undefined && holder)
    throw new ConfigError('namespace', 'fastify.redis is already decorated; register further pools with a namespace');
  if (ns !== undefined && holder && Object.hasOwn(holder, ns)) throw new ConfigError('namespace', `"${ns}" is already registered`);

  if (typeof opts.poolOptions === 'object' && (opts.poolOptions as PoolOptions | null)?.cluster !== undefined)
    throw new ConfigError(
      'poolOptions.cluster',
      'the fastify plugin creates a single-node pool (fastify.redis is a Pool); give a cluster pool to the health routes of redpool/http instead',
    );
  const created = !opts.pool;
  const pool = opts.pool ?? createPool(opts.poolOptions);
  if (created) {
    try {
      await pool.ready();
    } catch (err) {
      await pool.destroy();
      throw err;
    }
    fastify.addHook('onClose', async () => {
      await pool.close({ timeoutMs: opts.closeTimeoutMs ?? 10_000 });
    });
  }

  if (ns === undefined) fastify.decorate('redis', pool);
  else {
    if (!holder) fastify.decorate('redis', {} as Pool & RedpoolNamespaces);
    (fastify.redis as unknown as Record<string, Pool>)[ns] = pool;
  }

  if (opts.routes === false) return;
  const routes = new HealthRoutes(pool, {
    ...opts,
    prefix: opts.prefix ?? (ns === undefined ? '/health' : `/health/${ns}`),
    metricsPath: opts.metrics ? opts.metricsPath : false,
    registry: opts.metrics,
  });
  for (const path of new Set(Object.values(routes.paths))) {
    if (path === undefined) continue;
    // One registry serves every pool: a second namespaced plugin leaves /metrics to the first.
    if (path === routes.paths.metrics && fastify.hasRoute({ method: 'GET', url: path })) continue;
    fastify.get(path, async (req, reply) => {
      const r = (await routes.handle(req.method, req.url)) ?? { status: 404, headers: {}, body: '' };
      void reply.code(r.status).headers(r.headers);
      return r.body;
    });
  }
};

/** The plugin, wrapped with fastify-plugin (name `redpool`, Fastify 5). */
export const redpoolFastify = fp(plugin, { fastify: '5.x', name: 'redpool' });
export default redpoolFastify;
