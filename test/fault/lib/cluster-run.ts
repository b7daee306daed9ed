/**
 * The ledger workload of test/fault/lib/cluster-ledger.ts driven through a redpool cluster pool,
 * and the invariants every cluster scenario asserts on its result.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { RedisCluster } from '../../helpers/topology.js';
import { ClusterLedger, readClusterList, redpoolVerdict, tagsCovering, type LedgerGroup, type LedgerResult } from './cluster-ledger.js';
import type { ClusterFaultPool } from './cluster-scope.js';

/** Extra time past the deadline a call may take before it counts as overshooting, ms. */
export const SLACK_MS = 250;

/** Options of {@link poolLedger}. */
export interface PoolLedgerOptions {
  workers?: number;
  paceMs?: number;
  maxOps?: number;
  /** Hash tags (default: 48 over every slot). */
  tags?: readonly string[];
}

/** A ledger workload on `fp`'s pool; `deadlineMs` is the pool's commandTimeoutMs. */
export function poolLedger(fp: ClusterFaultPool, deadlineMs: number, o: PoolLedgerOptions = {}): ClusterLedger {
  const { pool } = fp;
  return new ClusterLedger(
    { rpush: (k, v) => pool.rpush(k, v), set: (k, v) => pool.set(k, v), get: (k) => pool.get(k) },
    {
      workers: o.workers ?? 8,
      deadlineMs,
      guardMs: deadlineMs * 2 + 2_000,
      maxOps: o.maxOps ?? 100_000,
      paceMs: o.paceMs ?? 2,
      prefix: fp.name,
      tags: o.tags ?? tagsCovering(48),
      verdict: redpoolVerdict,
    },
  );
}

/** Audits through the harness's own reads, the frozen/killed nodes last. */
export function audit(ledger: ClusterLedger, cluster: RedisCluster, affected?: (slot: number) => boolean): Promise<LedgerResult> {
  const ports = [...cluster.nodes].sort((a, b) => Number(a.server.paused) - Number(b.server.paused)).map((n) => n.port);
  return ledger.audit((key) => readClusterList(ports, key), affected);
}

/** One line of figures for the test log. */
export function summarize(label: string, g: LedgerGroup): string {
  return (
    `${label}: issued ${g.issued}, acked ${g.acked}, not-executed ${g.notExecuted}, unknown ${g.unknown}, unsettled ${g.unsettled}, ` +
    `misdelivered ${g.misdelivered}, duplicates ${g.duplicates}, lost acked ${g.lostAcked} (${g.lostAckedNearFault} in the replication window), ` +
    `false not-executed ${g.falseNotExecuted}, failed but ran ${g.failedButHeld}, worst overshoot ${g.worstOvershootMs} ms, ` +
    `first ack after fault ${g.recoveryMs ?? '—'} ms, longest gap ${g.longestGapMs ?? '—'} ms, codes ${JSON.stringify(g.codes)}`
  );
}

/**
 * The promises of every scenario: every call settled, within its deadline (+ slack); nothing ran
 * twice; no reply reached the wrong caller; nothing reported "not executed" ran; every
 * acknowledged write is on the cluster (except what the server itself lost in the replication
 * window of a killed primary).
 */
export function assertInvariants(t: TestContext, r: LedgerResult): void {
  t.diagnostic(summarize('affected slots', r.affected));
  t.diagnostic(summarize('other slots', r.others));
  const g = r.total;
  assert.ok(g.issued > 0, 'the workload issued nothing');
  assert.equal(g.unsettled, 0, 'calls that never settled');
  assert.ok(g.worstOvershootMs <= SLACK_MS, `a call settled ${g.worstOvershootMs} ms after its deadline`);
  assert.equal(g.duplicates, 0, 'writes that ran twice');
  assert.equal(g.misdelivered, 0, 'replies delivered to the wrong caller');
  assert.equal(g.falseNotExecuted, 0, 'writes reported "not executed" that ran');
  assert.equal(g.lostAcked - g.lostAckedNearFault, 0, 'acknowledged writes missing on the cluster');
}
