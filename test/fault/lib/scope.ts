/**
 * One fault test's resources — servers, proxies, pools — torn down by a single `t.after` in the
 * right order (pools first, checked; then proxies; then servers), with the checks every fault
 * test shares: close settles (hang guard), nothing busy/pending/connecting afterwards, no
 * connection of ours left on the server (`CLIENT LIST` by name), no leaked timers, and no canary
 * password in anything captured.
 */
import assert from 'node:assert/strict';
import { after, type TestContext } from 'node:test';
import { createPool, type Pool } from '../../../src/pool/pool.js';
import type { PoolOptions } from '../../../src/options.js';
import { RedisProcess, startRedis, type RedisProcessOptions } from '../../support/redis-process.js';
import { FaultProxy } from '../../helpers/fault-proxy.js';
import { clientNames, waitFor } from '../../helpers/redis.js';
import { CANARY_PASSWORD, Transcript } from './capture.js';
import { settle } from './guard.js';
import { TimerTracker } from './timers.js';

let seq = 0;
// A rejection counts only if nobody ever handles it (rejectionHandled takes it back).
const unhandled = new Set<Promise<unknown>>();
process.on('unhandledRejection', (_reason, promise) => {
  unhandled.add(promise);
});
process.on('rejectionHandled', (promise) => {
  unhandled.delete(promise);
});

/** Options a fault test usually wants: short deadlines so faults show up in milliseconds. */
export const FAST: Omit<PoolOptions, 'cluster'> = {
  max: 4,
  min: 1,
  lanes: 1,
  commandTimeoutMs: 400,
  connectTimeoutMs: 400,
  acquireTimeoutMs: 800,
  healthCheckIntervalMs: 0,
  housekeepingIntervalMs: 50,
  reconnectBackoff: { delay: (attempt: number) => Math.min(200, 20 * 2 ** (attempt - 1)) },
};

/** A pool under test plus everything its checks need. */
export interface FaultPool {
  pool: Pool;
  /** Pool name; our connections are named `redpool:<name>:<n>` on the server. */
  name: string;
  transcript: Transcript;
  timers: TimerTracker;
  /** Server asked for leftovers by name after close (may change, e.g. after a restart). */
  server: RedisProcess | undefined;
}

/** Prefix of our connections' `CLIENT SETNAME` names. */
export function namePrefix(name: string): string {
  return `redpool:${name}:`;
}

/** Live connections of pool `name` on `server`. */
export async function serverConnections(server: RedisProcess, name: string): Promise<number> {
  return (await clientNames(server, namePrefix(name))).length;
}

/** Per-test resources. Create with {@link scope}. */
export class Scope {
  readonly #pools: FaultPool[] = [];
  readonly #proxies: FaultProxy[] = [];
  readonly #servers: RedisProcess[] = [];
  readonly #cleanups: Array<() => unknown> = [];
  // Every pool timer is unref'd (by design of the system clock), so a test awaiting a pool that
  // waits only on its own timers would let the event loop drain and the runner cancel the test.
  // The hang guards bound every await; this keeps the loop alive between them.
  readonly #keepAlive = setInterval(() => undefined, 1_000);

  /** Starts a redis-server, stopped at the end of the test. */
  async redis(opts: RedisProcessOptions = {}): Promise<RedisProcess> {
    const s = await startRedis(opts);
    this.#servers.push(s);
    return s;
  }

  /** Starts a fault proxy in front of `target`, closed at the end of the test. */
  async proxy(target: { port: number }): Promise<FaultProxy> {
    const p = await FaultProxy.start({ port: target.port });
    this.#proxies.push(p);
    return p;
  }

  /** Runs `fn` at teardown (after pools, before proxies and servers). */
  defer(fn: () => unknown): void {
    this.#cleanups.push(fn);
  }

  /**
   * Creates a pool (options over {@link FAST}) named after `label`, logging into a transcript.
   * `server` is where teardown looks for leftover connections by name.
   */
  pool(label: string, options: PoolOptions, server?: RedisProcess): FaultPool {
    const name = `f${process.pid % 10_000}-${label}-${++seq}`;
    const transcript = new Transcript();
    const timers = new TimerTracker(process.env['FAULT_TIMER_STACKS'] === '1').start();
    const pool = createPool({ ...FAST, ...options, cluster: undefined, name, logger: transcript.logger });
    pool.on('warning', (w) => transcript.text(w.message));
    const fp: FaultPool = { pool, name, transcript, timers, server };
    this.#pools.push(fp);
    return fp;
  }

  async teardown(): Promise<void> {
    const failures: unknown[] = [];
    const pools = this.#pools.reverse();
    for (const fp of pools) {
      try {
        await checkClosed(fp);
      } catch (err) {
        failures.push(err);
      }
    }
    // Timers are checked once every pool is closed: a tracker sees all timers created after its
    // pool was made, other pools' included.
    for (const fp of pools) {
      try {
        await checkTimers(fp);
      } catch (err) {
        failures.push(err);
      } finally {
        fp.timers.stop();
        const destroyed = await settle(fp.pool.destroy(), 2_000, 'pool.destroy()').catch((e: unknown) => ({
          ok: false as const,
          error: e,
        }));
        if (!destroyed.ok) failures.push(destroyed.error);
      }
    }
    for (const fn of this.#cleanups.reverse()) await fn();
    for (const p of this.#proxies) await p.close();
    for (const s of this.#servers) await s.stop();
    clearInterval(this.#keepAlive);
    if (failures.length > 0) throw failures[0];
  }
}

/** Creates a {@link Scope} whose teardown runs in `t.after`. */
export function scope(t: TestContext): Scope {
  const s = new Scope();
  t.after(() => s.teardown());
  return s;
}

/**
 * Waits (bounded) until the pool has nothing busy, pending or connecting and no command in
 * flight: the resting state after a fault cleared.
 */
export async function assertQuiet(pool: Pool, timeoutMs = 3_000): Promise<void> {
  await waitFor(
    () => {
      const s = pool.stats();
      return s.busy === 0 && s.pending === 0 && s.connecting === 0 && s.inflight === 0;
    },
    { timeoutMs, message: `pool not quiet: ${describe(pool)}` },
  );
}

/** Short occupancy summary for assertion messages. */
export function describe(pool: Pool): string {
  const s = pool.stats();
  return JSON.stringify({
    total: s.total,
    idle: s.idle,
    busy: s.busy,
    lanes: s.lanes,
    leased: s.leased,
    pending: s.pending,
    connecting: s.connecting,
    inflight: s.inflight,
    health: s.health,
  });
}

/** The teardown checks of one pool: exported for tests that close the pool themselves. */
export async function checkClosed(fp: FaultPool): Promise<void> {
  const { pool, name, transcript, server } = fp;
  transcript.value(pool);
  transcript.value(pool.options);
  transcript.value(pool.stats());
  if (pool.state === 'open') transcript.value(await settle(pool.health({ timeoutMs: 200 }), 2_000, 'pool.health()'));
  const closed = await settle(pool.close({ timeoutMs: 1_000 }), 4_000, 'pool.close()');
  assert.ok(closed.ok, `pool.close() rejected: ${String((closed as { error?: unknown }).error)}`);
  const s = pool.stats();
  assert.deepEqual(
    { total: s.total, busy: s.busy, pending: s.pending, connecting: s.connecting, inflight: s.inflight, state: s.state },
    { total: 0, busy: 0, pending: 0, connecting: 0, inflight: 0, state: 'closed' },
    'pool not empty after close',
  );
  if (server?.alive && !server.paused) {
    await waitFor(async () => (await serverConnections(server, name)) === 0, {
      timeoutMs: 3_000,
      message: `connections named ${namePrefix(name)}* still on the server after close`,
    });
  }
  assert.equal(transcript.hits(CANARY_PASSWORD), 0, 'canary password found in logs/errors/inspect output');
}

/** Asserts no timer created since the pool was made is still pending (call after close). */
export async function checkTimers(fp: FaultPool): Promise<void> {
  const { name, timers } = fp;
  const liveTimers = await timers.settledCount();
  assert.equal(liveTimers, 0, `${name}: ${liveTimers} timer(s) still pending after close\n${timers.stacks().join('\n--\n')}`);
}

/**
 * Registers the file-level checks: no redis-server process of ours left running and no
 * unhandled rejection. Call once at the top level of each fault test file.
 */
export function fileChecks(): void {
  after(() => {
    assert.equal(RedisProcess.running(), 0, 'redis-server processes left running');
    assert.equal(unhandled.size, 0, 'unhandled promise rejections during the file');
  });
}
