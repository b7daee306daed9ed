/**
 * The public option types. `PoolOptions` is written out as an interface so that its TSDoc
 * (hover text, TypeDoc) stays; `table.ts` is checked against it at compile time (a row for
 * every key and no other, each default of the key's type), and `ResolvedOptions` is derived
 * from both, so the three cannot drift.
 */
import type { Driver } from '../driver/driver.js';
import type { Clock } from '../internal/clock.js';
import type { BackoffStrategy } from '../resilience/backoff.js';
import type { NatMap, NodeAddress } from '../topology/cluster/nat-map.js';
import type { TlsOptions } from './endpoint.js';

/**
 * The `cluster` option: a Redis Cluster instead of one endpoint. Every other pool option
 * applies to each per-node pool (`max` is per node; `maxTotal` bounds the sum).
 */
export interface ClusterOptions {
  /** Seed nodes (any mix of primaries and replicas); the topology is read from them. At least one. */
  nodes: readonly NodeAddress[];
  /** Address translation for announced addresses (`"host:port"` → `{ host, port }`, or a function). @default none */
  natMap?: NatMap;
  /** `MOVED`/`ASK` redirections followed per command before the reply reaches the caller. @default 5 */
  maxRedirections?: number;
  /** Period of the background topology check, ms; `Infinity` turns it off. @default 30000 */
  refreshIntervalMs?: number;
  /** Least time between two topology loads, ms (requests in between coalesce into one). @default 1000 */
  minRefreshIntervalMs?: number;
}

/** Credentials returned by a {@link PoolOptions.credentials} provider. */
export interface Credentials {
  username?: string;
  password?: string;
}

/** A pino-style logger; redpool logs through it when given. */
export interface Logger {
  /** Detail for debugging (optional: omitted loggers get no debug events). `obj` is the structured event. */
  debug?(obj: object, msg?: string): void;
  /** Lifecycle events worth keeping (a pool opened, recovered). */
  info(obj: object, msg?: string): void;
  /** Degradation: a connection lost, Redis unavailable, a risky setting. */
  warn(obj: object, msg?: string): void;
  /** Failures that need an operator: the pool cannot reach or authenticate to Redis. */
  error(obj: object, msg?: string): void;
}

/** A sentinel to ask for the primary. */
export interface SentinelAddress {
  host: string;
  /** 1..65535 (sentinels usually listen on 26379). */
  port: number;
}

/**
 * Redis Sentinel: the pool finds the primary of master `name` from `sentinels`, checks ROLE on
 * every new connection, and follows failovers (`+switch-master`, periodic re-checks, READONLY
 * replies) by re-targeting itself. See docs/scale-out.md.
 */
export interface SentinelOptions {
  /** Master name as the sentinels monitor it (`sentinel monitor <name> …`). */
  name: string;
  /** Seed sentinels, tried in random order; the list is refreshed from `SENTINEL SENTINELS`. At most 16. */
  sentinels: SentinelAddress[];
  /** ACL user on the sentinels (the top-level `username` is for the data nodes). */
  username?: string;
  /** Password of the sentinels. Never printed. */
  password?: string;
  /** TLS to the sentinels (the top-level `tls` is for the data nodes). @default false */
  tls?: boolean | TlsOptions;
  /** Periodic re-check of the primary, in ms (100..2147483647); `Infinity` turns it off. @default 10000 */
  pollMs?: number;
  /**
   * Fence the old primary as soon as the failover leader announces the promotion
   * (`+failover-state-wait-promotion`), about a second before `+switch-master`: writes stop
   * going to a node that keeps acknowledging them for seconds and then loses them. `false`:
   * move at `+switch-master`. @default true
   */
  fenceOnPromotion?: boolean;
}

/** The resolved `sentinel` option (see {@link SentinelOptions}): frozen, defaults applied. */
export interface ResolvedSentinel {
  /** Master name. */
  readonly name: string;
  /** Seed sentinels, as given. */
  readonly sentinels: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  /** ACL user on the sentinels. */
  readonly username: string | undefined;
  /** Never printed: a non-enumerable getter. */
  readonly password: string | undefined;
  /** TLS to the sentinels (`true` resolved to `{}`). */
  readonly tls: TlsOptions | undefined;
  /** Periodic re-check, ms (`Infinity`: off). */
  readonly pollMs: number;
  /** Fence the old primary at the promotion notice (see {@link SentinelOptions.fenceOnPromotion}). */
  readonly fenceOnPromotion: boolean;
}

/** What `ready()` does when Redis cannot be reached at startup. */
export type OnUnavailable = 'fail' | 'degrade';

/**
 * Where read-only commands on the shared API run (Sentinel and Cluster pools):
 * - `'primary'`: everything runs on the primary (reads see every acknowledged write);
 * - `'replica'`: read-only commands run only on replicas; with no usable replica they fail
 *   with a typed error rather than load the primary;
 * - `'preferReplica'`: on a replica when one is usable, else on the primary.
 * Replica reads are eventually consistent (they may miss the latest writes). Writes, leases and
 * transactions always run on the primary.
 */
export type ReadFrom = 'primary' | 'replica' | 'preferReplica';

/**
 * Options of {@link createPool}. Every duration is in milliseconds, at most 2147483647 (the
 * longest timer Node can arm, ~24.8 days); where `Infinity` is accepted it means "no limit"
 * and no timer is armed.
 */
export interface PoolOptions {
  /**
   * `redis://[user:pass@]host[:port][/db][?opts]`, `rediss://…` (TLS) or
   * `unix://[user:pass@]/path/to.sock[?db=N]`. Query options use the option names below.
   * Cannot be combined with `host`, `port` or `path`; `username`, `password`, `db` and `tls`
   * given as options win over the URL's.
   * @default process.env.REDIS_URL, then redis://127.0.0.1:6379
   */
  url?: string;
  /** Host name or IP. @default '127.0.0.1' */
  host?: string;
  /** TCP port. @default 6379 */
  port?: number;
  /** Unix socket path (instead of host/port). */
  path?: string;
  /**
   * Redis Sentinel instead of a fixed endpoint: `{ name, sentinels: [{ host, port }, …] }`.
   * Cannot be combined with `url`, `host`, `port` or `path`. @default none (a single node)
   */
  sentinel?: SentinelOptions;
  /** ACL user name. @default none (the `default` user) */
  username?: string;
  /** Password. Never printed. */
  password?: string;
  /** Database index, 0..15 on a default server. @default 0 */
  db?: number;
  /** TLS: `true` for defaults, or settings (a plain object). `rediss://` implies `true`. @default false */
  tls?: boolean | TlsOptions;
  /**
   * Called before every new connection to get fresh credentials (rotation). Overrides
   * `username`/`password` when it returns them.
   */
  credentials?: () => Credentials | Promise<Credentials>;
  /** Pool name: used in `CLIENT SETNAME redpool:<name>:<id>`, logs and metrics. @default 'default' */
  name?: string;
  /** Most connections open at once: shared lanes plus exclusive leases. @default 10 */
  max?: number;
  /**
   * Cluster, or Sentinel with `readFrom` other than `'primary'`: connections at most across
   * every node (each node also keeps its own `max`: every primary, and on Sentinel the primary
   * and each replica it reads from). Lanes are served first, so it must be at least `lanes`
   * per node to serve every node; the pool emits a `warning` (logged as `redis_pool_warning`)
   * once the topology (cluster map, Sentinel replica listing) shows fewer.
   * @default none (only `max` per node)
   */
  maxTotal?: number;
  /** Connections opened at `ready()` and kept open. @default 1 */
  min?: number;
  /**
   * Shared lanes: connections that multiplex ordinary commands. Leases may use `max - lanes`.
   * @default 1 when max < 4, else 2
   */
  lanes?: number;
  /** Longest wait for a connection (lease or lane). `Infinity`: wait without limit. @default 5000 */
  acquireTimeoutMs?: number;
  /** Most callers waiting for a lease or lane; beyond it they fail at once. @default 10000 */
  maxWaiting?: number;
  /**
   * Deadline of one command: waiting for a connection, the write and the reply. Blocking
   * commands add their own block timeout. `Infinity` disables it. @default 5000
   */
  commandTimeoutMs?: number;
  /** Deadline for TCP + TLS + handshake of a new connection (always finite). @default 5000 */
  connectTimeoutMs?: number;
  /** Close idle lease connections above `min` after this long. `0` disables. @default 30000 */
  idleTimeoutMs?: number;
  /** Retire connections after this age (minus up to 10 % jitter). `0` disables. @default 1800000 */
  maxLifetimeMs?: number;
  /** Validate (PING) a connection on borrow if it was idle longer than this. @default 500 */
  validateAfterIdleMs?: number;
  /** Report a lease held longer than this, with the stack of its acquire. `0` disables. @default 0 */
  leakDetectionMs?: number;
  /** Housekeeping period (idle eviction, lifetime, leaks, health pings). @default 1000 */
  housekeepingIntervalMs?: number;
  /** PING connections idle this long to detect half-open sockets. `0` disables. @default 30000 */
  healthCheckIntervalMs?: number;
  /** TCP keepalive initial delay. `0` disables keepalive. @default 30000 */
  keepAliveMs?: number;
  /** Let ioredis auto-pipeline commands issued in the same tick on a lane. @default false */
  autoPipelining?: boolean;
  /**
   * Immediate retries of a command that was not sent (or is read-only / marked idempotent),
   * within its deadline. "Not executed" replies (LOADING, TRYAGAIN, …) are retried with
   * `backoff` until the deadline regardless. @default 3
   */
  retries?: number;
  /** Delay between command retries. @default exponential 8ms→512ms, full jitter */
  backoff?: BackoffStrategy;
  /**
   * Delay between reconnect attempts after connect failures (while unavailable: between probes,
   * one at a time). Refused logins and TLS failures back off harder (with the default: 800 ms →
   * 5 s). @default equal jitter 50ms→500ms
   */
  reconnectBackoff?: BackoffStrategy;
  /** Consecutive connect failures after which the pool turns `unavailable`. @default 3 */
  failureThreshold?: number;
  /** Startup when Redis is unreachable: reject `ready()` or resolve degraded. @default 'fail' */
  onUnavailable?: OnUnavailable;
  /** At `ready()`, also write, read and delete a throwaway key. @default false */
  validateWrites?: boolean;
  /**
   * Logger for lifecycle events (pino-compatible; `console` works too): one-line records
   * `{ event, pool, endpoint, … }` with a one-line message. `false` logs nothing.
   * @default one line on stderr when the pool becomes unavailable and one when it recovers
   */
  logger?: Logger | false;
  /** Connection factory. @default the ioredis driver */
  driver?: Driver;
  /** Time source. @default the system clock */
  clock?: Clock;
  /**
   * Sentinel and Cluster pools: where read-only commands run (see {@link ReadFrom}); a single
   * node has only its primary. Per call: `pool.with({ readFrom })`. @default 'primary'
   */
  readFrom?: ReadFrom;
  /** A Redis Cluster: seeds and routing settings (see {@link ClusterOptions}). Not with `url`/`host`/`port`/`path`. @default none */
  cluster?: ClusterOptions;
}
