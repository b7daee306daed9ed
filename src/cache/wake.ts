/**
 * The "wait for a wake-up" seam of the getOrSet lock. A lock holder signals its lock's channel
 * when it is done (PUBLISH, inside the release script, and locally); a waiter waits for that
 * signal or for its timeout, then looks again.
 *
 * Cross-process waiters would ideally listen on a pool-owned subscriber connection
 * (`pool.subscriber()`, not in redpool's public API yet). Until it is, {@link pollingWake} wakes
 * local waiters at once and bounds a remote wait to a short, growing interval (10 → 100 ms):
 * the waiter then re-checks on a shared lane (no lease is held while waiting). The release
 * script already publishes, so a subscriber-backed WakeSource can replace this one unchanged.
 */

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
