/**
 * The narrow client interface the load generator drives, and its two built-in implementations:
 * a redpool {@link Pool}, and the anti-pattern pooling is measured against — a new
 * connection for every operation. Peers in `bench/` implement the same interface.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { tlsConnectionOptions } from '../driver/common.js';
import { resolveOptions, type Pool, type PoolOptions } from '../index.js';

/** What a workload needs from a client. Every method resolves with the server's reply. */
export interface LoadClient {
  /** Short label for tables, e.g. `redpool` or `connection per op`. */
  readonly name: string;
  /** SET `key` to `value`. */
  set(key: string, value: string): Promise<unknown>;
  /** GET `key`. */
  get(key: string): Promise<unknown>;
  /** BLPOP with a timeout in seconds (fractions allowed). */
  blpop(key: string, timeoutSec: number): Promise<unknown>;
  /** PUBLISH; required by the `pubsub` workload. */
  publish?(channel: string, message: string): Promise<unknown>;
  /**
   * Subscribes on a dedicated connection and calls `onMessage` per message. Resolves once the
   * subscription is active, with a function that ends it. Required by the `pubsub` workload.
   */
  subscribe?(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>;
  /** Releases everything the client opened. */
  close(): Promise<void>;
}

/**
 * Wraps a pool. Subscribers take an exclusive lease each, subscribe on its raw ioredis client,
 * and destroy the lease when done (a subscribed connection cannot be reused).
 *
 * @param pool - The pool; it is closed by `close()` only when `ownsPool` is true.
 * @param ownsPool - Close the pool in `close()`. @default true
 */
export function poolClient(pool: Pool, ownsPool = true): LoadClient {
  return {
    name: 'redpool',
    set: (key, value) => pool.set(key, value),
    get: (key) => pool.get(key),
    blpop: (key, timeoutSec) => pool.blpop(key, timeoutSec),
    publish: (channel, message) => pool.publish(channel, message),
    async subscribe(channel, onMessage) {
      const lease = await pool.acquire();
      try {
        const raw = lease.raw;
        raw.on('message', (_ch: string, message: string) => onMessage(message));
        await raw.subscribe(channel);
      } catch (err) {
        lease.destroy();
        throw err;
      }
      return async () => lease.destroy();
    },
    close: async () => {
      if (ownsPool) await pool.close({ timeoutMs: 5_000 });
    },
  };
}

/**
 * ioredis options equivalent to a redpool URL or options object (host, port or unix path,
 * credentials, db, TLS), with reconnection and offline queueing off. Used by the
 * connection-per-operation client and by tools that need one plain connection.
 */
export function ioredisOptions(target: string | PoolOptions, connectTimeoutMs = 5_000): RedisOptions {
  const o = resolveOptions(target);
  // The drivers' own builder, so minVersion, ciphers and SNI mean the same here as in a pool.
  const tls = o.tls ? tlsConnectionOptions(o, o.tls) : undefined;
  return {
    ...(o.path ? { path: o.path } : { host: o.host, port: o.port }),
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(tls ? { tls } : {}),
    db: o.db,
    lazyConnect: true,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableReadyCheck: false,
    connectTimeout: connectTimeoutMs,
    commandTimeout: Math.max(connectTimeoutMs, 5_000),
  };
}

/**
 * The "before" of connection pooling: every operation opens a connection, runs one
 * command and closes it (QUIT, not awaited by the operation — the most favourable version of
 * the anti-pattern). `close()` waits for the outstanding QUITs.
 */
export function perOperationClient(target: string | PoolOptions): LoadClient {
  const base = ioredisOptions(target);
  const closing = new Set<Promise<unknown>>();
  const subscribers = new Set<Redis>();
  const once = async <T>(fn: (c: Redis) => Promise<T>): Promise<T> => {
    const c = new Redis(base);
    c.on('error', () => undefined); // surfaced through the command's rejection
    try {
      await c.connect();
      return await fn(c);
    } finally {
      const q: Promise<unknown> = c.quit().catch(() => c.disconnect());
      closing.add(q);
      void q.finally(() => closing.delete(q));
    }
  };
  return {
    name: 'connection per op',
    set: (key, value) => once((c) => c.set(key, value)),
    get: (key) => once((c) => c.get(key)),
    blpop: (key, timeoutSec) => once((c) => c.blpop(key, timeoutSec)),
    publish: (channel, message) => once((c) => c.publish(channel, message)),
    async subscribe(channel, onMessage) {
      const c = new Redis(base);
      c.on('error', () => undefined);
      subscribers.add(c);
      await c.connect();
      c.on('message', (_ch: string, message: string) => onMessage(message));
      await c.subscribe(channel);
      return async () => {
        subscribers.delete(c);
        c.disconnect();
      };
    },
    async close() {
      for (const c of subscribers) c.disconnect();
      subscribers.clear();
      await Promise.allSettled([...closing]);
    },
  };
}
