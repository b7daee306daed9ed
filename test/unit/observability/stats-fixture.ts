/** A complete, quiet {@link PoolStats} for rule tests; override the fields a test is about. */
import type { PoolStats } from '../../../src/pool/stats.js';

export function statsFixture(over: Partial<PoolStats> = {}): PoolStats {
  return {
    name: 'test',
    state: 'open',
    health: 'healthy',
    max: 10,
    min: 1,
    total: 3,
    idle: 1,
    busy: 0,
    lanes: 2,
    leased: 0,
    pending: 0,
    connecting: 0,
    inflight: 0,
    utilization: 0,
    acquires: 0,
    hits: 0,
    misses: 0,
    acquireTimeouts: 0,
    commandTimeouts: 0,
    exhausted: 0,
    commands: 0,
    retries: 0,
    created: 3,
    destroyed: 0,
    destroyedBy: { idle: 0, lifetime: 0, error: 0, timeout: 0, validation: 0, dirty: 0, discarded: 0, close: 0 },
    errors: 0,
    errorsBy: { connect: 0, auth: 0, tls: 0, timeout: 0, connection: 0, reply: 0, unavailable: 0 },
    waitMsTotal: 0,
    waits: 0,
    leaseMsTotal: 0,
    connectMsTotal: 0,
    ...over,
  };
}
