/**
 * Argument parsing shared by the commands: `node:util.parseArgs` in strict mode, typed number
 * options with ranges, the target URL (flag, positional or `REDIS_URL`), and the scrubbing of
 * credentials from anything the CLI prints — parseArgs echoes unexpected arguments, and a user
 * may put a URL with a password anywhere on the command line.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseRedisUrl, redactUrl, RedpoolError } from '../index.js';

/** Process exit codes of the CLI. */
export const EXIT = {
  ok: 0,
  /** A run failed, or `health` found the pool degraded. */
  failure: 1,
  /** Bad arguments; also `health` when Redis is unavailable. */
  usage: 2,
  /** `bench` needs an embedded server but `redis-server` is not installed. */
  noServer: 3,
} as const;

/** A command-line mistake: printed as one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

// The placeholders of the auth hints (`redis://:<password>@<host>:<port>`) are spared: `<` and
// `>` are not valid in a URL's user info, so no real credential reads like them.
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)(?!(?:<user>)?:<password>@<host>)[^\s/?#@]*@/gi;

/** Masks `user:password@` in every URL-looking substring. Applied to all CLI output. */
export function scrub(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1***@');
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Result of {@link parse}: option values and positionals. */
export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * Parses `argv` strictly against `options` (plus `--help/-h`). Unknown options, missing values
 * and too many positionals become {@link UsageError}s that never echo a credential.
 */
export function parse(argv: string[], options: Options, maxPositionals: number): Parsed {
  let out: { values: Record<string, unknown>; positionals: string[] };
  try {
    out = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0] ?? 'invalid arguments';
    const ambiguous = /^Option '(--[\w-]+)[^']*' argument is ambiguous/.exec(msg);
    if (ambiguous) throw new UsageError(`${ambiguous[1]} needs a value (for a value starting with "-", write ${ambiguous[1]}=VALUE)`);
    const unknown = /^Unknown option '--([^'=]+)/.exec(msg);
    const guess = unknown ? closest(unknown[1]!, Object.keys(options)) : undefined;
    if (guess !== undefined)
      throw new UsageError(`${scrub(msg.replace(/\. To specify a positional argument.*$/, ''))} (did you mean --${guess}?)`);
    throw new UsageError(scrub(msg.replace(/\. To specify a positional argument.*$/, '')));
  }
  if (out.positionals.length > maxPositionals && out.values['help'] !== true) {
    throw new UsageError(`unexpected argument "${scrub(out.positionals[maxPositionals]!)}"`);
  }
  return out as Parsed;
}

/** The option name nearest to `given` (a typo or a prefix), or undefined when none is close. */
export function closest(given: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of names) {
    const d = name.startsWith(given) || given.startsWith(name) ? 1 : editDistance(given, name);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return bestDistance <= Math.max(2, Math.floor((best?.length ?? 0) / 3)) ? best : undefined;
}

/** Levenshtein distance (insert, delete, substitute: 1 each). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** A string option, or `undefined`. */
export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A number option with bounds; `integer` rejects fractions. Returns `fallback` when absent. */
export function num<T extends number | undefined>(
  p: Parsed,
  name: string,
  fallback: T,
  range: { min: number; max?: number; integer?: boolean },
): number | T {
  const raw = str(p, name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  const shown = scrub(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(`--${name} must be a number, got "${shown}"`);
  if (range.integer && !Number.isInteger(v)) throw new UsageError(`--${name} must be a whole number, got "${shown}"`);
  if (v < range.min) throw new UsageError(`--${name} must be >= ${range.min}, got ${shown}`);
  if (range.max !== undefined && v > range.max) throw new UsageError(`--${name} must be <= ${range.max}, got ${shown}`);
  return v;
}

/** One of `choices`, or `fallback` when absent. */
export function choice<T extends string>(p: Parsed, name: string, choices: readonly T[], fallback: T): T {
  const raw = str(p, name);
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}; got "${scrub(raw)}"`);
  }
  return raw as T;
}

/** The Redis URL to use and its printable form. `url` is undefined when none was given. */
export interface Target {
  url: string | undefined;
  /** Redacted; safe to print. */
  display: string;
  /** Where the URL came from. */
  source: 'flag' | 'argument' | 'REDIS_URL' | 'default';
}

/**
 * Picks the URL from `--url`, else the first positional, else `REDIS_URL`, and validates it.
 * An invalid URL is a {@link UsageError} naming the part at fault, never echoing the URL.
 */
export function target(p: Parsed, env: NodeJS.ProcessEnv = process.env): Target {
  const flag = str(p, 'url');
  const positional = p.positionals[0];
  if (flag !== undefined && positional !== undefined) throw new UsageError('give the URL either as an argument or with --url, not both');
  const url = flag ?? positional ?? (env['REDIS_URL'] || undefined);
  const source = flag !== undefined ? 'flag' : positional !== undefined ? 'argument' : url !== undefined ? 'REDIS_URL' : 'default';
  if (url === undefined) return { url, display: 'redis://127.0.0.1:6379', source };
  try {
    parseRedisUrl(url);
  } catch (err) {
    const what = source === 'REDIS_URL' ? 'REDIS_URL' : 'URL';
    throw new UsageError(`invalid ${what}: ${scrub(err instanceof RedpoolError ? err.message : String(err))}`);
  }
  return { url, display: redactUrl(url), source };
}
