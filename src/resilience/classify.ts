/**
 * The one function that decides whether a failed command may run again. Rule: a command is
 * retried only where it provably did not run, or where running it twice cannot change data
 * (read-only), or where the caller said so (`idempotent`). A written, non-idempotent command
 * whose outcome is unknown is never retried: the caller gets an error whose `outcome` is
 * 'unknown' and decides.
 */
import type { RedpoolError } from '../errors.js';
import { isReadOnly } from '../commands/command-table.js';

/**
 * Error-reply prefixes that mean "this command was not executed; try again later": the server
 * is loading its dataset, a replica lost its primary, a cluster slot is migrating or down, or
 * a former primary became a read-only replica after failover.
 */
export const NOT_EXECUTED_REPLIES: ReadonlySet<string> = new Set([
  'LOADING',
  'BUSY',
  'MASTERDOWN',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'READONLY',
  'NOREPLICAS',
]);

/** What the retry decision is based on. */
export interface RetryInput {
  /** Lower-case command name (`'exec'` for transactions, `'pipeline'` for batches). */
  readonly command: string;
  readonly error: RedpoolError & { outcome?: string; prefix?: string };
  /** The caller marked this call idempotent. */
  readonly idempotent: boolean;
}

/** How a retry should be made. `'now'`: on another connection at once; `'backoff'`: after a delay. */
export type RetryDecision = 'no' | 'now' | 'backoff';

/** Decides whether `input.error` may be retried. Pure; no side effects. */
export function retryDecision(input: RetryInput): RetryDecision {
  const { error } = input;
  switch (error.code) {
    case 'ERR_REPLY':
      return error.prefix !== undefined && NOT_EXECUTED_REPLIES.has(error.prefix) ? 'backoff' : 'no';
    case 'ERR_CONNECTION':
    case 'ERR_COMMAND_TIMEOUT':
      if (error.outcome === 'not-sent') return 'now';
      return input.idempotent || isReadOnly(input.command) ? 'now' : 'no';
    default:
      return 'no';
  }
}

/**
 * Whether a failed attempt may have run on the server: it was written and no reply proves
 * otherwise. A "not executed" error reply (`LOADING`, …) and a `not-sent` failure did not run.
 */
export function attemptMayHaveRun(error: RedpoolError & { outcome?: string; prefix?: string }): boolean {
  if (error.code === 'ERR_REPLY') return !(error.prefix !== undefined && NOT_EXECUTED_REPLIES.has(error.prefix));
  return error.outcome !== 'not-sent';
}

/**
 * The error a caller gets when an earlier attempt of the call may have run: the outcome of a
 * call is the worst over all its attempts, so a final `not-sent` failure (a retry that failed
 * fast) becomes `unknown`. Returns a copy, never mutates `error` (one error may be shared by
 * several waiters); other outcomes are returned as they are.
 */
export function worstOutcome<E extends RedpoolError>(error: E, earlierMayHaveRun: boolean): E {
  if (!earlierMayHaveRun || (error as { outcome?: string }).outcome !== 'not-sent') return error;
  const copy = Object.create(Object.getPrototypeOf(error) as object, Object.getOwnPropertyDescriptors(error)) as E;
  Object.defineProperty(copy, 'outcome', { value: 'unknown', enumerable: true, configurable: true, writable: false });
  Object.defineProperty(copy, 'message', {
    value: `${error.message} (an earlier attempt was written and may have run: outcome unknown)`,
    enumerable: false,
    configurable: true,
    writable: true,
  });
  return copy;
}

/**
 * Codes of a replica read that did not answer: the node could not take it (unavailable, closed,
 * overloaded, no connection in time), its connection was lost, or its attempt's deadline passed.
 * Errors of the call itself (a bad argument, a cross-slot key set) are not here: they would fail
 * the same way anywhere.
 */
const REPLICA_UNANSWERED: ReadonlySet<string> = new Set([
  'ERR_UNAVAILABLE',
  'ERR_POOL_CLOSED',
  'ERR_POOL_EXHAUSTED',
  'ERR_ACQUIRE_TIMEOUT',
  'ERR_CONNECT_TIMEOUT',
  'ERR_CONNECTION',
  'ERR_COMMAND_TIMEOUT',
]);

/**
 * Whether a replica read (`readFrom`) that failed with `err` is tried on another node: the
 * replica did not answer it (see above) or answered "not executed" (`LOADING`, `MASTERDOWN`, …).
 * It is a read, so running it a second time changes no data, whatever its outcome. Any other
 * reply (`WRONGTYPE`, …) is the answer. One rule for the Sentinel and the Cluster read routers.
 */
export function replicaReadMovable(err: unknown): boolean {
  const e = err as Partial<RedpoolError> & { prefix?: string };
  if (typeof e?.code !== 'string') return false;
  if (REPLICA_UNANSWERED.has(e.code)) return true;
  return e.code === 'ERR_REPLY' && e.prefix !== undefined && NOT_EXECUTED_REPLIES.has(e.prefix);
}

/**
 * The deadline one replica attempt gets, ms: half of what is left of the caller's while another
 * node could still answer (`fallback`: another replica, or the primary for `'preferReplica'`), so
 * a frozen replica costs a read half its deadline, not all of it; all of it for the last chance.
 */
export function replicaAttemptMs(remainingMs: number, fallback: boolean): number {
  return fallback ? Math.max(1, Math.floor(remainingMs / 2)) : remainingMs;
}
