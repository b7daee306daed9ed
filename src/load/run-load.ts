/**
 * The load generator: N concurrent callers run a workload against a {@link LoadClient} for a
 * bounded time or operation count, recording latency per operation class, errors, and
 * throughput over time. Every run is bounded twice: by `durationMs`/`ops` and by
 * `maxDurationMs`, so a stalled server cannot keep it going.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { LoadClient } from './clients.js';
import { LatencyRecorder, type HistogramBucket, type LatencySummary } from './histogram.js';
import type { ServerDelta, ServerSampler } from './server-info.js';

/** Workload names accepted by {@link runLoad}. */
export const WORKLOADS = ['small', 'mixed', 'blocking', 'pubsub'] as const;
/** A workload: `small` SET/GET, `mixed` with a share of large values, `blocking` with BLPOP callers, `pubsub`. */
export type Workload = (typeof WORKLOADS)[number];

/** Options of {@link runLoad}. Sizes in bytes, times in ms unless named otherwise. */
export interface LoadOptions {
  /** The client under load. Not closed by runLoad. */
  client: LoadClient;
  /** @default 'small' */
  workload?: Workload;
  /** Concurrent callers (publishers for `pubsub`; all callers, BLPOP included, for `blocking`). @default 50 */
  concurrency?: number;
  /** Run length in ms. Ignored when `ops` is set. @default 10000 */
  durationMs?: number;
  /** Stop after this many measured operations instead of after `durationMs`. */
  ops?: number;
  /** Hard cap on the run length, also with `ops`. @default 600000 */
  maxDurationMs?: number;
  /** Size of small values. @default 64 */
  valueSize?: number;
  /** Distinct small keys. @default 10000 */
  keyspace?: number;
  /** `mixed`: share of operations on large values, 0..1. @default 0.05 */
  largeShare?: number;
  /** `mixed`: size of large values. @default 262144 (256 KiB) */
  largeValueSize?: number;
  /** `blocking`: callers running BLPOP in a loop. @default 20 % of concurrency, at least 1 */
  blockingCallers?: number;
  /** `blocking`: BLPOP timeout in seconds. @default 0.1 */
  blockTimeoutSec?: number;
  /** `pubsub`: subscriber connections, each subscribed to the channel. @default 2 */
  subscribers?: number;
  /** Prefix of every key and channel the run touches. @default 'redpool:bench:' */
  keyPrefix?: string;
  /** Period of the throughput timeline and of `onProgress`. @default 250 */
  sampleIntervalMs?: number;
  /** Called every `sampleIntervalMs` with running totals. */
  onProgress?: (p: LoadProgress) => void;
  /** Stops the run early; the result covers what ran. */
  signal?: AbortSignal;
  /**
   * When given, started before the run (unless already started: start it before creating the
   * client to count the client's own connections) and stopped after; deltas land in `result.server`.
   */
  sampler?: ServerSampler;
}

/** Running totals passed to `onProgress`. */
export interface LoadProgress {
  elapsedMs: number;
  ops: number;
  errors: number;
  /** Throughput over the last interval. */
  opsPerSec: number;
  /** p99 so far, ms. */
  p99Ms: number;
}

/** One point of the throughput timeline. */
export interface TimelinePoint {
  /** End of the interval, ms since the start. */
  tMs: number;
  ops: number;
  errors: number;
  opsPerSec: number;
}

/** Figures of one operation class (e.g. `small`, `large`, `blocking`, `publish`, `delivery`). */
export interface ClassResult {
  ops: number;
  errors: number;
  opsPerSec: number;
  latency: LatencySummary;
}

/** Result of {@link runLoad}. */
export interface LoadResult {
  workload: Workload;
  client: string;
  concurrency: number;
  /** Wall time of the run, ms. */
  durationMs: number;
  /** Measured operations: small+large for `small`/`mixed`, small for `blocking`, delivered messages for `pubsub`. */
  ops: number;
  /** Failed measured operations. */
  errors: number;
  opsPerSec: number;
  /** Latency of the measured operations (delivery latency for `pubsub`). */
  latency: LatencySummary;
  /** Latency histogram of the measured operations, for charts. */
  histogram: HistogramBucket[];
  /** Throughput of the measured operations over time. */
  timeline: TimelinePoint[];
  /** Per-class figures. */
  classes: Record<string, ClassResult>;
  /** Up to 5 distinct error messages. */
  errorSamples: string[];
  /** Whether the run was stopped by `signal` or `maxDurationMs`. */
  aborted: boolean;
  /** Server deltas when a sampler was given. */
  server?: ServerDelta;
}

class OpClass {
  readonly latency = new LatencyRecorder();
  ops = 0;
  errors = 0;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

/**
 * Runs a workload and resolves with its figures. Never rejects for operation errors (they are
 * counted); rejects only for invalid options or when the workload cannot be set up (e.g. the
 * subscribers of `pubsub` cannot subscribe).
 */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const client = opts.client;
  const workload = opts.workload ?? 'small';
  if (!WORKLOADS.includes(workload)) throw new RangeError(`unknown workload "${String(workload)}"`);
  const concurrency = positiveInt('concurrency', opts.concurrency ?? 50);
  const budget = opts.ops !== undefined ? positiveInt('ops', opts.ops) : undefined;
  const maxDurationMs = opts.maxDurationMs ?? 600_000;
  const durationMs = budget !== undefined ? maxDurationMs : Math.min(opts.durationMs ?? 10_000, maxDurationMs);
  if (!(durationMs > 0)) throw new RangeError(`durationMs must be > 0, got ${durationMs}`);
  const keyspace = positiveInt('keyspace', opts.keyspace ?? 10_000);
  const prefix = opts.keyPrefix ?? 'redpool:bench:';
  const small = 'x'.repeat(positiveInt('valueSize', opts.valueSize ?? 64));
  const largeShare = opts.largeShare ?? 0.05;
  if (!(largeShare >= 0 && largeShare <= 1)) throw new RangeError(`largeShare must be in 0..1, got ${largeShare}`);
  const blockTimeoutSec = opts.blockTimeoutSec ?? 0.1;
  const blockers =
    workload === 'blocking' ? Math.min(concurrency - 1, opts.blockingCallers ?? Math.max(1, Math.round(concurrency * 0.2))) : 0;
  if (workload === 'blocking' && blockers < 1) throw new RangeError('blocking needs concurrency >= 2 (BLPOP callers plus small callers)');
  const sampleMs = opts.sampleIntervalMs ?? 250;

  const classes = new Map<string, OpClass>();
  const cls = (name: string): OpClass => {
    let c = classes.get(name);
    if (!c) classes.set(name, (c = new OpClass()));
    return c;
  };
  const measured = new LatencyRecorder();
  let mOps = 0;
  let mErrors = 0;
  const errorSamples = new Set<string>();
  const noteError = (err: unknown): void => {
    if (errorSamples.size < 5) errorSamples.add(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
  };

  let stop = false;
  let aborted = false;
  let issued = 0;
  const onAbort = (): void => {
    stop = true;
    aborted = true;
  };
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  // Setup: large values exist before the clock starts.
  const large = workload === 'mixed' && largeShare > 0 ? 'L'.repeat(positiveInt('largeValueSize', opts.largeValueSize ?? 256 * 1024)) : '';
  const largeKeys = 16;
  if (large) for (let i = 0; i < largeKeys; i++) await client.set(`${prefix}large:${i}`, large);

  const unsubscribe: Array<() => Promise<void>> = [];
  const channel = `${prefix}channel`;
  if (workload === 'pubsub') {
    if (!client.publish || !client.subscribe) throw new RangeError(`client "${client.name}" does not support pubsub`);
    const delivery = cls('delivery');
    const subs = positiveInt('subscribers', opts.subscribers ?? 2);
    for (let i = 0; i < subs; i++) {
      unsubscribe.push(
        await client.subscribe(channel, (message) => {
          const sent = Number(message);
          if (!Number.isFinite(sent)) return;
          const ms = performance.now() - sent;
          delivery.ops++;
          delivery.latency.record(ms);
          mOps++;
          measured.record(ms);
        }),
      );
    }
  }

  await opts.sampler?.start();
  const started = performance.now();
  const timeline: TimelinePoint[] = [];
  let lastOps = 0;
  let lastErrors = 0;
  let lastT = started;
  let lastStart = started;
  const tick = (final = false): void => {
    const now = performance.now();
    let ops = mOps - lastOps;
    let errors = mErrors - lastErrors;
    let from = lastT;
    const prevPoint = timeline[timeline.length - 1];
    // A short last interval would show a spike or a dip: fold it into the previous point.
    if (final && prevPoint && now - lastT < sampleMs / 2) {
      timeline.pop();
      ops += prevPoint.ops;
      errors += prevPoint.errors;
      from = lastStart;
    }
    const secs = (now - from) / 1000;
    const point = { tMs: Math.round(now - started), ops, errors, opsPerSec: secs > 0 ? Math.round(ops / secs) : 0 };
    timeline.push(point);
    lastStart = from;
    lastOps = mOps;
    lastErrors = mErrors;
    lastT = now;
    opts.onProgress?.({
      elapsedMs: point.tMs,
      ops: mOps,
      errors: mErrors,
      opsPerSec: point.opsPerSec,
      p99Ms: measured.count ? measured.summary().p99Ms : 0,
    });
  };
  const ticker = setInterval(() => tick(), sampleMs);
  const deadline = setTimeout(() => {
    stop = true;
    if (budget !== undefined) aborted = true;
  }, durationMs);

  const measuredOp = (c: OpClass, p: Promise<unknown>, t0: number): Promise<void> =>
    p.then(
      () => {
        const ms = performance.now() - t0;
        c.ops++;
        c.latency.record(ms);
        mOps++;
        measured.record(ms);
      },
      (err: unknown) => {
        c.errors++;
        mErrors++;
        noteError(err);
      },
    );

  const takeBudget = (): boolean => {
    if (stop) return false;
    if (budget !== undefined && issued >= budget) {
      stop = true;
      return false;
    }
    issued++;
    return true;
  };

  const smallCaller = async (): Promise<void> => {
    const cSmall = cls('small');
    const cLarge = workload === 'mixed' ? cls('large') : undefined;
    while (takeBudget()) {
      const r = Math.random();
      const isLarge = cLarge !== undefined && large !== '' && r < largeShare;
      const t0 = performance.now();
      if (isLarge) {
        const key = `${prefix}large:${(Math.random() * largeKeys) | 0}`;
        await measuredOp(cLarge, r < largeShare / 2 ? client.set(key, large) : client.get(key), t0);
      } else {
        const key = `${prefix}k:${(Math.random() * keyspace) | 0}`;
        await measuredOp(cSmall, Math.random() < 0.5 ? client.set(key, small) : client.get(key), t0);
      }
      if (mErrors > 0 && mErrors % 64 === 0) await delay(1); // do not spin on a dead server
    }
  };

  const blockingCaller = async (i: number): Promise<void> => {
    const c = cls('blocking');
    const key = `${prefix}queue:${i}`;
    while (!stop) {
      const t0 = performance.now();
      try {
        await client.blpop(key, blockTimeoutSec);
        c.ops++;
        c.latency.record(performance.now() - t0);
      } catch (err) {
        c.errors++;
        noteError(err);
        await delay(5);
      }
    }
  };

  const publisher = async (): Promise<void> => {
    const c = cls('publish');
    const publish = client.publish!.bind(client);
    while (!stop && (budget === undefined || cls('delivery').ops < budget)) {
      const t0 = performance.now();
      try {
        await publish(channel, String(t0));
        c.ops++;
        c.latency.record(performance.now() - t0);
      } catch (err) {
        c.errors++;
        mErrors++;
        noteError(err);
        await delay(1);
      }
    }
    stop = true;
  };

  const callers: Promise<void>[] = [];
  if (workload === 'pubsub') for (let i = 0; i < concurrency; i++) callers.push(publisher());
  else {
    for (let i = 0; i < blockers; i++) callers.push(blockingCaller(i));
    for (let i = blockers; i < concurrency; i++) callers.push(smallCaller());
  }
  await Promise.all(callers);
  clearTimeout(deadline);
  if (workload === 'pubsub') await delay(100); // let messages in flight arrive
  const elapsedMs = performance.now() - started;
  clearInterval(ticker);
  tick(true);
  opts.signal?.removeEventListener('abort', onAbort);
  const server = await opts.sampler?.stop();
  await Promise.allSettled(unsubscribe.map((u) => u()));

  const secs = elapsedMs / 1000;
  const classResults: Record<string, ClassResult> = {};
  for (const [name, c] of classes) {
    classResults[name] = { ops: c.ops, errors: c.errors, opsPerSec: Math.round(c.ops / secs), latency: c.latency.summary() };
  }
  return {
    workload,
    client: client.name,
    concurrency,
    durationMs: Math.round(elapsedMs),
    ops: mOps,
    errors: mErrors,
    opsPerSec: Math.round(mOps / secs),
    latency: measured.summary(),
    histogram: measured.buckets(),
    timeline,
    classes: classResults,
    errorSamples: [...errorSamples],
    aborted,
    ...(server ? { server } : {}),
  };
}
