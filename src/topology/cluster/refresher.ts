/**
 * One topology refresher per cluster pool: single-flight (concurrent requests share one load),
 * rate-limited (at most one load per `minIntervalMs`; requests inside the window coalesce into
 * one trailing load at its end — the leading + trailing shape of Lettuce's adaptive refresh),
 * a periodic background check, and a few sources per load, each with its own timeout.
 *
 * Sources are asked hedged, not one after the other: the first at once, the next when the first
 * fails or has not answered within `hedgeDelayMs`, and so on; the first answer wins. A frozen
 * node (socket open, nothing answers) therefore costs a load `hedgeDelayMs`, not a whole source
 * timeout. The order is random within three ranks: sources whose last load answered, then
 * unknown ones, then those that failed or timed out recently (a load's own failures, and those a
 * caller reports with {@link TopologyRefresher.noteFailure}, e.g. a node's command deadlines).
 *
 * Every timer comes from the injected {@link Clock}, so tests drive it with a manual
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
  /** Sources asked per load at most (ranked, random within a rank). Default `3`. */
  maxSources?: number;
  /** Deadline of one source's load, in ms (a number, or per source). Default `1000`. */
  sourceTimeoutMs?: number | ((source: S) => number);
  /**
   * Time after which the next source is asked while the previous ones are still silent, in ms
   * (a failure asks the next at once). `Infinity`: strictly one after the other. Default `100`.
   */
  hedgeDelayMs?: number;
  /** How long a failure or timeout ranks a source last, in ms. Default `30000`. */
  failurePenaltyMs?: number;
  /** Identity of a source for its record of answers and failures. Default `String(source)`. */
  sourceKey?: (source: S) => string;
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
  /** Sources asked (over every load; more than `loads` when hedged or failing over). */
  sourcesAsked: number;
  /** Sources that failed or timed out (reported ones included). */
  sourceFailures: number;
}

/** Last outcome of one source (pool clock). */
interface SourceRecord {
  okAt: number;
  failedAt: number;
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
  readonly #records = new Map<string, SourceRecord>();
  readonly #hedges = new Set<TimerHandle>();
  readonly #stats: RefresherStats = {
    loads: 0,
    succeeded: 0,
    failed: 0,
    coalesced: 0,
    requested: {},
    lastDurationMs: undefined,
    sourcesAsked: 0,
    sourceFailures: 0,
  };

  constructor(options: RefresherOptions<S, T>) {
    this.#o = {
      minIntervalMs: 1000,
      periodMs: 30_000,
      maxSources: 3,
      sourceTimeoutMs: 1000,
      hedgeDelayMs: 100,
      failurePenaltyMs: 30_000,
      sourceKey: String,
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

  /**
   * Records that `source` failed outside a load (a command deadline, a broken connection): it is
   * asked last for `failurePenaltyMs`, until it answers a load again.
   */
  noteFailure(source: S): void {
    this.#record(source, false);
  }

  #record(source: S, ok: boolean): void {
    const key = this.#o.sourceKey(source);
    const r = this.#records.get(key) ?? { okAt: -Infinity, failedAt: -Infinity };
    if (ok) r.okAt = this.#o.clock.now();
    else {
      r.failedAt = this.#o.clock.now();
      this.#stats.sourceFailures++;
    }
    this.#records.set(key, r);
    if (this.#records.size > 1024) this.#records.delete(this.#records.keys().next().value as string);
  }

  /** 0: answered last; 1: unknown (or its failure is old); 2: failed recently. */
  #rank(source: S, now: number): number {
    const r = this.#records.get(this.#o.sourceKey(source));
    if (!r) return 1;
    if (r.failedAt > r.okAt) return now - r.failedAt < this.#o.failurePenaltyMs ? 2 : 1;
    return 0;
  }

  /** The sources of one load: shuffled, then (stable) by rank, at most `maxSources`. */
  candidates(): S[] {
    const now = this.#o.clock.now();
    const ranked = shuffle(this.#o.sources(), this.#o.random).map((s) => ({ s, rank: this.#rank(s, now) }));
    ranked.sort((a, b) => a.rank - b.rank);
    return ranked.slice(0, Math.max(1, this.#o.maxSources)).map((r) => r.s);
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
    for (const h of this.#hedges) this.#o.clock.clearTimeout(h);
    this.#hedges.clear();
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

  /** Hedged: see the module comment. Rejects with {@link RefreshFailedError} when every source failed. */
  #loadFromSources(): Promise<T> {
    const candidates = this.candidates();
    if (candidates.length === 0) return Promise.reject(new RefreshFailedError('topology refresh: no source to ask'));
    const clock = this.#o.clock;
    return new Promise<T>((resolve, reject) => {
      let next = 0;
      let pending = 0;
      let done = false;
      let lastError: unknown;
      let hedge: TimerHandle | undefined;
      const stopHedge = (): void => {
        if (hedge === undefined) return;
        clock.clearTimeout(hedge);
        this.#hedges.delete(hedge);
        hedge = undefined;
      };
      const giveUp = (): void => {
        if (done || pending > 0 || (next < candidates.length && !this.#closed)) return;
        done = true;
        stopHedge();
        reject(new RefreshFailedError(`topology refresh: none of ${next} source(s) answered`, lastError));
      };
      const ask = (): void => {
        stopHedge();
        if (done || this.#closed || next >= candidates.length) return giveUp();
        const source = candidates[next++] as S;
        pending++;
        this.#stats.sourcesAsked++;
        this.#withTimeout(source).then(
          (v) => {
            pending--;
            this.#record(source, true);
            if (done) return;
            done = true;
            stopHedge();
            resolve(v);
          },
          (err: unknown) => {
            pending--;
            this.#record(source, false);
            lastError = err;
            if (done) return;
            ask(); // a failure asks the next at once
          },
        );
        const delay = this.#o.hedgeDelayMs;
        if (next < candidates.length && Number.isFinite(delay)) {
          const h: TimerHandle = clock.setTimeout(
            () => {
              this.#hedges.delete(h);
              if (hedge === h) hedge = undefined;
              ask();
            },
            Math.max(0, delay),
            true,
          );
          hedge = h;
          this.#hedges.add(h);
        }
      };
      ask();
    });
  }

  #withTimeout(source: S): Promise<T> {
    const clock = this.#o.clock;
    const t = this.#o.sourceTimeoutMs;
    const ms = typeof t === 'function' ? t(source) : t;
    return new Promise<T>((resolve, reject) => {
      const timer = clock.setTimeout(() => reject(new Error(`source did not answer within ${ms} ms`)), ms, true);
      let p: Promise<T>;
      try {
        p = this.#o.load(source);
      } catch (err) {
        p = Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
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
