/** What the suite runner and its child processes exchange (kept apart from the entry scripts). */
import type { LoadResult, Workload } from '../src/load/index.js';
import type { PeerId } from './peers.js';

/** Prefix of the one result line a child prints on stdout. */
export const RESULT_MARK = '@@RESULT ';

/** What the runner asks a cell to do. */
export interface CellSpec {
  peer: PeerId;
  workload: Workload;
  url: string;
  durationMs: number;
  concurrency: number;
  blockingCallers?: number;
  largeShare?: number;
  largeValueSize?: number;
  /** redpool only: open the whole budget up front (min = max). */
  fixedPool?: boolean;
}

/** What a cell prints. `cpuMs`: client CPU (user + system) during the run. */
export type CellOutput = { ok: true; result: LoadResult; cpuMs: number } | { ok: false; unavailable: boolean; error: string };

/** One measured case of the micro-benchmark, nanoseconds of CPU per iteration (minimum of the repeats). */
export interface MicroCase {
  name: string;
  iterations: number;
  nsPerOp: number;
  baseline: string;
  baselineNsPerOp: number;
  /** nsPerOp − baselineNsPerOp: what the pool adds. */
  overheadNs: number;
}

/** Output of the micro-benchmark. */
export interface MicroResult {
  cases: MicroCase[];
  repeats: number;
}
