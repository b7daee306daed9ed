/**
 * redpool: production-grade Redis connection management for Node.js.
 * Public surface only; everything else is internal.
 */
export { createPool, Pool } from './pool/pool.js';
export { ClusterPool, ClusterSubscriber } from './cluster/cluster-pool.js';
export type { ClusterSubscriberEvents, SubscriberNode } from './cluster/cluster-pool.js';
export type { ClusterStats, ClusterNodeStats, ClusterHealthReport, ClusterInfo } from './cluster/cluster-pool.js';
export type { NatMap, NodeAddress } from './topology/cluster/nat-map.js';
export type { RefresherStats, RefreshReason } from './topology/cluster/refresher.js';
export type { HealthReport, CloseOptions, SharedCommands, ServerFacts } from './pool/pool.js';
export type { AcquireOptions, CallOptions, PoolState } from './pool/engine.js';
export { Lease } from './pool/lease.js';
export type { RawClientOf } from './pool/lease.js';
export { COMMAND_CLASSES } from './commands/command-table.js';
export type { StateChangingCommand, BlockingCommand } from './commands/command-table.js';
export { Subscriber } from './pool/subscriber.js';
export type { SubscriberOptions, SubscriberState, SubscriberEvents, SubscriberConnectInfo, SubscriberTracking } from './pool/subscriber.js';
export { Batch } from './commands/batch.js';
export type { PoolEvents } from './pool/events.js';
export type { EventArgs, PoolWithOptions } from './pool/pool.js';
export type { PoolLike, CommandPool, SubscriberLike, PrimaryNode } from './pool/api.js';
export type { Role } from './pool/pooled-connection.js';
export type { PoolStats, HealthStatus, DestroyReason, ErrorKind } from './pool/stats.js';
export type { ConnState } from './pool/pooled-connection.js';
export { parseRedisUrl, redactUrl, resolveOptions } from './options.js';
export type {
  PoolOptions,
  ClusterOptions,
  ResolvedOptions,
  ResolvedEndpoint,
  TlsOptions,
  Credentials,
  Logger,
  OnUnavailable,
  ReadFrom,
  ParsedUrl,
  SentinelOptions,
  SentinelAddress,
  ResolvedSentinel,
} from './options.js';
export type { SentinelStats, ReplicaStats, ReplicaRouterStats } from './pool/stats.js';
export type { PrimaryChangedEvent } from './pool/events.js';
export * from './errors.js';
export {
  constantBackoff,
  exponentialBackoff,
  fullJitterBackoff,
  decorrelatedJitterBackoff,
  equalJitterBackoff,
} from './resilience/backoff.js';
export type { BackoffStrategy, Random } from './resilience/backoff.js';
export { retryDecision, NOT_EXECUTED_REPLIES } from './resilience/classify.js';
export type { RetryDecision, RetryInput } from './resilience/classify.js';
export { ioredisDriver, type IoredisDriverOptions } from './driver/ioredis-driver.js';
export type { Driver, DriverConnection, ConnectSpec, BatchCommand, BatchResult, ReplySink, PushKind } from './driver/driver.js';
export type { Clock, TimerHandle } from './internal/clock.js';
export { systemClock } from './internal/clock.js';
export { adviseFromStats, summarizeAdvice, fetchServerLimits, parseServerLimits, DEFAULT_THRESHOLDS } from './health/advice.js';
export type { Advice, AdviceLevel, AdviceOptions, AdviceThresholds, ServerLimits, ServerLimitsSource } from './health/advice.js';
export { recommendPoolSize, presetFromEnv, POOL_PRESETS } from './health/sizing.js';
export type { PoolPreset, PoolSizeInput, PoolSizeRecommendation } from './health/sizing.js';
export { installShutdown } from './lifecycle/shutdown.js';
export type { ShutdownOptions, UninstallShutdown, Closable } from './lifecycle/shutdown.js';
