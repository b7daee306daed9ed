/**
 * The process the crash test kills: `REDIS_URL=… PREFIX=… node crash-peer.js` receives on
 * `crash.q` and prints `got <seq>` for every message as soon as `receive` handed it over
 * (stdout to a pipe is synchronous on Linux, so a printed line was handed out before any later
 * moment the parent kills it at). It pauses a little every few messages, so its reader always
 * holds a batch it has not handed out yet.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { createPool } from '../../../src/index.js';
import { createChannelLayer } from '../../../src/channels/index.js';

export const CRASH_LEASE_MS = 1000;

async function main(): Promise<void> {
  const pool = createPool({ url: process.env['REDIS_URL'], max: 8, name: 'crash-peer' });
  const layer = createChannelLayer(pool, {
    prefix: process.env['PREFIX'] ?? 'crash',
    capacity: 100_000,
    blockMs: 200,
    leaseMs: CRASH_LEASE_MS,
    readBatch: 50,
  });
  process.stdout.write(`ready ${layer.processId}\n`);
  for (let n = 0; ; n++) {
    const m = (await layer.receive('crash.q')) as { seq: number };
    process.stdout.write(`got ${m.seq}\n`);
    if (n % 10 === 9) await delay(20);
  }
}

if (process.argv[1]?.endsWith('crash-peer.js')) await main();
