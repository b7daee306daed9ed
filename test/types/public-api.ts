/**
 * Compile-time checks of the public types, as an application sees them (imports by package
 * name). tsc type-checks this file in every test run (tsconfig.json includes test/); nothing
 * here runs. A check is either an `Expect<Equal<…>>` (the exact type) or a `@ts-expect-error`
 * (a wrong use must not compile: if it starts compiling, tsc fails on the unused directive).
 * Values only inspected for their type are named `_x` (lint: unused).
 */
import { createPool, RedpoolError, type ErrorCode, type Lease, type Pool, type PoolOptions, type SentinelStats } from 'redpool';
import { FakeDriver, ManualClock, startRedisServer, type RedisServer } from 'redpool/testing';

/** True when A and B are the same type (not merely assignable either way). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only for `true`. */
type Expect<T extends true> = T;

export async function sharedCommands(pool: Pool): Promise<void> {
  const _value = await pool.get('k');
  type _get = Expect<Equal<typeof _value, string | null>>;
  const _n = await pool.incr('counter');
  type _incr = Expect<Equal<typeof _n, number>>;
  const _popped = await pool.blpop('jobs', 1);
  type _blpop = Expect<Equal<typeof _popped, [string, string] | null>>;
  const _viaWith = await pool.with({ timeoutMs: 200, idempotent: true }).get('k');
  type _with = Expect<Equal<typeof _viaWith, string | null>>;

  // Commands that change connection state are not on the shared API: they need a lease.
  // @ts-expect-error SELECT is refused on shared lanes
  await pool.select(1);
  // @ts-expect-error WATCH is refused on shared lanes
  await pool.watch('k');
  // @ts-expect-error SUBSCRIBE is refused on shared lanes
  await pool.subscribe('channel');
  // @ts-expect-error get takes a key
  await pool.get();
}

export async function leases(pool: Pool): Promise<void> {
  const _result = await pool.withConnection(async (c) => {
    await c.select(1); // fine on a lease
    await c.watch('stock');
    return c.multi().set('stock', '1').exec();
  });
  type _exec = Expect<Equal<typeof _result, Array<[Error | null, unknown]> | null>>;
  const lease: Lease = await pool.acquire({ timeoutMs: 100 });
  lease.release();
  {
    await using disposable = await pool.acquire();
    await disposable.get('k');
  }
}

export function options(): void {
  const ok: PoolOptions = { url: 'redis://127.0.0.1:6379', max: 10, commandTimeoutMs: 5_000 };
  void ok;
  // @ts-expect-error max is a number
  createPool({ max: '10' });
  // @ts-expect-error unknown options are a compile error, not silently ignored
  createPool({ url: 'redis://127.0.0.1:6379', maxConnections: 10 });
  const sentinel: PoolOptions = { sentinel: { name: 'mymaster', sentinels: [{ host: '127.0.0.1', port: 26379 }], fenceOnPromotion: true } };
  void sentinel;
  // @ts-expect-error a sentinel needs its port
  createPool({ sentinel: { name: 'mymaster', sentinels: [{ host: '127.0.0.1' }] } });
  const pool = createPool({ sentinel: { name: 'm', sentinels: [{ host: 'h', port: 1 }] } });
  type _sentinelStats = Expect<Equal<ReturnType<typeof pool.stats>['sentinel'], SentinelStats | undefined>>;
  void pool.with({ waitReplicas: 1, waitTimeoutMs: 100 }).set('k', 'v');
}

export function errors(err: unknown): void {
  if (err instanceof RedpoolError) {
    type _code = Expect<Equal<typeof err.code, ErrorCode>>;
    // @ts-expect-error codes are a closed union
    const bogus: ErrorCode = 'ERR_NOT_A_CODE';
    void bogus;
  }
}

export async function testing(): Promise<void> {
  const server: RedisServer = await startRedisServer({ startTimeoutMs: 5_000 });
  type _url = Expect<Equal<typeof server.url, string>>;
  const pool = createPool({ url: server.url, driver: new FakeDriver(), clock: new ManualClock() });
  await pool.close();
  await server.stop();
  // @ts-expect-error the test server has no password option
  await startRedisServer({ requirepass: 'x' });
}
