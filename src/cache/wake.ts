/**
 * The "wait for a wake-up" seam of the getOrSet lock. A lock holder signals its lock's channel
 * when it is done (PUBLISH, inside the release script, and locally); a waiter waits for that
 * signal or for its timeout, then looks again (on a shared lane: no lease is held while waiting).
 *
 * {@link subscriberWake} listens on the cache's `pool.subscriber()`: the first wait on a channel
 * subscribes and returns once the subscription is acknowledged (the caller re-checks, so a
 * release that happened before it is not waited out); later waits end on the message. A message
 * can still be missed (published between the waiter's failed SET NX and its next wait, or while
 * the subscriber reconnects), so every wait is also bounded by a fallback re-check interval
 * (50 ms doubling to 400 ms). The channel stays subscribed for a second after its last waiter
 * left, so a waiter's retries do not subscribe and unsubscribe each time.
 * {@link pollingWake} is the fallback without a subscriber (10 → 100 ms).
 */
import type { Subscriber } from '../index.js';

/** Waits for, and sends, wake-up signals on named channels. */
export interface WakeSource {
  /** Resolves when `channel` is signalled, or after at most `timeoutMs` (the caller re-checks either way). */
  wait(channel: string, timeoutMs: number, attempt: number): Promise<void>;
  /** Wakes this process's waiters on `channel` (the release script wakes other processes). */
  notifyLocal(channel: string): void;
}

const MIN_POLL_MS = 10;
const MAX_POLL_MS = 100;

/** The fallback: local waiters are woken at once, remote ones re-check on a bounded, growing interval. */
export function pollingWake(): WakeSource {
  const waiters = new Map<string, Set<() => void>>();
  return {
    wait(channel, timeoutMs, attempt) {
      const ms = Math.max(1, Math.min(timeoutMs, MIN_POLL_MS * 2 ** Math.min(attempt, 4), MAX_POLL_MS));
      return new Promise<void>((resolve) => {
        let set = waiters.get(channel);
        if (!set) waiters.set(channel, (set = new Set()));
        const done = (): void => {
          clearTimeout(timer);
          set.delete(done);
          if (set.size === 0) waiters.delete(channel);
          resolve();
        };
        const timer = setTimeout(done, ms);
        set.add(done);
      });
    },
    notifyLocal(channel) {
      for (const done of [...(waiters.get(channel) ?? [])]) done();
    },
  };
}

const FALLBACK_MIN_MS = 50;
const FALLBACK_MAX_MS = 400;
const LINGER_MS = 1_000;

/** Wake-ups by pub/sub message on the subscriber `get()` returns (see the module comment). */
export function subscriberWake(get: () => Subscriber): WakeSource {
  const waiters = new Map<string, Set<() => void>>();
  /** Channels subscribed (or being subscribed): the promise resolves true once acknowledged, false if refused. */
  const subscribed = new Map<string, Promise<boolean>>();
  const lingering = new Map<string, NodeJS.Timeout>();
  let listening: Subscriber | undefined;
  const notify = (channel: string): void => {
    for (const done of [...(waiters.get(channel) ?? [])]) done();
  };
  const unsubscribeLater = (channel: string): void => {
    const timer = setTimeout(() => {
      lingering.delete(channel);
      if (waiters.has(channel)) return;
      subscribed.delete(channel);
      get()
        .unsubscribe(channel)
        .catch(() => undefined);
    }, LINGER_MS);
    timer.unref();
    lingering.set(channel, timer);
  };
  return {
    async wait(channel, timeoutMs, attempt) {
      let sub: Subscriber;
      try {
        sub = get();
      } catch {
        // No subscriber to be had (the pool is closing): a bounded wait, the caller re-checks.
        await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.min(timeoutMs, FALLBACK_MIN_MS))));
        return;
      }
      if (listening !== sub) {
        listening = sub;
        sub.on('message', notify);
      }
      const linger = lingering.get(channel);
      if (linger) {
        clearTimeout(linger);
        lingering.delete(channel);
      }
      let set = waiters.get(channel);
      if (!set) waiters.set(channel, (set = new Set()));
      let first = false;
      let ack = subscribed.get(channel);
      if (!ack) {
        first = true;
        ack = sub.subscribe(channel).then(
          () => true,
          () => false,
        );
        subscribed.set(channel, ack);
      }
      const ms = Math.max(1, Math.min(timeoutMs, FALLBACK_MIN_MS * 2 ** Math.min(attempt, 3), FALLBACK_MAX_MS));
      const owned = set;
      await new Promise<void>((resolve) => {
        let finished = false;
        const done = (): void => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          owned.delete(done);
          if (owned.size === 0) {
            waiters.delete(channel);
            unsubscribeLater(channel);
          }
          resolve();
        };
        const timer = setTimeout(done, ms);
        owned.add(done);
        // Newly subscribed: re-check as soon as messages can arrive. Refused: a later wait tries again.
        if (first)
          void ack.then((ok) => {
            if (!ok) subscribed.delete(channel);
            done();
          });
      });
    },
    notifyLocal: notify,
  };
}
