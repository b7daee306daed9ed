/**
 * `redpool/testing`: a fake driver and a manual clock for unit tests without Redis, and a
 * throwaway `redis-server` for integration tests with one.
 */
export { FakeDriver, FakeConnection } from './fake-driver.js';
export type { FakeHandler, ConnectBehaviour } from './fake-driver.js';
export { ManualClock } from './manual-clock.js';
export { startRedisServer, RedisServerNotFoundError, RedisServerStartError } from './redis-server.js';
export type { RedisServer, RedisServerOptions } from './redis-server.js';
