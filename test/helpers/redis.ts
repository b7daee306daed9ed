/**
 * Real-server helpers for integration and fault tests. Every server started here is stopped by a
 * `t.after` / `after` hook even when the test fails; {@link RedisProcess}'s exit hook is the
 * last-resort safety net.
 */
import { after, before, type TestContext } from 'node:test';
import { cleanupOnSignals, RedisProcess, startRedis, type RedisProcessOptions } from '../support/redis-process.js';

export { RedisProcess, startRedis };
export type { RedisProcessOptions };

// A test process killed by the runner (SIGTERM/SIGINT) skips 'exit' hooks: kill servers anyway.
cleanupOnSignals();

/**
 * Starts a server for one test and registers `t.after(() => server.stop())`.
 *
 * @example
 *   test('x', async (t) => { const redis = await withRedis(t); await redis.command('PING'); });
 */
export async function withRedis(t: TestContext, opts: RedisProcessOptions = {}): Promise<RedisProcess> {
  const server = await startRedis(opts);
  t.after(() => server.stop());
  return server;
}

/**
 * `describe`-level variant: starts one server in `before`, stops it in `after`, and returns a
 * getter (which throws if called before the `before` hook ran).
 *
 * @example
 *   describe('suite', () => { const redis = useRedis(); test('x', async () => { await redis().command('PING'); }); });
 */
export function useRedis(opts: RedisProcessOptions = {}): () => RedisProcess {
  let server: RedisProcess | undefined;
  before(async () => {
    server = await startRedis(opts);
  });
  after(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('useRedis(): server not started yet (call the getter inside a test or hook)');
    return server;
  };
}

/**
 * Runs `CLIENT LIST` and returns the `name=` values that start with `prefix` (one per connection,
 * duplicates kept), e.g. to assert that a pool left no connections named `redpool-test-*` behind.
 */
export async function clientNames(server: RedisProcess, prefix: string): Promise<string[]> {
  const list = await server.command('CLIENT', 'LIST');
  if (typeof list !== 'string') throw new Error(`CLIENT LIST returned ${typeof list}`);
  const names: string[] = [];
  for (const line of list.split('\n')) {
    const match = /(?:^| )name=(\S*)/.exec(line.trim());
    const name = match?.[1];
    if (name !== undefined && name !== '' && name.startsWith(prefix)) names.push(name);
  }
  return names;
}

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this many ms. Default `5000`. */
  timeoutMs?: number;
  /** Poll interval in ms. Default `20`. */
  intervalMs?: number;
  /** Added to the timeout error. */
  message?: string;
}

/**
 * Polls `cond` (real timers: for real-server tests only) until it returns truthy, then resolves
 * with that value. A throwing `cond` counts as false; the last error is attached as `cause` if
 * the deadline passes.
 */
export async function waitFor<T>(cond: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const intervalMs = opts.intervalMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await cond();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const msg = `waitFor: condition not met within ${timeoutMs} ms${opts.message ? `: ${opts.message}` : ''}`;
      throw new Error(msg, lastError === undefined ? undefined : { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
