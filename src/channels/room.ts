/**
 * Senders waiting for room in a full channel (`send(…, { waitMs })`). A reader that pops from a
 * full channel publishes the list's key on `<prefix>:room` inside its pull script (every
 * process's readers do, so a reader anywhere wakes a sender anywhere). The layer subscribes to
 * that channel on a `pool.subscriber()` the first time a send has to wait, and keeps it until
 * close.
 *
 * No wake-up is lost between a full reply and the wait: each list has a counter of room
 * messages seen; a sender reads it before its attempt and waits only until it moves past that
 * value (a message that arrived while the attempt was in flight ends the wait at once). A
 * message can still be missed (published while the subscriber reconnects) and room also appears
 * when messages expire or a reader takes the last one with a blocking pop, which publishes
 * nothing; so every wait is also bounded by a fallback re-check (250 ms doubling to 2 s).
 */
import type { CommandPool, SubscriberLike } from '../index.js';

/** First fallback re-check of a waiting send, in ms; it doubles per attempt up to {@link ROOM_RECHECK_MAX_MS}. */
export const ROOM_RECHECK_MS = 250;
/** Longest wait for a room message before a waiting send tries again anyway, in ms. */
export const ROOM_RECHECK_MAX_MS = 2000;

export class RoomWaiters {
  readonly #pool: CommandPool;
  readonly #channel: string;
  readonly #seen = new Map<string, number>();
  readonly #waiters = new Map<string, Set<() => void>>();
  #sub: SubscriberLike | undefined;
  #ready: Promise<boolean> | undefined;
  /** Room messages received (stats and tests). */
  wakeups = 0;

  constructor(pool: CommandPool, channel: string) {
    this.#pool = pool;
    this.#channel = channel;
  }

  /** The counter to pass to {@link wait} after an attempt that found `key` full. */
  mark(key: string): number {
    return this.#seen.get(key) ?? 0;
  }

  /**
   * Subscribes (once per layer). Resolves true when room messages can arrive; false if no
   * subscriber could be had, or not within `ms` (a subscriber waits for a lease like anyone:
   * a send's deadline must not wait for it). Waits then only re-check until a later call finds
   * the subscription ready.
   */
  listen(ms: number): Promise<boolean> {
    this.#ready ??= this.#subscribe();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms), false)));
    return Promise.race([this.#ready, late]).finally(() => clearTimeout(timer));
  }

  async #subscribe(): Promise<boolean> {
    try {
      const sub = this.#pool.subscriber();
      this.#sub = sub;
      sub.on('message', (_channel, key) => this.#wake(key));
      // Messages published while it was away are lost: every waiter re-checks.
      sub.on('connect', (info) => {
        if (info.reconnect) for (const key of [...this.#waiters.keys()]) this.#wake(key, false);
      });
      await sub.subscribe(this.#channel);
      return true;
    } catch {
      this.#ready = undefined; // a later wait tries again
      return false;
    }
  }

  #wake(key: string, count = true): void {
    if (count) {
      this.#seen.set(key, (this.#seen.get(key) ?? 0) + 1);
      this.wakeups++;
    }
    const set = this.#waiters.get(key);
    if (set) for (const done of [...set]) done();
  }

  /**
   * Waits until a room message for `key` newer than `mark` arrives, `ms` pass, the fallback
   * re-check of this `attempt` (0, 1, …) is due, or `signal` aborts.
   */
  wait(key: string, mark: number, ms: number, attempt: number, signal?: AbortSignal): Promise<void> {
    if (this.mark(key) !== mark || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.#waiters.get(key);
      if (!set) this.#waiters.set(key, (set = new Set()));
      const owned = set;
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        owned.delete(done);
        if (owned.size === 0 && this.#waiters.get(key) === owned) this.#waiters.delete(key);
        resolve();
      };
      const fallback = Math.min(ROOM_RECHECK_MS * 2 ** Math.min(attempt, 4), ROOM_RECHECK_MAX_MS);
      const timer = setTimeout(done, Math.max(1, Math.min(ms, fallback)));
      signal?.addEventListener('abort', done, { once: true });
      owned.add(done);
    });
  }

  /** Wakes every waiter (close) and lets the subscriber go. */
  async close(): Promise<void> {
    for (const key of [...this.#waiters.keys()]) this.#wake(key, false);
    const sub = this.#sub;
    this.#sub = undefined;
    if (sub) await sub.close().catch(() => undefined);
  }
}
