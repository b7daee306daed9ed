/**
 * Property test of the engine on the fake driver: random sequences of acquire / release /
 * double release / lease destroy / release with a command in flight / withConnection / kill or freeze a connection / connect
 * failures / clock advances / housekeeping / shared commands / close, against pools with
 * random small sizes. After every step: total ≤ max, leases ≤ max − lanes, pending ≤
 * maxWaiting, no connection held by two live leases or by a lease and a lane. After close:
 * every promise settled, nothing busy, pending, connecting or open, no timers.
 *
 * Replay a failure with the seed it prints: `FC_SEED=<seed> [FC_PATH=<path>] node --test …`.
 * `FC_RUNS` overrides the number of runs (default 200).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Lease, PoolOptions } from '../../src/index.js';
import { fakePool, flush, shutdown, track, type FakePool, type Tracked } from '../helpers/pool-fixtures.js';

type Op =
  | { t: 'acquire'; timeoutMs: number }
  | { t: 'release'; i: number }
  | { t: 'doubleRelease'; i: number }
  | { t: 'destroyLease'; i: number }
  | { t: 'releaseBusy'; i: number }
  | { t: 'withConnection'; throws: boolean }
  | { t: 'shared'; hang: boolean }
  | { t: 'kill'; i: number }
  | { t: 'freeze'; i: number }
  | { t: 'connects'; ok: boolean }
  | { t: 'advance'; ms: number }
  | { t: 'housekeep' }
  | { t: 'close'; destroy: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('acquire' as const), timeoutMs: fc.integer({ min: 1, max: 500 }) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('release' as const), i: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('doubleRelease' as const), i: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('destroyLease' as const), i: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('releaseBusy' as const), i: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('withConnection' as const), throws: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('shared' as const), hang: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('kill' as const), i: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('freeze' as const), i: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('connects' as const), ok: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 1_500 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('housekeep' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('close' as const), destroy: fc.boolean() }) },
);

const configArb = fc
  .record({
    max: fc.integer({ min: 1, max: 5 }),
    lanesFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    minFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    maxWaiting: fc.integer({ min: 0, max: 6 }),
    acquireTimeoutMs: fc.integer({ min: 1, max: 800 }),
    commandTimeoutMs: fc.integer({ min: 1, max: 800 }),
    failureThreshold: fc.integer({ min: 1, max: 4 }),
    idleTimeoutMs: fc.constantFrom(0, 200, 1_000),
    maxLifetimeMs: fc.constantFrom(0, 700, 3_000),
    validateAfterIdleMs: fc.constantFrom(0, 100, 500),
    housekeepingIntervalMs: fc.constantFrom(100, 3_600_000),
    retries: fc.integer({ min: 0, max: 3 }),
  })
  .map(({ max, lanesFrac, minFrac, ...rest }): Partial<PoolOptions> & { max: number; lanes: number } => ({
    ...rest,
    max,
    lanes: Math.max(1, Math.ceil(lanesFrac * max)),
    min: Math.floor(minFrac * max),
    connectTimeoutMs: Math.min(rest.acquireTimeoutMs, 500),
  }));

interface Held {
  lease: Lease;
  live: boolean;
}

/** Runs one scenario; throws on the first broken invariant. */
async function scenario(config: Partial<PoolOptions> & { max: number; lanes: number }, ops: Op[]): Promise<void> {
  const fp = fakePool(undefined, config);
  const { pool, driver, clock, script } = fp;
  const promises: Array<Tracked<unknown>> = [];
  const held: Held[] = [];
  /** FakeConnections that received shared-lane commands (they must never be leased). */
  const laneConns = new Set<number>();
  script.on(
    (name, args) => name === 'get' && String(args[0]).startsWith('shared:'),
    (_n, args, conn) => {
      laneConns.add(conn.id);
      return String(args[0]).endsWith(':hang') ? new Promise(() => undefined) : 'v';
    },
  );
  script.hang((name, args) => name === 'get' && args[0] === 'lease:hang');
  const keep = <T>(p: Promise<T>): Tracked<T> => {
    const t = track(p);
    promises.push(t as Tracked<unknown>);
    return t;
  };
  const live = (): Held[] => held.filter((h) => h.live);
  const pick = <T>(xs: readonly T[], i: number): T | undefined => (xs.length === 0 ? undefined : xs[i % xs.length]);
  let closing: Tracked<void> | undefined;

  try {
    for (const [step, op] of ops.entries()) {
      switch (op.t) {
        case 'acquire': {
          const t = keep(pool.acquire({ timeoutMs: op.timeoutMs }));
          void t.promise.then(
            (lease) => held.push({ lease, live: true }),
            () => undefined,
          );
          break;
        }
        case 'release': {
          const h = pick(live(), op.i);
          if (h) {
            h.live = false;
            h.lease.release();
          }
          break;
        }
        case 'doubleRelease': {
          const h = pick(
            held.filter((x) => !x.live),
            op.i,
          );
          if (h)
            assert.throws(
              () => h.lease.release(),
              (e: { code?: string }) => e.code === 'ERR_LEASE_RELEASED' || e.code === 'ERR_FOREIGN_LEASE',
            );
          break;
        }
        case 'destroyLease': {
          const h = pick(live(), op.i);
          if (h) {
            h.live = false;
            h.lease.destroy();
          }
          break;
        }
        case 'releaseBusy': {
          // Release with a command still in flight: the connection must be destroyed, not reused.
          const h = pick(live(), op.i);
          if (h) {
            // Lease commands after close are skipped: that known engine bug (a sweep timer armed
            // on a closed pool) has its own todo test in engine-lifecycle.test.ts.
            if (pool.state === 'open') keep(h.lease.get('lease:hang'));
            h.live = false;
            h.lease.release();
          }
          break;
        }
        case 'withConnection':
          keep(
            pool.withConnection(async (c) => {
              await c.ping();
              if (op.throws) throw new Error('callback failed');
            }),
          );
          break;
        case 'shared':
          keep(pool.get(op.hang ? `shared:${step}:hang` : `shared:${step}`));
          break;
        case 'kill':
          pick([...driver.open], op.i)?.kill(new Error('killed by the test'));
          break;
        case 'freeze': {
          const c = pick([...driver.open], op.i);
          if (c) script.freeze(c);
          break;
        }
        case 'connects':
          driver.behaviour = op.ok ? 'ok' : 'fail';
          break;
        case 'advance':
          clock.advance(op.ms);
          break;
        case 'housekeep':
          pool.housekeep();
          break;
        case 'close':
          closing ??= keep(op.destroy ? pool.destroy() : pool.close({ timeoutMs: 1_000 }));
          break;
      }
      await flush(3);
      await checkInvariants(fp, config, held, laneConns, keep, `step ${step} (${JSON.stringify(op)})`);
    }

    // The end: close (if not yet), give the drain its deadline, and check nothing is left.
    driver.behaviour = 'ok';
    closing ??= keep(pool.close({ timeoutMs: 1_000 }));
    for (let i = 0; i < 10 && !closing.settled; i++) {
      clock.advance(500);
      await flush(3);
    }
    await flush(3);
    assert.ok(closing.settled, 'close() settled');
    const unsettled = promises.filter((p) => !p.settled).length;
    assert.equal(unsettled, 0, `${unsettled} caller promises never settled`);
    const s = pool.stats();
    assert.deepEqual(
      {
        state: s.state,
        busy: s.busy,
        pending: s.pending,
        connecting: s.connecting,
        total: s.total,
        open: driver.open.size,
        timers: clock.pendingTimers,
      },
      { state: 'closed', busy: 0, pending: 0, connecting: 0, total: 0, open: 0, timers: 0 },
    );
    for (const h of live()) h.lease.release(); // late releases are harmless
    assert.equal(clock.pendingTimers, 0);
  } finally {
    await shutdown(fp);
  }
}

async function checkInvariants(
  fp: FakePool,
  config: { max: number; lanes: number; maxWaiting?: number },
  held: Held[],
  laneConns: Set<number>,
  keep: <T>(p: Promise<T>) => Tracked<T>,
  where: string,
): Promise<void> {
  const s = fp.pool.stats();
  assert.ok(s.total <= config.max, `${where}: total ${s.total} > max ${config.max}`);
  assert.ok(s.leased <= config.max - config.lanes, `${where}: leased ${s.leased} > max - lanes ${config.max - config.lanes}`);
  assert.ok(s.pending <= (config.maxWaiting ?? Infinity), `${where}: pending ${s.pending} > maxWaiting`);
  assert.ok(fp.driver.open.size <= config.max, `${where}: ${fp.driver.open.size} sockets open > max`);
  if (s.state !== 'open') return; // no more lease commands once closing (they are refused or would re-arm timers)

  // Which FakeConnection does each live lease hold? Ask it (CLIENT ID); frozen or dead ones do not answer.
  const live = held.filter((h) => h.live);
  const asks = live.map((h) => keep(h.lease.client('ID') as Promise<unknown>));
  await flush(2);
  const owner = new Map<number, number>();
  for (const [i, a] of asks.entries()) {
    if (!a.settled || a.error !== undefined) continue;
    const connId = a.value as number;
    assert.ok(!laneConns.has(connId), `${where}: lease ${live[i]!.lease.id} holds connection ${connId}, which serves as a lane`);
    const other = owner.get(connId);
    assert.equal(other, undefined, `${where}: connection ${connId} is leased to two live leases (#${other} and #${i})`);
    owner.set(connId, i);
  }
}

void test('random acquire/release/fail/close sequences keep the pool invariants', { timeout: 300_000 }, async () => {
  const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const path = process.env.FC_PATH;
  const numRuns = Number(process.env.FC_RUNS ?? 200);
  try {
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(opArb, { minLength: 1, maxLength: 60, size: 'max' }), (config, ops) => scenario(config, ops)),
      { seed, path, numRuns, interruptAfterTimeLimit: 120_000, endOnFailure: false },
    );
  } catch (err) {
    console.error(`pool property failed: replay with FC_SEED=${seed} (add FC_PATH=<path from the error> to replay only the shrunk case)`);
    console.error('first broken invariant:', (err as Error).cause);
    throw err;
  }
});
