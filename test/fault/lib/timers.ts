/**
 * Timer leak detection. Pool timers are `unref`'d, so `process.getActiveResourcesInfo()` does not
 * list them; instead an async hook records every `Timeout` created while tracking is on and
 * forgets it when Node destroys it (fired or cleared). Whatever is still alive after the pool
 * closed — from the engine, the driver or ioredis — is a leaked timer.
 */
import { createHook, type AsyncHook } from 'node:async_hooks';

/** Records live `Timeout` resources created between {@link start} and {@link stop}. */
export class TimerTracker {
  readonly #live = new Map<number, string>();
  readonly #hook: AsyncHook;
  #keepStacks: boolean;

  /** @param keepStacks - keep a creation stack per timer (slower; for diagnosing a leak). */
  constructor(keepStacks = false) {
    this.#keepStacks = keepStacks;
    this.#hook = createHook({
      init: (id, type) => {
        if (type === 'Timeout') this.#live.set(id, this.#keepStacks ? (new Error().stack ?? '').split('\n').slice(4, 16).join('\n') : '');
      },
      destroy: (id) => {
        this.#live.delete(id);
      },
    });
  }

  start(): this {
    this.#hook.enable();
    return this;
  }

  stop(): void {
    this.#hook.disable();
  }

  /** Timers created since start that are still pending. Call after a macrotask turn. */
  get live(): number {
    return this.#live.size;
  }

  /** Creation stacks of live timers (empty strings unless `keepStacks`). */
  stacks(): string[] {
    return [...this.#live.values()];
  }

  /**
   * Waits until Node has delivered pending `destroy` hooks (they run after the timer callback
   * or the clear), then returns the live count.
   */
  async settledCount(): Promise<number> {
    for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    return this.#live.size;
  }
}
