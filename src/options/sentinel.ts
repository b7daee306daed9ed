/**
 * The `sentinel` option: its checks (every error names the field, e.g.
 * `sentinel.sentinels[1].port`, and never echoes a value: the object holds a password) and its
 * resolved form (frozen, defaults applied, secrets on non-enumerable getters).
 */
import { ConfigError } from '../errors.js';
import type { TlsOptions } from './endpoint.js';
import type { ResolvedSentinel, SentinelOptions } from './types.js';
import { checkTls, isPlainObject, typeName } from './validate.js';

const KEYS = new Set(['name', 'sentinels', 'username', 'password', 'tls', 'pollMs', 'fenceOnPromotion']);
/** Sentinels listed at most (the list refreshed from `SENTINEL SENTINELS` is capped too). */
export const MAX_SEED_SENTINELS = 16;

/** Checks a `sentinel` option value; throws {@link ConfigError} naming the field at fault. */
export function checkSentinel(value: unknown): void {
  if (!isPlainObject(value)) throw new ConfigError('sentinel', `expected a plain object { name, sentinels }, got ${typeName(value)}`);
  for (const k of Object.keys(value)) if (!KEYS.has(k)) throw new ConfigError(`sentinel.${k}`, 'unknown sentinel option');
  const v = value as Partial<Record<keyof SentinelOptions, unknown>>;
  if (typeof v.name !== 'string' || v.name === '' || /\s/.test(v.name))
    throw new ConfigError('sentinel.name', 'expected the master name the sentinels monitor (a non-empty string without spaces)');
  if (!Array.isArray(v.sentinels) || v.sentinels.length === 0)
    throw new ConfigError('sentinel.sentinels', 'expected a non-empty array of { host, port }');
  if (v.sentinels.length > MAX_SEED_SENTINELS) throw new ConfigError('sentinel.sentinels', `at most ${MAX_SEED_SENTINELS} sentinels`);
  v.sentinels.forEach((s: unknown, i) => {
    const at = `sentinel.sentinels[${i}]`;
    if (!isPlainObject(s)) throw new ConfigError(at, `expected { host, port }, got ${typeName(s)}`);
    for (const k of Object.keys(s)) if (k !== 'host' && k !== 'port') throw new ConfigError(`${at}.${k}`, 'unknown field (host, port)');
    if (typeof s.host !== 'string' || s.host === '') throw new ConfigError(`${at}.host`, 'expected a non-empty host name or IP');
    if (typeof s.port !== 'number' || !Number.isInteger(s.port) || s.port < 1 || s.port > 65535)
      throw new ConfigError(`${at}.port`, 'expected an integer port 1..65535');
  });
  for (const k of ['username', 'password'] as const)
    if (v[k] !== undefined && typeof v[k] !== 'string') throw new ConfigError(`sentinel.${k}`, `expected a string, got ${typeName(v[k])}`);
  if (v.tls !== undefined) {
    if (typeof v.tls !== 'boolean' && !isPlainObject(v.tls))
      throw new ConfigError('sentinel.tls', `expected a boolean or a plain object of TLS options, got ${typeName(v.tls)}`);
    if (typeof v.tls === 'object') checkTls(v.tls as TlsOptions, 'sentinel.tls');
  }
  if (v.fenceOnPromotion !== undefined && typeof v.fenceOnPromotion !== 'boolean')
    throw new ConfigError('sentinel.fenceOnPromotion', `expected a boolean, got ${typeName(v.fenceOnPromotion)}`);
  if (v.pollMs !== undefined) {
    const ms = v.pollMs;
    if (typeof ms !== 'number' || Number.isNaN(ms) || (ms !== Infinity && (!Number.isInteger(ms) || ms < 100 || ms > 2_147_483_647)))
      throw new ConfigError('sentinel.pollMs', 'expected an integer 100..2147483647 (ms), or Infinity (no periodic re-check)');
  }
}

/** Secrets as non-enumerable getters (JSON, spread and inspect skip them). */
function hide<T extends object>(visible: T, secrets: Record<string, unknown>): T {
  for (const [key, value] of Object.entries(secrets))
    if (value !== undefined) Object.defineProperty(visible, key, { get: () => value, enumerable: false });
  return visible;
}

/** The resolved form of a checked `sentinel` option. */
export function resolveSentinel(s: SentinelOptions): ResolvedSentinel {
  let tls: TlsOptions | undefined;
  if (s.tls === true) tls = {};
  else if (isPlainObject(s.tls)) {
    const { key, passphrase, ...visible } = s.tls;
    tls = Object.freeze(hide(visible, { key, passphrase }));
  }
  const visible = {
    name: s.name,
    sentinels: Object.freeze(s.sentinels.map((a) => Object.freeze({ host: a.host, port: a.port }))),
    username: s.username,
    tls,
    pollMs: s.pollMs ?? 10_000,
    fenceOnPromotion: s.fenceOnPromotion ?? true,
  };
  return Object.freeze(hide(visible, { password: s.password })) as ResolvedSentinel;
}

/** `redis-sentinel://host:port,host:port/name`: the pool's credential-free endpoint label. */
export function sentinelEndpoint(s: ResolvedSentinel): string {
  const hosts = s.sentinels.map((a) => `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`).join(',');
  return `redis-sentinel://${hosts}/${s.name}`;
}
