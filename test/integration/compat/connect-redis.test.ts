/**
 * connect-redis 9 + express-session through asNodeRedis(pool): 50 concurrent sessions over
 * HTTP, the store's own all/length/ids/clear (scanIterator, mGet, del([…])), and after a SIGKILL +
 * restart on the same port new sessions work by themselves. CLIENT LIST stays within max.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import { asNodeRedis } from '../../../src/compat/index.js';
import { createPool } from '../../../src/index.js';
import { waitFor, withRedis } from '../../helpers/redis.js';
import { crashAndRestart, sampleConnections, serverConnections } from './support.js';

declare module 'express-session' {
  interface SessionData {
    n?: number;
  }
}

/** One browser: keeps its session cookie. */
async function visit(base: string, jar: { cookie?: string }): Promise<number> {
  const res = await fetch(`${base}/count`, { headers: jar.cookie ? { cookie: jar.cookie } : {} });
  const set = res.headers.get('set-cookie');
  if (set) jar.cookie = set.split(';')[0];
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { n: number }).n;
}

void test('connect-redis + express-session: 50 concurrent sessions over HTTP, store API, recovers after a restart', async (t) => {
  const server = await withRedis(t);
  const pool = createPool({ url: server.url, name: 'sess-it', max: 4, connectTimeoutMs: 1_000 });
  t.after(() => pool.destroy());
  await pool.ready();
  const sampler = sampleConnections(server);
  const store = new RedisStore({ client: asNodeRedis(pool), prefix: 'sess:' });
  const app = express();
  app.use(session({ store, secret: 'test-only-secret', resave: false, saveUninitialized: false }));
  app.get('/count', (req, res) => {
    req.session.n = (req.session.n ?? 0) + 1;
    res.json({ n: req.session.n });
  });
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).send(err.message);
  });
  const http = app.listen(0, '127.0.0.1');
  t.after(() => new Promise<void>((resolve) => http.close(() => resolve())));
  await new Promise((resolve) => http.once('listening', resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  const jars = Array.from({ length: 50 }, () => ({}) as { cookie?: string });
  for (let round = 1; round <= 3; round++) {
    const counts = await Promise.all(jars.map((j) => visit(base, j)));
    assert.deepEqual(
      counts,
      jars.map(() => round),
      `round ${round}`,
    );
  }
  const length = await new Promise<number>((resolve, reject) => {
    void store.length((err, n) => (err ? reject(err) : resolve(n!)));
  });
  assert.equal(length, 50);
  const all = await new Promise<unknown[]>((resolve, reject) => {
    void store.all((err, s) => (err ? reject(err) : resolve(s as unknown[])));
  });
  assert.equal(all.length, 50);
  assert.ok(all.every((s) => (s as { n: number }).n === 3));
  const ttl = await pool.ttl(`sess:${String((all[0] as { id: string }).id)}`);
  assert.ok(ttl > 0 && ttl <= 86_400, `ttl ${ttl}`);

  await crashAndRestart(server);
  // Sessions are gone with the data (no persistence); new ones work without any glue.
  await waitFor(
    async () => {
      try {
        return (await visit(base, {})) === 1;
      } catch {
        return false;
      }
    },
    { timeoutMs: 10_000, intervalMs: 100, message: 'a session after the restart' },
  );
  const fresh = Array.from({ length: 50 }, () => ({}) as { cookie?: string });
  assert.deepEqual(
    await Promise.all(fresh.map((j) => visit(base, j))),
    fresh.map(() => 1),
  );
  assert.deepEqual(
    await Promise.all(fresh.map((j) => visit(base, j))),
    fresh.map(() => 2),
  );
  await new Promise<void>((resolve, reject) => {
    void store.clear((err) => (err ? reject(err) : resolve()));
  });
  assert.equal((await pool.keys('sess:*')).length, 0);

  const { max, samples } = await sampler.stop();
  t.diagnostic(`CLIENT LIST max ${max} over ${samples} samples (pool max 4)`);
  assert.ok(max <= 4, `server saw ${max} connections`);
  await pool.close();
  assert.equal(await serverConnections(server), 0);
});
