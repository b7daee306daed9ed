/**
 * The Sentinel read routing without servers: the replica set (which listed replicas get a pool,
 * which are dropped, which is picked), the router (retry on another replica, fallback to the
 * primary, `ERR_NO_REPLICA`, the half-deadline per attempt while a fallback exists, replies that
 * reach the caller as they are), the replica role check, the parsers, and bad input
 * (`readFrom: 'nearest'`, per call, `maxTotal` without replica reads). Fake pools and a manual
 * clock: no timing thresholds.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkCallOptions } from '../../src/commands/call-options.js';
import type { DriverConnection } from '../../src/driver/driver.js';
import {
  ArgumentError,
  ConfigError,
  ConnectionError,
  CrossSlotError,
  ReplyError,
  UnavailableError,
  type RedpoolError,
} from '../../src/errors.js';
import { createPool } from '../../src/index.js';
import type { CallOptions } from '../../src/pool/core.js';
import { parseReplicas, type ReplicaInfo } from '../../src/topology/sentinel/discovery.js';
import { ReplicaRouter } from '../../src/topology/sentinel/replica-router.js';
import { replicaReadMovable } from '../../src/resilience/classify.js';
import { ReplicaSet, replicaTopology, type ReplicaPool } from '../../src/topology/sentinel/replica-set.js';
import { eventMasterName } from '../../src/topology/sentinel/watcher.js';
import { FakeDriver, ManualClock } from '../../src/testing/index.js';
import { Pool } from '../../src/pool/pool.js';
import { asReplicaPool, SentinelReads } from '../../src/topology/sentinel/reads.js';
import { budgetShortfall } from '../../src/pool/budget.js';
import { resolveOptions } from '../../src/options.js';
import { flush, QUIET, Script } from '../helpers/pool-fixtures.js';

type Answer = (call: CallOptions) => Promise<unknown>;

interface FakePool extends ReplicaPool {
  port: number;
  calls: CallOptions[];
  closed: boolean;
  answer: Answer;
}

function fakePool(port: number): FakePool {
  const p: FakePool = {
    port,
    calls: [],
    closed: false,
    answer: () => Promise.resolve(`from ${port}`),
    get state() {
      return p.closed ? 'closed' : 'open';
    },
    call: (_n, _a, _b, call) => {
      p.calls.push(call);
      return p.answer(call);
    },
    batch: (_cmds, call) => {
      p.calls.push(call);
      return p.answer(call) as Promise<never>;
    },
    ready: () => Promise.resolve('healthy'),
    stats: () => ({ health: 'healthy', total: 1 }) as ReturnType<ReplicaPool['stats']>,
    close: () => {
      p.closed = true;
      return Promise.resolve();
    },
    destroy: () => {
      p.closed = true;
      return Promise.resolve();
    },
  };
  return p;
}

const info = (port: number, usable = true, flags = 'slave'): ReplicaInfo => ({ address: { host: '127.0.0.1', port }, usable, flags });

function rig(primaryPort = 7000) {
  const clock = new ManualClock();
  const pools = new Map<number, FakePool>();
  let refreshes = 0;
  const set = new ReplicaSet({
    clock,
    drainMs: 1_000,
    label: (h, p) => `redis://${h}:${p}`,
    primary: () => ({ host: '127.0.0.1', port: primaryPort }),
    refresh: () => void refreshes++,
    make: (address) => {
      const p = fakePool(address.port);
      pools.set(address.port, p);
      return p;
    },
  });
  const primaryCalls: CallOptions[] = [];
  const router = new ReplicaRouter(set, clock, 1_000, {
    command: (_n, _a, _b, call) => {
      primaryCalls.push(call);
      return Promise.resolve('from primary');
    },
    batch: (_c, call) => {
      primaryCalls.push(call);
      return Promise.resolve([[null, 'from primary']]);
    },
    snapshot: () => ({ total: 0, idle: 0, busy: 0, leased: 0, pending: 0, connecting: 0 }) as never,
  });
  return { clock, set, router, pools, primaryCalls, refreshes: () => refreshes };
}

void describe('ReplicaSet', () => {
  void test('pools only once activated; usable replicas only; the primary and flagged ones excluded; a replica that leaves is drained', async () => {
    const r = rig(7000);
    r.set.update([info(7001), info(7002, false, 's_down,slave'), info(7000)]);
    assert.equal(r.pools.size, 0, 'nothing opened before activation');
    r.set.activate();
    assert.deepEqual([...r.pools.keys()], [7001], 'the flagged replica and the primary get no pool');
    assert.deepEqual(
      r.set.stats().map((s) => [s.address, s.state]),
      [
        ['127.0.0.1:7001', 'up'],
        ['127.0.0.1:7002', 'down'],
      ],
      'the primary, listed as a replica during a promotion, is no row',
    );
    r.set.update([info(7002)]);
    assert.equal(r.pools.get(7001)!.closed, true, 'the replica that left the list is drained');
    assert.ok(r.pools.has(7002), 'the one back up gets a pool');
    await flush();
    assert.deepEqual(
      r.set.stats().map((s) => [s.address, s.state]),
      [['127.0.0.1:7002', 'up']],
    );
  });

  void test('activate() before the first listing asks the topology for one', () => {
    const r = rig();
    r.set.activate();
    assert.equal(r.refreshes(), 1);
  });

  void test('pick: fewest reads in flight first, a recently failed replica last, none left → undefined', () => {
    const r = rig();
    r.set.activate();
    r.set.update([info(7001), info(7002)]);
    const a = r.set.pick(new Set())!;
    const b = r.set.pick(new Set([a]))!;
    assert.notEqual(a, b);
    a.inflight = 3;
    for (let i = 0; i < 4; i++) assert.equal(r.set.pick(new Set()), b, 'least in flight');
    b.suspectUntil = r.clock.now() + 1_000;
    assert.equal(r.set.pick(new Set()), a, 'a suspect one is picked last');
    r.clock.advance(1_000);
    assert.equal(r.set.pick(new Set()), b, 'and again once the suspicion lapsed');
    assert.equal(r.set.pick(new Set([a, b])), undefined);
  });
});

void describe('ReplicaRouter', () => {
  void test('reads spread over the replicas; the primary is not asked', async () => {
    const r = rig();
    r.set.activate();
    r.set.update([info(7001), info(7002)]);
    const out = await Promise.all(Array.from({ length: 10 }, () => r.router.command('get', ['k'], false, undefined, 'replica')));
    assert.ok(out.includes('from 7001') && out.includes('from 7002'), out.join());
    assert.equal(r.primaryCalls.length, 0);
    assert.equal(r.router.counters.replicaReads, 10);
  });

  void test('a replica read that failed at the connection level is tried on another replica (a read may run twice)', async () => {
    const r = rig();
    r.set.activate();
    r.set.update([info(7001), info(7002)]);
    for (const p of r.pools.values()) p.answer = () => Promise.reject(new ConnectionError('lost', 'unknown'));
    const good = [...r.pools.values()][1]!;
    good.answer = () => Promise.resolve('ok');
    for (let i = 0; i < 4; i++) assert.equal(await r.router.command('get', ['k'], false, undefined, 'replica'), 'ok');
    const bad = [...r.pools.values()][0]!;
    assert.equal(bad.calls.length, 1, 'the failed replica is tried last afterwards');
    assert.equal(r.router.counters.retried, 1);
  });

  void test("'preferReplica': every replica failed → the primary, with the time left; 'replica' → ERR_NO_REPLICA (not-sent) with the cause", async () => {
    const r = rig();
    r.set.activate();
    r.set.update([info(7001)]);
    const pool = r.pools.get(7001)!;
    pool.answer = () => {
      r.clock.advance(300);
      return Promise.reject(new UnavailableError('down'));
    };
    assert.equal(await r.router.command('get', ['k'], false, { timeoutMs: 1_000 }, 'preferReplica'), 'from primary');
    assert.equal(pool.calls[0]!.timeoutMs, 500, 'a replica attempt gets half the time while a fallback exists');
    assert.equal(r.primaryCalls[0]!.timeoutMs, 700, 'the primary gets what is left of the one deadline');
    assert.equal(r.router.counters.primaryFallbacks, 1);

    r.clock.advance(2_000); // the replica's suspicion lapses
    pool.calls.length = 0;
    const err = (await r.router.command('get', ['k'], false, undefined, 'replica').catch((e: unknown) => e)) as RedpoolError & {
      outcome: string;
    };
    assert.equal(err.code, 'ERR_NO_REPLICA');
    assert.equal(err.outcome, 'not-sent');
    assert.equal((err.cause as RedpoolError).code, 'ERR_UNAVAILABLE');
    assert.equal(pool.calls[0]!.timeoutMs, 1_000, 'the only replica, no fallback: the whole deadline');
    assert.equal(r.primaryCalls.length, 1, "'replica' never reads on the primary");
  });

  void test("'replica' with no replica known: ERR_NO_REPLICA at once (no wait for the deadline); 'preferReplica': the primary", async () => {
    const r = rig();
    r.set.activate();
    r.set.update([info(7001, false, 's_down,slave')]);
    const err = (await r.router.command('get', ['k'], false, undefined, 'replica').catch((e: unknown) => e)) as RedpoolError;
    assert.equal(err.code, 'ERR_NO_REPLICA');
    assert.match(err.message, /no usable replica is known/);
    assert.equal(await r.router.batch([['get', 'k']], undefined, 'preferReplica').then((v) => v?.[0]?.[1]), 'from primary');
  });

  void test('before the first listing a read waits for it (within its deadline), then runs; without one it gives up at the deadline', async () => {
    const r = rig();
    const read = r.router.command('get', ['k'], false, undefined, 'replica');
    await flush();
    assert.equal(r.refreshes(), 1, 'the first read asked for the listing');
    r.set.update([info(7001)]);
    assert.equal(await read, 'from 7001');

    const r2 = rig();
    const late = r2.router.command('get', ['k'], false, { timeoutMs: 200 }, 'replica').catch((e: unknown) => e);
    await flush();
    r2.clock.advance(200);
    const err = (await late) as RedpoolError;
    assert.equal(err.code, 'ERR_NO_REPLICA');
    assert.match(err.message, /did not list the replicas in time/);
  });

  void test('a reply error that proves nothing about the node (WRONGTYPE) reaches the caller; no other replica is asked', async () => {
    const r = rig();
    r.set.activate();
    r.set.update([info(7001), info(7002)]);
    for (const p of r.pools.values())
      p.answer = () => Promise.reject(new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value', 'GET'));
    const err = (await r.router.command('get', ['k'], false, undefined, 'preferReplica').catch((e: unknown) => e)) as ReplyError;
    assert.equal(err.prefix, 'WRONGTYPE');
    assert.equal(
      [...r.pools.values()].reduce((n, p) => n + p.calls.length, 0),
      1,
    );
    assert.equal(r.primaryCalls.length, 0);
  });

  void test('replicaReadMovable: unanswered (not taken, connection, timeout) and not-executed replies yes; other replies, call errors and plain errors no', () => {
    assert.equal(replicaReadMovable(new UnavailableError('x')), true);
    assert.equal(replicaReadMovable(new ConnectionError('x', 'unknown')), true);
    assert.equal(replicaReadMovable(new ReplyError('LOADING Redis is loading the dataset in memory', 'GET')), true);
    assert.equal(replicaReadMovable(new ReplyError('MASTERDOWN Link with MASTER is down', 'GET')), true);
    assert.equal(replicaReadMovable(new ReplyError('ERR syntax error', 'GET')), false);
    assert.equal(replicaReadMovable(new Error('x')), false);
    // The call's own errors fail the same way on any node: not moved (a 'replica' caller would get
    // ERR_NO_REPLICA hiding them).
    assert.equal(replicaReadMovable(new ArgumentError('GET', 0, 'bad')), false);
    assert.equal(replicaReadMovable(new CrossSlotError('MGET', [1, 2], [0, 1])), false);
  });
});

void describe('replica role check', () => {
  const conn = (reply: unknown): DriverConnection => ({ command: () => Promise.resolve(reply) }) as unknown as DriverConnection;
  const topo = replicaTopology(
    { host: '127.0.0.1', port: 7001 },
    { primary: () => ({ host: '127.0.0.1', port: 7000 }), label: (h, p) => `redis://${h}:${p}` },
    () => undefined,
  );
  const ep = { host: '127.0.0.1', port: 7001, generation: 0 };

  void test('a linked replica of the current primary passes; a primary, a replica of another node or one still syncing is refused (not-sent)', async () => {
    await topo.verify!(conn(['slave', '127.0.0.1', 7000, 'connected', 10]), ep);
    for (const [reply, why] of [
      [['master', 10, []], /is a master, not a replica/],
      [['slave', '127.0.0.1', 7009, 'connected', 10], /replicates 127\.0\.0\.1:7009, not the current primary 127\.0\.0\.1:7000/],
      [['slave', '127.0.0.1', 7000, 'sync', -1], /link to the primary is sync/],
    ] as const) {
      const err = (await topo.verify!(conn(reply), ep).catch((e: unknown) => e)) as ConnectionError;
      assert.equal(err.code, 'ERR_CONNECTION', JSON.stringify(reply));
      assert.equal(err.outcome, 'not-sent');
      assert.match(err.message, why);
    }
  });
});

void describe('parsers', () => {
  void test('SENTINEL REPLICAS: flagged down or with a broken link is not usable', () => {
    const entry = (port: number, flags: string, link: string): string[] => [
      'ip',
      '127.0.0.1',
      'port',
      String(port),
      'flags',
      flags,
      'master-link-status',
      link,
    ];
    assert.deepEqual(
      parseReplicas([
        entry(1, 'slave', 'ok'),
        entry(2, 's_down,slave', 'ok'),
        entry(3, 'slave', 'err'),
        entry(4, 'slave,disconnected', 'ok'),
        ['ip', ''],
      ]).map((r) => [r.address.port, r.usable]),
      [
        [1, true],
        [2, false],
        [3, false],
        [4, false],
      ],
    );
    assert.deepEqual(parseReplicas('nope'), []);
  });

  void test('replica event payloads name their master', () => {
    assert.equal(eventMasterName('slave 127.0.0.1:7001 127.0.0.1 7001 @ mymaster 127.0.0.1 7000'), 'mymaster');
    assert.equal(eventMasterName('master mymaster 127.0.0.1 7000'), 'mymaster');
    assert.equal(eventMasterName('sentinel x 127.0.0.1 26379 @ mymaster 127.0.0.1 7000'), undefined);
  });
});

void describe('bad input', () => {
  const sentinel = { name: 'm', sentinels: [{ host: '127.0.0.1', port: 1 }] };

  void test("readFrom: 'nearest' and maxTotal without replica reads are refused, naming the option", () => {
    assert.throws(
      () => createPool({ sentinel, readFrom: 'nearest' as never }),
      (e: unknown) => e instanceof ConfigError && e.option === 'readFrom',
    );
    assert.throws(
      () => createPool({ sentinel, maxTotal: 5 }),
      (e: unknown) => e instanceof ConfigError && e.option === 'maxTotal',
    );
    assert.throws(
      () => createPool({ sentinel, readFrom: 'replica', maxTotal: 1, max: 4, lanes: 2 }),
      (e: unknown) => e instanceof ConfigError && e.option === 'maxTotal',
    );
    const ok = createPool({ sentinel, readFrom: 'replica', maxTotal: 5 });
    assert.equal(ok.options.maxTotal, 5);
    void ok.destroy();
  });

  void test('per call: with({ readFrom }) is checked when the view is built', () => {
    const pool = createPool({ sentinel });
    for (const bad of ['nearest', 1, null, {}])
      assert.throws(
        () => pool.with({ readFrom: bad as never }),
        (e: unknown) => e instanceof ConfigError && e.option === 'readFrom' && e.code === 'ERR_INVALID_OPTION',
        String(bad),
      );
    assert.ok(pool.with({ readFrom: 'replica' }));
    assert.throws(() => checkCallOptions('x' as never), ConfigError);
    assert.equal(checkCallOptions(undefined), undefined);
    void pool.destroy();
    const single = createPool({ host: '127.0.0.1', port: 1 });
    assert.ok(single.with({ readFrom: 'preferReplica' }), 'accepted (and ignored) by a single node');
    void single.destroy();
  });
});

void describe('a replica pool on the fake driver (real Pool and engine, replica role check)', () => {
  void test('ROLE says linked replica → reads served there; ROLE says master → refused before anything is sent, the listing is asked again', async () => {
    const clock = new ManualClock();
    const driver = new FakeDriver();
    const script = new Script(driver);
    const roles = new Map<number, unknown[]>([
      [7001, ['slave', '127.0.0.1', 7000, 'connected', 1]],
      [7002, ['master', 1, []]],
    ]);
    script.on('role', (_n, _a, conn) => roles.get(conn.spec.port)!);
    script.on('get', (_n, _a, conn) => `v@${conn.spec.port}`);
    let refreshes = 0;
    const pools: Pool[] = [];
    const set = new ReplicaSet({
      clock,
      drainMs: 100,
      label: (h, p) => `redis://${h}:${p}`,
      primary: () => ({ host: '127.0.0.1', port: 7000 }),
      refresh: () => void refreshes++,
      make: (address, topology) => {
        const p = new Pool(
          { ...QUIET, driver, clock, host: address.host, port: address.port, min: 0, max: 2, logger: false },
          { topology },
        );
        pools.push(p);
        return asReplicaPool(p);
      },
    });
    const router = new ReplicaRouter(set, clock, 1_000, {
      command: () => Promise.reject(new Error('not the primary')),
      batch: () => Promise.reject(new Error('not the primary')),
      snapshot: () => ({}) as never,
    });
    set.activate();
    set.update([info(7001)]);
    assert.equal(await router.command('get', ['k'], false, undefined, 'replica'), 'v@7001');
    assert.deepEqual(
      script.calls.filter((c) => c.conn.spec.port === 7001 && (c.name === 'role' || c.name === 'get')).map((c) => c.name),
      ['role', 'get'],
      'ROLE checked before the read',
    );

    set.update([info(7002)]); // 7001 drained; 7002 (a primary in fact) listed
    const read = router.command('get', ['k'], false, { timeoutMs: 300 }, 'replica').catch((e: unknown) => e);
    for (let i = 0; i < 10; i++) {
      await flush();
      clock.advance(50);
    }
    const err = (await read) as RedpoolError;
    assert.equal(err.code, 'ERR_NO_REPLICA');
    assert.equal((err.cause as { outcome?: string }).outcome, 'not-sent', 'the replica attempt never ran (refused connections only)');
    assert.equal(script.calls.filter((c) => c.conn.spec.port === 7002 && c.name === 'get').length, 0, 'nothing sent to the primary');
    assert.ok(refreshes > 0, 'the failed role check asked for a new listing');
    await set.close(undefined, true);
    for (const p of pools) assert.equal(p.state, 'closed');
  });
});

void describe('budget', () => {
  void test('budgetShortfall: maxTotal below lanes × pooled nodes is named with the numbers; enough or unset is no warning', () => {
    assert.equal(budgetShortfall(undefined, 2, 1, 5), undefined);
    assert.equal(budgetShortfall(6, 2, 1, 2), undefined);
    assert.match(budgetShortfall(5, 2, 1, 2) ?? '', /maxTotal 5 .*2 lane\(s\) × 1 primary \+ 2 replicas = 6.*at least 6/);
    assert.match(budgetShortfall(5, 2, 3, 0) ?? '', /× 3 primaries = 6/);
  });

  void test('Sentinel reads warn once per shortfall when the listing brings more replicas than maxTotal covers', () => {
    const o = resolveOptions({
      sentinel: { name: 'm', sentinels: [{ host: '127.0.0.1', port: 1 }] },
      readFrom: 'replica',
      max: 4,
      lanes: 2,
      maxTotal: 5,
    });
    const made: string[] = [];
    const fake = {
      state: 'open',
      ready: () => Promise.resolve('healthy'),
      stats: () => ({}),
      close: () => Promise.resolve(),
      destroy: () => Promise.resolve(),
    };
    const warnings: string[] = [];
    const reads = new SentinelReads({
      o,
      input: { sentinel: o.sentinel!, readFrom: 'replica', max: 4, lanes: 2, maxTotal: 5 } as never,
      gate: undefined,
      label: (h, p) => `${h}:${p}`,
      make: (opts) => {
        made.push(`${opts.host}:${opts.port}`);
        return fake as never;
      },
      warning: (m) => warnings.push(m),
      primary: { command: () => Promise.resolve(null), batch: () => Promise.resolve(null), snapshot: () => ({}) as never },
    });
    const replica = (port: number): ReplicaInfo => ({ address: { host: '127.0.0.1', port }, usable: true, flags: 'slave' });
    reads.update([replica(7001)]); // 2 lanes × (1 + 1) = 4 <= 5
    assert.deepEqual(warnings, []);
    reads.update([replica(7001), replica(7002)]); // 6 > 5
    reads.update([replica(7001), replica(7002)]); // the same shortfall: not again
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /1 primary \+ 2 replicas = 6/);
    assert.deepEqual(made, ['127.0.0.1:7001', '127.0.0.1:7002']);
    void reads.close(0, true);
  });
});
