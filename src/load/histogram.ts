/**
 * Latency recording for load runs: an HDR histogram from `perf_hooks.createHistogram` for exact
 * percentiles, plus fixed logarithmic buckets (10 per decade) that charts can draw directly.
 * Values are recorded in nanoseconds internally and reported in milliseconds.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** Percentiles of one latency distribution, in milliseconds. All 0 when `count` is 0. */
export interface LatencySummary {
  /** Samples recorded. */
  count: number;
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** One bar of a latency histogram: samples with `fromMs <= latency < toMs`. */
export interface HistogramBucket {
  fromMs: number;
  toMs: number;
  count: number;
}

/** Buckets per decade of the chart histogram. */
const PER_DECADE = 10;
/** Smallest bucketed value: 1 µs, in ns. */
const LOWEST_NS = 1_000;
/** Largest recordable value: 10 minutes, in ns. Longer samples are clamped. */
const HIGHEST_NS = 600e9;
const BUCKETS = Math.ceil(Math.log10(HIGHEST_NS / LOWEST_NS) * PER_DECADE) + 1;

/** Collects latencies; cheap enough to call once per operation. */
export class LatencyRecorder {
  readonly #h: RecordableHistogram = createHistogram({ lowest: 1, highest: HIGHEST_NS, figures: 3 });
  readonly #buckets = new Float64Array(BUCKETS);

  /** Records one latency in milliseconds (fractions welcome). Negative values count as 0. */
  record(ms: number): void {
    const ns = Math.min(HIGHEST_NS, Math.max(1, Math.round(ms * 1e6)));
    this.#h.record(ns);
    const i = ns <= LOWEST_NS ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log10(ns / LOWEST_NS) * PER_DECADE));
    this.#buckets[i]! += 1;
  }

  /** Samples recorded so far. */
  get count(): number {
    return this.#h.count;
  }

  /** Percentiles so far. */
  summary(): LatencySummary {
    const h = this.#h;
    if (h.count === 0) return { count: 0, minMs: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p95Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 };
    const ms = (ns: number): number => Math.round(ns / 1e3) / 1e3; // µs resolution
    return {
      count: h.count,
      minMs: ms(h.min),
      meanMs: ms(h.mean),
      p50Ms: ms(h.percentile(50)),
      p90Ms: ms(h.percentile(90)),
      p95Ms: ms(h.percentile(95)),
      p99Ms: ms(h.percentile(99)),
      p999Ms: ms(h.percentile(99.9)),
      maxMs: ms(h.max),
    };
  }

  /** The non-empty range of the log buckets (inner empty buckets kept so charts have no gaps). */
  buckets(): HistogramBucket[] {
    let first = -1;
    let last = -1;
    for (let i = 0; i < BUCKETS; i++) {
      if (this.#buckets[i]! > 0) {
        if (first < 0) first = i;
        last = i;
      }
    }
    const out: HistogramBucket[] = [];
    if (first < 0) return out;
    for (let i = first; i <= last; i++) {
      const from = i === 0 ? 0 : (LOWEST_NS * 10 ** (i / PER_DECADE)) / 1e6;
      const to = (LOWEST_NS * 10 ** ((i + 1) / PER_DECADE)) / 1e6;
      out.push({ fromMs: round(from), toMs: round(to), count: this.#buckets[i]! });
    }
    return out;
  }

  /** Clears everything. */
  reset(): void {
    this.#h.reset();
    this.#buckets.fill(0);
  }
}

function round(ms: number): number {
  return Number(ms.toPrecision(4));
}
