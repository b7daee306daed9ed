/**
 * Leak guard for real-server pool tests. One {@link leakGuard} per test; its single `t.after`
 * hook (hooks run in registration order, so everything happens in one place, in this order):
 *
 * 1. runs the test's own deferred cleanups (raw clients, leases …);
 * 2. for every pool still open: waits until `busy`, `pending` and `connecting` are 0 and fails
 *    the test if they do not get there, then closes it (destroy as the fallback);
 * 3. polls the server's `CLIENT LIST` until no connection named `redpool:<pool name>:` is left;
 * 4. polls `process.getActiveResourcesInfo()` until no more sockets/timers are active than when
 *    the guard was created;
 * 5. fails if any `unhandledRejection` was seen while the test ran.
 *
 * Every step runs even when an earlier one failed; the first failure is rethrown at the end.
 */
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { createPool, type Pool, type PoolOptions } from '../../src/index.js';
import type { RedisProcess } from '../support/redis-process.js';
import { clientNames, waitFor } from './redis.js';

/** Resource types whose count must not grow during a test. */
const WATCHED = ['TCPSocketWrap', 'TCPWrap', 'TLSWrap', 'Timeout'] as const;

type Counts = Record<(typeof WATCHED)[number], number>;

function resourceCounts(): Counts {
  const counts: Counts = { TCPSocketWrap: 0, TCPWrap: 0, TLSWrap: 0, Timeout: 0 };
  for (const r of process.getActiveResourcesInfo()) if (r in counts) counts[r as keyof Counts]++;
  return counts;
}

function grown(before: Counts, now: Counts): string[] {
  return WATCHED.filter((k) => now[k] > before[k]).map((k) => `${k}: ${before[k]} -> ${now[k]}`);
}

/** async_hooks resource types tracked from creation to destruction. */
const TRACKED = new Set(['TCPWRAP', 'TLSWRAP', 'Timeout']);

interface Tracked {
  type: string;
  resource: object;
}

/** Describes resources created during the test and not yet destroyed. */
function alive(created: ReadonlyMap<number, Tracked>): string[] {
  const out: string[] = [];
  for (const { type, resource } of created.values()) {
    const ref = (resource as { hasRef?: () => boolean }).hasRef?.();
    out.push(ref === false ? `${type} (unref'd)` : type);
  }
  return out;
}

let seq = 0;

/** Options of {@link leakGuard}. */
export interface LeakGuardOptions {
  /** Stop `server` at the end of the cleanup (for per-test servers). @default false */
  stopServer?: boolean;
  /** How long each polling step may take before the test fails, in ms. @default 3000 */
  settleMs?: number;
}

/** Handle returned by {@link leakGuard}. */
export interface LeakGuard {
  /** The server pools of this guard connect to. */
  readonly server: RedisProcess;
  /**
   * Creates a pool on `server` with a unique name (`<label>-<n>`), tracked by the guard. `options`
   * override the defaults (`url` of the server, `name`).
   */
  pool(options?: PoolOptions & { label?: string }): Pool;
  /** Tracks a pool created elsewhere; its name must be unique on the server. */
  track(pool: Pool): Pool;
  /** A raw ioredis client on `server` (e.g. a conflicting writer), disconnected at cleanup. */
  raw(): Redis;
  /** Registers a cleanup step that runs first (before pools are checked and closed). */
  defer(fn: () => unknown): void;
  /** `CLIENT LIST` names of a tracked pool's connections (`redpool:<name>:*`). */
  names(pool: Pool): Promise<string[]>;
  /** Unhandled rejections seen so far. */
  readonly rejections: readonly unknown[];
}

/**
 * Installs the guard for test `t` against `server`. Call it at the start of the test, before
 * creating pools or sockets, so the resource baseline is clean.
 *
 * @example
 *   test('x', async (t) => {
 *     const g = leakGuard(t, server());
 *     const pool = g.pool({ max: 4 });
 *     assert.equal(await pool.ping(), 'PONG');
 *   });
 */
export function leakGuard(t: TestContext, server: RedisProcess, opts: LeakGuardOptions = {}): LeakGuard {
  const settleMs = opts.settleMs ?? 3000;
  const baseline = resourceCounts();
  const pools: Pool[] = [];
  const raws: Redis[] = [];
  const deferred: Array<() => unknown> = [];
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    rejections.push(reason);
  };
  process.on('unhandledRejection', onRejection);
  const created = new Map<number, Tracked>();
  let tracking = true;
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (tracking && TRACKED.has(type)) created.set(id, { type, resource });
    },
    destroy(id) {
      created.delete(id);
    },
  });
  hook.enable();

  const guard: LeakGuard = {
    server,
    rejections,
    pool(options = {}) {
      const { label, ...rest } = options;
      const name = `${label ?? 'it'}-${process.pid}-${++seq}`;
      return guard.track(createPool({ url: server.url, name, ...rest, cluster: undefined }));
    },
    track(pool) {
      pools.push(pool);
      return pool;
    },
    raw() {
      const client = new Redis({
        host: '127.0.0.1',
        port: server.port,
        lazyConnect: false,
        maxRetriesPerRequest: 1,
        retryStrategy: () => null,
      });
      client.on('error', () => undefined);
      raws.push(client);
      return client;
    },
    defer(fn) {
      deferred.push(fn);
    },
    names(pool) {
      return clientNames(server, `redpool:${pool.options.name}:`);
    },
  };

  t.after(async () => {
    let first: unknown;
    const step = async (fn: () => unknown): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        first ??= err;
      }
    };
    for (const fn of deferred.reverse()) await step(fn);
    for (const pool of pools) {
      await step(async () => {
        if (pool.state !== 'open') return;
        await waitFor(
          () => {
            const s = pool.stats();
            return s.busy === 0 && s.pending === 0 && s.connecting === 0;
          },
          { timeoutMs: settleMs, message: `pool ${pool.options.name} still busy: ${JSON.stringify(pool.toJSON())}` },
        );
      });
      await step(async () => {
        const timer = setTimeout(() => void pool.destroy(), settleMs);
        try {
          await pool.close({ timeoutMs: settleMs });
        } finally {
          clearTimeout(timer);
        }
        const s = pool.stats();
        assert.deepEqual(
          { state: s.state, busy: s.busy, pending: s.pending, connecting: s.connecting, total: s.total },
          { state: 'closed', busy: 0, pending: 0, connecting: 0, total: 0 },
        );
      });
    }
    for (const client of raws) await step(() => client.disconnect());
    if (server.alive) {
      for (const pool of pools) {
        await step(() =>
          waitFor(async () => (await guard.names(pool)).length === 0, {
            timeoutMs: settleMs,
            message: `server still lists connections of pool ${pool.options.name}`,
          }),
        );
      }
    }
    if (opts.stopServer) await step(() => server.stop());
    // From here on only the checker's own polling timers are created: stop recording.
    tracking = false;
    await step(async () => {
      try {
        await waitFor(() => created.size === 0 && grown(baseline, resourceCounts()).length === 0, { timeoutMs: settleMs, intervalMs: 10 });
      } catch {
        const grew = grown(baseline, resourceCounts());
        assert.fail(
          `resources left by the test: created and not destroyed [${alive(created).join(', ')}]; active count grew [${grew.join(', ')}]`,
        );
      }
    });
    hook.disable();
    process.off('unhandledRejection', onRejection);
    await step(() => assert.deepEqual(rejections, [], 'unhandled rejections during the test'));
    if (first !== undefined) throw first;
  });
  return guard;
}
