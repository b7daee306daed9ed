/**
 * Runs one report scenario end to end: fresh server (+ proxy), a pool with a canary password,
 * the mixed workload, inject → hold → clear, recovery, then teardown with the leak checks
 * (connections by client name, timers, canary hits).
 */
import { createPool } from '../../../src/pool/pool.js';
import type { PoolOptions } from '../../../src/options.js';
import { startRedis, type RedisProcess } from '../../support/redis-process.js';
import { FaultProxy } from '../../helpers/fault-proxy.js';
import { clientNames } from '../../helpers/redis.js';
import { CANARY_PASSWORD, Transcript } from './capture.js';
import { settle, sleep } from './guard.js';
import type { Scenario, ScenarioContext } from './scenarios.js';
import { TimerTracker } from './timers.js';
import { Workload, type WorkloadResult } from './workload.js';

/** Pool options every report scenario uses (scenarios may add to them). */
export const REPORT_POOL: PoolOptions = {
  max: 6,
  min: 2,
  lanes: 2,
  commandTimeoutMs: 300,
  connectTimeoutMs: 300,
  acquireTimeoutMs: 600,
  housekeepingIntervalMs: 100,
};

/** Workers in the mixed workload. */
export const WORKERS = 8;

/** Everything measured for one scenario run. */
export interface ScenarioResult extends WorkloadResult {
  id: string;
  row: string;
  title: string;
  rep: number;
  /** Connections named `redpool:<name>:*` still on the server after close (bounded wait). */
  leakedConnections: number;
  /** Timers created since the pool was made and still pending after close. */
  leakedTimers: number;
  /** Ref'd `Timeout` handles (process.getActiveResourcesInfo) after close minus before the pool. */
  leakedActiveTimeouts: number;
  canaryHits: number;
  /** Characters of captured logs/errors/reports that were scanned for the canary. */
  scannedChars: number;
  /** Health report after recovery. */
  healthAfter: string;
  /** Pool counters after the run (JSON). */
  statsAfter: string;
  /** Problems that are not numbers (e.g. close() hung). */
  notes: string[];
  wallMs: number;
}

function activeTimeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

let runSeq = 0;

/** Operations per scenario run at most (a bound on every load loop). */
const MAX_OPS = 500_000;

/** Runs `sc` once (repetition `rep`) and returns its figures. Never throws for a fault's effects. */
export async function runScenario(sc: Scenario, rep: number): Promise<ScenarioResult> {
  const started = performance.now();
  const notes: string[] = [];
  const transcript = new Transcript();
  const server: RedisProcess = await startRedis({ ...sc.server, requirepass: CANARY_PASSWORD, startTimeoutMs: 10_000 });
  let proxy: FaultProxy | undefined;
  try {
    if (sc.proxy) proxy = await FaultProxy.start({ port: server.port });
    const name = `rep-${sc.id}-${process.pid % 10_000}-${++runSeq}`;
    const timeoutsBefore = activeTimeouts();
    const timers = new TimerTracker().start();
    const ctx = { server, proxy, name, password: CANARY_PASSWORD, state: {} } as ScenarioContext;
    const pool = createPool({
      ...REPORT_POOL,
      ...sc.pool,
      host: '127.0.0.1',
      port: proxy ? proxy.port : server.port,
      name,
      logger: transcript.logger,
      credentials: () => ({ password: ctx.password }),
    });
    pool.on('warning', (w) => transcript.text(w.message));
    ctx.pool = pool;
    const deadlineMs = REPORT_POOL.commandTimeoutMs!;
    // The cap only stops a fail-fast loop from spinning; it must outlast a healthy scenario
    // (~100 k ops/s at full speed), or the workers stop before recovery can be observed.
    const workload = new Workload(pool, { workers: WORKERS, deadlineMs, maxOps: MAX_OPS, prefix: `wl:${sc.id}:${rep}` }, transcript);
    ctx.workload = workload;
    try {
      await sc.prepare?.(ctx);
      const ready = await settle(pool.ready(), 5_000, 'ready');
      if (!ready.ok) notes.push(`ready() failed: ${(ready.error as Error).message}`);
      workload.start();
      await sleep(300); // warm
      await sc.inject(ctx);
      await sleep(sc.holdMs);
      await sc.clear(ctx);
      workload.markCleared();
      if (!(await workload.waitRecovered(10_000))) {
        notes.push(workload.budgetExhausted
          ? `the op budget (${MAX_OPS}) ran out before every worker recovered: the scenario stopped early (raise MAX_OPS)`
          : 'not every worker recovered within 10 s of the fault clearing');
      }
      await sleep(300); // steady state again
      await workload.stop(deadlineMs * 2 + 1_000);
      const health = await settle(pool.health({ timeoutMs: 300 }), 2_000, 'health()');
      const healthAfter = health.ok ? `${health.value.status}: ${health.value.message}` : `health() failed: ${String(health.error)}`;
      transcript.value(health.ok ? health.value : health.error);
      transcript.value(pool.stats());
      transcript.value(pool);
      transcript.value(pool.options);
      const statsAfter = JSON.stringify(pool.stats());
      const result = await workload.result(server);
      const closed = await settle(pool.close({ timeoutMs: 2_000 }), 5_000, 'close()').catch((e: unknown) => ({ ok: false as const, error: e }));
      if (!closed.ok) {
        notes.push(`close() did not settle: ${String(closed.error)}`);
        await settle(pool.destroy(), 2_000, 'destroy()').catch(() => undefined);
      }
      let leakedConnections = 0;
      for (let i = 0; i < 30; i++) {
        leakedConnections = (await clientNames(server, `redpool:${name}:`)).length;
        if (leakedConnections === 0) break;
        await sleep(50);
      }
      await proxy?.close();
      const leakedTimers = await timers.settledCount();
      timers.stop();
      const leakedActiveTimeouts = Math.max(0, activeTimeouts() - timeoutsBefore);
      const text = transcript.all();
      return {
        ...result, id: sc.id, row: sc.row, title: sc.title, rep, leakedConnections, leakedTimers, leakedActiveTimeouts,
        canaryHits: transcript.hits(CANARY_PASSWORD), scannedChars: text.length, healthAfter, statsAfter, notes,
        wallMs: performance.now() - started,
      };
    } finally {
      await workload.stop(100);
      if (pool.state !== 'closed') await settle(pool.destroy(), 2_000, 'destroy()').catch(() => undefined);
      timers.stop();
    }
  } finally {
    await proxy?.close();
    await server.stop();
  }
}
