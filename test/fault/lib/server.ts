/**
 * Server-side helpers for fault tests: find and kill our connections by name, read INFO fields.
 * All of them go through the harness's one-shot RESP client, never through the pool under test.
 */
import type { RedisProcess } from '../../support/redis-process.js';

/** One `CLIENT LIST` line, parsed into its `key=value` fields. */
export type ClientInfo = Record<string, string>;

/** Parses `CLIENT LIST`. */
export async function clientList(server: RedisProcess): Promise<ClientInfo[]> {
  const text = String(await server.command('CLIENT', 'LIST'));
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(
      (line) =>
        Object.fromEntries(
          line
            .trim()
            .split(' ')
            .map((kv) => {
              const i = kv.indexOf('=');
              return [kv.slice(0, i), kv.slice(i + 1)];
            }),
        ) as ClientInfo,
    );
}

/** Kills every connection whose name starts with `prefix` (CLIENT KILL ID); returns how many. */
export async function killByName(server: RedisProcess, prefix: string): Promise<number> {
  let n = 0;
  for (const c of await clientList(server)) {
    if (c['name']?.startsWith(prefix) && c['id']) {
      n += Number(await server.command('CLIENT', 'KILL', 'ID', c['id']).catch(() => 0));
    }
  }
  return n;
}

/** Reads one field of `INFO <section>` as a string (undefined when absent). */
export async function info(server: RedisProcess, section: string, field: string): Promise<string | undefined> {
  const text = String(await server.command('INFO', section));
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(text);
  return m?.[1]?.trim();
}
