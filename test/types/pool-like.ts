/**
 * Compile-time checks: both kinds of pool are a `PoolLike`, so the integrations typed for it
 * (redpool/http, redpool/otel, installShutdown) take either; both are a `CommandPool`, so the
 * channel layer takes either, without a cast; the compat views take a `Pool` only.
 * Nothing here runs (see public-api.ts).
 */
import { installShutdown, type ClusterPool, type CommandPool, type Pool, type PoolLike } from 'redpool';
import { createChannelLayer } from 'redpool/channels';
import { asIoredis, asNodeRedis } from 'redpool/compat';
import { createHealthHandler } from 'redpool/http';
import { registerOtelMetrics } from 'redpool/otel';

export function bothKinds(pool: Pool, cluster: ClusterPool): void {
  const _single: PoolLike = pool;
  const _cluster: PoolLike = cluster;
  createHealthHandler(cluster);
  registerOtelMetrics(cluster);
  installShutdown([pool, cluster], { exit: false });
  const _commands: CommandPool[] = [pool, cluster];
  createChannelLayer(pool);
  createChannelLayer(cluster);
  // Only a cluster lists its primaries.
  const _primaries = cluster.primaries();
  // @ts-expect-error a single-node pool has no primaries()
  pool.primaries();
  asIoredis(pool);
  asNodeRedis(pool);
  // @ts-expect-error a client view needs one keyspace: a cluster pool is refused (ConfigError at runtime too)
  asIoredis(cluster);
  // @ts-expect-error as above
  asNodeRedis(cluster);
}
