/**
 * The example service Prometheus scrapes in the tests: a small node:http server with one redpool
 * pool, its metrics from redpool/prometheus on `/metrics` (createHealthHandler), and a few routes
 * that exercise what the dashboard shows — shared-lane commands, exclusive leases that contend,
 * Redis error replies and command deadlines missed.
 */
import http from 'node:http';
import type { TestContext } from 'node:test';
import { Registry } from 'prom-client';
import { createHealthHandler } from '../../../src/http/index.js';
import { createPool, type Pool } from '../../../src/pool/pool.js';
import { registerPoolMetrics } from '../../../src/prometheus/index.js';
import { listen } from './http-helpers.js';

/** A running example service. */
export interface ExampleService {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `127.0.0.1:<port>`: Prometheus's target and `instance` label. */
  readonly target: string;
  readonly pool: Pool;
}

// Busy for ~50 ms inside Redis: well past the 5 ms deadline of /slow, short enough to be harmless.
const BUSY_LUA =
  "local t = redis.call('TIME'); local s = t[1] * 1e6 + t[2]; while true do local n = redis.call('TIME'); if n[1] * 1e6 + n[2] - s > 50000 then break end end; return 1";

/**
 * Starts the service on 127.0.0.1:0 against `redisUrl` with pool `name`; closes it after the test.
 * Routes: `/hit` (SET + GET + INCR on lanes), `/lease` (a transaction-like lease held ~3 ms),
 * `/bad` (a WRONGTYPE error reply), `/slow` (a command that misses its deadline).
 */
export async function startExampleService(t: TestContext, redisUrl: string, name: string): Promise<ExampleService> {
  // max 4 with 2 lanes: 2 lease connections, so concurrent /lease calls queue (exhaustion, waits).
  // commandTimeoutMs 400 makes the deadline sweep run every 20 ms, so /slow's 5 ms deadline is
  // noticed (at most ~25 ms late) before its 50 ms script ends.
  const pool = createPool({ url: redisUrl, name, max: 4, lanes: 2, acquireTimeoutMs: 5_000, commandTimeoutMs: 400 });
  const registry = new Registry();
  const metrics = registerPoolMetrics(pool, registry, { labels: { service: 'example' } });
  const health = createHealthHandler(pool, { registry });
  let n = 0;
  const routes: Record<string, () => Promise<unknown>> = {
    '/hit': async () => {
      const i = n++ % 100;
      await pool.set(`ex:${i}`, String(i));
      await pool.get(`ex:${i}`);
      return pool.incr('ex:hits');
    },
    '/lease': () =>
      pool.withConnection(async (c) => {
        await c.incr('ex:leases');
        await new Promise((r) => setTimeout(r, 3));
      }),
    '/bad': async () => {
      await pool.set('ex:string', 'x');
      return pool.lpush('ex:string', 'y'); // WRONGTYPE: an error reply
    },
    '/slow': () => pool.with({ timeoutMs: 5 }).eval(BUSY_LUA, 0),
  };
  const server = http.createServer((req, res) => {
    const route = routes[req.url ?? ''];
    if (!route) {
      health(req, res);
      return;
    }
    route().then(
      () => res.writeHead(200).end('ok'),
      (err: unknown) => res.writeHead(500).end((err as { code?: string }).code ?? 'error'),
    );
  });
  const url = await listen(t, server);
  t.after(async () => {
    metrics.unregister();
    await pool.close({ timeoutMs: 5_000 });
  });
  await pool.ready();
  return { url, target: url.slice('http://'.length), pool };
}
