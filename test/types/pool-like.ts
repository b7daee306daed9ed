/**
 * Compile-time checks: both kinds of pool are a `PoolLike`, so the integrations typed for it
 * (redpool/http, redpool/otel, installShutdown) take either; the compat views take a `Pool` only.
 * Nothing here runs (see public-api.ts).
 */
import { installShutdown, type ClusterPool, type Pool, type PoolLike } from 'redpool';
import { asIoredis, asNodeRedis } from 'redpool/compat';
import { createHealthHandler } from 'redpool/http';
import { registerOtelMetrics } from 'redpool/otel';

export function bothKinds(pool: Pool, cluster: ClusterPool): void {
  const _single: PoolLike = pool;
  const _cluster: PoolLike = cluster;
  createHealthHandler(cluster);
  registerOtelMetrics(cluster);
  installShutdown([pool, cluster], { exit: false });
  asIoredis(pool);
  asNodeRedis(pool);
  // @ts-expect-error a client view needs one keyspace: a cluster pool is refused (ConfigError at runtime too)
  asIoredis(cluster);
  // @ts-expect-error as above
  asNodeRedis(cluster);
}
