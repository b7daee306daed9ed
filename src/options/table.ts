/**
 * The option table: every pool option declared once — its kind, bounds, default, whether the
 * URL query may set it (under its own name), and the one-line doc that docs/configuration.md
 * shows (a unit test fails when the doc's tables and this one disagree). Validation
 * (`validate.ts`), URL query parsing (`url.ts`), defaults (`resolve.ts`) and the
 * `ResolvedOptions` type all read it. `satisfies` checks it against {@link PoolOptions} at
 * compile time: a row for every option, no row for anything else, defaults of the right type.
 */
import { systemClock } from '../internal/clock.js';
import type { ResolvedEndpoint } from './endpoint.js';
import type { PoolOptions, ResolvedSentinel } from './types.js';

/**
 * The longest delay Node arms as asked: `setTimeout` turns anything above 2^31 - 1 ms (or
 * `Infinity`) into 1 ms, with a TimeoutOverflowWarning. Finite durations are bounded by it.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** The largest index `SELECT` can take on a server configured with the most databases (INT_MAX - 1). */
export const MAX_DB = 2_147_483_646;

/** How a value is checked (and, from a URL query, converted). */
export type OptionKind = 'string' | 'int' | 'ms' | 'bool' | 'function' | 'object' | 'tls' | 'enum' | 'sentinel';

/** The headings of docs/configuration.md the options are listed under. */
export const SECTIONS = {
  where: 'Where to connect',
  size: 'Size',
  time: 'Time',
  resilience: 'Resilience',
  other: 'Other',
} as const;

/** One row of the table. */
export interface OptionSpec<T> {
  readonly kind: OptionKind;
  /** Inclusive bounds of numbers. */
  readonly min?: number;
  readonly max?: number;
  /** `Infinity` is accepted and means "no limit": no timer is armed for it. */
  readonly infinite?: boolean;
  /** Values of an enum. */
  readonly values?: readonly string[];
  /** May be set from a URL query string (`?max=20`), under the option's own name. */
  readonly query?: boolean;
  /** Methods an object option must have (checked at construction, not at first use). */
  readonly methods?: readonly string[];
  /** An object option that also accepts `false` (turns the default off). */
  readonly orFalse?: true;
  /** Applied when neither the options nor the URL give a value. */
  readonly default?: T;
  /** The default as the doc shows it, when it is computed or not a literal. */
  readonly defaultDoc?: string;
  /** Resolved options always carry a value (computed when not given, e.g. `lanes`). */
  readonly computed?: true;
  readonly section: keyof typeof SECTIONS;
  /** One line of Markdown for the doc's table. */
  readonly doc: string;
}

type Table = { readonly [K in keyof PoolOptions]-?: OptionSpec<Exclude<PoolOptions[K], undefined>> };

const ms = (section: keyof typeof SECTIONS, min: number, dflt: number, doc: string, infinite?: true) =>
  ({ kind: 'ms', min, max: MAX_TIMER_MS, ...(infinite ? { infinite } : {}), query: true, default: dflt, section, doc }) as const;

/** The options, in the order the doc lists them. */
export const OPTIONS = {
  url: {
    kind: 'string',
    section: 'where',
    defaultDoc: '`REDIS_URL`, then `redis://127.0.0.1:6379`',
    doc: '`redis://[user:pass@]host[:port][/db][?opt=value…]`, `rediss://…` (TLS) or `unix://[user:pass@]/path.sock[?db=N]`; query keys are the options marked "query". Not with `host`/`port`/`path`; `username`, `password`, `db`, `tls` options win over the URL\'s',
  },
  host: { kind: 'string', default: '127.0.0.1', section: 'where', doc: 'host name or IP, instead of a URL' },
  port: { kind: 'int', min: 1, max: 65535, default: 6379, section: 'where', doc: 'TCP port' },
  path: { kind: 'string', section: 'where', defaultDoc: 'none', doc: 'unix socket path, instead of host and port' },
  username: { kind: 'string', section: 'where', defaultDoc: 'none', doc: 'ACL user name (none: the `default` user)' },
  password: { kind: 'string', section: 'where', defaultDoc: 'none', doc: 'password; never printed (non-enumerable in `pool.options`)' },
  credentials: {
    kind: 'function',
    section: 'where',
    defaultDoc: 'none',
    doc: '`() => ({ username?, password? })`, sync or async, called before every new connection (rotation)',
  },
  db: { kind: 'int', min: 0, max: MAX_DB, query: true, default: 0, section: 'where', doc: 'database index (0..15 on a default server)' },
  tls: {
    kind: 'tls',
    section: 'where',
    defaultDoc: '`false` (`true` for `rediss://`)',
    doc: '`true` or a plain object `{ ca, cert, key, passphrase, servername, minVersion, ciphers, insecureSkipVerify }`; verification is on, SNI defaults to a host name',
  },
  sentinel: {
    kind: 'sentinel',
    section: 'where',
    defaultDoc: 'none (a single node)',
    doc: '`{ name, sentinels: [{ host, port }, …], username?, password?, tls?, pollMs?, fenceOnPromotion? }`: find the primary of master `name` from the sentinels and follow failovers ([scale-out.md](scale-out.md)). `username`/`password`/`tls` here are for the sentinels; the top-level ones for the data nodes. `pollMs`: periodic re-check (default `10000`, `Infinity`: off); `fenceOnPromotion` (default `true`): stop writing to the old primary when the failover leader promotes the replica, not a second later at `+switch-master`. Not with `url`/`host`/`port`/`path`/`cluster`',
  },
  readFrom: {
    kind: 'enum',
    values: ['primary', 'replica', 'preferReplica'],
    query: true,
    default: 'primary',
    section: 'where',
    doc: "Sentinel and Cluster: where read-only commands run: `'primary'`, `'replica'` (replicas only; none usable is an error) or `'preferReplica'` (a replica, else the primary); replica reads may miss the latest writes; per call `pool.with({ readFrom })`",
  },
  name: {
    kind: 'string',
    query: true,
    default: 'default',
    section: 'where',
    doc: 'pool name: `CLIENT SETNAME redpool:<name>:<n>`, logs, metrics labels',
  },
  max: {
    kind: 'int',
    min: 1,
    max: 100_000,
    query: true,
    default: 10,
    section: 'size',
    doc: 'connections at most: shared lanes + exclusive leases, connecting ones included',
  },
  maxTotal: {
    kind: 'int',
    min: 1,
    max: 1_000_000,
    section: 'size',
    defaultDoc: 'none',
    doc: 'cluster, or Sentinel with `readFrom` other than `primary`: connections at most across all nodes (each node keeps its own `max`: each primary, and each replica read from); lanes are served first, so give at least `lanes` per node (the pool warns, `redis_pool_warning`, once the topology shows it short)',
  },
  min: { kind: 'int', min: 0, max: 100_000, query: true, default: 1, section: 'size', doc: 'connections opened at `ready()` and kept' },
  lanes: {
    kind: 'int',
    min: 1,
    max: 1_000,
    query: true,
    computed: true,
    defaultDoc: '`1` if `max < 4`, else `2`',
    section: 'size',
    doc: 'shared lanes; leases may use `max − lanes`',
  },
  maxWaiting: {
    kind: 'int',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    infinite: true,
    query: true,
    default: 10_000,
    section: 'size',
    doc: 'callers queued for a lease or lane; beyond it `PoolExhaustedError`',
  },
  acquireTimeoutMs: ms('time', 1, 5_000, 'longest wait for a lease or lane (`AcquireTimeoutError` with a snapshot)', true),
  commandTimeoutMs: ms('time', 1, 5_000, 'deadline of a command: wait + write + reply (+ the block time of blocking commands)', true),
  connectTimeoutMs: ms('time', 1, 5_000, 'TCP + TLS + handshake of a new connection'),
  idleTimeoutMs: ms('time', 0, 30_000, "close idle lease connections above `min`; 0 = never. Keep it below the server's `timeout`"),
  maxLifetimeMs: ms('time', 0, 1_800_000, 'retire connections after this age, minus up to 10 % jitter; 0 = never'),
  validateAfterIdleMs: ms('time', 0, 500, 'PING a connection before lending it if it sat idle longer than this'),
  leakDetectionMs: ms('time', 0, 0, 'report a lease held longer than this (`lease:leak` event with the acquire stack); 0 = off'),
  housekeepingIntervalMs: ms('time', 10, 1_000, 'period of eviction, lifetime, leak and health checks'),
  healthCheckIntervalMs: ms('time', 0, 30_000, 'PING connections idle this long (half-open sockets); 0 = never'),
  keepAliveMs: ms('time', 0, 30_000, 'TCP keepalive initial delay; 0 = off'),
  autoPipelining: {
    kind: 'bool',
    query: true,
    default: false,
    section: 'other',
    doc: "ioredis's own batching on the lanes (ioredis driver; turns its direct path off). Redundant and slower since the drivers coalesce each turn's writes; kept for comparison",
  },
  retries: {
    kind: 'int',
    min: 0,
    max: 100,
    query: true,
    default: 3,
    section: 'resilience',
    doc: 'immediate retries of a command that was not sent (or is read-only / marked idempotent) within its deadline; "not executed" replies (LOADING, TRYAGAIN, …) are retried with `backoff` until the deadline',
  },
  backoff: {
    kind: 'object',
    methods: ['delay'],
    section: 'resilience',
    defaultDoc: 'full jitter 8 ms → 512 ms',
    doc: 'delay between command retries (`constantBackoff`, `exponentialBackoff`, `fullJitterBackoff`, `decorrelatedJitterBackoff`, `equalJitterBackoff`)',
  },
  reconnectBackoff: {
    kind: 'object',
    methods: ['delay'],
    section: 'resilience',
    defaultDoc: 'equal jitter 50 ms → 500 ms',
    doc: 'delay between reconnect attempts after connect failures; while `unavailable`, between probes (one at a time: ≤ 4 connects/s with the default, and Redis is found ≤ 500 ms after it answers again). Refused logins and TLS failures back off harder (default: 0.8 s → 5 s)',
  },
  failureThreshold: {
    kind: 'int',
    min: 1,
    max: 1_000_000,
    query: true,
    default: 3,
    section: 'resilience',
    doc: 'consecutive connect failures before the pool is `unavailable` and fails fast',
  },
  onUnavailable: {
    kind: 'enum',
    values: ['fail', 'degrade'],
    query: true,
    default: 'fail',
    section: 'resilience',
    doc: "`ready()` rejects when Redis is unreachable (`'fail'`) or resolves `'unavailable'` and keeps recovering (`'degrade'`)",
  },
  validateWrites: {
    kind: 'bool',
    query: true,
    default: false,
    section: 'resilience',
    doc: '`ready()` also writes, reads and deletes a throwaway key',
  },
  logger: {
    kind: 'object',
    methods: ['info', 'warn', 'error'],
    orFalse: true,
    section: 'other',
    defaultDoc: 'one line on stderr when the pool becomes unavailable and one when it recovers',
    doc: 'pino-style logger (`console` works): one-line records `{ event, pool, endpoint, … }` for `redis_connected`, `redis_disconnected`, `redis_connect_failed`, `redis_health`, `redis_lease_leak`, `redis_pool_warning`; `false`: nothing at all',
  },
  driver: {
    kind: 'object',
    methods: ['connect'],
    section: 'other',
    defaultDoc: '`ioredisDriver()`',
    doc: 'connection factory: `ioredisDriver({ directPath })` (see [drivers.md](drivers.md)), `nodeRedisDriver()` from `redpool/node-redis` (needs `redis@5`), or the fake one in `redpool/testing`',
  },
  cluster: {
    kind: 'object',
    section: 'where',
    defaultDoc: 'none',
    doc: '`{ nodes: [{ host, port }, …], natMap?, maxRedirections? = 5, refreshIntervalMs? = 30000, minRefreshIntervalMs? = 1000 }`: a Redis Cluster (see [scale-out.md](scale-out.md)); not with `url`/`host`/`port`/`path`',
  },
  clock: {
    kind: 'object',
    methods: ['now', 'setTimeout', 'clearTimeout'],
    default: systemClock,
    defaultDoc: 'system',
    section: 'other',
    doc: 'time source (`ManualClock` from `redpool/testing` for tests)',
  },
} as const satisfies Table;

/** The row of `name` if it is an option (own keys only: never an `Object.prototype` member). */
export function specOf(name: string): OptionSpec<unknown> | undefined {
  return Object.hasOwn(OPTIONS, name) ? (OPTIONS as Record<string, OptionSpec<unknown>>)[name] : undefined;
}

type Rows = typeof OPTIONS;
/** Options that always have a value once resolved: a default, or computed. */
type Valued = { [K in keyof Rows]: Rows[K] extends { default: unknown } | { computed: true } ? K : never }[keyof Rows];
/** Options resolved outside the table's defaults: the endpoint, and the URL it came from. */
type EndpointKeys = keyof ResolvedEndpoint | 'url' | 'sentinel';

/**
 * Options after defaults and validation. Derived from {@link PoolOptions} and the table (its
 * TSDoc carries over): an option with a default is always set, one without may be undefined.
 */
type Unset = Required<Pick<PoolOptions, Exclude<keyof PoolOptions, Valued | EndpointKeys>>>;

/**
 * Options after defaults and validation. Derived from {@link PoolOptions} and the table (its
 * TSDoc carries over, through homomorphic mapped types): an option with a default is always
 * set, one without is `undefined` when not given.
 */
export type ResolvedOptions = ResolvedEndpoint & {
  readonly [K in keyof Pick<PoolOptions, Exclude<Valued, EndpointKeys>>]-?: Exclude<PoolOptions[K], undefined>;
} & {
  // No `-?` here: on a homomorphic mapped type it would strip the `| undefined` again.
  readonly [K in keyof Unset]: Unset[K] | undefined;
} & {
  /** `redis://host:port/db` with credentials masked (with Sentinel: `redis-sentinel://s1,s2/name`); safe to print. */
  readonly endpoint: string;
  /** Redis Sentinel settings; undefined for a single node. */
  readonly sentinel: ResolvedSentinel | undefined;
};
