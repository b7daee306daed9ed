/**
 * The engine's topology seams on the fake driver and a manual clock: the endpoint source read
 * at every dial, the post-handshake role check, fencing by generation on retarget (in-flight
 * shared commands keep their own verdict and are never re-sent; idle lease connections close;
 * active leases fail their next command not-sent and are destroyed on release; the refill
 * dials the new primary), READONLY hints, WAIT-acknowledged writes, and a single-node engine
 * that behaves as before. The real-server behaviour is in test/integration/topology/sentinel-pool.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConnectionError, ReplyError } from '../../src/errors.js';
import type { DriverConnection } from '../../src/driver/driver.js';
import { resolveOptions } from '../../src/options.js';
import type { Endpoint, EngineTopology, TopologyHint } from '../../src/pool/endpoint-source.js';
import { Engine } from '../../src/pool/engine.js';
import type { PoolEvents } from '../../src/pool/events.js';
import { FakeDriver, ManualClock, type FakeConnection } from '../../src/testing/index.js';
import { flush, QUIET, Script } from '../helpers/pool-fixtures.js';

interface Rig {
  engine: Engine;
  driver: FakeDriver;
  clock: ManualClock;
  script: Script;
  hints: Array<[TopologyHint, number]>;
  events: Array<[keyof PoolEvents, unknown]>;
  /** Role each port answers to ROLE. */
  roles: Map<number, string>;
  move(port: number): void;
  endpoint(): Endpoint;
}

function rig(opts: { max?: number; lanes?: number; topology?: boolean } = {}): Rig {
  const clock = new ManualClock();
  const driver = new FakeDriver();
  const script = new Script(driver);
  const roles = new Map<number, string>([
    [7001, 'master'],
    [7002, 'slave'],
  ]);
  script.on('role', (_n, _a, conn) => [roles.get(conn.spec.port) ?? 'master', 0, []]);
  let ep: Endpoint = { host: '127.0.0.1', port: 7001, generation: 1, label: 'redis://127.0.0.1:7001' };
  const hints: Array<[TopologyHint, number]> = [];
  const topology: EngineTopology = {
    endpoint: { current: () => ep },
    async verify(conn: DriverConnection) {
      const reply = (await conn.command('role', [], false)) as unknown[];
      if (reply[0] !== 'master') throw new ConnectionError(`${String(reply[0])}, not the primary`, 'not-sent');
    },
    hint: (reason, generation) => hints.push([reason, generation]),
  };
  const o = resolveOptions({
    ...QUIET,
    driver,
    clock,
    max: opts.max ?? 4,
    lanes: opts.lanes ?? 1,
    min: 0,
    logger: false,
    commandTimeoutMs: 1_000,
    acquireTimeoutMs: 1_000,
  });
  const events: Array<[keyof PoolEvents, unknown]> = [];
  const engine = new Engine(
    o,
    driver,
    (event, payload) => events.push([event, payload]),
    () => true,
    { topology: opts.topology === false ? undefined : topology },
  );
  return {
    engine,
    driver,
    clock,
    script,
    hints,
    events,
    roles,
    move(port) {
      ep = { host: '127.0.0.1', port, generation: ep.generation + 1, label: `redis://127.0.0.1:${port}` };
      engine.retarget(ep.generation);
    },
    endpoint: () => ep,
  };
}

const onPort = (driver: FakeDriver, port: number): FakeConnection[] => driver.all.filter((c) => c.spec.port === port);
const sent = (c: FakeConnection, name: string): number => c.log.filter(([n]) => n === name).length;

void describe('engine topology seams', () => {
  void test('every dial reads the endpoint source; connections record its generation; ROLE runs before use', async () => {
    const r = rig();
    assert.equal(await r.engine.command('set', ['k', 'v'], false), 'OK');
    const [first] = onPort(r.driver, 7001);
    assert.ok(first);
    assert.deepEqual(first.log[0], ['role'], 'ROLE is the first command on a new connection');
    assert.equal(first.spec.endpoint, 'redis://127.0.0.1:7001');
    assert.equal([...r.engine.connections()][0]!.generation, 1);
    await r.engine.destroy();
  });

  void test('a connection whose ROLE is not master is refused (not-sent), destroyed, and hinted as "role"', async () => {
    const r = rig();
    r.roles.set(7001, 'slave');
    const failed = r.engine.command('set', ['k', 'v'], false);
    await flush();
    const [conn] = onPort(r.driver, 7001);
    assert.ok(conn?.closed, 'the replica connection is closed');
    assert.equal(sent(conn, 'set'), 0, 'nothing was written to it');
    assert.deepEqual(r.hints[0], ['role', 1]);
    const err = r.events.find(([e]) => e === 'connection:error')?.[1] as { error: { outcome: string } };
    assert.equal(err.error.outcome, 'not-sent');
    // The primary comes back as master: the waiting command runs there, within its deadline.
    r.roles.set(7001, 'master');
    for (let i = 0; i < 20 && r.engine.stats().created === 0; i++) {
      r.clock.advance(100);
      await flush();
    }
    assert.equal(await failed, 'OK');
    await r.engine.destroy();
  });

  void test('retarget: in-flight commands keep their verdict on the old node, new work goes to the new one, nothing is re-sent', async () => {
    const r = rig();
    await r.engine.command('ping', [], false);
    const old = onPort(r.driver, 7001)[0]!;
    r.script.park((name, _a, conn) => name === 'incr' && conn === old, 1);
    const inflight = r.engine.command('incr', ['n'], false);
    await flush();
    assert.equal(r.script.parked.length, 1);
    r.roles.set(7002, 'master');
    r.move(7002);
    // No new work to the old lane: the next command waits for (and runs on) the new primary.
    assert.equal(await r.engine.command('set', ['k', 'v'], false), 'OK');
    const fresh = onPort(r.driver, 7002)[0]!;
    assert.equal(sent(fresh, 'set'), 1);
    assert.equal(sent(old, 'set'), 0);
    assert.equal(old.closed, false, 'the old lane drains: it stays open while a command is in flight');
    r.script.parked[0]!.resolve(41);
    assert.equal(await inflight, 41, 'the in-flight command settled with its own reply');
    await flush();
    assert.equal(old.closed, true, 'drained, then closed');
    assert.equal(sent(fresh, 'incr'), 0, 'never re-sent to the new primary');
    assert.equal(r.engine.stats().destroyedBy.retarget, 1);
    assert.equal(
      [...r.engine.connections()].every((pc) => pc.generation === 2),
      true,
    );
    await r.engine.destroy();
  });

  void test('retarget: an in-flight write that times out on the old node is outcome unknown and not retried', async () => {
    const r = rig();
    await r.engine.command('ping', [], false);
    const old = onPort(r.driver, 7001)[0]!;
    r.script.hang((name, _a, conn) => name === 'incr' && conn === old);
    const inflight = r.engine.command('incr', ['n'], false).then(
      () => undefined,
      (e: unknown) => e,
    );
    await flush();
    r.roles.set(7002, 'master');
    r.move(7002);
    r.clock.advance(1_001);
    await flush();
    assert.deepEqual(
      await inflight.then((e) => {
        const x = e as { code?: string; outcome?: string };
        return [x.code, x.outcome];
      }),
      ['ERR_COMMAND_TIMEOUT', 'unknown'],
    );
    assert.equal(
      r.driver.all.reduce((n, c) => n + sent(c, 'incr'), 0),
      1,
      'written once, never re-sent',
    );
    await r.engine.destroy();
  });

  void test('retarget: idle lease connections close; an active lease fails its next command not-sent and is destroyed on release', async () => {
    const r = rig({ max: 4, lanes: 1 });
    const idle = await r.engine.acquire();
    const active = await r.engine.acquire();
    idle.release();
    assert.equal(r.engine.stats().idle, 1);
    r.roles.set(7002, 'master');
    r.move(7002);
    await flush();
    assert.equal(r.engine.stats().idle, 0, 'the idle one is gone');
    const before = onPort(r.driver, 7001).reduce((n, c) => n + sent(c, 'get'), 0);
    await assert.rejects(active.get('k'), { code: 'ERR_CONNECTION', outcome: 'not-sent' });
    assert.equal(
      onPort(r.driver, 7001).reduce((n, c) => n + sent(c, 'get'), 0),
      before,
      'nothing written',
    );
    active.release();
    await flush();
    // The lane, the idle lease connection and (on release) the active one.
    assert.equal(r.engine.stats().destroyedBy.retarget, 3);
    // A new lease is dialled on the new primary.
    const next = await r.engine.acquire();
    assert.equal(await next.set('k', 'v'), 'OK');
    assert.equal(
      onPort(r.driver, 7002).some((c) => sent(c, 'set') === 1),
      true,
    );
    next.release();
    await r.engine.destroy();
  });

  void test('a connection dialled for the old generation is closed when it connects, never used', async () => {
    const r = rig();
    r.driver.behaviour = 'hang';
    const cmd = r.engine.command('set', ['k', 'v'], false);
    await flush();
    assert.equal(r.driver.hanging.length, 1);
    r.roles.set(7002, 'master');
    r.driver.behaviour = 'ok';
    r.move(7002);
    r.driver.hanging[0]!.ok();
    await flush();
    const stale = onPort(r.driver, 7001)[0]!;
    assert.equal(stale.closed, true);
    assert.equal(sent(stale, 'set'), 0);
    assert.equal(await cmd, 'OK');
    assert.equal(sent(onPort(r.driver, 7002)[0]!, 'set'), 1);
    await r.engine.destroy();
  });

  void test('READONLY from a lane: hinted, the lane leaves routing, the command (not executed) is retried on the new primary', async () => {
    const r = rig();
    await r.engine.command('ping', [], false);
    const old = onPort(r.driver, 7001)[0]!;
    // The old primary was demoted: it answers READONLY, and ROLE says slave to new connections.
    r.script.on(
      (name, _a, conn) => name === 'set' && conn.spec.port === 7001,
      () => {
        throw new ReplyError("READONLY You can't write against a read only replica.", 'SET');
      },
    );
    r.roles.set(7001, 'slave');
    const write = r.engine.command('set', ['k', 'v'], false);
    await flush();
    assert.deepEqual(r.hints[0], ['readonly', 1]);
    assert.equal(old.closed, true, 'the lane that answered READONLY left routing and closed');
    r.roles.set(7002, 'master');
    r.move(7002);
    for (let i = 0; i < 20; i++) {
      r.clock.advance(50);
      await flush();
    }
    assert.equal(await write, 'OK');
    assert.equal(sent(old, 'set'), 1);
    assert.equal(sent(onPort(r.driver, 7002)[0]!, 'set'), 1);
    await r.engine.destroy();
  });

  void test('READONLY inside a pipeline: the per-command error stays in its result, and the topology hears it as from a command', async () => {
    const r = rig();
    await r.engine.command('ping', [], false);
    const old = onPort(r.driver, 7001)[0]!;
    r.script.on(
      (name, _a, conn) => name === 'set' && conn.spec.port === 7001,
      () => {
        throw new ReplyError("READONLY You can't write against a read only replica.", 'SET');
      },
    );
    const res = await r.engine.batch(
      [
        ['get', 'a'],
        ['set', 'k', 'v'],
      ],
      false,
    );
    assert.equal(res?.[0]?.[0], null);
    assert.equal((res?.[1]?.[0] as ReplyError).prefix, 'READONLY', 'the error is returned in place, not thrown');
    assert.deepEqual(r.hints[0], ['readonly', 1], 'the topology was told');
    await flush();
    assert.equal(old.closed, true, 'the lane that answered READONLY left routing');
    await r.engine.destroy();
  });

  void test('READONLY inside a pipeline on a lease: the error stays in its result, and the topology hears it', async () => {
    const r = rig();
    r.script.on(
      (name, _a, conn) => name === 'set' && conn.spec.port === 7001,
      () => {
        throw new ReplyError("READONLY You can't write against a read only replica.", 'SET');
      },
    );
    const lease = await r.engine.acquire();
    const res = await lease.pipeline().get('a').set('k', 'v').exec();
    assert.equal(res?.[0]?.[0], null);
    assert.equal((res?.[1]?.[0] as ReplyError).prefix, 'READONLY', 'the error is returned in place, not thrown');
    assert.deepEqual(r.hints[0], ['readonly', 1], 'the topology was told');
    lease.release();
    await r.engine.destroy();
  });

  void test('without a topology (single node): READONLY is retried as before, no lane is retired, generation stays 0', async () => {
    const r = rig({ topology: false });
    await r.engine.command('ping', [], false);
    let n = 0;
    r.script.on('set', () => {
      if (n++ === 0) throw new ReplyError('READONLY replica', 'SET');
      return 'OK';
    });
    const write = r.engine.command('set', ['k', 'v'], false);
    for (let i = 0; i < 10; i++) {
      r.clock.advance(10);
      await flush();
    }
    assert.equal(await write, 'OK');
    assert.equal(r.engine.generation, 0);
    assert.equal(r.engine.stats().destroyed, 0, 'the lane was kept');
    assert.equal(r.driver.all.length, 1);
    assert.equal(r.engine.stats().sentinel, undefined);
    assert.equal(sent(r.driver.all[0]!, 'role'), 0, 'no ROLE without a topology');
    await r.engine.destroy();
  });

  void test('waitReplicas: a write is followed by WAIT in the same write; too few replicas is NotReplicatedError (unknown), not retried', async () => {
    const r = rig({ topology: false });
    let replicas = 1;
    r.script.on('wait', () => replicas);
    assert.equal(await r.engine.command('set', ['k', 'v'], false, { waitReplicas: 1, waitTimeoutMs: 50 }), 'OK');
    const conn = r.driver.all[0]!;
    assert.deepEqual(conn.log.slice(-2), [
      ['set', 'k', 'v'],
      ['wait', 1, 50],
    ]);
    replicas = 0;
    await assert.rejects(r.engine.command('incr', ['n'], false, { waitReplicas: 1 }), {
      code: 'ERR_NOT_REPLICATED',
      outcome: 'unknown',
      replicas: 0,
      wanted: 1,
    });
    assert.equal(sent(conn, 'incr'), 1, 'ran once, not retried');
    // A replicated write whose reply is not a string (a number here) comes back as itself.
    replicas = 1;
    assert.equal(await r.engine.command('incr', ['n'], false, { waitReplicas: 1 }), 2);
    // Read-only commands never wait.
    assert.equal(await r.engine.command('get', ['k'], false, { waitReplicas: 1 }), 'v');
    assert.equal(sent(conn, 'wait'), 3);
    await r.engine.destroy();
  });
});
