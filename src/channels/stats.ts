/**
 * Channel layer counters: what `layer.stats()` returns and `redpool/prometheus` exports.
 * Counters only grow; depth is a gauge sampled from Redis by `layer.refreshDepth()`.
 */

/** Upper bounds (ms) of the receive-wait histogram buckets; the last bucket is +Inf. */
export const RECEIVE_WAIT_BUCKETS_MS: readonly number[] = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];

/** A point-in-time view of one layer. */
export interface ChannelStats {
  /** Messages stored by `send` and `groupSend` (one per member reached). */
  sent: number;
  /** Messages handed to a `receive` caller. */
  received: number;
  /** Sends refused because the channel was full (`send` errors and group members skipped). */
  full: number;
  /** Messages dropped because they outlived `expiryMs` (seen by this process's scripts and readers). */
  expired: number;
  /** Group members dropped because their membership outlived `groupExpiryMs`. */
  groupExpired: number;
  /** Messages that could not be opened (unknown key, tampered, malformed): dropped, reported once. */
  rejected: number;
  /** Process-local messages dropped because their local buffer was full (capacity). */
  dropped: number;
  /**
   * Messages put back in their channel because the reader holding them lost its lease (a crashed
   * or stalled process), seen by this process's readers. Counted where they were reclaimed.
   */
  reclaimed: number;
  /** `receive` calls waiting now. */
  waiting: number;
  /** Readers holding a lease now (blocking reads). */
  readers: number;
  /** Time from `receive()` to its message, in ms: count, sum, and cumulative bucket counts. */
  receiveWait: { count: number; sumMs: number; buckets: number[] };
  /** Queued messages per capacity pattern (`default` when no pattern matched), from the last `refreshDepth()`. */
  depth: Record<string, number>;
}

/** Mutable counters behind {@link ChannelStats}. */
export class Counters {
  sent = 0;
  received = 0;
  full = 0;
  expired = 0;
  groupExpired = 0;
  rejected = 0;
  dropped = 0;
  reclaimed = 0;
  waitCount = 0;
  waitSumMs = 0;
  readonly waitBuckets: number[] = RECEIVE_WAIT_BUCKETS_MS.map(() => 0);
  depth: Record<string, number> = {};
  readonly waitListeners = new Set<(ms: number) => void>();

  observeWait(ms: number): void {
    for (const l of this.waitListeners) l(ms);
    this.waitCount++;
    this.waitSumMs += ms;
    for (let i = 0; i < RECEIVE_WAIT_BUCKETS_MS.length; i++) if (ms <= RECEIVE_WAIT_BUCKETS_MS[i]!) this.waitBuckets[i]!++;
  }

  snapshot(waiting: number, readers: number): ChannelStats {
    return {
      sent: this.sent,
      received: this.received,
      full: this.full,
      expired: this.expired,
      groupExpired: this.groupExpired,
      rejected: this.rejected,
      dropped: this.dropped,
      reclaimed: this.reclaimed,
      waiting,
      readers,
      receiveWait: { count: this.waitCount, sumMs: this.waitSumMs, buckets: [...this.waitBuckets] },
      depth: { ...this.depth },
    };
  }
}
