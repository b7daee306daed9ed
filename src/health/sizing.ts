/**
 * Pool sizing from numbers: Little's law (average busy connections = arrival rate × time each
 * one holds a connection), spread over worker processes, plus headroom for bursts, capped by
 * the server's `maxclients`. The environment presets are 20 / 60 / 160 connections for 4
 * workers (from "15 + 25 connections per worker" for about 10 000 users): starting points to
 * measure from, not truths.
 */
import { ConfigError } from '../errors.js';

/** Named starting points; see {@link POOL_PRESETS}. */
export type PoolPreset = 'development' | 'staging' | 'production';

/**
 * Per-worker `max`/`min` of each preset. For 4 workers the totals are 20 / 60 / 160 for
 * development / staging / production. Starting points only: measure
 * utilization and wait time, then size with {@link recommendPoolSize} from real numbers.
 */
export const POOL_PRESETS: Readonly<Record<PoolPreset, Readonly<{ max: number; min: number }>>> = Object.freeze({
  development: Object.freeze({ max: 5, min: 1 }),
  staging: Object.freeze({ max: 15, min: 2 }),
  production: Object.freeze({ max: 40, min: 5 }),
});

/** Input of {@link recommendPoolSize}. Give `rps` and `latencyMs`, or a `preset`. */
export interface PoolSizeInput {
  /**
   * Operations per second, over all workers, that each hold a connection for `latencyMs`.
   * With redpool's shared lanes, ordinary commands multiplex on a few connections; count here
   * the work that needs a connection of its own (leases, blocking commands, WATCH
   * transactions), or every command to size for one-command-per-connection behaviour.
   */
  rps?: number;
  /** How long one operation holds a connection, in ms (the mean, or p95 to be conservative). */
  latencyMs?: number;
  /** Processes, each with its own pool, sharing the server. @default 1 */
  workers?: number;
  /** The server's `maxclients`; the total is capped at `floor(maxclients / workers)` per worker. */
  maxclients?: number;
  /**
   * Extra capacity above the average, as a fraction: 1 means twice the average concurrency,
   * i.e. 50 % expected utilization (40–60 % is the healthy band). @default 1
   */
  headroom?: number;
  /** Used when `rps`/`latencyMs` are not given. */
  preset?: PoolPreset;
}

/** Output of {@link recommendPoolSize}. */
export interface PoolSizeRecommendation {
  /** Per-worker pool size: the `max` option. */
  max: number;
  /** Suggested `min` option (connections kept warm). */
  min: number;
  /** `max × workers`: connections the server must accept. */
  total: number;
  workers: number;
  /** Where the numbers came from. */
  source: 'littles-law' | 'preset';
  /** The preset used, if any. */
  preset: PoolPreset | undefined;
  /** Average busy connections over all workers (rps × latency); undefined for a preset. */
  concurrency: number | undefined;
  /** `concurrency / workers`. */
  perWorkerConcurrency: number | undefined;
  /** The headroom fraction applied. */
  headroom: number;
  /** `perWorkerConcurrency / max`: utilization to expect at the given load. */
  expectedUtilization: number | undefined;
  /** Whether `max` was lowered to fit `maxclients`. */
  capped: boolean;
  /** How the numbers were reached, in a few sentences. */
  explanation: string;
}

function num(name: string, v: unknown, opts: { min: number; integer?: boolean; exclusiveMin?: boolean }): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(name, `expected a finite number, got ${String(v)}`);
  if (opts.integer && !Number.isInteger(v)) throw new ConfigError(name, `must be an integer, got ${v}`);
  if (opts.exclusiveMin ? v <= opts.min : v < opts.min)
    throw new ConfigError(name, `must be ${opts.exclusiveMin ? '>' : '>='} ${opts.min}, got ${v}`);
  return v;
}

const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * Recommends a pool size. With `rps` and `latencyMs`: Little's law gives the average number of
 * connections in use (`rps × latencyMs / 1000`); divided by `workers`, times `1 + headroom`,
 * rounded up, capped by `maxclients / workers`. With only a `preset`: its per-worker size.
 * Throws {@link ConfigError} for missing or invalid input.
 *
 * @example
 * recommendPoolSize({ rps: 2000, latencyMs: 5, workers: 4 })  // 10 busy on average → max 5 per worker
 * recommendPoolSize({ preset: 'production', workers: 4 })      // max 40 per worker, 160 total
 */
export function recommendPoolSize(input: PoolSizeInput): PoolSizeRecommendation {
  if (typeof input !== 'object' || input === null) throw new ConfigError('input', 'expected an object');
  const workers = input.workers === undefined ? 1 : num('workers', input.workers, { min: 1, integer: true });
  const headroom = input.headroom === undefined ? 1 : num('headroom', input.headroom, { min: 0 });
  const maxclients = input.maxclients === undefined ? undefined : num('maxclients', input.maxclients, { min: 1, integer: true });
  const cap = maxclients === undefined ? Infinity : Math.floor(maxclients / workers);
  if (cap < 1) throw new ConfigError('maxclients', `${maxclients} cannot give each of ${workers} workers even one connection`);
  const capNote = (max: number): string =>
    maxclients === undefined ? '' : ` Total ${max * workers} of the server's maxclients ${maxclients}.`;

  if (input.rps === undefined && input.latencyMs === undefined) {
    if (input.preset === undefined) throw new ConfigError('rps', 'give rps and latencyMs, or a preset');
    if (!Object.hasOwn(POOL_PRESETS, input.preset))
      throw new ConfigError('preset', `expected 'development', 'staging' or 'production', got ${String(input.preset)}`);
    const p = POOL_PRESETS[input.preset];
    const capped = p.max > cap;
    const max = Math.min(p.max, cap);
    return {
      max,
      min: Math.min(p.min, max),
      total: max * workers,
      workers,
      source: 'preset',
      preset: input.preset,
      concurrency: undefined,
      perWorkerConcurrency: undefined,
      headroom,
      expectedUtilization: undefined,
      capped,
      explanation:
        `Preset '${input.preset}': max ${p.max} per worker (${p.max * 4} for 4 workers). ` +
        `A starting point, not a measurement: watch utilization and wait time, then size from rps and latency.` +
        (capped ? ` Capped to ${max} per worker by maxclients ${maxclients}.` : '') +
        capNote(max),
    };
  }

  const rps = num('rps', input.rps, { min: 0 });
  const latencyMs = num('latencyMs', input.latencyMs, { min: 0, exclusiveMin: true });
  const concurrency = (rps * latencyMs) / 1000;
  const perWorker = concurrency / workers;
  const wanted = Math.max(1, Math.ceil(perWorker * (1 + headroom) - 1e-9));
  const capped = wanted > cap;
  const max = Math.min(wanted, cap);
  const min = Math.min(max, Math.max(1, Math.ceil(perWorker - 1e-9)));
  const utilization = perWorker / max;
  const explanation =
    `Little's law: ${round(rps)} ops/s × ${round(latencyMs)} ms = ${round(concurrency)} connections busy on average` +
    (workers > 1 ? ` over ${workers} workers (${round(perWorker)} per worker).` : '.') +
    ` With ${round(headroom * 100, 0)} % headroom: max ${wanted} per worker.` +
    (capped ? ` Capped to ${max} by maxclients ${maxclients}: expect queueing at this load.` : '') +
    ` Expected utilization ${round(utilization * 100, 0)} %.` +
    capNote(max);
  return {
    max,
    min,
    total: max * workers,
    workers,
    source: 'littles-law',
    preset: input.preset,
    concurrency,
    perWorkerConcurrency: perWorker,
    headroom,
    expectedUtilization: utilization,
    capped,
    explanation,
  };
}

const ALIASES: Record<string, PoolPreset> = {
  dev: 'development',
  develop: 'development',
  development: 'development',
  local: 'development',
  test: 'development',
  stage: 'staging',
  staging: 'staging',
  prod: 'production',
  production: 'production',
};

/**
 * Reads `DEPLOYMENT_ENV` (case-insensitive; `dev`, `stage`, `prod` and `local`/`test` also
 * accepted) and returns the matching preset, or `undefined` when it is unset or unknown.
 */
export function presetFromEnv(env: NodeJS.ProcessEnv = process.env): PoolPreset | undefined {
  const raw = env['DEPLOYMENT_ENV']?.trim().toLowerCase();
  return raw && Object.hasOwn(ALIASES, raw) ? ALIASES[raw] : undefined;
}
