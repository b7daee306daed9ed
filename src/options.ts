/**
 * Pool options: types, defaults, validation, URL parsing and redaction.
 * Invariant: a {@link ResolvedOptions} value has passed every check below, so the engine
 * never re-validates. Secrets (password, TLS key passphrase) are kept on non-enumerable
 * properties so that `JSON.stringify` and `util.inspect` of the options never print them.
 */
import { ConfigError } from './errors.js';
import type { Clock } from './internal/clock.js';
import { systemClock } from './internal/clock.js';
import type { Driver } from './driver/driver.js';
import type { BackoffStrategy } from './resilience/backoff.js';

/** TLS settings. Verification is on unless `insecureSkipVerify` is set explicitly. */
export interface TlsOptions {
  /** PEM CA bundle(s) to trust instead of the system store. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** PEM client certificate for mutual TLS. */
  cert?: string | Buffer;
  /** PEM client private key for mutual TLS. Never printed. */
  key?: string | Buffer;
  /** Passphrase for `key`. Never printed. */
  passphrase?: string;
  /** SNI server name. @default the host name, when it is not an IP address */
  servername?: string;
  /** Minimum TLS version. @default Node's default ('TLSv1.2') */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list, passed through. */
  ciphers?: string;
  /**
   * Turn off certificate and host-name verification. Dangerous: only for tests against
   * self-signed servers. @default false
   */
  insecureSkipVerify?: boolean;
}

/** Credentials returned by a {@link PoolOptions.credentials} provider. */
export interface Credentials {
  username?: string;
  password?: string;
}

/** A pino-style logger; redpool logs through it when given. */
export interface Logger {
  debug?(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** What `ready()` does when Redis cannot be reached at startup. */
export type OnUnavailable = 'fail' | 'degrade';

/** Options of {@link createPool}. Every duration is in milliseconds. */
export interface PoolOptions {
  /**
   * `redis://[user:pass@]host[:port][/db][?opts]`, `rediss://…` (TLS) or
   * `unix://[user:pass@]/path/to.sock[?db=N]`. Query options use the option names below.
   * @default process.env.REDIS_URL, then redis://127.0.0.1:6379
   */
  url?: string;
  /** Host name or IP. @default '127.0.0.1' */
  host?: string;
  /** TCP port. @default 6379 */
  port?: number;
  /** Unix socket path (instead of host/port). */
  path?: string;
  /** ACL user name. @default none (the `default` user) */
  username?: string;
  /** Password. Never printed. */
  password?: string;
  /** Database index, 0..15 on a default server. @default 0 */
  db?: number;
  /** TLS: `true` for defaults, or settings. `rediss://` implies `true`. @default false */
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
  /** Connections opened at `ready()` and kept open. @default 1 */
  min?: number;
  /**
   * Shared lanes: connections that multiplex ordinary commands. Leases may use `max - lanes`.
   * @default 1 when max < 4, else 2
   */
  lanes?: number;
  /** Longest wait for a connection (lease or lane). @default 5000 */
  acquireTimeoutMs?: number;
  /** Most callers waiting for a lease or lane; beyond it they fail at once. @default 10000 */
  maxWaiting?: number;
  /**
   * Deadline of one command: waiting for a connection, the write and the reply. Blocking
   * commands add their own block timeout. `Infinity` disables it. @default 5000
   */
  commandTimeoutMs?: number;
  /** Deadline for TCP + TLS + handshake of a new connection. @default 5000 */
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
  /** Delay between retries and between reconnect attempts. @default exponential 8ms→512ms, full jitter */
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
  /** Logger for lifecycle events (pino-compatible). @default none */
  logger?: Logger;
  /** Connection factory. @default the ioredis driver */
  driver?: Driver;
  /** Time source. @default the system clock */
  clock?: Clock;
}

/** Where and as whom to connect, resolved: shared by the options and a driver's connect spec. */
export interface ResolvedEndpoint {
  readonly host: string;
  readonly port: number;
  /** Unix socket path; when set, host and port are unused. */
  readonly path: string | undefined;
  readonly username: string | undefined;
  /** Never printed: a non-enumerable getter on resolved options. */
  readonly password: string | undefined;
  readonly db: number;
  readonly tls: TlsOptions | undefined;
}

/** Options after defaults and validation. */
export interface ResolvedOptions extends ResolvedEndpoint {
  readonly credentials: (() => Credentials | Promise<Credentials>) | undefined;
  readonly name: string;
  readonly max: number;
  readonly min: number;
  readonly lanes: number;
  readonly acquireTimeoutMs: number;
  readonly maxWaiting: number;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxLifetimeMs: number;
  readonly validateAfterIdleMs: number;
  readonly leakDetectionMs: number;
  readonly housekeepingIntervalMs: number;
  readonly healthCheckIntervalMs: number;
  readonly keepAliveMs: number;
  readonly autoPipelining: boolean;
  readonly retries: number;
  readonly backoff: BackoffStrategy | undefined;
  readonly reconnectBackoff: BackoffStrategy | undefined;
  readonly failureThreshold: number;
  readonly onUnavailable: OnUnavailable;
  readonly validateWrites: boolean;
  readonly logger: Logger | undefined;
  readonly driver: Driver | undefined;
  readonly clock: Clock;
  /** `redis://host:port/db` with credentials masked; safe to print. */
  readonly endpoint: string;
}

type Kind = 'string' | 'int' | 'ms' | 'bool' | 'function' | 'object' | 'tls' | 'enum';
interface Spec {
  kind: Kind;
  min?: number;
  max?: number;
  values?: readonly string[];
  /** May be set from a URL query string. */
  query?: boolean;
}

/** The option table: one row per option; unknown keys are rejected against it. */
const SPECS: Readonly<Record<keyof PoolOptions, Spec>> = {
  url: { kind: 'string' },
  host: { kind: 'string' },
  port: { kind: 'int', min: 1, max: 65535 },
  path: { kind: 'string' },
  username: { kind: 'string' },
  password: { kind: 'string' },
  db: { kind: 'int', min: 0, max: 1_000_000, query: true },
  tls: { kind: 'tls' },
  credentials: { kind: 'function' },
  name: { kind: 'string', query: true },
  max: { kind: 'int', min: 1, max: 100_000, query: true },
  min: { kind: 'int', min: 0, max: 100_000, query: true },
  lanes: { kind: 'int', min: 1, max: 1_000, query: true },
  acquireTimeoutMs: { kind: 'ms', min: 1, query: true },
  maxWaiting: { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, query: true },
  commandTimeoutMs: { kind: 'ms', min: 1, query: true },
  connectTimeoutMs: { kind: 'ms', min: 1, query: true },
  idleTimeoutMs: { kind: 'ms', min: 0, query: true },
  maxLifetimeMs: { kind: 'ms', min: 0, query: true },
  validateAfterIdleMs: { kind: 'ms', min: 0, query: true },
  leakDetectionMs: { kind: 'ms', min: 0, query: true },
  housekeepingIntervalMs: { kind: 'ms', min: 10, query: true },
  healthCheckIntervalMs: { kind: 'ms', min: 0, query: true },
  keepAliveMs: { kind: 'ms', min: 0, query: true },
  autoPipelining: { kind: 'bool', query: true },
  retries: { kind: 'int', min: 0, max: 100, query: true },
  backoff: { kind: 'object' },
  reconnectBackoff: { kind: 'object' },
  failureThreshold: { kind: 'int', min: 1, max: 1_000_000, query: true },
  onUnavailable: { kind: 'enum', values: ['fail', 'degrade'], query: true },
  validateWrites: { kind: 'bool', query: true },
  logger: { kind: 'object' },
  driver: { kind: 'object' },
  clock: { kind: 'object' },
};

/** Options a finite duration must have; `Infinity` is allowed only where listed. */
const INFINITE_OK = new Set<string>(['acquireTimeoutMs', 'commandTimeoutMs', 'maxWaiting']);

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** `name` is what errors say (e.g. `url.query.max`); `key` is the option it stands for. */
function checkValue(name: string, spec: Spec, value: unknown, key: string = name): void {
  switch (spec.kind) {
    case 'string':
      if (typeof value !== 'string') throw new ConfigError(name, `expected a string, got ${typeName(value)}`);
      return;
    case 'bool':
      if (typeof value !== 'boolean') throw new ConfigError(name, `expected a boolean, got ${typeName(value)}`);
      return;
    case 'function':
      if (typeof value !== 'function') throw new ConfigError(name, `expected a function, got ${typeName(value)}`);
      return;
    case 'object':
      if (typeof value !== 'object' || value === null)
        throw new ConfigError(name, `expected an object, got ${typeName(value)}`);
      return;
    case 'tls':
      if (typeof value !== 'boolean' && (typeof value !== 'object' || value === null))
        throw new ConfigError(name, `expected a boolean or TLS options, got ${typeName(value)}`);
      return;
    case 'enum':
      if (typeof value !== 'string' || !spec.values!.includes(value))
        throw new ConfigError(name, `expected one of ${spec.values!.map((v) => `'${v}'`).join(', ')}`);
      return;
    case 'int':
    case 'ms': {
      if (typeof value !== 'number') throw new ConfigError(name, `expected a number, got ${typeName(value)}`);
      if (Number.isNaN(value)) throw new ConfigError(name, 'must not be NaN');
      if (value === Infinity && INFINITE_OK.has(key)) return;
      if (!Number.isFinite(value)) throw new ConfigError(name, 'must be finite');
      if (spec.kind === 'int' && !Number.isInteger(value))
        throw new ConfigError(name, `must be an integer, got ${value}`);
      if (spec.min !== undefined && value < spec.min) throw new ConfigError(name, `must be >= ${spec.min}, got ${value}`);
      if (spec.max !== undefined && value > spec.max) throw new ConfigError(name, `must be <= ${spec.max}, got ${value}`);
      return;
    }
  }
}

const TLS_KEYS = new Set(['ca', 'cert', 'key', 'passphrase', 'servername', 'minVersion', 'ciphers', 'insecureSkipVerify']);

function checkTls(tls: TlsOptions): void {
  for (const k of Object.keys(tls)) {
    if (!TLS_KEYS.has(k)) throw new ConfigError(`tls.${k}`, 'unknown TLS option');
  }
  if (tls.insecureSkipVerify !== undefined && typeof tls.insecureSkipVerify !== 'boolean')
    throw new ConfigError('tls.insecureSkipVerify', 'expected a boolean');
  if (tls.minVersion !== undefined && tls.minVersion !== 'TLSv1.2' && tls.minVersion !== 'TLSv1.3')
    throw new ConfigError('tls.minVersion', "expected 'TLSv1.2' or 'TLSv1.3'");
  for (const k of ['servername', 'ciphers', 'passphrase'] as const) {
    if (tls[k] !== undefined && typeof tls[k] !== 'string') throw new ConfigError(`tls.${k}`, 'expected a string');
  }
}

/** Parsed pieces of a connection URL. */
export interface ParsedUrl {
  host?: string;
  port?: number;
  path?: string;
  username?: string;
  password?: string;
  db?: number;
  tls?: boolean;
  query: Record<string, unknown>;
}

function decodeOnce(option: string, s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new ConfigError(option, 'is not valid percent-encoding');
  }
}

function parseDb(option: string, raw: string): number {
  if (!/^\d+$/.test(raw)) throw new ConfigError(option, `database must be a non-negative integer, got "${raw}"`);
  return Number(raw);
}

/** Converts a query string value to the type its option expects. */
function coerceQuery(name: string, spec: Spec, raw: string): unknown {
  const option = `url.query.${name}`;
  switch (spec.kind) {
    case 'int':
    case 'ms': {
      if (raw === 'Infinity' && INFINITE_OK.has(name)) return Infinity;
      if (!/^-?\d+(\.\d+)?$/.test(raw)) throw new ConfigError(option, `expected a number, got "${raw}"`);
      return Number(raw);
    }
    case 'bool':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new ConfigError(option, `expected true or false, got "${raw}"`);
    default:
      return raw;
  }
}

/**
 * A unix URL's host is never used, so `unix://user:pass@/run/redis.sock` is the natural way to
 * put credentials in one — but WHATWG `URL` refuses userinfo followed by an empty host. Such a
 * URL gets a placeholder host, so its credentials go through the same parser, and the same
 * single percent-decoding, as a redis:// URL's. Any other string is returned unchanged.
 */
function withUnixHost(url: string): string {
  if (!/^unix:\/\//i.test(url)) return url;
  const start = 'unix://'.length;
  const end = url.slice(start).search(/[/?#]/);
  const hostEnd = end === -1 ? url.length : start + end;
  return url[hostEnd - 1] === '@' ? `${url.slice(0, hostEnd)}localhost${url.slice(hostEnd)}` : url;
}

/**
 * Parses a `redis://`, `rediss://` or `unix://` URL (`unix://[user:pass@]/path.sock[?db=N]`).
 * Credentials are percent-decoded exactly once. Errors name the URL part at fault and never
 * include the URL itself (it may hold a password).
 */
export function parseRedisUrl(url: string): ParsedUrl {
  if (typeof url !== 'string' || url.length === 0) throw new ConfigError('url', 'must be a non-empty string');
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url);
  if (!m) throw new ConfigError('url', 'is not a URL (expected redis://host:port)');
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'redis' && scheme !== 'rediss' && scheme !== 'unix')
    throw new ConfigError('url', `unsupported scheme "${scheme}:" (expected redis:, rediss: or unix:)`);
  if (!url.slice(m[0].length).startsWith('//'))
    throw new ConfigError('url', `missing "//" after "${scheme}:"`);
  let u: URL;
  try {
    u = new URL(withUnixHost(url));
  } catch {
    throw new ConfigError('url', 'is malformed');
  }
  const out: ParsedUrl = { query: {} };
  if (u.username) out.username = decodeOnce('url.username', u.username);
  if (u.password) out.password = decodeOnce('url.password', u.password);
  if (scheme === 'unix') {
    // `unix://tmp/redis.sock` parses as host "tmp" and path "/redis.sock": a socket that is not
    // the one meant. Only "localhost" (a common spelling) may stand where no host is used.
    if (u.hostname && u.hostname !== 'localhost') {
      throw new ConfigError('url.host', `a unix URL takes no host (got "${u.hostname}"): write unix:///path/to.sock, with three slashes, or unix://user:pass@/path/to.sock`);
    }
    const p = decodeOnce('url.path', u.pathname);
    if (!p || p === '/') throw new ConfigError('url.path', 'unix URL needs a socket path');
    out.path = p;
  } else {
    out.tls = scheme === 'rediss';
    if (!u.hostname) throw new ConfigError('url.host', 'is missing');
    out.host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    if (u.port) {
      out.port = Number(u.port);
      if (out.port < 1 || out.port > 65535) throw new ConfigError('url.port', `must be 1..65535, got ${out.port}`);
    }
    const segments = u.pathname.split('/').filter(Boolean);
    if (segments.length > 1) throw new ConfigError('url.path', `expected at most one path segment (the db), got ${segments.length}`);
    if (segments.length === 1) out.db = parseDb('url.path', segments[0]!);
  }
  for (const [key, raw] of u.searchParams) {
    if (key === 'db') {
      const db = parseDb('url.query.db', raw);
      if (out.db !== undefined && out.db !== db) throw new ConfigError('url.query.db', 'is given twice, or conflicts with the db in the path');
      out.db = db;
      continue;
    }
    const spec = (SPECS as Record<string, Spec | undefined>)[key];
    if (!spec || !spec.query) throw new ConfigError(`url.query.${key}`, 'unknown option');
    const value = coerceQuery(key, spec, raw);
    checkValue(`url.query.${key}`, spec, value, key);
    out.query[key] = value;
  }
  return out;
}

/** `redis://***@host:port/db` or `unix://***@/path.sock`: a URL safe to print (credentials masked, query dropped). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(withUnixHost(url));
    const cred = u.username || u.password ? '***@' : '';
    const where = u.protocol === 'unix:' ? u.pathname : `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
    return `${u.protocol}//${cred}${where}`;
  } catch {
    return '<unparseable url>';
  }
}

/**
 * Secrets are own, non-enumerable accessor properties whose value lives in a closure: JSON,
 * spread and `Object.keys` skip them, and `util.inspect(…, { showHidden: true })` prints
 * `[Getter]`, never the value — yet `options.password` works for code that needs it.
 */
function withSecrets<T extends object>(visible: T, secrets: Record<string, unknown>): T {
  for (const [key, value] of Object.entries(secrets)) {
    if (value === undefined) continue;
    Object.defineProperty(visible, key, { get: () => value, enumerable: false, configurable: false });
  }
  return visible;
}

/** Strategy objects are checked for the methods the engine calls, so a mistake fails here. */
const METHODS: Partial<Record<keyof PoolOptions, readonly string[]>> = {
  backoff: ['delay'],
  reconnectBackoff: ['delay'],
  logger: ['info', 'warn', 'error'],
  driver: ['connect'],
  clock: ['now', 'setTimeout', 'clearTimeout'],
};
function checkMethods(name: string, value: object): void {
  for (const m of METHODS[name as keyof PoolOptions] ?? []) {
    if (typeof (value as Record<string, unknown>)[m] !== 'function') throw new ConfigError(name, `must have a ${m}() method`);
  }
}

const DEFAULTS = {
  host: '127.0.0.1',
  port: 6379,
  db: 0,
  name: 'default',
  max: 10,
  min: 1,
  acquireTimeoutMs: 5_000,
  maxWaiting: 10_000,
  commandTimeoutMs: 5_000,
  connectTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
  maxLifetimeMs: 30 * 60_000,
  validateAfterIdleMs: 500,
  leakDetectionMs: 0,
  housekeepingIntervalMs: 1_000,
  healthCheckIntervalMs: 30_000,
  keepAliveMs: 30_000,
  autoPipelining: false,
  retries: 3,
  failureThreshold: 3,
  onUnavailable: 'fail' as OnUnavailable,
  validateWrites: false,
} as const;

/** Warnings for consistent-but-risky settings; returned, not thrown (I10). */
export function optionWarnings(o: ResolvedOptions): string[] {
  const w: string[] = [];
  if (o.connectTimeoutMs > o.acquireTimeoutMs)
    w.push(`connectTimeoutMs (${o.connectTimeoutMs}) > acquireTimeoutMs (${o.acquireTimeoutMs}): a waiter may time out while its connection is still being made`);
  if (o.maxLifetimeMs > 0 && o.idleTimeoutMs >= o.maxLifetimeMs)
    w.push(`idleTimeoutMs (${o.idleTimeoutMs}) >= maxLifetimeMs (${o.maxLifetimeMs}): idle eviction never happens first`);
  if (o.leakDetectionMs > 0 && o.leakDetectionMs < 2000)
    w.push(`leakDetectionMs (${o.leakDetectionMs}) < 2000: short leases will be reported as leaks`);
  if (o.tls?.insecureSkipVerify) w.push('tls.insecureSkipVerify is on: the server certificate is not verified');
  return w;
}

/**
 * Validates options, applies the URL (`options.url`, else `REDIS_URL`) and defaults. Explicit
 * options win over URL parts. Throws {@link ConfigError} naming the option at fault.
 */
export function resolveOptions(input: PoolOptions | string | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  const given: PoolOptions = typeof input === 'string' ? { url: input } : (input ?? {});
  if (typeof given !== 'object' || given === null || Array.isArray(given))
    throw new ConfigError('options', `expected an object or a URL string, got ${typeName(given)}`);
  for (const key of Object.keys(given)) {
    const spec = (SPECS as Record<string, Spec | undefined>)[key];
    if (!spec) throw new ConfigError(key, 'unknown option');
    const value = (given as Record<string, unknown>)[key];
    if (value !== undefined) checkValue(key, spec, value);
    if (value !== undefined && spec.kind === 'object') checkMethods(key, value as object);
  }
  if (typeof given.tls === 'object') checkTls(given.tls);
  if (given.host !== undefined && given.path !== undefined) throw new ConfigError('path', 'cannot be combined with "host" (a unix socket or a TCP host, not both)');
  if (given.host === '') throw new ConfigError('host', 'must not be empty');
  if (given.path === '') throw new ConfigError('path', 'must not be empty');
  // An explicit url is parsed even when empty (and refused); an empty REDIS_URL counts as unset.
  const envUrl = given.host === undefined && given.path === undefined && env.REDIS_URL ? env.REDIS_URL : undefined;
  const url = given.url !== undefined ? given.url : envUrl;
  const parsed: ParsedUrl = url !== undefined ? parseRedisUrl(url) : { query: {} };
  if (parsed.tls === false && given.tls) throw new ConfigError('tls', `"tls" is set but the URL ${redactUrl(url!)} is redis:// (use rediss://)`);
  if (parsed.tls === true && given.tls === false) throw new ConfigError('tls', `is false but the URL ${redactUrl(url!)} is rediss:// (never a silent downgrade to plaintext)`);
  const pick = <K extends keyof PoolOptions>(k: K): PoolOptions[K] | undefined =>
    given[k] !== undefined ? given[k] : (parsed.query[k] as PoolOptions[K] | undefined);
  const num = (k: keyof typeof DEFAULTS & keyof PoolOptions): number => (pick(k) as number | undefined) ?? (DEFAULTS[k] as number);

  const max = num('max');
  const min = num('min');
  if (min > max) throw new ConfigError('min', `must be <= max (min=${min}, max=${max})`);
  const lanes = (pick('lanes') as number | undefined) ?? (max < 4 ? 1 : 2);
  if (lanes > max) throw new ConfigError('lanes', `must be <= max (lanes=${lanes}, max=${max})`);

  let tls: TlsOptions | undefined;
  if (given.tls === true || (given.tls === undefined && parsed.tls)) tls = {};
  else if (typeof given.tls === 'object') tls = { ...given.tls };
  if (tls && (given.path !== undefined || (given.host === undefined && parsed.path !== undefined)))
    throw new ConfigError('tls', 'is not supported with a unix socket path');
  if (tls) {
    const { key, passphrase, ...visible } = tls;
    tls = withSecrets(visible, { key, passphrase }) as TlsOptions;
  }

  const host = given.host ?? parsed.host ?? DEFAULTS.host;
  const port = given.port ?? parsed.port ?? DEFAULTS.port;
  const path = given.path ?? (given.host === undefined ? parsed.path : undefined);
  const db = given.db ?? parsed.db ?? DEFAULTS.db;
  const username = given.username ?? parsed.username;
  const scheme = path ? 'unix' : tls ? 'rediss' : 'redis';
  const cred = username !== undefined || (given.password ?? parsed.password) !== undefined ? '***@' : '';
  const endpoint = path ? `unix://${cred}${path}${db ? `?db=${db}` : ''}` : `${scheme}://${cred}${host.includes(':') ? `[${host}]` : host}:${port}${db ? `/${db}` : ''}`;

  const visible = {
    host,
    port,
    path,
    username,
    db,
    tls,
    credentials: given.credentials,
    name: (pick('name') as string | undefined) ?? DEFAULTS.name,
    max,
    min,
    lanes,
    acquireTimeoutMs: num('acquireTimeoutMs'),
    maxWaiting: num('maxWaiting'),
    commandTimeoutMs: num('commandTimeoutMs'),
    connectTimeoutMs: num('connectTimeoutMs'),
    idleTimeoutMs: num('idleTimeoutMs'),
    maxLifetimeMs: num('maxLifetimeMs'),
    validateAfterIdleMs: num('validateAfterIdleMs'),
    leakDetectionMs: num('leakDetectionMs'),
    housekeepingIntervalMs: num('housekeepingIntervalMs'),
    healthCheckIntervalMs: num('healthCheckIntervalMs'),
    keepAliveMs: num('keepAliveMs'),
    autoPipelining: (pick('autoPipelining') as boolean | undefined) ?? DEFAULTS.autoPipelining,
    retries: num('retries'),
    backoff: given.backoff,
    reconnectBackoff: given.reconnectBackoff,
    failureThreshold: num('failureThreshold'),
    onUnavailable: (pick('onUnavailable') as OnUnavailable | undefined) ?? DEFAULTS.onUnavailable,
    validateWrites: (pick('validateWrites') as boolean | undefined) ?? DEFAULTS.validateWrites,
    logger: given.logger,
    driver: given.driver,
    clock: given.clock ?? systemClock,
    endpoint,
  };
  const resolved = withSecrets(visible as Omit<ResolvedOptions, 'password'>, { password: given.password ?? parsed.password }) as ResolvedOptions;
  return Object.freeze(resolved);
}
