/**
 * The cluster pool's topology refresh and redirect hints on the fake cluster with a ManualClock:
 * a frozen node does not hold a refresh (hedged sources, a node with deadlines asked last, a
 * pooled source's timeout independent of connectTimeoutMs); an ASK to a known node asks for no
 * refresh; a MOVED on a lease patches the map and asks for one; a blocking command that gets
 * ASK goes to the importing node after ASKING on its own connection.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReplyError, type ClusterPool } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { FakeCluster, idOf, openFakeClusterPool, settle } from '../helpers/fake-cluster.js';
import { keyInSlot } from '../helpers/cluster-keys.js';

/** The shared fake-cluster pool, without health-check PINGs (they would add fake traffic). */
const open = (fc: FakeCluster, clock: ManualClock, extra: Parameters<typeof openFakeClusterPool>[2] = {}): Promise<ClusterPool> =>
  openFakeClusterPool(fc, clock, { healthCheckIntervalMs: 0, ...extra });

/** Advances the clock in `step` ms until `p` settles or `limit` ms passed; returns the ms spent. */
async function drive(clock: ManualClock, p: Promise<unknown>, step: number, limit: number): Promise<number> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  let spent = 0;
  await settle();
  while (!done && spent < limit) {
    clock.advance(step);
    spent += step;
    await settle();
  }
  return spent;
}

void test('frozen primary, default connectTimeoutMs: after its first deadline the refresh does not wait on it; the refresh lands ≤ 200 ms after its rate-limit window', async (t) => {
  // The refresher's shuffle keeps the list order (7001 first): before the fix, the frozen node
  // was asked first and held the load for min(connectTimeoutMs + 1000, 5000) = 5000 ms.
  t.mock.method(Math, 'random', () => 0.99);
  const fc = new FakeCluster();
  const clock = new ManualClock();
  const pool = await open(fc, clock, { commandTimeoutMs: 500 });
  assert.equal(pool.options.connectTimeoutMs, 5000, 'default');
  const opened = clock.now(); // the ready() load started here: the rate limit counts from it
  // 7001 freezes (nothing it receives is answered) and 7002 takes its slots over.
  fc.hook = (port) => (port === 7001 ? new Promise(() => undefined) : undefined);
  for (let s = 0; s <= 5460; s++) fc.owner[s] = 7002;
  fc.publish();
  const key = keyInSlot(3);
  const first = pool.set(key, 'lost?').then(
    () => assert.fail('the frozen node answered'),
    (e: unknown) => e as { code: string; outcome: string },
  );
  await drive(clock, first, 50, 600);
  assert.equal((await first).code, 'ERR_COMMAND_TIMEOUT');
  // The timeout asked for a refresh (rate-limited: it runs at the end of the 1 s window of the
  // ready() load), which must not wait on the frozen node.
  await drive(clock, waitEpoch(pool, 2), 20, 7000);
  assert.ok(
    clock.now() - opened <= 1000 + 200,
    `the refresh was applied ${clock.now() - opened} ms after the last (it waited on the frozen node)`,
  );
  assert.equal(await pool.set(key, 'after'), 'OK', 'a write on the frozen node’s slots succeeds');
  assert.equal(fc.stores.get(7002)!.get(key), 'after');
  const stats = pool.stats();
  assert.deepEqual(Object.keys(stats.nodes).sort(), [idOf(7002), idOf(7003)], '7001 no longer serves slots: drained');
  await pool.destroy();
});

void test('frozen source not yet suspected: the next source is asked after the hedge delay, not after its timeout', async (t) => {
  t.mock.method(Math, 'random', () => 0.99);
  const fc = new FakeCluster();
  const clock = new ManualClock();
  const pool = await open(fc, clock);
  fc.hook = (port, name) => (port === 7001 && name === 'cluster' ? new Promise(() => undefined) : undefined);
  clock.advance(1000); // past the rate limit of the ready() load
  fc.owner[42] = 7003;
  fc.publish();
  await pool.set(keyInSlot(42), 'v'); // MOVED: a refresh, 7001 asked first (list order)
  const spent = await drive(
    clock,
    new Promise((r) => setImmediate(r)).then(() => waitEpoch(pool, 2)),
    10,
    5000,
  );
  assert.ok(spent <= 200, `the refresh took ${spent} ms: it waited on the silent source`);
  const refresh = pool.stats().cluster.refresh;
  assert.equal(refresh.succeeded, 2);
  assert.ok(refresh.sourcesAsked >= 3, 'the silent source and the next were both asked');
  await pool.destroy();
});

/** Resolves once the pool applied a refresh after `loads` loads. */
async function waitEpoch(pool: ClusterPool, loads: number): Promise<void> {
  while (pool.stats().cluster.refresh.succeeded < loads) await new Promise((r) => setImmediate(r));
}

void test('ASK to a node the pool knows asks for no topology refresh (a migration in progress is normal)', async () => {
  const fc = new FakeCluster();
  const pool = await open(fc, new ManualClock());
  const key = keyInSlot(7);
  fc.migrating.set(7, 7002);
  fc.stores.get(7002)!.set(key, 'there');
  for (let i = 0; i < 5; i++) assert.equal(await pool.get(key), 'there');
  const c = pool.stats().cluster;
  assert.equal(c.ask, 5);
  assert.equal(c.refresh.requested['ask-unknown-node'], undefined, 'no refresh requested for a known node');
  assert.equal(c.refresh.loads, 1, 'only the ready() load');
  await pool.destroy();
});

void test('MOVED on a slot-pinned lease reaches the caller, patches the map and asks for a refresh', async () => {
  const fc = new FakeCluster();
  const pool = await open(fc, new ManualClock());
  const key = keyInSlot(99);
  const err = await pool.withConnection({ key }, async (lease) => {
    fc.owner[99] = 7003; // the slot moves while the lease is held
    return lease.set(key, 'v').then(
      () => assert.fail('expected MOVED'),
      (e: unknown) => e as ReplyError,
    );
  });
  assert.ok(err instanceof ReplyError);
  assert.match(err.message, /^MOVED 99 /);
  assert.equal(pool.stats().cluster.refresh.requested.moved, 1, 'a refresh was asked for');
  // The next lease for the slot is on the new owner at once.
  await pool.withConnection({ key }, (lease) => lease.set(key, 'w'));
  assert.equal(fc.stores.get(7003)!.get(key), 'w');
  await pool.destroy();
});

void test('a blocking command that gets ASK goes to the importing node after ASKING, on a connection of its own', async () => {
  const fc = new FakeCluster();
  const pool = await open(fc, new ManualClock());
  const key = keyInSlot(8);
  fc.migrating.set(8, 7002);
  fc.hook = (port, name, args) => {
    if (name !== 'blpop') return undefined;
    if (port === 7001) throw new ReplyError(`ASK 8 127.0.0.1:7002`, 'BLPOP');
    return [String(args[0]), 'item'];
  };
  assert.deepEqual(await pool.blpop(key, 1), [key, 'item']);
  const conn = fc.driver.all.find((c) => c.spec.port === 7002 && c.log.some(([n]) => n === 'blpop'))!;
  const i = conn.log.findIndex(([n]) => n === 'blpop');
  assert.deepEqual(conn.log[i - 1], ['asking'], 'ASKING right before it on the same connection');
  assert.equal(pool.stats().cluster.ask, 1);
  await pool.destroy();
});
