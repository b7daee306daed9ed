/**
 * ioredis's `scanStream` family over any command runner: a Readable in object mode that emits
 * one array of keys (or field/value pairs) per SCAN step and ends when the cursor returns to 0.
 */
import { Readable } from 'node:stream';

/** Options of `scanStream` (ioredis's names). */
export interface ScanStreamOptions {
  /** MATCH pattern. */
  match?: string;
  /** COUNT hint per step. */
  count?: number;
  /** TYPE filter (SCAN only). */
  type?: string;
  /** Ask for Buffer replies. */
  noValues?: boolean;
}

type Exec = (name: string, args: unknown[]) => Promise<unknown>;

/** Creates the stream; `key` is undefined for SCAN, the hash/set/zset key otherwise. */
export function scanStream(
  exec: Exec,
  command: 'scan' | 'sscan' | 'hscan' | 'zscan',
  key: string | undefined,
  opts: ScanStreamOptions = {},
): Readable {
  let cursor = '0';
  let started = false;
  return new Readable({
    objectMode: true,
    read() {
      if (started && cursor === '0') {
        this.push(null);
        return;
      }
      started = true;
      const args: unknown[] = key === undefined ? [cursor] : [key, cursor];
      if (opts.match !== undefined) args.push('MATCH', opts.match);
      if (opts.type !== undefined && command === 'scan') args.push('TYPE', opts.type);
      if (opts.count !== undefined) args.push('COUNT', opts.count);
      if (opts.noValues && command === 'hscan') args.push('NOVALUES');
      exec(command, args).then(
        (reply) => {
          const [next, items] = reply as [string, unknown[]];
          cursor = String(next);
          if (cursor === '0' && items.length === 0) this.push(null);
          else this.push(items);
        },
        (err: unknown) => this.destroy(err as Error),
      );
    },
  });
}
