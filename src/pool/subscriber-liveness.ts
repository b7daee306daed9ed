/**
 * The subscriber's liveness check: a PING every `pingIntervalMs` while it is ready, and the
 * connection declared lost when one goes unanswered for `pingTimeoutMs`. A frozen server
 * (SIGSTOP, a hung host, a black-holed network) keeps the socket open but never answers, and
 * pushes silently stop: without this the subscriber would look connected for as long as TCP
 * keeps quiet. Timers run on the pool clock (unref'd), so tests drive them with a manual clock.
 */
import { ConnectionError, ReplyError } from '../errors.js';
import type { Clock, TimerHandle } from '../internal/clock.js';

/** What the check needs of its subscriber; `gen` names one connection (bumped on every change). */
export interface LivenessHost {
  /** Whether `gen` is still the subscriber's current connection. */
  isCurrent(gen: number): boolean;
  /** Sends one PING on connection `gen`; `undefined` when it is no longer current and ready. */
  ping(gen: number): Promise<unknown> | undefined;
  /** Declares connection `gen`'s loss (it is current: checked before the call). */
  lost(cause: Error): void;
}

/** See the module comment. One per subscriber; `arm` after every (re)connect, `stop` on a loss. */
export class Liveness {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #host: LivenessHost;
  /** The next PING, or the deadline of the one in flight. */
  #timer: TimerHandle | undefined;

  constructor(clock: Clock, intervalMs: number, timeoutMs: number, host: LivenessHost) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#timeoutMs = timeoutMs;
    this.#host = host;
  }

  /** Arms the next PING of connection `gen` (nothing with `pingIntervalMs: Infinity`). */
  arm(gen: number): void {
    this.stop();
    if (this.#intervalMs === Infinity) return;
    this.#timer = this.#clock.setTimeout(() => this.#ping(gen), this.#intervalMs, true);
  }

  stop(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Sends one PING. An answer arms the next one; no answer within `pingTimeoutMs` (confirmed one
   * timer turn later, so a reply already in the socket after a blocked event loop is read first)
   * declares the connection lost.
   */
  #ping(gen: number): void {
    this.#timer = undefined;
    const sent = this.#host.ping(gen);
    if (!sent) return;
    let answered = false;
    const clock = this.#clock;
    sent.then(
      () => {
        answered = true;
        if (this.#host.isCurrent(gen)) this.arm(gen);
      },
      (err: unknown) => {
        answered = true;
        if (!this.#host.isCurrent(gen)) return;
        // An error reply is still an answer: the server is alive. Anything else (the command's own
        // deadline, a dead socket) means it is not.
        if (err instanceof ReplyError) this.arm(gen);
        else this.#host.lost(err instanceof Error ? err : new ConnectionError(String(err), 'unknown'));
      },
    );
    this.#timer = clock.setTimeout(
      () => {
        this.#timer = clock.setTimeout(
          () => {
            this.#timer = undefined;
            if (answered || !this.#host.isCurrent(gen)) return;
            this.#host.lost(
              new ConnectionError(`liveness PING unanswered for ${this.#timeoutMs}ms (server frozen or unreachable?)`, 'unknown'),
            );
          },
          1,
          true,
        );
      },
      this.#timeoutMs,
      true,
    );
  }
}
