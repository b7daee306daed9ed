/**
 * Pool lifecycle against a real server: ready() and health(), graceful close() (in-flight work
 * finishes, new work is refused with PoolClosedError, leases are waited for up to the close
 * deadline), immediate destroy() (in-flight work fails with typed errors), idempotence of both,
 * and the server showing no pool connection afterwards.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { PoolClosedError, RedpoolError, isRedpoolError } from '../../../src/index.js';
import { findFreePort } from '../../support/free-port.js';
import { leakGuard } from '../../helpers/leaks.js';
import { useRedis, waitFor } from '../../helpers/redis.js';

type Settled = { ok: true; value: unknown; at: number } | { ok: false; error: unknown; at: number };

/** Records how and when `p` settled (never rejects). */
function settle(p: Promise<unknown>): Promise<Settled> {
  return p.then(
    (value) => ({ ok: true as const, value, at: performance.now() }),
    (error: unknown) => ({ ok: false as const, error, at: performance.now() }),
  );
}

void describe('pool lifecycle', () => {
  const server = useRedis();

  void test('ready() warms up and health() reports', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'ready', max: 4, connectTimeoutMs: 1000 });
    assert.equal(await pool.ready(), 'healthy');
    assert.equal(await pool.ready(), 'healthy', 'ready() is idempotent');
    const h = await pool.health();
    assert.equal(h.status, 'healthy');
    assert.ok(h.latencyMs !== null && h.latencyMs >= 0);
    assert.equal(h.lastError, null);
    assert.equal(h.stats.lanes, pool.stats().lanes);
    await pool.close();
    assert.equal((await pool.health()).status, 'unavailable', 'a closed pool reports unavailable');
  });

  void test('ready() resolves as soon as the last warm-up connection is open', async (t) => {
    const g = leakGuard(t, server());
    let dials = 0;
    const connectTimeoutMs = 1000;
    const pool = g.pool({
      label: 'ready-late',
      max: 4,
      lanes: 2,
      connectTimeoutMs,
      // The second lane connects 100 ms late, after the warm-up PING on the first lane answered.
      credentials: async () => {
        if (++dials === 2) await sleep(100);
        return {};
      },
    });
    const connectingAtCreated: number[] = [];
    pool.on('connection:created', () => connectingAtCreated.push(pool.stats().connecting));
    const started = performance.now();
    assert.equal(await pool.ready(), 'healthy');
    const ms = performance.now() - started;
    assert.ok(ms < connectTimeoutMs / 2, `ready() took ${ms.toFixed(0)} ms (connectTimeoutMs ${connectTimeoutMs})`);
    assert.deepEqual(connectingAtCreated, [1, 0], 'a created connection no longer counts as connecting');
  });

  void test('ready() against a port nobody listens on rejects with a typed error', async (t) => {
    const g = leakGuard(t, server());
    const port = await findFreePort();
    // A ref'd timer stands in for the rest of an application; the next test has none.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      const pool = g.pool({ label: 'noserver', url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 500, acquireTimeoutMs: 500 });
      await assert.rejects(pool.ready(), (err: unknown) => {
        assert.ok(isRedpoolError(err), String(err));
        assert.equal(err.code, 'ERR_CONNECTION');
        return true;
      });
      await pool.destroy();
      const degraded = g.pool({
        label: 'noserver-degrade',
        url: `redis://127.0.0.1:${port}`,
        connectTimeoutMs: 500,
        acquireTimeoutMs: 500,
        onUnavailable: 'degrade',
      });
      assert.notEqual(await degraded.ready(), 'healthy');
      await degraded.destroy();
    } finally {
      clearInterval(keepAlive);
    }
  });

  // Regression: the engine's waiter/backoff timers were unref'd, so this process exited with code 13.
  void test('ready() rejects even when nothing else keeps the process alive', async () => {
    const port = await findFreePort();
    const script = [
      `import { createPool } from ${JSON.stringify(pathToFileURL(path.resolve('build/src/index.js')).href)};`,
      `const pool = createPool({ url: 'redis://127.0.0.1:${port}', name: 'orphan', connectTimeoutMs: 500, acquireTimeoutMs: 500 });`,
      `try { await pool.ready(); console.log('resolved'); } catch (err) { console.log('rejected', err.code); }`,
      'await pool.destroy();',
    ].join('\n');
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(child.stdout.trim(), 'rejected ERR_CONNECTION', `exit code ${child.status}, stderr: ${child.stderr}`);
    assert.equal(child.status, 0);
  });

  void test('close() lets in-flight commands finish, then refuses new work with PoolClosedError', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'close', max: 6, lanes: 2 });
    const closedEvents: number[] = [];
    pool.on('pool:closed', () => closedEvents.push(1));
    await pool.mset(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`close:${i}`, `v${i}`])));

    // A slow command (the server sleeps) with 300 GETs queued behind it on the lanes, plus a BLPOP on a lease.
    const slow = settle(pool.call('DEBUG', 'SLEEP', '0.15'));
    const gets = Array.from({ length: 300 }, (_, i) => settle(pool.get(`close:${i % 50}`)));
    const blpop = settle(pool.blpop('close:empty', 0.2));
    await waitFor(() => pool.stats().leased === 1);

    const closing = settle(pool.close({ timeoutMs: 5000 }));
    assert.equal(pool.state, 'closing');
    const refused = await Promise.all([
      settle(pool.get('close:0')),
      settle(pool.acquire()),
      settle(pool.pipeline().get('close:0').exec()),
      settle(pool.blpop('close:empty', 1)),
      settle(pool.withConnection(async () => 1)),
    ]);
    for (const r of refused) assert.ok(!r.ok && r.error instanceof PoolClosedError, `refused while closing: ${JSON.stringify(r)}`);

    const closed = await closing;
    assert.ok(closed.ok);
    const results = await Promise.all([slow, blpop, ...gets]);
    for (const [i, r] of results.entries()) {
      assert.ok(r.ok, `in-flight command ${i} finished: ${r.ok ? '' : String(r.error)}`);
      assert.ok(r.at <= closed.at, 'close() resolved only after the in-flight work');
    }
    assert.deepEqual(
      (await Promise.all(gets)).map((r) => (r.ok ? r.value : undefined)),
      Array.from({ length: 300 }, (_, i) => `v${i % 50}`),
    );
    const popped = await blpop;
    assert.ok(popped.ok);
    assert.equal(popped.value, null, 'the BLPOP ran to its block timeout');

    assert.equal(pool.state, 'closed');
    await assert.rejects(pool.get('close:0'), PoolClosedError);
    await assert.rejects(pool.acquire(), PoolClosedError);
    await pool.close();
    await pool.destroy();
    assert.equal(closedEvents.length, 1, 'pool:closed emitted once');
    const s = pool.stats();
    assert.equal(s.total, 0);
    assert.equal(s.destroyedBy.close, s.created);
    await waitFor(async () => (await g.names(pool)).length === 0, { message: 'no connections after close()' });
  });

  void test('close() waits for a held lease, and destroys it at the close deadline', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'closelease', max: 4, lanes: 2 });
    const lease = await pool.acquire();
    const closing = settle(pool.close({ timeoutMs: 5000 }));
    await sleep(50);
    assert.equal(pool.state, 'closing', 'still waiting for the lease');
    assert.equal(await lease.ping(), 'PONG', 'a held lease keeps working while the pool drains');
    const releasedAt = performance.now();
    lease.release();
    const closed = await closing;
    assert.ok(closed.ok && closed.at >= releasedAt);

    const pool2 = g.pool({ label: 'closelease2', max: 4, lanes: 2 });
    const stuck = await pool2.acquire();
    const started = performance.now();
    await pool2.close({ timeoutMs: 150 });
    const ms = performance.now() - started;
    assert.ok(ms >= 140 && ms < 2000, `close deadline honoured (${ms.toFixed(0)} ms)`);
    await assert.rejects(stuck.get('x'), (err: unknown) => isRedpoolError(err), 'the abandoned lease fails with a typed error');
    stuck.release();
    await waitFor(async () => (await g.names(pool2)).length === 0);
  });

  void test('destroy() fails in-flight work with typed errors at once', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'destroy', max: 4, lanes: 2 });
    await pool.ping();
    const held = await pool.acquire();
    const sleepEndsAt = performance.now() + 300;
    const slow = settle(pool.call('DEBUG', 'SLEEP', '0.3'));
    await sleep(20); // the server is asleep now
    const gets = Array.from({ length: 50 }, () => settle(pool.get('destroy:k')));
    const blpop = settle(pool.blpop('destroy:q', 2));
    const waiter = settle(pool.acquire({ timeoutMs: 5000 }));
    await waitFor(() => pool.stats().pending >= 1);

    const started = performance.now();
    const destroyed = Promise.all([pool.destroy(), pool.destroy()]);
    const all = await Promise.all([slow, blpop, waiter, ...gets]);
    const lastAt = Math.max(...all.map((r) => r.at));
    assert.ok(lastAt < sleepEndsAt, `every caller failed ${(lastAt - started).toFixed(0)} ms after destroy(), before the server woke up`);
    for (const r of all) {
      assert.ok(!r.ok, 'nothing in flight succeeded after destroy()');
      assert.ok(r.error instanceof RedpoolError, `typed error: ${String(r.error)}`);
    }
    const w = await waiter;
    assert.ok(!w.ok && w.error instanceof PoolClosedError);
    const codes = new Set(all.map((r) => (r.ok ? '' : (r.error as RedpoolError).code)));
    t.diagnostic(`error codes after destroy(): ${[...codes].join(', ')}`);
    await assert.rejects(held.get('x'), (err: unknown) => isRedpoolError(err));
    held.release();
    await destroyed;
    await pool.close();
    assert.equal(pool.state, 'closed');
    await assert.rejects(pool.get('k'), PoolClosedError);
  });

  void test('destroy() resolves at once even while a connection is still being opened', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'destroy-dial', max: 4, lanes: 2, connectTimeoutMs: 2000 });
    await pool.ping();
    const slow = settle(pool.call('DEBUG', 'SLEEP', '0.4'));
    await sleep(20);
    const waiter = settle(pool.acquire()); // opens a lease connection the sleeping server cannot finish
    await waitFor(() => pool.stats().connecting === 1);
    const started = performance.now();
    await pool.destroy();
    const ms = performance.now() - started;
    await Promise.all([slow, waiter]);
    assert.ok(ms < 100, `destroy() took ${ms.toFixed(0)} ms`);
  });

  void test('close() and destroy() are idempotent in any order', async (t) => {
    const g = leakGuard(t, server());
    const a = g.pool({ label: 'idem-a' });
    await a.ping();
    const p1 = a.close();
    const p2 = a.close();
    await Promise.all([p1, p2, a.destroy()]);
    await a.close();
    assert.equal(a.state, 'closed');

    const b = g.pool({ label: 'idem-b' });
    await b.ping();
    await Promise.all([b.destroy(), b.close(), b.destroy()]);
    await b.close();
    assert.equal(b.state, 'closed');

    const never = g.pool({ label: 'idem-never' });
    await never.close();
    await never.destroy();
    assert.equal(never.state, 'closed');
    assert.equal(never.stats().created, 0);
  });

  void test('connection events match what the server sees', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'events', max: 5, lanes: 2, min: 0 });
    const created: number[] = [];
    const closed: Array<{ id: number; reason: string }> = [];
    const acquired: number[] = [];
    const released: number[] = [];
    pool.on('connection:created', (e) => created.push(e.id));
    pool.on('connection:closed', (e) => closed.push({ id: e.id, reason: e.reason }));
    pool.on('lease:acquired', (e) => acquired.push(e.id));
    pool.on('lease:released', (e) => released.push(e.id));
    await Promise.all([pool.ping(), pool.withConnection((c) => c.ping()), pool.withConnection((c) => c.ping())]);
    assert.equal((await g.names(pool)).length, created.length);
    assert.equal(acquired.length, 2);
    assert.deepEqual([...released].sort(), [...acquired].sort());
    await pool.close();
    assert.deepEqual(closed.map((c) => c.id).sort(), [...created].sort());
    assert.ok(closed.every((c) => c.reason === 'close'));
  });
});
