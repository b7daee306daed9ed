/**
 * The health PING of one pooled connection, with its own timer: lane probes, validate-on-borrow
 * and health checks all use it. Only `PONG` counts (a proxy answering `+OK` to everything is not
 * a healthy Redis).
 */
import type { Clock } from '../internal/clock.js';
import type { PooledConnection } from './pooled-connection.js';

/** PINGs `pc`; resolves false on error, a non-PONG reply or after `timeoutMs`. Never rejects. */
export function pingConnection(clock: Clock, pc: PooledConnection, timeoutMs: number): Promise<boolean> {
  const conn = pc.conn;
  if (!conn) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => resolve(false), timeoutMs, true);
    conn.command('ping', [], false).then(
      (reply) => {
        clock.clearTimeout(timer);
        if (reply !== 'PONG') return resolve(false);
        pc.lastUsedAt = clock.now();
        resolve(true);
      },
      () => {
        clock.clearTimeout(timer);
        resolve(false);
      },
    );
  });
}
