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
