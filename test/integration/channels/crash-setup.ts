/**
 * The shared start of the crash and stall tests: a survivor pool and layer that fill
 * `crash.q` with `n` numbered messages, and the reader peer process (`crash-peer.ts`) on the
 * same prefix. Everything is closed or killed after the test, also when it fails.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { createPool, type Pool } from '../../../src/index.js';
import { createChannelLayer, type ChannelLayer } from '../../../src/channels/index.js';

const PEER = fileURLToPath(new URL('./crash-peer.js', import.meta.url));

/** Fills `crash.q` with `{ seq: 0 … n-1 }` from a pool named `poolName`, then starts the peer. */
export async function startReaderPeer(
  url: string,
  prefix: string,
  poolName: string,
  n: number,
): Promise<{ pool: Pool; sender: ChannelLayer; proc: ChildProcessByStdio<null, Readable, null> }> {
  const pool = createPool({ url, max: 10, name: poolName });
  after(() => pool.close());
  const sender = createChannelLayer(pool, { prefix, capacity: 100_000 });
  after(() => sender.close());
  for (let i = 0; i < n; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => sender.send('crash.q', { seq: i + j })));

  const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: url, PREFIX: prefix };
  delete env['NODE_TEST_CONTEXT'];
  const proc = spawn(process.execPath, [PEER], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  return { pool, sender, proc };
}
