/**
 * `resolveOptions`: validation against the option table, the URL (`options.url`, else
 * `REDIS_URL`), then the table's defaults. Invariant: a {@link ResolvedOptions} value has passed
 * every check, so the engine never re-validates. Secrets (password, TLS key passphrase) are
 * kept on non-enumerable properties so that `JSON.stringify` and `util.inspect` of the options
 * never print them.
 */
import { ConfigError } from '../errors.js';
import { checkClusterOptions } from './cluster.js';
import type { TlsOptions } from './endpoint.js';
import { OPTIONS, specOf, type ResolvedOptions } from './table.js';
import type { PoolOptions } from './types.js';
import { parseRedisUrl, redactUrl, type ParsedUrl } from './url.js';
import { checkSentinel, resolveSentinel, sentinelEndpoint } from './sentinel.js';
import { checkValue, isPlainObject, typeName } from './validate.js';

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

/** Warnings for consistent-but-risky settings; returned, not thrown. */
export function optionWarnings(o: ResolvedOptions): string[] {
  const w: string[] = [];
  if (o.connectTimeoutMs > o.acquireTimeoutMs)
    w.push(
      `connectTimeoutMs (${o.connectTimeoutMs}) > acquireTimeoutMs (${o.acquireTimeoutMs}): a waiter may time out while its connection is still being made`,
    );
  if (o.maxLifetimeMs > 0 && o.idleTimeoutMs >= o.maxLifetimeMs)
    w.push(`idleTimeoutMs (${o.idleTimeoutMs}) >= maxLifetimeMs (${o.maxLifetimeMs}): idle eviction never happens first`);
  if (o.leakDetectionMs > 0 && o.leakDetectionMs < 2000)
    w.push(`leakDetectionMs (${o.leakDetectionMs}) < 2000: short leases will be reported as leaks`);
  if (o.tls?.insecureSkipVerify) w.push('tls.insecureSkipVerify is on: the server certificate is not verified');
  return w;
}

/** Options whose resolved value is the given one, else the URL query's, else the table default. */
const TABLE_KEYS = (Object.keys(OPTIONS) as Array<keyof PoolOptions>).filter(
  (k) => !['url', 'host', 'port', 'path', 'username', 'password', 'db', 'tls', 'lanes', 'sentinel'].includes(k),
);

/**
 * Validates options, applies the URL (`options.url`, else `REDIS_URL`) and defaults. `url`
 * cannot be combined with `host`, `port` or `path`; explicit `username`, `password`, `db` and
 * `tls` win over the URL's. Throws {@link ConfigError} naming the option at fault.
 */
export function resolveOptions(input: PoolOptions | string | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  const given: PoolOptions = typeof input === 'string' ? { url: input } : (input ?? {});
  if (typeof given !== 'object' || given === null || Array.isArray(given))
    throw new ConfigError('options', `expected an object or a URL string, got ${typeName(given)}`);
  // Own keys, looked up as own keys of the table: `constructor`, `toString`, or a `__proto__`
  // key from JSON.parse are not options, however `Object.prototype` answers for them.
  for (const key of Object.keys(given)) {
    const spec = specOf(key);
    if (!spec) throw new ConfigError(key, 'unknown option');
    const value = (given as Record<string, unknown>)[key];
    if (value !== undefined) checkValue(key, spec, value);
  }
  checkClusterOptions(given);
  if (given.sentinel !== undefined) {
    checkSentinel(given.sentinel);
    // `cluster` is another topology (its own option): one pool follows one of them.
    for (const k of ['url', 'host', 'port', 'path', 'cluster'])
      if ((given as Record<string, unknown>)[k] !== undefined)
        throw new ConfigError('sentinel', `cannot be combined with "${k}": the sentinels say where the primary is`);
  }
  if (given.host !== undefined && given.path !== undefined)
    throw new ConfigError('path', 'cannot be combined with "host" (a unix socket or a TCP host, not both)');
  if (given.url !== undefined) {
    for (const k of ['host', 'port', 'path'] as const) {
      if (given[k] !== undefined)
        throw new ConfigError('url', `cannot be combined with "${k}": give the endpoint once, in the URL or as host/port/path`);
    }
  }
  if (given.host === '') throw new ConfigError('host', 'must not be empty');
  if (given.path === '') throw new ConfigError('path', 'must not be empty');
  // An explicit url is parsed even when empty (and refused); an empty REDIS_URL counts as unset,
  // and so does REDIS_URL when the options say where to connect.
  const explicitEndpoint =
    given.host !== undefined ||
    given.port !== undefined ||
    given.path !== undefined ||
    given.cluster !== undefined ||
    given.sentinel !== undefined;
  const envUrl = !explicitEndpoint && env.REDIS_URL ? env.REDIS_URL : undefined;
  const url = given.url !== undefined ? given.url : envUrl;
  const parsed: ParsedUrl = url !== undefined ? parseRedisUrl(url) : { query: {} };
  if (parsed.tls === false && given.tls)
    throw new ConfigError('tls', `"tls" is set but the URL ${redactUrl(url!)} is redis:// (use rediss://)`);
  if (parsed.tls === true && given.tls === false)
    throw new ConfigError('tls', `is false but the URL ${redactUrl(url!)} is rediss:// (never a silent downgrade to plaintext)`);

  const values: Record<string, unknown> = {};
  for (const k of TABLE_KEYS) {
    const row = OPTIONS[k] as { default?: unknown };
    values[k] = given[k] ?? parsed.query[k] ?? row.default;
  }
  if (values.readFrom !== 'primary' && given.sentinel === undefined && given.cluster === undefined)
    throw new ConfigError(
      given.readFrom === undefined ? 'url.query.readFrom' : 'readFrom',
      `'${String(values.readFrom)}' needs replicas: it applies to a Sentinel or Cluster pool (a single node has only its primary)`,
    );
  const max = values.max as number;
  const min = values.min as number;
  if (min > max) throw new ConfigError('min', `must be <= max (min=${min}, max=${max})`);
  const lanes = given.lanes ?? (parsed.query.lanes as number | undefined) ?? (max < 4 ? 1 : 2);
  if (lanes > max) throw new ConfigError('lanes', `must be <= max (lanes=${lanes}, max=${max})`);

  let tls: TlsOptions | undefined;
  if (given.tls === true || (given.tls === undefined && parsed.tls)) tls = {};
  else if (isPlainObject(given.tls)) tls = { ...given.tls };
  const path = given.path ?? parsed.path;
  if (tls && path !== undefined) throw new ConfigError('tls', 'is not supported with a unix socket path');
  if (tls) {
    const { key, passphrase, ...visible } = tls;
    tls = withSecrets(visible, { key, passphrase }) as TlsOptions;
  }

  const host = given.host ?? parsed.host ?? OPTIONS.host.default;
  const port = given.port ?? parsed.port ?? OPTIONS.port.default;
  const db = given.db ?? parsed.db ?? OPTIONS.db.default;
  const username = given.username ?? parsed.username;
  const password = given.password ?? parsed.password;
  const scheme = path ? 'unix' : tls ? 'rediss' : 'redis';
  const cred = username !== undefined || password !== undefined ? '***@' : '';
  const sentinel = given.sentinel !== undefined ? resolveSentinel(given.sentinel) : undefined;
  const endpoint = sentinel
    ? sentinelEndpoint(sentinel)
    : path
      ? `unix://${cred}${path}${db ? `?db=${db}` : ''}`
      : `${scheme}://${cred}${host.includes(':') ? `[${host}]` : host}:${port}${db ? `/${db}` : ''}`;

  const visible = { host, port, path, username, db, tls, ...values, lanes, endpoint, sentinel };
  return Object.freeze(withSecrets(visible, { password })) as unknown as ResolvedOptions;
}
