/**
 * Express + redpool: a pool sized from a preset, health and Prometheus endpoints as middleware,
 * graceful shutdown on SIGTERM/SIGINT.
 *
 *   npm run build && npx tsc -p tsconfig.json && node build/examples/express-app.js            # self-check, exits
 *   REDIS_URL=redis://127.0.0.1:6379 node build/examples/express-app.js        # against your Redis
 *   PORT=3000 node build/examples/express-app.js --serve                       # keep serving
 *
 * Without REDIS_URL a throwaway redis-server is started (and stopped at the end). The default
 * run is a bounded self-check: it listens on a free port, calls its own routes, prints what it
 * got, and exits 0 when every check passed (1 otherwise). The imports are the package's own
 * ('redpool', 'redpool/http', …), so the file can be copied into an application as it is.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Registry } from 'prom-client';
import { createPool, presetFromEnv, recommendPoolSize, installShutdown } from 'redpool';
import { createHealthHandler } from 'redpool/http';
import { registerPoolMetrics } from 'redpool/prometheus';
import { startRedisServer } from 'redpool/testing';

const serve = process.argv.includes('--serve');
const embedded = process.env['REDIS_URL'] ? undefined : await startRedisServer();
const url = process.env['REDIS_URL'] ?? embedded!.url;

// DEPLOYMENT_ENV=production → 40 connections per worker; a starting point, then measure.
const size = recommendPoolSize({ preset: presetFromEnv() ?? 'development' });
const pool = createPool({ url, name: 'express-example', max: size.max, min: size.min });
const registry = new Registry();
const metrics = registerPoolMetrics(pool, registry, { labels: { app: 'express-example' } });

const app = express();
app.use(createHealthHandler(pool, { registry })); // /health, /health/live, /health/ready, /health/redis, /metrics
app.get('/visits', async (_req, res, next) => {
  try {
    res.json({ visits: await pool.incr('example:express:visits') });
  } catch (err) {
    next(err); // e.g. ERR_UNAVAILABLE while Redis is down: Express answers 500
  }
});

const server = http.createServer(app);
await new Promise<void>((resolve) => server.listen(serve ? Number(process.env['PORT'] ?? 3000) : 0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
console.log(`listening on ${base} (pool ${pool.options.name}, max ${size.max}, Redis ${pool.options.endpoint})`);

async function stop(): Promise<void> {
  metrics.unregister();
  await pool.close({ timeoutMs: 5_000 });
  await embedded?.stop();
}

if (serve) {
  // SIGTERM/SIGINT: stop accepting requests, close the pool within 10 s, then exit.
  installShutdown(pool, {
    beforeClose: () => new Promise<void>((resolve) => server.close(() => resolve())),
    exit: (code) => void stop().finally(() => process.exit(code)),
  });
} else {
  let failures = 0;
  const check = async (path: string, want: number, show: (body: string) => string = (b) => b): Promise<string> => {
    const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5_000) });
    const body = await res.text();
    const ok = res.status === want;
    if (!ok) failures++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} GET ${path} -> ${res.status} ${show(body)}`);
    return body;
  };
  try {
    await pool.del('example:express:visits');
    await check('/visits', 200);
    const second = JSON.parse(await check('/visits', 200)) as { visits: number };
    if (second.visits !== 2) failures++;
    await check('/health', 200);
    await check('/health/live', 200);
    await check('/health/ready', 200);
    await check('/health/redis', 200, (b) => {
      const r = JSON.parse(b) as { status: string; summary: string; stats: { total: number; utilization: number } };
      return `status=${r.status} connections=${r.stats.total} utilization=${r.stats.utilization} advice="${r.summary}"`;
    });
    await check('/metrics', 200, (b) =>
      b
        .split('\n')
        .filter((l) => /^redpool_(connections|commands_total|utilization_ratio)\{/.test(l))
        .join(' | '),
    );
    await pool.del('example:express:visits');
  } catch (err) {
    failures++;
    console.log(`FAIL ${(err as Error).message}`);
  } finally {
    await new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
    await stop();
  }
  console.log(failures === 0 ? 'self-check: ok' : `self-check: ${failures} failure(s)`);
  process.exitCode = failures === 0 ? 0 : 1;
}
