/**
 * `INFO commandstats` of a node as numbers: `calls` and `rejected_calls` per command, to count
 * where a workload's commands ran (a command a replica refused with `MOVED` counts as rejected).
 */
import type { RedisProcess } from '../support/redis-process.js';

/** Calls of one command on one node. */
export interface CommandCount {
  calls: number;
  rejected: number;
}

/** `cmdstat_<name>` of `server` (zeros when the command never ran there). */
export async function commandStat(server: RedisProcess, name: string): Promise<CommandCount> {
  const text = String(await server.command('INFO', 'commandstats'));
  const line = new RegExp(`^cmdstat_${name}:(.*)$`, 'm').exec(text)?.[1] ?? '';
  const field = (f: string): number => Number(new RegExp(`(?:^|,)${f}=(\\d+)`).exec(line)?.[1] ?? 0);
  return { calls: field('calls'), rejected: field('rejected_calls') };
}
