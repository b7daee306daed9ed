/**
 * The public shapes of `pool.subscriber()`: its options, states (and their transition table),
 * connect info and events, and the two internal symbols a cluster's subscriber uses. No code,
 * so the cluster subscriber shares them without importing the subscriber itself.
 */
import type { RedpoolError } from '../errors.js';
import type { BackoffStrategy } from '../resilience/backoff.js';

/** Options of `pool.subscriber()`. */
export interface SubscriberOptions {
  /** Longest wait for a connection per (re)connect attempt, in ms. @default the pool's acquireTimeoutMs */
  connectTimeoutMs?: number;
  /** Delay between reconnect attempts (attempt 1, 2, …). @default the pool's reconnectBackoff (equal jitter 50 ms … 5 s) */
  backoff?: BackoffStrategy;
  /**
   * Server-assisted client-side caching on this connection: `CLIENT TRACKING ON BCAST PREFIX …`
   * is applied on every (re)connect before 'connect' is emitted, and the server's invalidations
   * arrive as 'invalidate' events. Needs a driver that reports invalidation pushes (the ioredis
   * driver over RESP3). @default off
   */
  tracking?: SubscriberTracking;
  /**
   * Liveness check: a PING is sent on the connection this often (ms) while it is ready. A server
   * that is frozen (SIGSTOP, a hung host, a black-holed network) keeps the socket open but never
   * answers, and pushes (messages, invalidations) silently stop: without this check the
   * subscriber would look connected for as long as TCP keeps quiet. `Infinity` turns it off.
   * @default 1000
   */
  pingIntervalMs?: number;
  /**
   * How long a liveness PING may go unanswered, in ms, before the connection is declared lost
   * ('disconnect', then the usual reconnect with backoff). @default 2000
   */
  pingTimeoutMs?: number;
}

/** The `tracking` option of `pool.subscriber()`. */
export interface SubscriberTracking {
  /** Key prefixes to be told about (one PREFIX each); empty: every key. Prefixes must not overlap (the server refuses). */
  prefixes: readonly string[];
  /** Broadcasting mode: the only one a connection that runs no reads of its own can use. @default true */
  bcast?: true;
}

/**
 * Lifecycle of a subscriber: `idle` (no connection yet: it connects on the first subscribe or
 * `ready()`), `connecting`, `ready`, `reconnecting` (connection lost, backing off), `closed` (final).
 */
export type SubscriberState = 'idle' | 'connecting' | 'ready' | 'reconnecting' | 'closed';

/**
 * The subscriber's transition table, enforced on every change of state (docs/ARCHITECTURE.md
 * draws it; test/unit/architecture-doc.test.ts compares both). A tracking subscriber whose first
 * connect fails goes on to `reconnecting` (it stands for a near cache waiting to serve); any
 * other failed first connect goes back to `idle`.
 */
export const SUBSCRIBER_TRANSITIONS: { readonly [S in SubscriberState]: readonly SubscriberState[] } = {
  idle: ['connecting', 'closed'],
  connecting: ['ready', 'idle', 'reconnecting', 'closed'],
  ready: ['reconnecting', 'closed'],
  reconnecting: ['ready', 'closed'],
  closed: [],
};

/** What 'connect' reports after every (re)connect, once every subscription has been restored. */
export interface SubscriberConnectInfo {
  /** The server's `CLIENT ID` of this connection (for `CLIENT TRACKING … REDIRECT <id>`). */
  clientId: number;
  /** The pool's connection id (as in pool events). */
  connectionId: number;
  /** False for the first connect, true after a loss. */
  reconnect: boolean;
}

/** Events of a {@link Subscriber}. It never emits 'error': an application without listeners cannot be crashed. */
export interface SubscriberEvents {
  /** A message on a channel subscribed with `subscribe`. */
  message: [channel: string, message: string];
  /** The same message as bytes. */
  messageBuffer: [channel: Buffer, message: Buffer];
  /** A message matching a pattern subscribed with `psubscribe`. */
  pmessage: [pattern: string, channel: string, message: string];
  /** The same as bytes (the pattern stays a string, as ioredis reports it). */
  pmessageBuffer: [pattern: string, channel: Buffer, message: Buffer];
  /** A message on a shard channel subscribed with `ssubscribe`. */
  smessage: [channel: string, message: string];
  /** The same as bytes. */
  smessageBuffer: [channel: Buffer, message: Buffer];
  /**
   * Keys another client changed (with `tracking`); `null`: every key may have changed (FLUSHDB,
   * FLUSHALL). Invalidations between a 'disconnect' and the next 'connect' are lost.
   */
  invalidate: [keys: string[] | null];
  /** The same keys as bytes. */
  invalidateBuffer: [keys: Buffer[] | null];
  /** Connected (again), tracking applied and every subscription restored. */
  connect: [info: SubscriberConnectInfo];
  /** The connection ended; messages published until the next 'connect' are lost. */
  disconnect: [info: { error: Error | undefined }];
  /** A (re)connect attempt failed; the next one follows after the backoff. */
  'connect:error': [info: { error: RedpoolError; attempt: number }];
  /** Restoring subscriptions after a reconnect was refused (e.g. ACL); those names were dropped. */
  'subscribe:error': [info: { error: RedpoolError; command: string; names: string[] }];
  /** close() ran (directly or through pool.close()). */
  close: [];
}

/**
 * Internal: called when the server unsubscribed shard channels on its own (their slot moved). A
 * cluster's subscriber sets it to re-route them; a single-node subscriber has no use for it.
 */
export const kShardDropped: unique symbol = Symbol('redpool.subscriber.shardDropped');
/**
 * Internal: SSUBSCRIBE again, also for channels already held (after a server-initiated
 * sunsubscribe the subscriber cannot tell which ones the server dropped; re-subscribing a held
 * one is harmless, and one that moved answers `MOVED`).
 */
export const kResubscribe: unique symbol = Symbol('redpool.subscriber.resubscribe');
