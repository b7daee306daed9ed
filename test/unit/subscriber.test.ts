/**
 * pool.subscriber() on the fake driver: counted in the budget and stats, events for every push
 * kind, resubscribe after a lost connection on the injected clock's backoff, typed errors,
 * closed by pool.close(), never reported as a leaked lease. Real-server behaviour (restart,
 * CLIENT LIST) is in test/integration/compat/subscriber.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { constantBackoff, createPool, ReplyError, type Driver, type Subscriber, type SubscriberConnectInfo } from '../../src/index.js';
import type { FakeConnection } from '../../src/testing/index.js';
import { fakePool, flush, QUIET, rejectsWith, track, type FakePool } from '../helpers/pool-fixtures.js';

/** The open connection the subscriber opened with CLIENT ID. */
function subConn(fp: FakePool): FakeConnection {
  const c = [...fp.driver.open].find((x) => x.log[0]?.[0] === 'client' && x.log[0][1] === 'ID');
  assert.ok(c, 'a subscriber connection is open');
  return c;
}

function events(sub: Subscriber): { connects: SubscriberConnectInfo[]; disconnects: number; errors: string[] } {
  const out = { connects: [] as SubscriberConnectInfo[], disconnects: 0, errors: [] as string[] };
  sub.on('connect', (i) => out.connects.push(i));
  sub.on('disconnect', () => out.disconnects++);
  sub.on('connect:error', (i) => out.errors.push(i.error.code));
  return out;
}

void describe('pool.subscriber()', () => {
  void test('takes no connection until used, then one lease counted in total, leased and subscribers', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const sub = fp.pool.subscriber();
    await flush();
    assert.equal(sub.state, 'idle');
    assert.equal(fp.pool.stats().subscribers, 0);
    assert.equal(await sub.subscribe('a', 'b'), 2);
    const s = fp.pool.stats();
    assert.equal(s.subscribers, 1);
    assert.equal(s.leased, 1);
    assert.ok(s.total <= 3);
    assert.equal(sub.state, 'ready');
    const conn = subConn(fp);
    assert.equal(sub.clientId, conn.id, 'CLIENT ID of the subscriber connection');
    assert.deepEqual(
      conn.log.map(([n]) => n),
      ['client', 'subscribe'],
    );
  });

  void test('emits message, messageBuffer, pmessage, pmessageBuffer, smessage, smessageBuffer', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const sub = fp.pool.subscriber();
    await sub.subscribe('ch');
    await sub.psubscribe('p*');
    await sub.ssubscribe('s1');
    const seen: unknown[][] = [];
    for (const ev of ['message', 'messageBuffer', 'pmessage', 'pmessageBuffer', 'smessage', 'smessageBuffer'] as const)
      sub.on(ev, (...a: unknown[]) => seen.push([ev, ...a.map((x) => (Buffer.isBuffer(x) ? `buf:${x.toString()}` : x))]));
    const conn = subConn(fp);
    conn.push('message', 'ch', 'hello');
    conn.push('pmessage', 'p*', 'px', 'hi');
    conn.push('smessage', 's1', 'yo');
    assert.deepEqual(seen, [
      ['messageBuffer', 'buf:ch', 'buf:hello'],
      ['message', 'ch', 'hello'],
      ['pmessageBuffer', 'p*', 'buf:px', 'buf:hi'],
      ['pmessage', 'p*', 'px', 'hi'],
      ['smessageBuffer', 'buf:s1', 'buf:yo'],
      ['smessage', 's1', 'yo'],
    ]);
    assert.deepEqual([...sub.channels], ['ch']);
    assert.deepEqual([...sub.patterns], ['p*']);
    assert.deepEqual([...sub.shardChannels], ['s1']);
  });

  void test('after the connection is lost it waits the backoff, takes a new lease, re-reads CLIENT ID and resubscribes everything', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const sub = fp.pool.subscriber({ backoff: constantBackoff(200) });
    const ev = events(sub);
    await sub.subscribe('a', 'b');
    await sub.psubscribe('p*');
    await sub.ssubscribe('s');
    await sub.unsubscribe('b');
    const first = subConn(fp);
    assert.equal(ev.connects.length, 1);
    assert.equal(ev.connects[0]!.reconnect, false);

    first.kill(new Error('server went away'));
    await flush();
    assert.equal(ev.disconnects, 1);
    assert.equal(sub.state, 'reconnecting');
    assert.equal(sub.clientId, undefined);
    assert.equal(fp.pool.stats().subscribers, 0, 'a lost subscriber connection is not counted');
    fp.clock.advance(199);
    await flush();
    assert.equal(ev.connects.length, 1, 'no reconnect before the backoff');
    fp.clock.advance(1);
    await flush();
    assert.equal(ev.connects.length, 2);
    const second = subConn(fp);
    assert.notEqual(second, first);
    assert.deepEqual(second.log, [
      ['client', 'ID'],
      ['subscribe', 'a'],
      ['psubscribe', 'p*'],
      ['ssubscribe', 's'],
    ]);
    assert.deepEqual(ev.connects[1], { clientId: second.id, connectionId: ev.connects[1]!.connectionId, reconnect: true });
    assert.equal(sub.clientId, second.id);
    assert.equal(fp.pool.stats().subscribers, 1);
    const got: string[] = [];
    sub.on('message', (c, m) => got.push(`${c}=${m}`));
    first.push('message', 'a', 'stale'); // the old connection's pushes are ignored
    second.push('message', 'a', 'fresh');
    assert.deepEqual(got, ['a=fresh']);
  });

  void test('failed reconnect attempts are reported and retried with the backoff until Redis is back', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0, failureThreshold: 100, acquireTimeoutMs: 50 });
    const sub = fp.pool.subscriber({ backoff: constantBackoff(300) });
    const ev = events(sub);
    await sub.subscribe('a');
    fp.driver.behaviour = 'fail';
    subConn(fp).kill();
    await flush();
    fp.clock.advance(300); // attempt 1: no connection within 50 ms
    await flush();
    for (let i = 0; i < 5; i++) {
      fp.clock.advance(50);
      await flush();
    }
    assert.equal(ev.errors.length, 1, `errors: ${ev.errors.join()}`);
    assert.match(ev.errors[0]!, /^ERR_/);
    assert.equal(sub.state, 'reconnecting');
    fp.driver.behaviour = 'ok';
    fp.clock.advance(300);
    for (let i = 0; i < 5; i++) {
      await flush();
      fp.clock.advance(100);
    }
    await flush();
    assert.equal(sub.state, 'ready');
    assert.equal(ev.connects.length, 2);
    assert.deepEqual(subConn(fp).log.slice(-1), [['subscribe', 'a']]);
  });

  void test('a subscription refused while restoring is dropped with a typed subscribe:error; the rest stays', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const sub = fp.pool.subscriber({ backoff: constantBackoff(10) });
    await sub.subscribe('ok');
    await sub.psubscribe('secret*');
    const errs: Array<{ code: string; command: string; names: string[] }> = [];
    sub.on('subscribe:error', (i) => errs.push({ code: i.error.code, command: i.command, names: i.names }));
    fp.script.on(
      (n) => n === 'psubscribe',
      () => {
        throw new ReplyError('NOPERM No permissions to access a channel', 'PSUBSCRIBE');
      },
    );
    subConn(fp).kill();
    await flush();
    fp.clock.advance(10);
    await flush();
    assert.deepEqual(errs, [{ code: 'ERR_REPLY', command: 'PSUBSCRIBE', names: ['secret*'] }]);
    assert.equal(sub.state, 'ready');
    assert.deepEqual([...sub.channels], ['ok']);
    assert.deepEqual([...sub.patterns], []);
  });

  void test('a rejected subscribe leaves nothing behind; bad names are ArgumentErrors', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const sub = fp.pool.subscriber();
    fp.script.on(
      (n) => n === 'subscribe',
      () => {
        throw new ReplyError('NOPERM no', 'SUBSCRIBE');
      },
    );
    await rejectsWith(sub.subscribe('x'), 'ERR_REPLY');
    assert.equal(sub.channels.size, 0);
    await rejectsWith(sub.subscribe(), 'ERR_INVALID_ARGUMENT');
    await rejectsWith(sub.subscribe(42 as unknown as string), 'ERR_INVALID_ARGUMENT');
  });

  void test('no lease capacity: subscribe rejects typed, and the subscriber stays usable later', async (t) => {
    const fp = fakePool(t, { max: 2, lanes: 1, min: 0, acquireTimeoutMs: 20 });
    const held = await fp.pool.acquire();
    const sub = fp.pool.subscriber();
    const p = track(sub.subscribe('a'));
    await flush();
    fp.clock.advance(20);
    await flush();
    assert.equal((p.error as { code?: string }).code, 'ERR_ACQUIRE_TIMEOUT');
    assert.equal(sub.state, 'idle');
    held.release();
    await flush();
    assert.equal(await sub.subscribe('a'), 1);
  });

  void test('pool.close() closes subscribers; subscriber() and subscribe() afterwards are refused', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const sub = fp.pool.subscriber();
    let closed = 0;
    sub.on('close', () => closed++);
    await sub.subscribe('a');
    const done = fp.pool.close({ timeoutMs: 1_000 });
    await flush();
    await done;
    assert.equal(closed, 1);
    assert.equal(sub.state, 'closed');
    assert.equal(fp.driver.open.size, 0, 'every connection closed');
    assert.equal(fp.pool.stats().subscribers, 0);
    await rejectsWith(sub.subscribe('b'), 'ERR_POOL_CLOSED');
    assert.throws(
      () => fp.pool.subscriber(),
      (e: { code?: string }) => e.code === 'ERR_POOL_CLOSED',
    );
  });

  void test('leak detection does not report the subscriber lease', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0, leakDetectionMs: 5_000 });
    const leaks: number[] = [];
    fp.pool.on('lease:leak', (p) => leaks.push(p.id));
    const sub = fp.pool.subscriber();
    await sub.subscribe('a');
    const lease = await fp.pool.acquire();
    fp.clock.advance(6_000);
    fp.pool.housekeep();
    assert.deepEqual(leaks, [lease.id], 'only the ordinary lease is reported');
    lease.release();
  });

  void test('invalid options are ConfigErrors naming the option', (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    assert.throws(
      () => fp.pool.subscriber({ connectTimeoutMs: -1 }),
      (e: { code?: string; option?: string }) => e.code === 'ERR_INVALID_OPTION' && e.option === 'subscriber.connectTimeoutMs',
    );
    assert.throws(
      () => fp.pool.subscriber({ backoff: {} as never }),
      (e: { option?: string }) => e.option === 'subscriber.backoff',
    );
  });
});

void test('a driver without onPush cannot carry a subscriber: ConfigError naming the driver, lease returned', async (t) => {
  const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
  const noPush: Driver = {
    name: 'no-push',
    connect: async (spec) => {
      const conn = await fp.driver.connect(spec);
      Object.defineProperty(conn, 'onPush', { value: undefined });
      return conn;
    },
  };
  const plain = createPool({ ...QUIET, max: 3, lanes: 1, min: 0, clock: fp.clock, driver: noPush });
  t.after(() => plain.destroy());
  const err = await rejectsWith(plain.subscriber().subscribe('a'), 'ERR_INVALID_OPTION');
  assert.equal(err.option, 'driver');
  assert.equal(plain.stats().leased, 0);
  assert.equal(plain.stats().subscribers, 0);
});

void describe('pool.subscriber() liveness PING', () => {
  void test('a PING on the interval; an unanswered one (frozen server) is a lost connection, then the usual reconnect', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const sub = fp.pool.subscriber({ backoff: constantBackoff(200), pingIntervalMs: 100, pingTimeoutMs: 50 });
    const ev = events(sub);
    await sub.subscribe('a');
    const first = subConn(fp);
    fp.clock.advance(100);
    await flush();
    assert.deepEqual(
      first.log.map(([n]) => n),
      ['client', 'subscribe', 'ping'],
      'one PING after the interval',
    );
    fp.clock.advance(100);
    await flush();
    assert.equal(first.log.filter(([n]) => n === 'ping').length, 2, 'answered: the next one follows the interval');
    assert.equal(ev.disconnects, 0);

    fp.script.freeze(first);
    fp.clock.advance(100);
    await flush();
    assert.equal(first.log.filter(([n]) => n === 'ping').length, 3);
    fp.clock.advance(49);
    await flush();
    assert.equal(ev.disconnects, 0, 'not before pingTimeoutMs');
    fp.clock.advance(1);
    await flush();
    fp.clock.advance(1); // the verdict waits one timer turn (a reply already in the socket is read first)
    await flush();
    assert.equal(ev.disconnects, 1, 'declared lost');
    assert.equal(sub.state, 'reconnecting');
    assert.equal(fp.pool.stats().subscribers, 0);
    fp.clock.advance(200);
    await flush();
    assert.equal(ev.connects.length, 2, 'reconnected on the backoff');
    const second = subConn(fp);
    assert.notEqual(second, first);
    assert.deepEqual(
      second.log.map(([n]) => n),
      ['client', 'subscribe'],
    );
  });

  void test('pingIntervalMs: Infinity sends none; bad values are typed errors naming the option', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const sub = fp.pool.subscriber({ pingIntervalMs: Infinity });
    await sub.subscribe('a');
    fp.clock.advance(60_000);
    await flush();
    assert.equal(subConn(fp).log.filter(([n]) => n === 'ping').length, 0);
    for (const [opt, v] of [
      ['pingIntervalMs', 0],
      ['pingTimeoutMs', -1],
      ['pingTimeoutMs', Number.NaN],
      ['pingIntervalMs', 2 ** 31],
    ] as const) {
      assert.throws(
        () => fp.pool.subscriber({ [opt]: v }),
        (e: Error & { code?: string; option?: string }) => e.code === 'ERR_INVALID_OPTION' && e.option === `subscriber.${opt}`,
      );
    }
  });
});
