/**
 * Compile-time checks of the public command types: this file proves with `tsc` (the build fails
 * on an error here) that the pool, its `with()` view and a lease carry the ioredis return types
 * (not `any`), and that commands refused on the shared API are not on the Pool type at all.
 * The function below is never called; the one runtime test only keeps node:test happy.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Redis } from 'ioredis';
import type { createClient } from 'redis';
import { createPool, type Batch, type Lease, type Pool, type PoolState } from '../../../src/index.js';
import { nodeRedisDriver } from '../../../src/driver/node-redis/index.js';

/** True only when A and B are the same type (`any` does not pass). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<A, B>(ok: Equal<A, B>): void {
  void ok;
}

async function compileOnly(pool: Pool, lease: Lease): Promise<void> {
  const _v: string | null = await pool.get('k');
  expectType<typeof _v, string | null>(true);
  expectType<Awaited<ReturnType<Pool['get']>>, string | null>(true);
  expectType<Awaited<ReturnType<Pool['hgetall']>>, Record<string, string>>(true);
  expectType<Awaited<ReturnType<Pool['getBuffer']>>, Buffer | null>(true);
  expectType<Awaited<ReturnType<Pool['incr']>>, number>(true);
  expectType<Awaited<ReturnType<Pool['smembers']>>, string[]>(true);
  expectType<Awaited<ReturnType<Pool['call']>>, unknown>(true);
  const hset: number = await pool.hset('h', { a: 1, b: 'x' });
  void hset;
  const _viaWith = await pool.with({ timeoutMs: 100 }).get('k');
  expectType<typeof _viaWith, string | null>(true);
  const _blpop = await pool.blpop('list', 1);
  expectType<typeof _blpop, [string, string] | null>(true);

  const batch: Batch = pool.multi();
  const _tx = await batch.set('a', '1').get('a').exec();
  expectType<typeof _tx, Array<[Error | null, unknown]> | null>(true);

  // Leases have the full command set, state-changing commands included.
  expectType<Awaited<ReturnType<Lease['get']>>, string | null>(true);
  const watched: 'OK' = await lease.watch('k');
  const selected: 'OK' = await lease.select(1);
  void watched;
  void selected;
  lease.release();

  // Refused on the shared API, so not on the type either.
  // @ts-expect-error SELECT needs a lease
  await pool.select(1);
  // @ts-expect-error WATCH needs a lease
  await pool.watch('k');
  // @ts-expect-error SUBSCRIBE needs a lease
  await pool.subscribe('channel');
  // @ts-expect-error EXEC is only reachable through multi().exec()
  await pool.exec();
  // @ts-expect-error the with() view refuses the same commands
  await pool.with({ timeoutMs: 1 }).select(1);
}

/** `lease.raw` is the client of the driver in use; states are the PoolState union. */
async function rawTypes(): Promise<void> {
  const ioredisPool = createPool({ url: 'redis://127.0.0.1:1' });
  const nodeRedisPool = createPool({ url: 'redis://127.0.0.1:1', driver: nodeRedisDriver() });
  expectType<Awaited<ReturnType<typeof ioredisPool.acquire>>['raw'], Redis>(true);
  expectType<Awaited<ReturnType<typeof nodeRedisPool.acquire>>['raw'], ReturnType<typeof createClient>>(true);
  await nodeRedisPool.withConnection((lease) => {
    expectType<typeof lease.raw, ReturnType<typeof createClient>>(true);
    void lease;
  });
  expectType<typeof ioredisPool.state, PoolState>(true);
  expectType<ReturnType<typeof ioredisPool.stats>['state'], PoolState>(true);
  void ioredisPool;
}

void test('command types compile (checked by tsc)', () => {
  assert.equal(typeof compileOnly, 'function');
  assert.equal(typeof rawTypes, 'function');
});
