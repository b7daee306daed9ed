/**
 * Readiness and health policy: what `ready()` checks before it says the pool is usable (a PING
 * answered PONG, optionally a write read back, no connect still pending, the server's limits
 * learnt), and how `health()` turns one PING plus the dialer's view into a report. The pool
 * façade calls these with a small view of the engine ({@link ReadinessCore}).
 */
import { PoolClosedError, RedpoolError, type PoolSnapshot } from '../errors.js';
import type { Clock } from '../internal/clock.js';
import type { ResolvedOptions } from '../options.js';
import type { CallOptions, PoolState } from '../pool/core.js';
import type { HealthStatus, PoolStats } from '../pool/stats.js';
import type { ServerLimits } from './server.js';

/** Health report returned by `Pool.health()`. */
export interface HealthReport {
  /** healthy: PING answered and no recent failures; degraded: answered but failing partly, or not answered while lanes live; unavailable: failing fast. */
  status: HealthStatus;
  /** Round trip of the health PING in ms, or null when it failed. */
  latencyMs: number | null;
  /** One line for humans. */
  message: string;
  /** When the check ran (ms since the epoch). */
  checkedAt: number;
  /** Pool statistics at check time. */
  stats: PoolStats;
  /** The last connection error, redacted (code and message only), or null. */
  lastError: { code: string; message: string } | null;
}

/** The engine as readiness and health checks see it. */
export interface ReadinessCore {
  readonly state: PoolState;
  readonly health: HealthStatus;
  readonly lastError: RedpoolError | undefined;
  readonly consecutiveFailures: number;
  command(name: string, args: readonly unknown[], buffer: boolean, call?: CallOptions): Promise<unknown>;
  snapshot(): PoolSnapshot;
  stats(): PoolStats;
  pump(): void;
}

/** Calls `listener` on every connection created or failed; returns the unsubscribe. */
export type OnConnectionEvent = (listener: () => void) => () => void;

type ReadyOptions = Pick<
  ResolvedOptions,
  'connectTimeoutMs' | 'acquireTimeoutMs' | 'validateWrites' | 'onUnavailable' | 'commandTimeoutMs'
> & { clock: Clock };

/** A short, safe description of an unexpected reply (its type and length; never its text). */
function describeReply(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'string') return `a ${v.length}-character string`;
  return Array.isArray(v) ? `an array of ${v.length}` : `a ${typeof v}`;
}

/** PINGs on a lane and insists on PONG: a proxy or server answering +OK to everything is not Redis. */
async function pingPong(core: ReadinessCore, timeoutMs: number, what: string): Promise<void> {
  const pong = await core.command('ping', [], false, { timeoutMs });
  if (pong !== 'PONG') throw new RedpoolError('ERR_CONNECTION', `PING answered ${describeReply(pong)}, not PONG${what}`);
}

/**
 * What `ready()` does: PING (PONG only), the write/read probe when `validateWrites`, wait for the
 * connects in flight, then `learn` the server's limits. `onFailed` runs when a check failed. Resolves with the health status; with
 * `onUnavailable: 'fail'` rejects with the connect error, with 'degrade' resolves. A close or
 * destroy during any of it rejects with {@link PoolClosedError}, whatever the cut command said.
 */
export async function warm(
  core: ReadinessCore,
  o: ReadyOptions,
  onConnection: OnConnectionEvent,
  learn: () => Promise<void>,
  onFailed: () => void,
): Promise<HealthStatus> {
  try {
    await pingPong(core, Math.max(o.connectTimeoutMs, o.acquireTimeoutMs), ': not a Redis server');
    if (o.validateWrites) {
      const key = `redpool:probe:${process.pid}:${Math.random().toString(36).slice(2)}`;
      const token = `ok:${Math.random().toString(36).slice(2)}`;
      await core.command('set', [key, token, 'PX', 10_000], false);
      const v = await core.command('get', [key], false);
      await core.command('del', [key], false);
      if (v !== token) throw new RedpoolError('ERR_CONNECTION', `write/read probe read back ${describeReply(v)}, not what it wrote`);
    }
    await settleConnecting(core, o, onConnection);
    await learn();
    // destroy()/close() while the checks ran: ready() did not see a usable pool.
    if (core.state !== 'open') throw new PoolClosedError(`pool is ${core.state}`);
    return core.health;
  } catch (err) {
    onFailed();
    // Whatever failed inside (a PING cut by destroy() included), the cause is the close.
    if (core.state !== 'open')
      throw err instanceof PoolClosedError
        ? err
        : new PoolClosedError(`pool was ${core.state === 'closed' ? 'closed' : 'closing'} during ready()`);
    if (o.onUnavailable === 'degrade') return core.health === 'healthy' ? 'degraded' : core.health;
    throw core.lastError ?? err;
  }
}

/**
 * Reads `maxclients` and `timeout` with CONFIG GET (when permitted; each read bounded to 1 s).
 * A refused CONFIG (ACL, renamed command, managed service) sets `configDenied`.
 */
export async function learnServerLimits(core: ReadinessCore): Promise<ServerLimits> {
  const facts: ServerLimits = {};
  for (const key of ['maxclients', 'timeout'] as const) {
    try {
      const reply = (await core.command('config', ['GET', key], false, { timeoutMs: 1_000 })) as string[];
      const v = Number(reply?.[1]);
      if (Number.isFinite(v)) facts[key] = v;
    } catch {
      // CONFIG may be disabled or denied by ACL; the checks that need it just do not run.
      facts.configDenied = true;
    }
  }
  return facts;
}

/** Resolves when no connection is still being opened (bounded by connectTimeoutMs). */
function settleConnecting(core: ReadinessCore, o: ReadyOptions, onConnection: OnConnectionEvent): Promise<void> {
  core.pump();
  return new Promise((resolve) => {
    const done = (): void => {
      off();
      o.clock.clearTimeout(timer);
      resolve();
    };
    const check = (): void => {
      if (core.snapshot().connecting === 0 || core.state !== 'open') done();
    };
    const timer = o.clock.setTimeout(done, o.connectTimeoutMs);
    // Subscribed before the first check; `done` runs only after this line (a timer or an event).
    const off = onConnection(check);
    check();
  });
}

/** Runs a PING with its own timeout and reports health. Never rejects. */
export async function healthReport(core: ReadinessCore, clock: Clock, timeoutMs: number): Promise<HealthReport> {
  const start = clock.now();
  let latencyMs: number | null = null;
  let failure: RedpoolError | undefined;
  try {
    await pingPong(core, timeoutMs, '');
    latencyMs = clock.now() - start;
  } catch (err) {
    failure = err instanceof RedpoolError ? err : new RedpoolError('ERR_CONNECTION', String(err));
  }
  const stats = core.stats();
  const last = core.lastError ?? failure;
  let status: HealthStatus = core.health;
  if (failure) status = stats.lanes > 0 && status !== 'unavailable' ? 'degraded' : 'unavailable';
  if (core.state !== 'open') status = 'unavailable';
  const message =
    core.state !== 'open'
      ? `pool is ${core.state}`
      : failure
        ? `PING failed: ${failure.message}`
        : status === 'healthy'
          ? `PING ${latencyMs!.toFixed(1)}ms`
          : `PING ${latencyMs!.toFixed(1)}ms, but ${core.consecutiveFailures} recent connect failure${core.consecutiveFailures === 1 ? '' : 's'}`;
  return { status, latencyMs, message, checkedAt: Date.now(), stats, lastError: last ? { code: last.code, message: last.message } : null };
}
