/**
 * The reliability report's mixed workload (research/reliability.md §4.2): N workers issue, one
 * at a time each, either a unique-key echo pair (SET k v, GET k must return v: a different
 * value means a reply reached the wrong caller) or a non-idempotent Lua ledger write
 * (`SADD ids <opId>; INCR ctr`, atomic on the server: duplicates = ctr − SCARD). Every operation
 * is recorded with its start, end, deadline and typed outcome, so the run can report acked /
 * not-executed / outcome-unknown / unsettled counts, the worst overshoot past a deadline, and
 * per-worker recovery times after the fault is cleared.
 */
import type { Pool } from '../../../src/pool/pool.js';
import type { RedisProcess } from '../../support/redis-process.js';
import type { Transcript } from './capture.js';
import { sleep } from './guard.js';

/** The ledger script: one atomic SADD + INCR. */
export const LEDGER_SCRIPT = "redis.call('SADD', KEYS[1], ARGV[1]); return redis.call('INCR', KEYS[2])";

/** How one operation ended. */
export type OpOutcome = 'acked' | 'not-executed' | 'unknown' | 'misdelivered';

interface OpRecord {
  kind: 'echo' | 'ledger';
  id: string;
  worker: number;
  start: number;
  end: number | undefined;
  outcome: OpOutcome | undefined;
  code: string | undefined;
  /** Echo: the GET returned nothing. */
  missing?: boolean;
}

/** Totals of one run. */
export interface WorkloadResult {
  issued: number;
  acked: number;
  notExecuted: number;
  unknown: number;
  unsettled: number;
  misdelivered: number;
  /**
   * Of `misdelivered`: echo pairs whose GET found no value at all (the acknowledged SET is gone,
   * e.g. written to a primary that was then demoted), rather than another caller's value.
   */
  echoMissing: number;
  /** Worst `settle time − deadline` over every operation, in ms (0 when none overshot). */
  worstOvershootMs: number;
  /** Ledger: writes the server ran more than once (ctr − SCARD). */
  duplicates: number;
  /** Ledger: acked writes missing from the server's id set. */
  lostAcked: number;
  /** Ledger: writes reported "not executed" (not-sent / rejected) that the server did run. Must be 0. */
  falseNotExecuted: number;
  /** Error codes seen, with counts. */
  codes: Record<string, number>;
  /** Per-worker ms from `markCleared()` to its first acked op started after it. */
  recoveryMs: number[];
  /** Workers that never succeeded after the fault was cleared. */
  unrecovered: number;
}

/** Options of {@link Workload}. */
export interface WorkloadOptions {
  workers: number;
  /** Deadline each call runs under (the pool's commandTimeoutMs), in ms. */
  deadlineMs: number;
  /** Hard cap on operations, so a fail-fast fault cannot spin. */
  maxOps: number;
  /** Key prefix (unique per run). */
  prefix: string;
}

/** See the module comment. */
export class Workload {
  readonly #pool: Pool;
  readonly #o: WorkloadOptions;
  readonly #transcript: Transcript;
  readonly #ops: OpRecord[] = [];
  readonly #workers: Array<Promise<void>> = [];
  #stop = false;
  #paused = false;
  #seq = 0;
  #clearedAt: number | undefined;
  readonly #firstOkAfterClear = new Map<number, number>();

  constructor(pool: Pool, options: WorkloadOptions, transcript: Transcript) {
    this.#pool = pool;
    this.#o = options;
    this.#transcript = transcript;
  }

  get ledgerIds(): string {
    return `${this.#o.prefix}:ledger:ids`;
  }

  get ledgerCtr(): string {
    return `${this.#o.prefix}:ledger:ctr`;
  }

  /** Starts the workers. */
  start(): void {
    for (let w = 0; w < this.#o.workers; w++) this.#workers.push(this.#worker(w));
  }

  /** Pauses issuing (workers idle until {@link resume}); in-flight ops continue. */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
  }

  /** Marks the moment the fault was cleared (recovery is measured from here). */
  markCleared(): void {
    this.#clearedAt = performance.now();
  }

  /** The op budget ran out: the workers stopped issuing (see `maxOps`). */
  get budgetExhausted(): boolean {
    return this.#ops.length >= this.#o.maxOps;
  }

  /**
   * Resolves when every worker has had an acked op started after {@link markCleared}, or at
   * `timeoutMs`, or (false) as soon as the op budget is exhausted: stopped workers cannot recover.
   */
  async waitRecovered(timeoutMs: number): Promise<boolean> {
    const until = performance.now() + timeoutMs;
    while (performance.now() < until) {
      if (this.#firstOkAfterClear.size >= this.#o.workers) return true;
      if (this.budgetExhausted) return false;
      await sleep(20);
    }
    return false;
  }

  /** Stops issuing and waits (bounded) for the workers to finish their current op. */
  async stop(graceMs: number): Promise<void> {
    this.#stop = true;
    this.#paused = false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.#workers), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }

  async #worker(w: number): Promise<void> {
    while (!this.#stop && this.#ops.length < this.#o.maxOps) {
      if (this.#paused) {
        await sleep(10);
        continue;
      }
      const ok = this.#seq % 2 === 0 ? await this.#echo(w) : await this.#ledger(w);
      // Fail-fast errors return at once: pace retries so a down server is not a busy loop.
      if (!ok) await sleep(10);
    }
  }

  #record(kind: OpRecord['kind'], worker: number): OpRecord {
    const rec: OpRecord = {
      kind,
      id: `${this.#o.prefix}:${kind}:${++this.#seq}`,
      worker,
      start: performance.now(),
      end: undefined,
      outcome: undefined,
      code: undefined,
    };
    this.#ops.push(rec);
    return rec;
  }

  #settle(rec: OpRecord, outcome: OpOutcome, err?: unknown): boolean {
    rec.end = performance.now();
    rec.outcome = outcome;
    if (err !== undefined) {
      const e = err as { code?: string; prefix?: string };
      rec.code = e.code === 'ERR_REPLY' && e.prefix ? `ERR_REPLY:${e.prefix}` : (e.code ?? 'NON_REDPOOL_ERROR');
      this.#transcript.error(err);
    }
    if (outcome === 'acked' && this.#clearedAt !== undefined && rec.start >= this.#clearedAt && !this.#firstOkAfterClear.has(rec.worker)) {
      this.#firstOkAfterClear.set(rec.worker, rec.end - this.#clearedAt);
    }
    return outcome === 'acked';
  }

  #failure(rec: OpRecord, err: unknown): boolean {
    const outcome = (err as { outcome?: string }).outcome;
    // 'not-sent' never reached Redis; 'rejected' is an error reply (OOM, LOADING, READONLY,
    // BUSY, MASTERDOWN …): for this workload's commands both mean "did not run".
    return this.#settle(rec, outcome === 'unknown' ? 'unknown' : 'not-executed', err);
  }

  async #echo(w: number): Promise<boolean> {
    const rec = this.#record('echo', w);
    const value = `v-${rec.id}`;
    try {
      const set = await this.#pool.set(rec.id, value, 'PX', 600_000);
      if (set !== 'OK') return this.#settle(rec, 'misdelivered');
      // The GET is its own operation for accounting: the pair is acked only if both succeed.
      const got = await this.#pool.get(rec.id);
      if (got === null) rec.missing = true;
      return this.#settle(rec, got === value ? 'acked' : 'misdelivered');
    } catch (err) {
      return this.#failure(rec, err);
    }
  }

  async #ledger(w: number): Promise<boolean> {
    const rec = this.#record('ledger', w);
    try {
      const n = await this.#pool.eval(LEDGER_SCRIPT, 2, this.ledgerIds, this.ledgerCtr, rec.id);
      return this.#settle(rec, typeof n === 'number' ? 'acked' : 'misdelivered');
    } catch (err) {
      return this.#failure(rec, err);
    }
  }

  /** Computes the totals; reads the ledger from `server` (which must be up). */
  async result(server: RedisProcess): Promise<WorkloadResult> {
    const r: WorkloadResult = {
      issued: this.#ops.length,
      acked: 0,
      notExecuted: 0,
      unknown: 0,
      unsettled: 0,
      misdelivered: 0,
      echoMissing: 0,
      worstOvershootMs: 0,
      duplicates: 0,
      lostAcked: 0,
      falseNotExecuted: 0,
      codes: {},
      recoveryMs: [],
      unrecovered: 0,
    };
    const ackedLedger: string[] = [];
    const notExecutedLedger = new Set<string>();
    for (const op of this.#ops) {
      if (op.end === undefined) {
        r.unsettled++;
        continue;
      }
      // An echo pair is two calls, each with its own deadline.
      const budget = this.#o.deadlineMs * (op.kind === 'echo' ? 2 : 1);
      r.worstOvershootMs = Math.max(r.worstOvershootMs, op.end - op.start - budget);
      if (op.code) r.codes[op.code] = (r.codes[op.code] ?? 0) + 1;
      switch (op.outcome) {
        case 'acked':
          r.acked++;
          if (op.kind === 'ledger') ackedLedger.push(op.id);
          break;
        case 'not-executed':
          r.notExecuted++;
          if (op.kind === 'ledger') notExecutedLedger.add(op.id);
          break;
        case 'unknown':
          r.unknown++;
          break;
        case 'misdelivered':
          r.misdelivered++;
          if (op.missing) r.echoMissing++;
          break;
        default:
          break;
      }
    }
    const ctr = Number((await server.command('GET', this.ledgerCtr)) ?? 0);
    const members = ((await server.command('SMEMBERS', this.ledgerIds)) as string[] | null) ?? [];
    const onServer = new Set(members);
    r.duplicates = ctr - onServer.size;
    r.lostAcked = ackedLedger.filter((id) => !onServer.has(id)).length;
    r.falseNotExecuted = members.filter((id) => notExecutedLedger.has(id)).length;
    r.recoveryMs = [...this.#firstOkAfterClear.values()].sort((a, b) => a - b);
    r.unrecovered = this.#clearedAt === undefined ? 0 : this.#o.workers - this.#firstOkAfterClear.size;
    return r;
  }
}

/** The `p`-th percentile (0..100) of sorted `values` (nearest rank), or NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
