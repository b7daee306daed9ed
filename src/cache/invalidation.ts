/**
 * The near cache's invalidation connection, on an exclusive lease of the pool (until
 * `pool.subscriber()` is in redpool's public API; the {@link InvalidationSource} interface is
 * what a subscriber-backed version will implement). The lease is held for the cache's life and
 * destroyed, never returned: tracking and subscriptions are connection state.
 *
 * The lease sends `CLIENT TRACKING on REDIRECT <own id> BCAST PREFIX <prefix>`; on RESP3 the
 * server then pushes `invalidate` frames to it, on RESP2 it publishes on `__redis__:invalidate`
 * (which the lease subscribes to). ioredis does not surface RESP3 `invalidate` pushes, so the
 * frames are read from the socket: the connection carries nothing else after setup (its own
 * keep-alive PING replies are recognised and skipped).
 */
import type { Socket } from 'node:net';
import type { Lease, Pool } from '../index.js';
import type { InvalidationSource } from './near.js';
import { RespFrames, type RespValue } from './resp-frames.js';

/** How often the invalidation connection is checked (a frozen server sends nothing). */
const PING_EVERY_MS = 1_000;
const PING_TIMEOUT_MS = 2_000;

function keysOf(payload: RespValue): string[] | null {
  if (payload === null) return null;
  if (Array.isArray(payload)) return payload.map((k) => (Buffer.isBuffer(k) ? k.toString('utf8') : String(k)));
  return [Buffer.isBuffer(payload) ? payload.toString('utf8') : String(payload)];
}

/** An {@link InvalidationSource} on an exclusive lease held for the invalidation channel. */
export function leaseInvalidationSource(pool: Pool): InvalidationSource {
  let lease: Lease | undefined;
  let ping: NodeJS.Timeout | undefined;
  let closed = false;

  const drop = (): void => {
    if (ping) clearInterval(ping);
    ping = undefined;
    const l = lease;
    lease = undefined;
    if (l && !l.released) l.destroy();
  };

  return {
    async open(prefix, onKeys, onLost) {
      if (closed) throw new Error('invalidation source is closed');
      drop();
      const l = await pool.acquire();
      lease = l;
      let lost = false;
      const lose = (err: Error | undefined): void => {
        if (lost || lease !== l) return;
        lost = true;
        drop();
        if (!closed) onLost(err);
      };
      try {
        const stream = (l.raw as unknown as { stream?: Socket }).stream;
        if (!stream || typeof stream.on !== 'function') throw new Error('the near cache needs the ioredis driver (no socket on the lease)');
        const info = String(await l.call('CLIENT', 'INFO'));
        const resp3 = /\bresp=3\b/.test(info);
        const id = Number(await l.call('CLIENT', 'ID'));
        await l.call('CLIENT', 'TRACKING', 'on', 'REDIRECT', id, 'BCAST', 'PREFIX', prefix);
        if (!resp3) await l.call('SUBSCRIBE', '__redis__:invalidate');
        // From here on the socket carries only invalidations (and our PING replies).
        const frames = new RespFrames((frame) => {
          if (!Array.isArray(frame) || frame.length < 2) return;
          const kind = String(frame[0]);
          if (kind === 'invalidate') onKeys(keysOf(frame[1] ?? null));
          else if (kind === 'message' && String(frame[1]) === '__redis__:invalidate') onKeys(keysOf(frame[2] ?? null));
        });
        stream.on('data', (chunk: Buffer) => {
          try {
            frames.push(chunk);
          } catch (err) {
            lose(err as Error); // unparsable: we cannot know what was invalidated
          }
        });
        stream.once('close', () => lose(new Error('invalidation connection closed')));
        let pending = 0;
        ping = setInterval(() => {
          if (pending > 0) return;
          pending++;
          const started = Date.now();
          // On RESP2 in subscriber mode PING is allowed; both replies are skipped by the frame reader.
          l.call('PING').then(
            () => { pending--; },
            (err: unknown) => { pending--; lose(err as Error); },
          );
          setTimeout(() => { if (pending > 0 && Date.now() - started >= PING_TIMEOUT_MS) lose(new Error('invalidation connection did not answer PING')); }, PING_TIMEOUT_MS).unref();
        }, PING_EVERY_MS);
        ping.unref();
      } catch (err) {
        drop();
        throw err;
      }
    },
    async close() {
      closed = true;
      drop();
    },
  };
}
