/**
 * The pool's log lines: one structured record per event, `{ event, pool, endpoint, code, … }`,
 * passed as `logger.<level>(record, message)` with a one-line `message` — pino's call shape.
 * Records print on one line with `logger: console` too (they inspect as JSON), and carry no key,
 * argument or secret. Without a `logger` option the pool still writes one line to stderr when it
 * becomes unavailable and one when it recovers ({@link outageLogger}): an outage must leave a
 * trace; `logger: false` turns that off.
 */
import { inspect } from 'node:util';
import type { Logger } from '../options/types.js';

/** The part of every record that names the pool. */
export interface LogContext {
  readonly pool: string;
  readonly endpoint: string;
}

type Level = 'info' | 'warn' | 'error';

/** A structured record that prints as one line of JSON under `console` and `util.inspect`. */
function record(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  // Non-enumerable: pino and winston serialise own enumerable keys only, so only console sees it.
  Object.defineProperty(out, inspect.custom, { value: () => JSON.stringify(out), enumerable: false });
  return out;
}

/** `err`'s message and redpool code, for a record (`undefined` fields are left out). */
function errorFields(err: Error | undefined): { error?: string; code?: string } {
  if (!err) return {};
  const code = (err as { code?: unknown }).code;
  return { error: err.message, ...(typeof code === 'string' ? { code } : {}) };
}

/** One event as the pool reports it; `payload` is the event's (see `PoolEvents`). */
export interface LoggedEvent {
  readonly event: string;
  readonly payload: Record<string, unknown>;
}

/**
 * Writes `event` to `log` as one record and a one-line message. Returns without a call for
 * events that are not logged (lease acquire/release, exhaustion: per-request volume; use
 * metrics).
 */
export function logPoolEvent(log: Logger, ctx: LogContext, event: string, payload: Record<string, unknown>): void {
  const base = { pool: ctx.pool, endpoint: ctx.endpoint };
  const at = `redpool ${ctx.pool} (${ctx.endpoint})`;
  const write = (level: Level, fields: Record<string, unknown>, message: string): void => {
    log[level](record({ event: fields['event'], ...base, ...fields }), message);
  };
  switch (event) {
    case 'connection:created': {
      const ms = Number(payload['connectMs']);
      write(
        'info',
        { event: 'redis_connected', id: payload['id'], role: payload['role'], connectMs: round(ms) },
        `${at}: connection ${String(payload['id'])} (${String(payload['role'])}) open in ${round(ms)} ms`,
      );
      return;
    }
    case 'connection:closed': {
      const reason = String(payload['reason']);
      const err = payload['error'] as Error | undefined;
      // Closes the pool chose (idle, lifetime, close, a dirty lease) are routine; the others lost a connection.
      const lost = reason === 'error' || reason === 'timeout' || reason === 'validation';
      write(
        lost ? 'warn' : 'info',
        { event: 'redis_disconnected', id: payload['id'], role: payload['role'], reason, ...errorFields(err) },
        `${at}: connection ${String(payload['id'])} (${String(payload['role'])}) closed: ${reason}${err ? ` (${oneLine(err.message)})` : ''}`,
      );
      return;
    }
    case 'connection:error': {
      const err = payload['error'] as Error;
      write(
        'warn',
        { event: 'redis_connect_failed', id: payload['id'], role: payload['role'], ...errorFields(err) },
        `${at}: connect failed: ${oneLine(err.message)}`,
      );
      return;
    }
    case 'health': {
      const to = String(payload['to']);
      const err = payload['error'] as Error | undefined;
      const level: Level = to === 'healthy' ? 'info' : to === 'unavailable' ? 'error' : 'warn';
      write(
        level,
        { event: 'redis_health', from: payload['from'], to, ...errorFields(err) },
        `${at}: ${String(payload['from'])} -> ${to}${err ? ` (${oneLine(err.message)})` : ''}`,
      );
      return;
    }
    case 'lease:leak':
      write(
        'warn',
        { event: 'redis_lease_leak', id: payload['id'], heldMs: round(Number(payload['heldMs'])), stack: payload['stack'] },
        `${at}: lease ${String(payload['id'])} held ${round(Number(payload['heldMs']))} ms (leakDetectionMs); acquired at the stack in the record`,
      );
      return;
    case 'topology:primary-changed':
      write(
        'warn',
        {
          event: 'redis_primary_changed',
          from: payload['from'],
          to: payload['to'],
          generation: payload['generation'],
          via: payload['via'],
        },
        `${at}: primary moved ${String(payload['from'])} -> ${String(payload['to'])} (${String(payload['via'])}, generation ${String(payload['generation'])}): old connections fenced`,
      );
      return;
    case 'warning':
      write('warn', { event: 'redis_pool_warning', message: payload['message'] }, `${at}: ${oneLine(String(payload['message']))}`);
      return;
    default:
  }
}

/** The events {@link logPoolEvent} writes a line for. */
export const LOGGED_EVENTS: ReadonlySet<string> = new Set([
  'connection:created',
  'connection:closed',
  'connection:error',
  'health',
  'lease:leak',
  'warning',
  'topology:primary-changed',
]);

/** `1 consecutive connect failure`, `3 consecutive connect failures`. */
export function failures(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

const round = (ms: number): number => Math.round(ms * 10) / 10;
const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim();

/**
 * The default when no `logger` is given: nothing but one line on stderr (through `write`) when
 * the pool becomes unavailable and one when it is healthy again after that, with how long it
 * was down, and (Sentinel) one per primary move. A degraded blip, connects and closes stay silent.
 */
export function outageLogger(
  ctx: LogContext,
  now: () => number,
  write: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): (event: string, payload: Record<string, unknown>) => void {
  let downSince: number | undefined;
  return (event, payload) => {
    if (event === 'topology:primary-changed') {
      // A failover is an outage-class event: one line per move, even without a logger.
      write(
        `redpool: pool ${ctx.pool} (${ctx.endpoint}): primary moved ${String(payload['from'])} -> ${String(payload['to'])} (${String(payload['via'])})`,
      );
      return;
    }
    if (event !== 'health') return;
    const to = payload['to'];
    const err = payload['error'] as Error | undefined;
    if (to === 'unavailable' && downSince === undefined) {
      downSince = now();
      const code = (err as { code?: unknown } | undefined)?.code;
      write(
        `redpool: pool ${ctx.pool} (${ctx.endpoint}) is unavailable: failing fast, reconnecting in the background${err ? `: ${oneLine(err.message)}${typeof code === 'string' ? ` [${code}]` : ''}` : ''}`,
      );
    } else if (to === 'healthy' && downSince !== undefined) {
      const s = (now() - downSince) / 1000;
      downSince = undefined;
      write(`redpool: pool ${ctx.pool} (${ctx.endpoint}) recovered: connected again after ${s.toFixed(1)} s unavailable`);
    }
  };
}
