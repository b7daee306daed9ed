/**
 * Every error redpool throws. One base class ({@link RedpoolError}) with a stable `code` that
 * callers switch on, a `cause` chain, and, for timeouts, a snapshot of the pool at the moment
 * of failure. Messages never contain secrets: URLs are redacted before they reach a message and
 * command arguments are never attached (ioredis attaches raw args, AUTH passwords included, to
 * its reply errors — we do not pass those objects on).
 */

/** Stable error codes. Documented in `docs/errors.md`; never renamed. */
export type ErrorCode =
  | 'ERR_INVALID_OPTION'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_POOL_CLOSED'
  | 'ERR_ACQUIRE_TIMEOUT'
  | 'ERR_ACQUIRE_ABORTED'
  | 'ERR_POOL_EXHAUSTED'
  | 'ERR_NO_LEASE_CAPACITY'
  | 'ERR_LEASE_REQUIRED'
  | 'ERR_LEASE_RELEASED'
  | 'ERR_FOREIGN_LEASE'
  | 'ERR_COMMAND_TIMEOUT'
  | 'ERR_CONNECT_TIMEOUT'
  | 'ERR_CONNECTION'
  | 'ERR_UNAVAILABLE'
  | 'ERR_AUTH'
  | 'ERR_TLS'
  | 'ERR_REPLY'
  | 'ERR_CROSS_SLOT'
  | 'ERR_CHANNEL_FULL'
  | 'ERR_CHANNEL_MESSAGE'
  | 'ERR_OUTSIDE_BUDGET'
  | 'ERR_NOT_REPLICATED'
  | 'ERR_NO_REPLICA';

/**
 * What is known about a command that failed:
 * - `not-sent`: never written to a socket; safe to retry.
 * - `unknown`: written, but no reply arrived; it may or may not have run.
 * - `rejected`: Redis answered with an error reply (for `LOADING`, `MASTERDOWN`, … the command
 *   did not run; for other replies it ran and failed).
 */
export type CommandOutcome = 'not-sent' | 'unknown' | 'rejected';

/** A point-in-time view of pool occupancy, carried by timeout errors. */
export interface PoolSnapshot {
  total: number;
  idle: number;
  busy: number;
  lanes: number;
  leased: number;
  connecting: number;
  pending: number;
}

/** Base class of every redpool error. Switch on `code`, not on the class. */
export class RedpoolError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An option or URL is invalid. `option` names it (e.g. `max`, `url`, `url.query.db`). */
export class ConfigError extends RedpoolError {
  /** The option at fault. */
  readonly option: string;
  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_OPTION', `invalid option "${option}": ${message}`, options);
    this.option = option;
  }
}

/** A command argument has a type Redis cannot encode. The command was never written. */
export class ArgumentError extends RedpoolError {
  /** The command (upper case) and the zero-based index of the offending argument. */
  readonly command: string;
  readonly index: number;
  constructor(command: string, index: number, message: string) {
    super('ERR_INVALID_ARGUMENT', `${command}: argument ${index} ${message}`);
    this.command = command;
    this.index = index;
  }
  readonly outcome: CommandOutcome = 'not-sent';
}

/** The pool is closing or closed; nothing was sent. */
export class PoolClosedError extends RedpoolError {
  readonly outcome: CommandOutcome = 'not-sent';
  constructor(message = 'pool is closed') {
    super('ERR_POOL_CLOSED', message);
  }
}

function describe(s: PoolSnapshot): string {
  return (
    `total=${s.total} idle=${s.idle} busy=${s.busy} lanes=${s.lanes} leased=${s.leased} ` +
    `connecting=${s.connecting} pending=${s.pending}`
  );
}

/** No connection became available within `acquireTimeoutMs`. Carries a snapshot. */
export class AcquireTimeoutError extends RedpoolError {
  readonly outcome: CommandOutcome = 'not-sent';
  /** Pool occupancy when the wait ended. */
  readonly snapshot: PoolSnapshot;
  /** How long the caller waited, in milliseconds. */
  readonly waitedMs: number;
  constructor(waitedMs: number, snapshot: PoolSnapshot, cause?: unknown) {
    super(
      'ERR_ACQUIRE_TIMEOUT',
      `no connection within ${Math.round(waitedMs)}ms (${describe(snapshot)})`,
      cause === undefined ? undefined : { cause },
    );
    this.snapshot = snapshot;
    this.waitedMs = waitedMs;
  }
}

/** The caller's AbortSignal fired while it waited. */
export class AcquireAbortedError extends RedpoolError {
  readonly outcome: CommandOutcome = 'not-sent';
  constructor(reason?: unknown) {
    super('ERR_ACQUIRE_ABORTED', 'acquire aborted', reason === undefined ? undefined : { cause: reason });
  }
}

/** The waiter queue is full (`maxWaiting`); the caller was rejected at once. */
export class PoolExhaustedError extends RedpoolError {
  readonly outcome: CommandOutcome = 'not-sent';
  readonly snapshot: PoolSnapshot;
  constructor(maxWaiting: number, snapshot: PoolSnapshot) {
    super('ERR_POOL_EXHAUSTED', `waiter queue is full (maxWaiting=${maxWaiting}; ${describe(snapshot)})`);
    this.snapshot = snapshot;
  }
}

/** The pool has no budget for exclusive leases (`max` is entirely taken by shared lanes). */
export class NoLeaseCapacityError extends RedpoolError {
  readonly outcome: CommandOutcome = 'not-sent';
  constructor(max: number, lanes: number) {
    super('ERR_NO_LEASE_CAPACITY', `no budget for an exclusive lease: max=${max} and lanes=${lanes}; raise "max" above "lanes"`);
  }
}

/** A command that changes connection state was called on the shared API. */
export class LeaseRequiredError extends RedpoolError {
  readonly outcome: CommandOutcome = 'not-sent';
  readonly command: string;
  /** `why`: 'state' (changes connection state) or 'blocking' (would stall a shared lane). */
  constructor(command: string, why: 'state' | 'blocking' = 'state') {
    super(
      'ERR_LEASE_REQUIRED',
      `${command} ${why === 'blocking' ? 'blocks the connection and would stall a shared pipeline' : 'changes connection state and cannot run on a shared lane'}; ` +
        `use pool.withConnection(async (c) => { … }) or pool.acquire()`,
    );
    this.command = command;
  }
}

/** A lease handle was used after release. */
export class LeaseReleasedError extends RedpoolError {
  readonly outcome: CommandOutcome = 'not-sent';
  constructor(message = 'lease was already released') {
    super('ERR_LEASE_RELEASED', message);
  }
}

/** `release()` was given something this pool never leased. */
export class ForeignLeaseError extends RedpoolError {
  constructor() {
    super('ERR_FOREIGN_LEASE', 'release() was given a lease that does not belong to this pool');
  }
}

/** The command deadline passed. `outcome` says whether it may have run. */
export class CommandTimeoutError extends RedpoolError {
  readonly outcome: CommandOutcome;
  readonly command: string;
  readonly timeoutMs: number;
  readonly snapshot: PoolSnapshot;
  /** `cause`: for a command that was never sent, the last connect error (why no connection was there). */
  constructor(command: string, timeoutMs: number, outcome: CommandOutcome, snapshot: PoolSnapshot, cause?: unknown) {
    super(
      'ERR_COMMAND_TIMEOUT',
      `${command} timed out after ${timeoutMs}ms (${outcome === 'not-sent' ? 'not sent' : 'outcome unknown: it may have run'}; ${describe(snapshot)})`,
      cause === undefined ? undefined : { cause },
    );
    this.command = command;
    this.timeoutMs = timeoutMs;
    this.outcome = outcome;
    this.snapshot = snapshot;
  }
}

/** Connecting took longer than `connectTimeoutMs` (TCP, TLS and handshake together). */
export class ConnectTimeoutError extends RedpoolError {
  readonly outcome: CommandOutcome = 'not-sent';
  constructor(endpoint: string, timeoutMs: number) {
    super('ERR_CONNECT_TIMEOUT', `connect to ${endpoint} timed out after ${timeoutMs}ms`);
  }
}

/** A connection failed or was lost. `outcome` tells whether the affected command may have run. */
export class ConnectionError extends RedpoolError {
  readonly outcome: CommandOutcome;
  constructor(message: string, outcome: CommandOutcome, options?: { cause?: unknown }) {
    super('ERR_CONNECTION', message, options);
    this.outcome = outcome;
  }
}

/** Redis is unreachable and the pool is failing fast instead of queueing. */
export class UnavailableError extends RedpoolError {
  readonly outcome: CommandOutcome = 'not-sent';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_UNAVAILABLE', message, options);
  }
}

/** Authentication failed (WRONGPASS, NOAUTH, …). Never retried in a loop. */
export class AuthError extends RedpoolError {
  readonly outcome: CommandOutcome = 'not-sent';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_AUTH', message, options);
  }
}

/** TLS negotiation or verification failed. */
export class TlsError extends RedpoolError {
  readonly outcome: CommandOutcome = 'not-sent';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TLS', message, options);
  }
}

/** Redis answered with an error reply. `prefix` is its first word (`ERR`, `WRONGTYPE`, `LOADING`, …). */
export class ReplyError extends RedpoolError {
  readonly outcome: CommandOutcome = 'rejected';
  /** First word of the reply, e.g. `WRONGTYPE`. */
  readonly prefix: string;
  /** The command (upper case) that got this reply. Its arguments are never kept. */
  readonly command: string;
  constructor(message: string, command: string) {
    super('ERR_REPLY', message);
    this.prefix = message.split(' ', 1)[0] ?? '';
    this.command = command;
  }
}

/**
 * Cluster: a multi-key command (or a lease/transaction pinned to one slot) names keys that hash
 * to different slots. Raised before anything is sent. Key names are never kept, only their
 * argument positions and slots.
 */
export class CrossSlotError extends RedpoolError {
  readonly outcome: CommandOutcome = 'not-sent';
  /** The command (upper case). */
  readonly command: string;
  /** Zero-based argument indexes of the first two keys that disagree. */
  readonly keyIndexes: readonly [number, number];
  /** Their slots (0–16383), in the same order. */
  readonly slots: readonly [number, number];
  /** `message`: a more precise wording (a lease's slot, a transaction's commands); default: the argument form. */
  constructor(command: string, keyIndexes: readonly [number, number], slots: readonly [number, number], message?: string) {
    super(
      'ERR_CROSS_SLOT',
      message ??
        `${command}: keys at arguments ${keyIndexes[0]} and ${keyIndexes[1]} hash to different slots (${slots[0]} and ${slots[1]}); ` +
          'in a cluster every key of one command must share a slot (use a {hash tag})',
    );
    this.command = command;
    this.keyIndexes = keyIndexes;
    this.slots = slots;
  }
}

/** `redpool/channels`: the channel holds `capacity` messages; this one was not added. */
export class ChannelFullError extends RedpoolError {
  /** The message was not stored: sending again is safe. */
  readonly outcome: CommandOutcome = 'rejected';
  /** The channel name and the capacity that applied to it. */
  readonly channel: string;
  readonly capacity: number;
  constructor(channel: string, capacity: number, waitedMs = 0) {
    super(
      'ERR_CHANNEL_FULL',
      `channel "${channel}" is full (capacity ${capacity})${waitedMs > 0 ? ` after waiting ${Math.round(waitedMs)}ms` : ''}`,
    );
    this.channel = channel;
    this.capacity = capacity;
  }
}

/**
 * `redpool/channels`: a stored message could not be opened (`reason`: `unknown-key` — encrypted
 * under a key this layer does not have; `tampered` — authentication failed; `unencrypted` — plain
 * text where encryption is required; `malformed` — not an envelope, or the serializer threw). It
 * was dropped, never delivered; reported once.
 */
export class ChannelMessageError extends RedpoolError {
  readonly outcome: CommandOutcome = 'rejected';
  readonly reason: 'unknown-key' | 'tampered' | 'unencrypted' | 'malformed';
  /** The channel the message was read from. */
  readonly channel: string;
  constructor(channel: string, reason: ChannelMessageError['reason'], options?: { cause?: unknown }) {
    super('ERR_CHANNEL_MESSAGE', `dropped a message on channel "${channel}": ${reason}`, options);
    this.channel = channel;
    this.reason = reason;
  }
}

/**
 * Refused because it would open a Redis connection the pool does not count (e.g.
 * `lease.raw.duplicate()`, or `lease.raw.connect()` after the lease's connection ended).
 */
export class OutsideBudgetError extends RedpoolError {
  readonly outcome: CommandOutcome = 'not-sent';
  constructor(message: string) {
    super('ERR_OUTSIDE_BUDGET', message);
  }
}

/**
 * A write asked for `waitReplicas` ran on the primary, but `WAIT` counted fewer replicas than
 * asked within `waitTimeoutMs`. The write happened there and may still replicate, or be lost if
 * that node is (or is about to be) demoted: the outcome is `unknown`, never retried by the pool.
 */
export class NotReplicatedError extends RedpoolError {
  readonly outcome: CommandOutcome = 'unknown';
  /** The command (upper case). Its arguments are never kept. */
  readonly command: string;
  /** Replicas `WAIT` reported. */
  readonly replicas: number;
  /** Replicas asked for. */
  readonly wanted: number;
  constructor(command: string, replicas: number, wanted: number, waitTimeoutMs: number) {
    super(
      'ERR_NOT_REPLICATED',
      `${command} ran on the primary but reached ${replicas} of ${wanted} replica(s) within ${waitTimeoutMs} ms (WAIT): it may be lost on failover (outcome unknown)`,
    );
    this.command = command;
    this.replicas = replicas;
    this.wanted = wanted;
  }
}

/**
 * A read-only command asked for `readFrom: 'replica'` found no usable replica (none known, all
 * down, or none following the current primary) within its deadline. It was never sent (outcome
 * `not-sent`); the primary was not used because `'replica'` promises not to load it
 * (`'preferReplica'` falls back instead).
 */
export class NoReplicaError extends RedpoolError {
  readonly outcome: CommandOutcome = 'not-sent';
  /** The command (upper case). Its arguments are never kept. */
  readonly command: string;
  constructor(command: string, detail: string, options?: { cause?: unknown }) {
    super('ERR_NO_REPLICA', `${command} needs a replica (readFrom 'replica') but ${detail}`, options);
    this.command = command;
  }
}

/** Returns true when `err` is a redpool error (also across duplicate installs: checks `code`). */
export function isRedpoolError(err: unknown): err is RedpoolError {
  if (err instanceof RedpoolError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code.startsWith('ERR_') && 'outcome' in err;
}
