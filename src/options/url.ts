/**
 * Connection URLs: `redis://`, `rediss://` and `unix://`. Errors name the URL part at fault
 * (`url.host`, `url.path`, `url.query.max`, …) and never echo text cut out of the URL: a
 * password with an unencoded `/`, `?`, `#` or `@` splits the URL in the wrong place, and
 * whatever part it lands in would carry a piece of it into logs.
 */
import { ConfigError } from '../errors.js';
import { MAX_DB, specOf, type OptionSpec } from './table.js';
import { checkValue } from './validate.js';

/** Parsed pieces of a connection URL. */
export interface ParsedUrl {
  host?: string;
  port?: number;
  path?: string;
  username?: string;
  password?: string;
  db?: number;
  tls?: boolean;
  /** Options from the query string, converted to their types and checked. */
  query: Record<string, unknown>;
}

/** Schemes people commonly write by mistake; only these are quoted back (any other could be text of a credential). */
const KNOWN_SCHEMES = new Set([
  'http',
  'https',
  'ftp',
  'tcp',
  'ws',
  'wss',
  'redis-sentinel',
  'sentinel',
  'valkey',
  'valkeys',
  'rediss-sentinel',
]);

const ENCODE_HINT = 'percent-encode "/", "?", "#" and "@" in a user name or password';

function decodeOnce(option: string, s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new ConfigError(option, 'is not valid percent-encoding');
  }
}

function parseDb(option: string, raw: string): number {
  const db = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(db <= MAX_DB)) throw new ConfigError(option, `the database must be an integer 0..${MAX_DB}`);
  return db;
}

/** Converts a query string value to the type its option expects (never quoting it). */
function coerceQuery(option: string, spec: OptionSpec<unknown>, raw: string): unknown {
  switch (spec.kind) {
    case 'int':
    case 'ms': {
      if (raw === 'Infinity' && spec.infinite) return Infinity;
      if (!/^-?\d+(\.\d+)?$/.test(raw)) throw new ConfigError(option, 'expected a number');
      return Number(raw);
    }
    case 'bool':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new ConfigError(option, 'expected true or false');
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
 * The structural checks every use of a URL needs, parsing or printing: a supported scheme, a
 * WHATWG-parseable URL, and none of the shapes an unencoded password produces. Returns the
 * parsed URL and the lower-cased scheme.
 */
function splitUrl(url: string): { u: URL; scheme: string } {
  if (typeof url !== 'string' || url.length === 0) throw new ConfigError('url', 'must be a non-empty string');
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url);
  if (!m) throw new ConfigError('url', 'is not a URL (expected redis://host:port)');
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'redis' && scheme !== 'rediss' && scheme !== 'unix') {
    const quoted = KNOWN_SCHEMES.has(scheme) ? ` "${scheme}:"` : '';
    throw new ConfigError('url', `unsupported scheme${quoted} (expected redis:, rediss: or unix:)`);
  }
  if (!url.slice(m[0].length).startsWith('//')) throw new ConfigError('url', `missing "//" after "${scheme}:"`);
  let u: URL;
  try {
    u = new URL(withUnixHost(url));
  } catch {
    throw new ConfigError('url', `is malformed (${ENCODE_HINT})`);
  }
  // WHATWG splits at the first "/", "?" or "#" after the authority, so an unencoded one in a
  // password moves the rest of the password (and the real host, after its "@") into the path,
  // query or fragment. Refuse before any of those parts is read.
  if (url.includes('#')) throw new ConfigError('url.fragment', `is not allowed in a Redis URL (${ENCODE_HINT})`);
  if (`${u.pathname}${u.search}`.includes('@')) throw new ConfigError('url', `has an "@" after the host (${ENCODE_HINT})`);
  return { u, scheme };
}

/**
 * Parses a `redis://`, `rediss://` or `unix://` URL (`unix://[user:pass@]/path.sock[?db=N]`).
 * Credentials are percent-decoded exactly once. A `#fragment` and an `@` after the host are
 * refused (both are what an unencoded password looks like). Errors name the URL part at fault
 * and never include text of the URL (it may hold a password).
 */
export function parseRedisUrl(url: string): ParsedUrl {
  const { u, scheme } = splitUrl(url);
  const out: ParsedUrl = { query: {} };
  if (u.username) out.username = decodeOnce('url.username', u.username);
  if (u.password) out.password = decodeOnce('url.password', u.password);
  if (scheme === 'unix') {
    // `unix://tmp/redis.sock` parses as host "tmp" and path "/redis.sock": a socket that is not
    // the one meant. Only "localhost" (a common spelling) may stand where no host is used.
    if (u.hostname && u.hostname !== 'localhost') {
      throw new ConfigError(
        'url.host',
        'a unix URL takes no host: write unix:///path/to.sock, with three slashes, or unix://user:pass@/path/to.sock',
      );
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
      if (out.port < 1 || out.port > 65535) throw new ConfigError('url.port', 'must be 1..65535');
    }
    const segments = u.pathname.split('/').filter(Boolean);
    if (segments.length > 1) throw new ConfigError('url.path', `expected at most one path segment (the db), got ${segments.length}`);
    if (segments.length === 1) out.db = parseDb('url.path', segments[0]!);
  }
  for (const [key, raw] of u.searchParams) {
    const spec = specOf(key);
    // The key is not quoted: text that is not an option name may be a piece of a password.
    if (!spec?.query) throw new ConfigError('url.query', 'has an unknown option name (query keys are option names such as max or db)');
    const option = `url.query.${key}`;
    if (key === 'db') {
      const db = parseDb(option, raw);
      if (out.db !== undefined && out.db !== db) throw new ConfigError(option, 'is given twice, or conflicts with the db in the path');
      out.db = db;
      continue;
    }
    const value = coerceQuery(option, spec, raw);
    checkValue(option, spec, value, false);
    out.query[key] = value;
  }
  return out;
}

/**
 * `redis://***@host:port/db` or `unix://***@/path.sock`: a URL safe to print (credentials
 * masked, query dropped). A URL whose structure {@link parseRedisUrl} refuses prints as `<invalid url>`, since
 * any part of it may hold a piece of a password.
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = splitUrl(url).u;
  } catch {
    return '<invalid url>';
  }
  const cred = u.username || u.password ? '***@' : '';
  // The path is printed only when it is what it should be (a db number): anything else may be a piece of a password.
  const db = /^\/\d*$/.test(u.pathname) ? u.pathname : '';
  const where = u.protocol === 'unix:' ? u.pathname : `${u.hostname}${u.port ? `:${u.port}` : ''}${db}`;
  return `${u.protocol}//${cred}${where}`;
}
