/**
 * Compile-time checks that `createPool`'s return type tells the truth about what it returns at
 * runtime: options with `cluster` give a ClusterPool, options without give a Pool, and options
 * typed as a plain `PoolOptions` (where `cluster` may or may not be there) give the union, not a
 * `Pool` that is a ClusterPool at runtime. Nothing here runs (see public-api.ts).
 */
import { ClusterPool, createPool, type Pool, type PoolOptions } from 'redpool';
import { FakeDriver } from 'redpool/testing';

/** True when A and B are the same type (not merely assignable either way). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only for `true`. */
type Expect<T extends true> = T;

export function literalOptions(): void {
  const _single = createPool({ url: 'redis://127.0.0.1:6379' });
  type _s = Expect<Equal<typeof _single, Pool>>;
  const _none = createPool();
  type _n = Expect<Equal<typeof _none, Pool>>;
  const _url = createPool('redis://127.0.0.1:6379');
  type _u = Expect<Equal<typeof _url, Pool>>;
  const _cluster = createPool({ cluster: { nodes: [{ host: '127.0.0.1', port: 7000 }] } });
  type _c = Expect<Equal<typeof _cluster, ClusterPool>>;
}

export function plainPoolOptions(options: PoolOptions): void {
  // `cluster` is optional in PoolOptions: the runtime may return either kind, so must the type.
  const pool = createPool(options);
  type _union = Expect<Equal<typeof pool, Pool | ClusterPool>>;
  // @ts-expect-error a plain PoolOptions may carry `cluster`: it is not typed as a Pool
  const _wrong: Pool = createPool(options);
  if (pool instanceof ClusterPool) {
    type _narrow = Expect<Equal<typeof pool, ClusterPool>>;
  }
}

export function typedWithoutCluster(options: Omit<PoolOptions, 'cluster'>): void {
  const _pool = createPool(options);
  type _p = Expect<Equal<typeof _pool, Pool>>;
}

export function typedWithCluster(options: PoolOptions & { cluster: NonNullable<PoolOptions['cluster']> }): void {
  const _pool = createPool(options);
  type _c = Expect<Equal<typeof _pool, ClusterPool>>;
}

export function driverRawType(options: PoolOptions): void {
  const _pool = createPool({ ...options, driver: new FakeDriver() });
  // A driver does not settle the question either (the FakeDriver has no raw client type: Redis).
  type _raw = Expect<Equal<typeof _pool, Pool | ClusterPool>>;
}

export async function clusterReplicaReads(): Promise<void> {
  const pool = createPool({ cluster: { nodes: [{ host: '127.0.0.1', port: 7000 }] }, readFrom: 'preferReplica' });
  const _node = Object.values(pool.stats().nodes)[0]!;
  type _role = Expect<Equal<typeof _node.role, 'primary' | 'replica'>>;
  type _of = Expect<Equal<typeof _node.replicaOf, string | undefined>>;
  await pool.with({ readFrom: 'primary' }).get('k');
  // @ts-expect-error readFrom is a closed union
  pool.with({ readFrom: 'nearest' });
  await pool.close();
}
