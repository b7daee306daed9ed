/**
 * `startRedisServer()`: a throwaway `redis-server` for your own integration tests, the same one
 * `redpool bench` starts when no URL is given.
 */
import { startEmbeddedServer, type RedisServer, type RedisServerOptions } from '../cli/embedded-server.js';

export { RedisServerNotFoundError, RedisServerStartError } from '../cli/embedded-server.js';
export type { RedisServer, RedisServerOptions } from '../cli/embedded-server.js';

/**
 * Starts a throwaway `redis-server` (it must be on `PATH`, or give `binary`) on a free
 * 127.0.0.1 port, with no persistence and its own temporary directory, and resolves once a
 * redpool pool's PING answers it. Stop it with `await server.stop()` or `await using`; it also
 * dies with your process on every path, SIGKILL included, so a crashed test run leaves no
 * server behind.
 *
 * @example
 * ```ts
 * import { createPool } from 'redpool';
 * import { startRedisServer } from 'redpool/testing';
 *
 * const server = await startRedisServer();
 * const pool = createPool({ url: server.url });
 * // … your test …
 * await pool.close();
 * await server.stop();
 * ```
 *
 * @param options - See {@link RedisServerOptions}; defaults: `redis-server` from `PATH`, start
 *   deadline 10000 ms, stop grace period 5000 ms.
 * @throws {@link RedisServerNotFoundError} (`code: 'ERR_REDIS_SERVER_NOT_FOUND'`) when the binary is missing.
 * @throws {@link RedisServerStartError} (`code: 'ERR_REDIS_SERVER_START'`) when it exits or misses the deadline.
 */
export function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  return startEmbeddedServer(options);
}
