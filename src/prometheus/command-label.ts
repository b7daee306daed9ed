/**
 * The `command` label/attribute value of command metrics: the command name when it is one Redis
 * knows (a fixed allow-list from the command table ioredis uses), else `'other'`. `pool.call()`
 * accepts any string as a command name, so without the allow-list a misuse such as
 * `call(userInput)` could put keys or other data into metric labels and explode cardinality.
 * No optional peer is imported here: the OpenTelemetry adapter shares it.
 */
import commands from '@ioredis/commands';

const KNOWN: ReadonlySet<string> = new Set([...commands.list, 'pipeline', 'exec', 'multi']);

/** `name` lower-cased if it is a known Redis command (or `pipeline`), else `'other'`. */
export function commandLabel(name: string): string {
  if (KNOWN.has(name)) return name;
  const lower = typeof name === 'string' ? name.toLowerCase() : '';
  return KNOWN.has(lower) ? lower : 'other';
}
