/**
 * `redpool/compat`: ioredis- and node-redis-shaped views over one pool, for libraries that take
 * a client (BullMQ, connect-redis, socket.io's adapter, Keyv, Fastify plugins, redlock, …). A
 * view owns no connection: commands use the pool's lanes and leases, pub/sub uses
 * `pool.subscriber()`. What each library gets and what the pool still guarantees through it:
 * docs/ecosystem.md.
 */
export { asIoredis, IoredisViewImpl } from './ioredis.js';
export type { AsIoredisOptions, IoredisView, ViewStatus } from './ioredis.js';
export { IoredisBatch } from './ioredis-batch.js';
export type { ScanStreamOptions } from './scan-stream.js';
export { CONNECTION_CLOSED } from './coerce.js';
export type { Callback } from './coerce.js';
export { asNodeRedis, NodeRedisViewImpl, NodeRedisMulti } from './node-redis.js';
export type { NodeRedisView, NodeRedisListener } from './node-redis.js';
