/**
 * `redpool size`: pool sizing advice from throughput and latency (Little's law), per worker,
 * with headroom, capped by the server's maxclients — or a named preset. A thin layer over
 * {@link recommendPoolSize}.
 */
import { recommendPoolSize, RedpoolError, type PoolPreset, type PoolSizeRecommendation } from '../index.js';
import { choice, EXIT, num, parse, UsageError } from './args.js';
import { print, printJson } from './output.js';

export const SIZE_HELP = `Usage: redpool size --rps N --latency-ms N [options]
       redpool size --preset development|staging|production [options]

Recommends the pool's max (per worker process) with Little's law: connections busy on
average = ops/s × seconds each op holds a connection; divided over the workers, plus
headroom, capped by the server's maxclients.

Options:
  --rps N              operations per second over all workers that each hold a connection
  --latency-ms N       how long one operation holds a connection, ms (mean, or p95)
  --workers N          processes, each with its own pool (default 1)
  --maxclients N       the server's maxclients: caps the total
  --headroom F         extra capacity above the average, as a fraction (default 1 = 2×)
  --preset NAME        development | staging | production: a starting point without numbers
  --json               print the recommendation as JSON
  -h, --help           show this help

Note: redpool multiplexes ordinary commands on a few shared lanes; size for the work that needs
a connection of its own (blocking commands, WATCH transactions, leases), or for every command
to get one-command-per-connection behaviour.

Exit codes: 0 done, 1 the load cannot be served within --maxclients, 2 bad arguments.`;

const SIZE_OPTIONS = {
  rps: { type: 'string' },
  'latency-ms': { type: 'string' },
  workers: { type: 'string', short: 'w' },
  maxclients: { type: 'string' },
  headroom: { type: 'string' },
  preset: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const FLAG: Record<string, string> = {
  rps: '--rps',
  latencyMs: '--latency-ms',
  workers: '--workers',
  maxclients: '--maxclients',
  headroom: '--headroom',
  preset: '--preset',
};

/** Text rendering of a recommendation. */
export function sizeText(r: PoolSizeRecommendation): string {
  const lines = [
    `pool size: max ${r.max} per worker (min ${r.min})${r.workers > 1 ? `, ${r.total} connections over ${r.workers} workers` : ''}`,
  ];
  if (r.concurrency !== undefined) {
    lines.push(
      `  busy on average   ${round(r.concurrency)} connections${r.workers > 1 ? ` (${round(r.perWorkerConcurrency ?? 0)} per worker)` : ''}`,
    );
    lines.push(`  headroom          ${Math.round(r.headroom * 100)} %`);
    if (r.expectedUtilization !== undefined)
      lines.push(`  utilization       ${Math.round(r.expectedUtilization * 100)} % expected at this load`);
  }
  if (r.capped) {
    const over = (r.expectedUtilization ?? 0) > 1;
    lines.push(`  capped            by maxclients${over ? ': the load needs more connections than the server allows' : ''}`);
    if (over)
      lines.push(
        '',
        'This load cannot be served within maxclients: raise maxclients, add servers, or lower the latency or the load. Exit code 1.',
      );
  }
  lines.push(
    '',
    r.explanation,
    '',
    `  createPool({ max: ${r.max}, min: ${r.min} })   or   REDIS_URL=redis://host:6379?max=${r.max}&min=${r.min}`,
  );
  return lines.join('\n');
}

function round(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/** Runs `redpool size`; resolves with the exit code. */
export async function sizeCommand(argv: string[]): Promise<number> {
  const p = parse(argv, SIZE_OPTIONS, 0);
  if (p.values['help']) {
    print(SIZE_HELP);
    return EXIT.ok;
  }
  const rps = num(p, 'rps', undefined, { min: 0, max: 1e12 });
  const latencyMs = num(p, 'latency-ms', undefined, { min: 0, max: 3_600_000 });
  const preset =
    p.values['preset'] === undefined ? undefined : choice<PoolPreset>(p, 'preset', ['development', 'staging', 'production'], 'development');
  if ((rps === undefined) !== (latencyMs === undefined)) throw new UsageError('give both --rps and --latency-ms (or only --preset)');
  if (rps === undefined && preset === undefined) throw new UsageError('give --rps and --latency-ms, or --preset');
  if (latencyMs !== undefined && latencyMs <= 0) throw new UsageError('--latency-ms must be > 0');
  const workers = num(p, 'workers', undefined, { min: 1, max: 1e6, integer: true });
  const maxclients = num(p, 'maxclients', undefined, { min: 1, max: 1e9, integer: true });
  const headroom = num(p, 'headroom', undefined, { min: 0, max: 100 });
  let rec: PoolSizeRecommendation;
  try {
    rec = recommendPoolSize({
      ...(rps !== undefined ? { rps } : {}),
      ...(latencyMs !== undefined ? { latencyMs } : {}),
      ...(workers !== undefined ? { workers } : {}),
      ...(maxclients !== undefined ? { maxclients } : {}),
      ...(headroom !== undefined ? { headroom } : {}),
      ...(preset !== undefined ? { preset } : {}),
    });
  } catch (err) {
    if (err instanceof RedpoolError && err.code === 'ERR_INVALID_OPTION') {
      const option = (err as RedpoolError & { option?: string }).option ?? '';
      throw new UsageError(err.message.replace(`invalid option "${option}"`, FLAG[option] ?? option));
    }
    throw err;
  }
  if (p.values['json']) printJson({ command: 'size', ...rec });
  else print(sizeText(rec));
  // Capped: the load needs more connections than the server allows; no pool size serves it.
  return rec.capped && (rec.expectedUtilization ?? 0) > 1 ? EXIT.failure : EXIT.ok;
}
