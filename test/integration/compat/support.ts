/**
 * Shared pieces of the compat integration tests: a CLIENT LIST sampler that records the most
 * connections the server saw from this process (the sampler's own connection excluded), and a
 * SIGKILL + restart on the same port.
 */
import { type RedisProcess } from '../../helpers/redis.js';

/** Connections the server lists, minus the one running CLIENT LIST. */
export async function serverConnections(server: RedisProcess): Promise<number> {
  const list = await server.command('CLIENT', 'LIST');
  if (typeof list !== 'string') throw new Error(`CLIENT LIST returned ${typeof list}`);
  return list.split('\n').filter((l) => l.trim() !== '' && !/ cmd=client\|list /.test(` ${l} `)).length;
}

/** Samples {@link serverConnections} every `everyMs` until stopped; `max` is the highest seen. */
export interface Sampler {
  readonly max: number;
  readonly samples: number;
  stop(): Promise<{ max: number; samples: number }>;
}

/** Starts sampling. Errors while the server is down are skipped (nothing to count then). */
export function sampleConnections(server: RedisProcess, everyMs = 10): Sampler {
  let max = 0;
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        if (server.alive) {
          const n = await serverConnections(server);
          max = Math.max(max, n);
          samples++;
        }
      } catch {
        // the server is restarting
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    get max() {
      return max;
    },
    get samples() {
      return samples;
    },
    async stop() {
      running = false;
      await loop;
      return { max, samples };
    },
  };
}

/** A crash: SIGKILL, then a new server on the same port (data lost: no persistence). */
export async function crashAndRestart(server: RedisProcess): Promise<void> {
  await server.kill();
  await server.restart();
}
