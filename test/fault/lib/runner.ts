/**
 * Runs one report scenario end to end: fresh server (+ proxy), a pool with a canary password,
 * the mixed workload, inject → hold → clear, recovery, then teardown with the leak checks
 * (connections by client name, timers, canary hits).
 */
import { ioredisDriver } from '../../../src/driver/ioredis-driver.js';
import type { Driver } from '../../../src/driver/driver.js';
import { createPool, type Pool } from '../../../src/pool/pool.js';
import type { PoolOptions } from '../../../src/options.js';
import { startRedis, type RedisProcess } from '../../support/redis-process.js';
import { FaultProxy } from '../../helpers/fault-proxy.js';
import { clientNames } from '../../helpers/redis.js';
import { CANARY_PASSWORD, Transcript } from './capture.js';
import { settle, sleep } from './guard.js';
import type { Check, CheckContext, CheckOutcome } from './checks.js';
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

/**
 * Connect attempts seen by the driver: when each started, and how many were in flight when one
 * started while the pool was unavailable (the probe must dial alone: no storm).
 */
export class DialCounter {
  readonly starts: number[] = [];
  /** Start times of the attempts made while the pool was unavailable (probes). */
  readonly probeStarts: number[] = [];
  /** Pool health changes: [time, new health]. */
  readonly health$: Array<[number, string]> = [];
  /** Reads the pool's health; set once the pool exists. */
  health: () => string = () => 'healthy';
  #inFlight = 0;
  #windowMax = 0;
  #windowFrom = Infinity;

  /** Wraps `inner` so that every connect is counted. */
  wrap(inner: Driver): Driver {
    return {
      name: inner.name,
      connect: async (spec) => {
        const now = performance.now();
        this.starts.push(now);
        this.#inFlight++;
        if (this.health() === 'unavailable') this.probeStarts.push(now);
        if (now >= this.#windowFrom && this.health() === 'unavailable') this.#windowMax = Math.max(this.#windowMax, this.#inFlight);
        try {
          return await inner.connect(spec);
        } finally {
          this.#inFlight--;
        }
      },
    };
  }

  /** Starts tracking the most dials in flight at once (from now). */
  markFrom(at: number): void {
    this.#windowFrom = at;
    this.#windowMax = 0;
  }

  /** Most dials in flight when a dial started while unavailable, since {@link markFrom}. */
  get mostInFlight(): number {
    return this.#windowMax;
  }

  /** Attempts started in [from, to). */
  between(from: number, to: number): number {
    return this.starts.filter((t) => t >= from && t < to).length;
  }

  /** Time in [from, to) the pool spent unavailable, in ms, and the probes it made meanwhile. */
  unavailable(from: number, to: number): { ms: number; probes: number } {
    let ms = 0;
    let since: number | undefined;
    for (const [t, h] of this.health$) {
      if (h === 'unavailable') since ??= t;
      else if (since !== undefined) {
        ms += Math.max(0, Math.min(t, to) - Math.max(since, from));
        since = undefined;
      }
    }
    if (since !== undefined) ms += Math.max(0, to - Math.max(since, from));
    return { ms, probes: this.probeStarts.filter((t) => t >= from && t < to).length };
  }
}

/** Everything measured for one scenario run. */
export interface ScenarioResult extends WorkloadResult {
  id: string;
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
  /** From injecting the fault to clearing it (the server answers again), in ms. */
  faultMs: number;
  /** Connect attempts the pool started while the fault lasted. */
  faultConnects: number;
  /** Most connect attempts in flight at once when one started while the pool was unavailable (fault window). */
  faultMostInFlight: number;
  /** Time the pool was unavailable while the fault lasted, in ms. */
  unavailableMs: number;
  /** Connect attempts (probes) started while unavailable in the fault window. */
  unavailableProbes: number;
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
    const dials = new DialCounter();
    const pool = createPool({
      ...REPORT_POOL,
      ...sc.pool,
      cluster: undefined,
      driver: dials.wrap(sc.pool?.driver ?? ioredisDriver()),
      host: '127.0.0.1',
      port: proxy ? proxy.port : server.port,
      name,
      logger: transcript.logger,
      credentials: () => ({ password: ctx.password }),
    });
    pool.on('warning', (w) => transcript.text(w.message));
    dials.health = () => pool.stats().health;
    pool.on('health', (e) => dials.health$.push([performance.now(), e.to]));
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
      const injectedAt = performance.now();
      dials.markFrom(injectedAt);
      await sc.inject(ctx);
      await sleep(sc.holdMs);
      await sc.clear(ctx);
      // clear() resolves once the server answers again (PING after a restart, SIGCONT, the
      // proxy forwarding): recovery is measured from here.
      workload.markCleared();
      const clearedAt = performance.now();
      const faultMs = clearedAt - injectedAt;
      const faultConnects = dials.between(injectedAt, clearedAt);
      const faultMostInFlight = dials.mostInFlight;
      const down = dials.unavailable(injectedAt, clearedAt);
      if (!(await workload.waitRecovered(10_000))) {
        notes.push(
          workload.budgetExhausted
            ? `the op budget (${MAX_OPS}) ran out before every worker recovered: the scenario stopped early (raise MAX_OPS)`
            : 'not every worker recovered within 10 s of the fault clearing',
        );
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
      const closed = await settle(pool.close({ timeoutMs: 2_000 }), 5_000, 'close()').catch((e: unknown) => ({
        ok: false as const,
        error: e,
      }));
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
        ...result,
        id: sc.id,
        title: sc.title,
        rep,
        leakedConnections,
        leakedTimers,
        leakedActiveTimeouts,
        canaryHits: transcript.hits(CANARY_PASSWORD),
        scannedChars: text.length,
        healthAfter,
        statsAfter,
        notes,
        wallMs: performance.now() - started,
        faultMs,
        faultConnects,
        faultMostInFlight,
        unavailableMs: down.ms,
        unavailableProbes: down.probes,
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

/** What one targeted check run measured. */
export interface CheckResult extends CheckOutcome {
  id: string;
  row: string;
  title: string;
  expected: string;
  rep: number;
  /** Connections of the check's pools still on the server after close. */
  leakedConnections: number;
  canaryHits: number;
  wallMs: number;
}

/** Runs targeted check `ck` once on a fresh server (+ proxy); never throws for the check's own failure. */
export async function runCheck(ck: Check, rep: number): Promise<CheckResult> {
  const started = performance.now();
  const transcript = new Transcript();
  const server: RedisProcess = await startRedis({ ...ck.server, requirepass: CANARY_PASSWORD, startTimeoutMs: 10_000 });
  let proxy: FaultProxy | undefined;
  const prefix = `chk-${ck.id}-${process.pid % 10_000}-${++runSeq}`;
  const pools: Pool[] = [];
  let outcome: CheckOutcome;
  try {
    if (ck.proxy) proxy = await FaultProxy.start({ port: server.port });
    const ctx: CheckContext = {
      server,
      proxy,
      pool: (options) => {
        const pool = createPool({
          ...REPORT_POOL,
          ...options,
          cluster: undefined, // a single-node pool, whatever the scenario's options say
          host: '127.0.0.1',
          port: proxy ? proxy.port : server.port,
          name: `${prefix}-${pools.length + 1}`,
          logger: transcript.logger,
          credentials: () => ({ password: CANARY_PASSWORD }),
        });
        pool.on('warning', (w) => transcript.text(w.message));
        pools.push(pool);
        return pool;
      },
      capture: (value) => (value instanceof Error ? transcript.error(value) : transcript.value(value)),
    };
    try {
      outcome = await ck.run(ctx);
    } catch (err) {
      transcript.error(err);
      outcome = { measured: 'the check itself failed', violations: [`check failed: ${err instanceof Error ? err.message : String(err)}`] };
    }
    if (server.paused) server.resume();
    await proxy?.pass();
    for (const pool of pools) {
      transcript.value(pool);
      transcript.value(pool.stats());
      const closed = await settle(pool.close({ timeoutMs: 2_000 }), 5_000, 'close()').catch((e: unknown) => ({
        ok: false as const,
        error: e,
      }));
      if (!closed.ok) {
        outcome.violations.push(`close() did not settle: ${String(closed.error)}`);
        await settle(pool.destroy(), 2_000, 'destroy()').catch(() => undefined);
      }
    }
    let leakedConnections = 0;
    for (let i = 0; i < 30; i++) {
      leakedConnections = (await clientNames(server, `redpool:${prefix}-`)).length;
      if (leakedConnections === 0) break;
      await sleep(50);
    }
    return {
      ...outcome,
      id: ck.id,
      row: ck.row,
      title: ck.title,
      expected: ck.expected,
      rep,
      leakedConnections,
      canaryHits: transcript.hits(CANARY_PASSWORD),
      wallMs: performance.now() - started,
    };
  } finally {
    for (const pool of pools) if (pool.state !== 'closed') await settle(pool.destroy(), 2_000, 'destroy()').catch(() => undefined);
    await proxy?.close();
    if (server.paused) server.resume();
    await server.stop();
  }
}
