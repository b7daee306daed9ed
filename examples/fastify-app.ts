/**
 * Fastify + redpool: the plugin creates the pool, decorates `app.redis`, serves the health and
 * metrics routes, and closes the pool when the app closes.
 *
 *   npm run build && npx tsc -p tsconfig.json && node build/examples/fastify-app.js            # self-check, exits
 *   REDIS_URL=redis://127.0.0.1:6379 node build/examples/fastify-app.js        # against your Redis
 *   PORT=3000 node build/examples/fastify-app.js --serve                       # keep serving
 *
 * Without REDIS_URL a throwaway redis-server is started (and stopped at the end). The default
 * run is a bounded self-check that exits 0 when every check passed. The imports are the
 * package's own ('redpool/fastify', …), so the file can be copied into an application as it is.
 */
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import redpool from 'redpool/fastify';
import { installShutdown } from 'redpool';
import { registerPoolMetrics } from 'redpool/prometheus';
import { startRedisServer } from 'redpool/testing';

const serve = process.argv.includes('--serve');
const embedded = process.env['REDIS_URL'] ? undefined : await startRedisServer();
const url = process.env['REDIS_URL'] ?? embedded!.url;

const registry = new Registry();
const app = Fastify();
await app.register(redpool, { poolOptions: { url, name: 'fastify-example', max: 10 }, metrics: registry });
const metrics = registerPoolMetrics(app.redis, registry);
app.addHook('onClose', async () => metrics.unregister());

app.get<{ Params: { id: string } }>('/items/:id', async (req, reply) => {
  const value = await app.redis.get(`example:fastify:item:${req.params.id}`);
  if (value === null) return reply.code(404).send({ error: 'not found' });
  return { id: req.params.id, value };
});
app.put<{ Params: { id: string }; Body: { value: string } }>('/items/:id', async (req) => {
  await app.redis.set(`example:fastify:item:${req.params.id}`, req.body.value, 'EX', 60);
  return { ok: true };
});

const address = await app.listen({ host: '127.0.0.1', port: serve ? Number(process.env['PORT'] ?? 3000) : 0 });
console.log(`listening on ${address} (pool ${app.redis.options.name}, Redis ${app.redis.options.endpoint})`);

if (serve) {
  // app.close() closes the plugin's pool; installShutdown bounds it and exits.
  installShutdown([], {
    beforeClose: () => app.close(),
    exit: (code) => {
      void (async () => {
        await embedded?.stop();
        process.exit(code);
      })();
    },
  });
} else {
  let failures = 0;
  const check = async (
    method: string,
    path: string,
    want: number,
    body?: unknown,
    show: (b: string) => string = (b) => b,
  ): Promise<string> => {
    const res = await fetch(`${address}${path}`, {
      method,
      signal: AbortSignal.timeout(5_000),
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await res.text();
    const ok = res.status === want;
    if (!ok) failures++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${method} ${path} -> ${res.status} ${show(text)}`);
    return text;
  };
  try {
    await check('GET', '/items/42', 404);
    await check('PUT', '/items/42', 200, { value: 'hello' });
    await check('GET', '/items/42', 200);
    await check('GET', '/health', 200);
    await check('GET', '/health/ready', 200);
    await check('GET', '/health/redis', 200, undefined, (b) => {
      const r = JSON.parse(b) as { status: string; summary: string };
      return `status=${r.status} advice="${r.summary}"`;
    });
    await check('GET', '/metrics', 200, undefined, (b) =>
      b
        .split('\n')
        .filter((l) => /^redpool_(connections|commands_total)\{/.test(l))
        .join(' | '),
    );
    await app.redis.del('example:fastify:item:42');
  } catch (err) {
    failures++;
    console.log(`FAIL ${(err as Error).message}`);
  } finally {
    const pool = app.redis;
    await app.close(); // closes the pool the plugin created
    if (pool.state !== 'closed') failures++;
    await embedded?.stop();
  }
  console.log(failures === 0 ? 'self-check: ok' : `self-check: ${failures} failure(s)`);
  process.exitCode = failures === 0 ? 0 : 1;
}
