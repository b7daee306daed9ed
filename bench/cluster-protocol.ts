/** What bench/cluster.ts and its cell processes (bench/cluster-cell.ts) exchange. */
import type { LedgerResult } from '../test/fault/lib/cluster-ledger.js';
import type { ClusterClientId, Seed } from './cluster-clients.js';

/** Prefixes of the lines a cell prints. */
export const MARK = { ready: '@@READY', observed: '@@OBSERVED', result: '@@RESULT ' } as const;

/** A throughput cell. */
export interface LoadSpec {
  kind: 'load';
  client: ClusterClientId;
  workload: 'mixed' | 'pipeline';
  seeds: Seed[];
  durationMs: number;
  /** Concurrent callers (each one command, or one pipeline, at a time). */
  concurrency: number;
  /** Commands per pipeline (pipeline workload). */
  pipelineSize: number;
}

/** A failover cell. */
export interface FailoverSpec {
  kind: 'failover';
  client: ClusterClientId;
  fault: 'kill' | 'stop';
  seeds: Seed[];
  /** Slots of the primary the runner will fault (inclusive). */
  victim: [number, number];
  deadlineMs: number;
  /** How long the workload runs after the fault, ms. */
  observeMs: number;
  /** `'all'`: tags over every slot; `'victim'`: only the faulted primary's slots (research/scale-out.md §4's writer). */
  scope: 'all' | 'victim';
  /** Ports the audit reads from, the faulted node last (a frozen node costs a timeout per read). */
  auditPorts: number[];
}

export type ClusterCellSpec = LoadSpec | FailoverSpec;

/** What a throughput cell prints. */
export interface LoadOutput {
  ok: true;
  ops: number;
  errors: number;
  firstError: string | undefined;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Client CPU (user + system) per command, µs. */
  cpuUsPerOp: number;
}

/** What a failover cell prints. */
export interface FailoverOutput {
  ok: true;
  ledger: LedgerResult;
}

export type CellResult = LoadOutput | FailoverOutput | { ok: false; unavailable: boolean; error: string };
