/**
 * Channel and group names, and the Redis keys they live in. Every key carries a hash tag, so a
 * channel's list and its in-flight backups share one Cluster slot (the scripts touch both), and
 * all process-local channels of one process share one list (`specific.<process>!`), which one
 * blocking reader serves.
 */
import { ArgumentError } from '../errors.js';

/** Longest channel or group name, like Django Channels. */
export const MAX_NAME_LENGTH = 100;
const CHANNEL = /^[A-Za-z0-9\-_.]+(![A-Za-z0-9\-_.]*)?$/;
const GROUP = /^[A-Za-z0-9\-_.]+$/;

/** Throws {@link ArgumentError} unless `name` is a valid channel name. */
export function checkChannel(op: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length >= MAX_NAME_LENGTH || !CHANNEL.test(name))
    throw new ArgumentError(
      op,
      0,
      `must be a channel name (letters, digits, "-_.", optionally one "!…" part; under ${MAX_NAME_LENGTH} characters)`,
    );
}

/** Throws {@link ArgumentError} unless `name` is a valid group name. */
export function checkGroup(op: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length >= MAX_NAME_LENGTH || !GROUP.test(name))
    throw new ArgumentError(op, 0, `must be a group name (letters, digits, "-_."; under ${MAX_NAME_LENGTH} characters)`);
}

/** `specific.abc!xyz` → `specific.abc!`; a name without `!` is its own storage name. */
export function nonLocal(channel: string): string {
  const bang = channel.indexOf('!');
  return bang < 0 ? channel : channel.slice(0, bang + 1);
}

/** True for a process-local channel name (`…!id`). */
export function isProcessLocal(channel: string): boolean {
  return channel.includes('!');
}

/** Key builders for one layer prefix. */
export class Keys {
  readonly prefix: string;
  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** The list holding a channel's messages (by full or non-local name). */
  channel(name: string): string {
    return `${this.prefix}:ch:{${nonLocal(name)}}`;
  }

  /** This process's in-flight backup of a channel list: same slot as the list. */
  inflight(listKey: string, processId: string): string {
    return `${listKey}:inflight:${processId}`;
  }

  /** The leases of a channel's readers (hash: process id → lease end, server ms): same slot as the list. */
  readers(listKey: string): string {
    return `${listKey}:readers`;
  }

  /** The pub/sub channel on which readers announce room in a channel that was full. */
  get room(): string {
    return `${this.prefix}:room`;
  }

  /** A group's sorted set of member channels (score: server time of the last groupAdd, ms). */
  group(name: string): string {
    return `${this.prefix}:group:{${name}}`;
  }

  /** SCAN pattern of every key of this layer (the prefix has no glob characters). */
  get all(): string {
    return `${this.prefix}:*`;
  }
}
