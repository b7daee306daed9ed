/**
 * One topology refresher per cluster pool: single-flight (concurrent requests share one load),
 * rate-limited (at most one load per `minIntervalMs`; requests inside the window coalesce into
 * one trailing load at its end — the leading + trailing shape of Lettuce's adaptive refresh),
 * a periodic background check, and a few randomised sources per load, each with its own
 * timeout. Every timer comes from the injected {@link Clock}, so tests drive it with a manual
 * clock. Triggers (MOVED, connection failures, a node's deadlines) are only *reasons*: a timeout
 * asks for a refresh, it never re-routes writes by itself.
 */
import type { Clock, TimerHandle } from '../../internal/clock.js';
import type { Random } from '../../resilience/backoff.js';

/** Why a refresh was requested (counted per reason in {@link RefresherStats}). */
export type RefreshReason =
  'initial' | 'moved' | 'ask-unknown-node' | 'connection-error' | 'timeout' | 'clusterdown' | 'uncovered' | 'periodic' | 'manual';

/** Options of {@link TopologyRefresher}. */
export interface RefresherOptions<S, T> {
  clock: Clock;
  /** Candidate sources (e.g. known nodes, then seeds) at the moment of the load. */
  sources: () => readonly S[];
  /** Loads the topology from one source (e.g. `CLUSTER SHARDS` on that node). */
  load: (source: S) => Promise<T>;
  /** Called with each successful result, before waiting callers resolve. */
  onUpdate?: (result: T, reason: RefreshReason) => void;
  /** Called when every tried source failed (the last error). */
  onError?: (error: unknown, reason: RefreshReason) => void;
  /** Minimum time between the starts of two loads, in ms. Default `1000`. */
  minIntervalMs?: number;
  /** Periodic check, in ms; `Infinity` disables it. Default `30000`. */
  periodMs?: number;
  /** Sources tried per load (in random order), in turn until one answers. Default `3`. */
  maxSources?: number;
  /** Deadline of one source's load, in ms. Default `1000`. */
  sourceTimeoutMs?: number;
  /** Randomness for the source order, in [0, 1). Default `Math.random`. */
  random?: Random;
}

/** Counters of a topology refresher (`stats().cluster.refresh` of a cluster pool). */
export interface RefresherStats {
  /** Loads started (each may try several sources). */
  loads: number;
  /** Loads that got a topology. */
  succeeded: number;
  /** Loads where every tried source failed. */
  failed: number;
  /** Requests absorbed by an in-flight or already scheduled load. */
  coalesced: number;
  /** Requests by reason. */
  requested: Partial<Record<RefreshReason, number>>;
  /** Duration of the last load, ms (`undefined` before the first). */
  lastDurationMs: number | undefined;
}

/** Error of a load where no source answered. `cause` is the last source's error. */
export class RefreshFailedError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'RefreshFailedError';
  }
}

/** Shuffled copy (Fisher–Yates) with an injected random source. */
export function shuffle<X>(items: readonly X[], random: Random): X[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as X, out[i] as X];
  }
  return out;
}

/** See the module comment. Create one per topology; {@link close} when the pool closes. */
export class TopologyRefresher<S, T> {
  readonly #o: Required<Omit<RefresherOptions<S, T>, 'onUpdate' | 'onError'>> & Pick<RefresherOptions<S, T>, 'onUpdate' | 'onError'>;
  #inFlight: Promise<T> | undefined;
  #scheduled: { promise: Promise<T>; timer: TimerHandle; reason: RefreshReason } | undefined;
  #lastStart = -Infinity;
  #periodic: TimerHandle | undefined;
  #closed = false;
  readonly #stats: RefresherStats = { loads: 0, succeeded: 0, failed: 0, coalesced: 0, requested: {}, lastDurationMs: undefined };

  constructor(options: RefresherOptions<S, T>) {
    this.#o = {
      minIntervalMs: 1000,
      periodMs: 30_000,
      maxSources: 3,
      sourceTimeoutMs: 1000,
      random: Math.random,
      ...options,
    };
  }

  /** Arms the periodic check (idempotent). */
  start(): void {
    if (this.#closed || this.#periodic !== undefined || this.#o.periodMs === Infinity) return;
    this.#periodic = this.#o.clock.setTimeout(() => this.#tick(), this.#o.periodMs, true);
  }

  /**
   * Requests a refresh. Resolves with the loaded topology (shared by every request it absorbed),
   * rejects with {@link RefreshFailedError} when no source answered, or with an Error after
   * {@link close}. Fire-and-forget callers use {@link hint}.
   */
  request(reason: RefreshReason): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('topology refresher is closed'));
    this.#stats.requested[reason] = (this.#stats.requested[reason] ?? 0) + 1;
    // A request during a load gets the *next* load: the running one may have read the state
    // before the event (a MOVED) that caused this request.
    if (this.#scheduled) {
      this.#stats.coalesced++;
      return this.#scheduled.promise;
    }
    const wait = this.#lastStart + this.#o.minIntervalMs - this.#o.clock.now();
    if (this.#inFlight === undefined && wait <= 0) return this.#run(reason);
    return this.#schedule(reason, Math.max(0, wait));
  }

  /** {@link request} without waiting for the result (errors go to `onError`). */
  hint(reason: RefreshReason): void {
    this.request(reason).catch(() => undefined);
  }

  /** Whether a load is running. */
  get refreshing(): boolean {
    return this.#inFlight !== undefined;
  }

  /** A copy of the counters. */
  stats(): RefresherStats {
    return { ...this.#stats, requested: { ...this.#stats.requested } };
  }

  /** Cancels timers; a scheduled load rejects, a running one finishes but updates nobody. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#periodic !== undefined) this.#o.clock.clearTimeout(this.#periodic);
    this.#periodic = undefined;
    const scheduled = this.#scheduled;
    this.#scheduled = undefined;
    if (scheduled) {
      this.#o.clock.clearTimeout(scheduled.timer);
      this.#rejectScheduled?.(new Error('topology refresher is closed'));
    }
  }

  #rejectScheduled: ((err: Error) => void) | undefined;

  #schedule(reason: RefreshReason, delay: number): Promise<T> {
    let resolve!: (t: T) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined); // a hint() caller may not wait; the error also goes to onError
    this.#rejectScheduled = reject;
    const fire = (): void => {
      if (this.#closed) return; // close() already rejected the promise
      // Still running (a slow load)? Fire again when it settles.
      if (this.#inFlight) {
        this.#inFlight.then(fire, fire);
        return;
      }
      this.#scheduled = undefined;
      this.#rejectScheduled = undefined;
      this.#run(reason).then(resolve, reject);
    };
    const timer = this.#o.clock.setTimeout(fire, delay, true);
    this.#scheduled = { promise, timer, reason };
    return promise;
  }

  #tick(): void {
    this.#periodic = undefined;
    if (this.#closed) return;
    this.hint('periodic');
    this.start();
  }

  #run(reason: RefreshReason): Promise<T> {
    const clock = this.#o.clock;
    const started = clock.now();
    this.#lastStart = started;
    this.#stats.loads++;
    const run = this.#loadFromSources()
      .then(
        (result) => {
          this.#stats.succeeded++;
          if (!this.#closed) this.#o.onUpdate?.(result, reason);
          return result;
        },
        (err: unknown) => {
          this.#stats.failed++;
          if (!this.#closed) this.#o.onError?.(err, reason);
          throw err;
        },
      )
      .finally(() => {
        this.#stats.lastDurationMs = clock.now() - started;
        this.#inFlight = undefined;
      });
    this.#inFlight = run;
    run.catch(() => undefined);
    return run;
  }

  async #loadFromSources(): Promise<T> {
    const candidates = shuffle(this.#o.sources(), this.#o.random).slice(0, Math.max(1, this.#o.maxSources));
    if (candidates.length === 0) throw new RefreshFailedError('topology refresh: no source to ask');
    let lastError: unknown;
    for (const source of candidates) {
      if (this.#closed) break;
      try {
        return await this.#withTimeout(this.#o.load(source));
      } catch (err) {
        lastError = err;
      }
    }
    throw new RefreshFailedError(`topology refresh: none of ${candidates.length} source(s) answered`, lastError);
  }

  #withTimeout(p: Promise<T>): Promise<T> {
    const clock = this.#o.clock;
    return new Promise<T>((resolve, reject) => {
      const timer = clock.setTimeout(
        () => reject(new Error(`source did not answer within ${this.#o.sourceTimeoutMs} ms`)),
        this.#o.sourceTimeoutMs,
        true,
      );
      p.then(
        (v) => {
          clock.clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clock.clearTimeout(timer);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }
}
