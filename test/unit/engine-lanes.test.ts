/**
 * Engine unit tests, shared lanes: lanes are opened and commands routed to the least-loaded
 * one; command deadlines (outcome 'unknown' in flight, 'not-sent' while waiting for a lane);
 * probing and replacing a lane that stopped answering; the retry policy.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CommandTimeoutError, ConnectionError, ReplyError, constantBackoff } from '../../src/index.js';
import { fakePool, flush, lastConn, rejectsWith, track } from '../helpers/pool-fixtures.js';

for (const sendPath of [true, false]) {
  void describe(`shared lanes (driver ${sendPath ? 'send() fast path' : 'command() only'})`, () => {
    void test('the first command opens `lanes` connections and runs on one of them', async (t) => {
      const fp = fakePool(t, { max: 6, lanes: 3, min: 0 }, { sendPath });
      assert.equal(fp.driver.attempts, 0, 'nothing is opened at construction');
      assert.equal(await fp.pool.set('k', 'v'), 'OK');
      assert.equal(await fp.pool.get('k'), 'v');
      await flush();
      const s = fp.pool.stats();
      assert.equal(s.lanes, 3);
      assert.equal(s.total, 3);
      assert.equal(s.leased, 0);
      assert.equal(fp.driver.open.size, 3);
    });

    void test('commands go to the lane with the fewest commands in flight', async (t) => {
      const fp = fakePool(t, { max: 6, lanes: 3, min: 3 }, { sendPath });
      await fp.pool.ready();
      await flush();
      assert.equal(fp.pool.stats().lanes, 3);
      fp.script.park('get');
      const calls = [0, 1, 2, 3, 4, 5].map((i) => track(fp.pool.get(`k${i}`)));
      await flush();
      assert.equal(fp.script.parked.length, 6);
      // Six commands over three idle lanes: two each, never three on one.
      const perConn = new Map<number, number>();
      for (const p of fp.script.parked) perConn.set(p.conn.id, (perConn.get(p.conn.id) ?? 0) + 1);
      assert.deepEqual([...perConn.values()].sort(), [2, 2, 2]);
      assert.equal(fp.pool.stats().inflight, 6);

      // Finish both commands of one lane: the next command must go to that lane.
      const free = fp.script.parked[0]!.conn;
      for (const p of fp.script.parked.filter((x) => x.conn === free)) p.resolve('x');
      await flush();
      const next = track(fp.pool.get('next'));
      await flush();
      assert.equal(fp.script.parked.at(-1)!.conn, free);
      for (const p of fp.script.parked) p.resolve('x');
      await flush();
      assert.ok([...calls, next].every((c) => c.settled && c.value === 'x'));
      assert.equal(fp.pool.stats().inflight, 0);
    });

    void test('an overdue command fails with outcome "unknown"; the lane is probed and destroyed when the PING is late too; other lanes keep serving', async (t) => {
      const fp = fakePool(t, { max: 4, lanes: 2, min: 2, commandTimeoutMs: 1_000, retries: 0 }, { sendPath });
      await fp.pool.ready();
      await flush();
      fp.script.hang((name, args) => name === 'get' && args[0] === 'slow');
      const slow = track(fp.pool.get('slow'));
      await flush();
      const stuck = lastConn(fp, 'get');
      fp.script.freeze(stuck); // its PING will not answer either
      const pingsBefore = fp.script.calls.filter((c) => c.name === 'ping' && c.conn === stuck).length;
      fp.clock.advance(1_000);
      await flush();
      assert.ok(slow.settled);
      const err = slow.error as CommandTimeoutError;
      assert.ok(err instanceof CommandTimeoutError);
      assert.equal(err.code, 'ERR_COMMAND_TIMEOUT');
      assert.equal(err.outcome, 'unknown');
      assert.equal(err.command, 'GET');
      assert.equal(typeof err.snapshot.total, 'number');
      assert.equal(fp.script.calls.filter((c) => c.name === 'ping' && c.conn === stuck).length, pingsBefore + 1, 'the lane was probed');

      // While the probe runs, commands go to the other lane.
      for (let i = 0; i < 5; i++) assert.equal(await fp.pool.set(`k${i}`, 'v'), 'OK');
      assert.ok(fp.script.calls.filter((c) => c.name === 'set').every((c) => c.conn !== stuck));

      fp.clock.advance(1_000); // probe deadline
      await flush();
      assert.equal(stuck.closed, true, 'the unresponsive lane was destroyed');
      const s = fp.pool.stats();
      assert.equal(s.destroyedBy.timeout, 1);
      assert.equal(s.commandTimeouts, 1);
      assert.equal(s.lanes, 2, 'a replacement lane was opened');
      assert.equal(await fp.pool.get('k1'), 'v');
    });

    void test('a short per-call timeout expires at its own deadline, not a sweep period later (the default deadline is long)', async (t) => {
      const fp = fakePool(t, { max: 2, lanes: 1, min: 1, commandTimeoutMs: 60_000, retries: 0 }, { sendPath });
      await fp.pool.ready();
      await flush();
      fp.script.hang((name, args) => name === 'get' && args[0] === 'slow');
      const long = track(fp.pool.get('slow')); // default deadline: 60 s
      await flush();
      const short = track(fp.pool.with({ timeoutMs: 30 }).get('slow'));
      await flush();
      fp.clock.advance(29);
      await flush();
      assert.equal(short.settled, false, 'not before its deadline');
      fp.clock.advance(1);
      await flush();
      assert.ok(short.settled, 'expired at 30 ms (the old fixed sweep period here was 100 ms)');
      assert.equal((short.error as CommandTimeoutError).code, 'ERR_COMMAND_TIMEOUT');
      assert.equal(long.settled, false, 'the other call keeps its own 60 s deadline');
    });

    void test('a lane whose probe PING answers goes back into rotation', async (t) => {
      const fp = fakePool(t, { max: 2, lanes: 1, min: 1, commandTimeoutMs: 500, retries: 0 }, { sendPath });
      await fp.pool.ready();
      fp.script.hang((name, args) => name === 'get' && args[0] === 'slow', 1);
      const slow = track(fp.pool.get('slow'));
      await flush();
      const lane = lastConn(fp, 'get');
      fp.clock.advance(500);
      await flush();
      assert.equal((slow.error as CommandTimeoutError).outcome, 'unknown');
      assert.equal(lane.closed, false);
      assert.equal(await fp.pool.get('after'), null);
      assert.equal(lastConn(fp, 'get'), lane, 'same lane serves again');
      assert.equal(fp.pool.stats().destroyed, 0);
    });

    void test('a lane dropped by the server is replaced; commands keep flowing and health recovers', async (t) => {
      const fp = fakePool(t, { max: 3, lanes: 1, min: 1 }, { sendPath });
      await fp.pool.ready();
      const health: string[] = [];
      fp.pool.on('health', (h) => health.push(`${h.from}->${h.to}`));
      const lane = lastConn(fp, 'ping');
      lane.kill(new Error('server closed the connection'));
      await flush();
      assert.equal(fp.pool.stats().destroyedBy.error, 1);
      assert.equal(await fp.pool.set('k', 'v'), 'OK');
      assert.notEqual(lastConn(fp, 'set'), lane);
      assert.equal(fp.pool.stats().lanes, 1);
      assert.deepEqual(health, ['healthy->degraded', 'degraded->healthy']);
    });

    void test('a blocking command on the pool runs on an exclusive lease; the lanes keep serving', async (t) => {
      const fp = fakePool(t, { max: 3, lanes: 1, min: 1 }, { sendPath });
      await fp.pool.ready();
      const lane = lastConn(fp, 'ping');
      fp.script.park('blpop');
      const popped = track(fp.pool.blpop('jobs', 5));
      await flush();
      assert.equal(fp.script.parked.length, 1);
      const blocked = fp.script.parked[0]!.conn;
      assert.notEqual(blocked, lane, 'BLPOP did not go to the shared lane');
      assert.equal(fp.pool.stats().leased, 1);
      for (let i = 0; i < 10; i++) assert.equal(await fp.pool.set(`k${i}`, 'v'), 'OK');
      assert.ok(fp.script.calls.filter((c) => c.name === 'set').every((c) => c.conn === lane));
      fp.script.parked[0]!.resolve(['jobs', 'job-1']);
      await flush();
      assert.deepEqual(popped.value, ['jobs', 'job-1']);
      const s = fp.pool.stats();
      assert.equal(s.leased, 0, 'the lease went back');
      assert.equal(s.idle, 1);
    });

    void test('a command waiting for a lane that never connects times out with outcome "not-sent"', async (t) => {
      const fp = fakePool(
        t,
        { max: 2, lanes: 1, min: 0, commandTimeoutMs: 300, acquireTimeoutMs: 5_000, connectTimeoutMs: 300 },
        { sendPath },
      );
      fp.driver.behaviour = 'hang';
      const p = track(fp.pool.with({ timeoutMs: 200 }).get('k'));
      await flush();
      assert.equal(fp.pool.stats().pending, 1);
      assert.equal(fp.pool.stats().connecting, 1);
      fp.clock.advance(200);
      await flush();
      const err = p.error as CommandTimeoutError;
      assert.ok(err instanceof CommandTimeoutError, String(err));
      assert.equal(err.outcome, 'not-sent');
      assert.equal(fp.pool.stats().pending, 0);
    });
  });

  void describe(`retries (driver ${sendPath ? 'send() fast path' : 'command() only'})`, () => {
    void test('a not-sent failure is retried at once on another lane', async (t) => {
      const fp = fakePool(t, { max: 4, lanes: 2, min: 2 }, { sendPath });
      await fp.pool.ready();
      await flush();
      fp.script.on(
        'set',
        () => {
          throw new ConnectionError('SET: connection not writable', 'not-sent');
        },
        1,
      );
      assert.equal(await fp.pool.set('k', 'v'), 'OK');
      const sets = fp.script.calls.filter((c) => c.name === 'set');
      assert.equal(sets.length, 2);
      assert.notEqual(sets[0]!.conn, sets[1]!.conn, 'the retry used a different lane');
      assert.equal(fp.pool.stats().retries, 1);
    });

    void test('a written non-idempotent command is not retried: outcome "unknown" reaches the caller', async (t) => {
      const fp = fakePool(t, { max: 4, lanes: 2, min: 2 }, { sendPath });
      await fp.pool.ready();
      fp.script.park('incr');
      const p = track(fp.pool.incr('counter'));
      await flush();
      fp.script.parked[0]!.conn.kill(); // connection lost after the write
      await flush();
      const err = p.error as ConnectionError;
      assertUnknown(err);
      assert.equal(fp.script.count('incr'), 1, 'INCR was written once and never again');
      assert.equal(fp.pool.stats().retries, 0);
    });

    void test('a read-only command is retried after an unknown outcome', async (t) => {
      const fp = fakePool(t, { max: 4, lanes: 2, min: 2 }, { sendPath });
      await fp.pool.ready();
      fp.script.park('get', 1);
      fp.driver.store.set('k', 'v');
      const p = track(fp.pool.get('k'));
      await flush();
      fp.script.parked[0]!.conn.kill();
      await flush();
      assert.equal(p.value, 'v');
      assert.equal(fp.script.count('get'), 2);
      assert.equal(fp.pool.stats().retries, 1);
    });

    void test('a command marked idempotent with pool.with() is retried after an unknown outcome', async (t) => {
      const fp = fakePool(t, { max: 4, lanes: 2, min: 2 }, { sendPath });
      await fp.pool.ready();
      fp.script.park('incr', 1);
      const p = track(fp.pool.with({ idempotent: true }).incr('counter'));
      await flush();
      fp.script.parked[0]!.conn.kill();
      await flush();
      assert.equal(p.value, 1);
      assert.equal(fp.script.count('incr'), 2);
    });

    void test('LOADING and TRYAGAIN replies are retried after the backoff delay', async (t) => {
      const fp = fakePool(t, { max: 2, lanes: 1, min: 1, retries: 3 }, { sendPath });
      await fp.pool.ready();
      fp.script.on(
        'set',
        () => {
          throw new ReplyError('TRYAGAIN Multiple keys request during rehashing of slot', 'SET');
        },
        1,
      );
      fp.script.on(
        'set',
        () => {
          throw new ReplyError('LOADING Redis is loading the dataset in memory', 'SET');
        },
        1,
      );
      const p = track(fp.pool.set('k', 'v'));
      await flush();
      assert.equal(fp.script.count('set'), 1);
      assert.equal(p.settled, false, 'waits for the backoff (constantBackoff(5))');
      fp.clock.advance(4);
      await flush();
      assert.equal(fp.script.count('set'), 1, 'not before the backoff');
      fp.clock.advance(1);
      await flush();
      assert.equal(fp.script.count('set'), 2);
      fp.clock.advance(5);
      await flush();
      assert.equal(p.value, 'OK');
      assert.equal(fp.script.count('set'), 3);
      assert.equal(fp.pool.stats().retries, 2);
    });

    void test('"not executed" replies are retried with backoff until the deadline; then the last reply is surfaced', async (t) => {
      // LOADING provably did not run, and a restart's load outlasts a few quick retries, so
      // `retries` does not cap these: the command's deadline does.
      const fp = fakePool(t, { max: 2, lanes: 1, min: 1, retries: 2, commandTimeoutMs: 50 }, { sendPath });
      await fp.pool.ready();
      fp.script.on('get', () => {
        throw new ReplyError('LOADING Redis is loading the dataset in memory', 'GET');
      });
      const p = track(fp.pool.get('k'));
      for (let i = 0; i < 20 && !p.settled; i++) {
        await flush();
        fp.clock.advance(5);
      }
      await flush();
      const err = await rejectsWith(p.promise, 'ERR_REPLY', 'ReplyError');
      assert.equal(err.prefix, 'LOADING');
      assert.ok(fp.script.count('get') > 3, `retried past \`retries\` (${fp.script.count('get')} tries)`);
      assert.ok(fp.script.count('get') <= 1 + 50 / 5 + 1, 'but only within the 50 ms deadline');
    });

    void test('no retry is started that the backoff would push to the deadline: the "not executed" reply is surfaced at once', async (t) => {
      // Deadline 50 ms, backoff 30 ms: the retry at 30 ms fails too, and a third try could only
      // start at the deadline and time out with outcome 'unknown' — for a command known not to run.
      const fp = fakePool(t, { max: 2, lanes: 1, min: 1, commandTimeoutMs: 50, backoff: constantBackoff(30) }, { sendPath });
      await fp.pool.ready();
      fp.script.on('incr', () => {
        throw new ReplyError('LOADING Redis is loading the dataset in memory', 'INCR');
      });
      const t0 = fp.clock.now();
      const p = track(fp.pool.incr('n'));
      await flush();
      assert.equal(fp.script.count('incr'), 1);
      fp.clock.advance(30);
      await flush();
      assert.equal(fp.script.count('incr'), 2, 'one retry after the backoff');
      const err = await rejectsWith(p.promise, 'ERR_REPLY', 'ReplyError');
      assert.equal(err.prefix, 'LOADING');
      assert.equal(fp.clock.now() - t0, 30, 'settled at the second reply, not at the deadline');
      fp.clock.advance(40);
      await flush();
      assert.equal(fp.script.count('incr'), 2, 'nothing sent at or after the deadline');
    });

    void test('`retries` caps immediate retries of commands that were not sent', async (t) => {
      const fp = fakePool(t, { max: 2, lanes: 1, min: 1, retries: 2 }, { sendPath });
      await fp.pool.ready();
      fp.script.on('get', () => {
        throw new ConnectionError('GET: connection not writable', 'not-sent');
      });
      const p = track(fp.pool.get('k'));
      for (let i = 0; i < 10 && !p.settled; i++) {
        await flush();
        fp.clock.advance(5);
      }
      await flush();
      await rejectsWith(p.promise, 'ERR_CONNECTION', 'ConnectionError');
      assert.equal(fp.script.count('get'), 3, 'first try + 2 retries');
    });

    // The outcome of a call is the worst over its attempts: once one may have run, never 'not-sent'.
    for (const kind of ['read-only GET', 'idempotent pipeline'] as const) {
      void test(`${kind}: written, connection lost, the retry times out waiting for a lane: outcome "unknown"`, async (t) => {
        const fp = fakePool(
          t,
          { max: 2, lanes: 1, min: 0, commandTimeoutMs: 300, acquireTimeoutMs: 5_000, connectTimeoutMs: 5_000 },
          { sendPath },
        );
        await fp.pool.ready();
        fp.script.park(kind === 'read-only GET' ? 'get' : 'rpush', 1);
        const p = track<unknown>(
          kind === 'read-only GET' ? fp.pool.get('k') : fp.pool.with({ idempotent: true }).pipeline().rpush('l', 'x').exec(),
        );
        await flush();
        fp.driver.behaviour = 'hang'; // the replacement lane never connects
        fp.script.parked[0]!.conn.kill(); // lost after the write: it may have run
        await flush();
        assert.equal(fp.pool.stats().retries, 1, 'retried');
        assert.equal(fp.pool.stats().pending, 1, 'the retry waits for a lane');
        fp.clock.advance(300);
        await flush();
        const err = p.error as CommandTimeoutError;
        assert.ok(err instanceof CommandTimeoutError, String(err));
        assert.equal(err.outcome, 'unknown');
      });
    }

    void test('a retry refused by a full wait queue keeps outcome "unknown" from the attempt that was written', async (t) => {
      const fp = fakePool(
        t,
        { max: 2, lanes: 1, min: 0, maxWaiting: 1, commandTimeoutMs: 1_000, acquireTimeoutMs: 5_000, connectTimeoutMs: 5_000 },
        { sendPath },
      );
      await fp.pool.ready();
      fp.script.park('get', 1);
      const p = track(fp.pool.get('k'));
      await flush();
      fp.driver.behaviour = 'hang';
      const lane = fp.script.parked[0]!.conn;
      const other = track(fp.pool.acquire({ timeoutMs: 5_000 })); // fills the one waiting slot
      await flush();
      lane.kill();
      await flush();
      const err = p.error as { code?: string; outcome?: string };
      assert.equal(err.code, 'ERR_POOL_EXHAUSTED', String(p.error));
      assert.equal(err.outcome, 'unknown');
      void other.promise.catch(() => undefined);
    });

    void test('an ordinary error reply is not retried', async (t) => {
      const fp = fakePool(t, { max: 2, lanes: 1, min: 1 }, { sendPath });
      await fp.pool.ready();
      fp.script.on('incr', () => {
        throw new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value', 'INCR');
      });
      const before = fp.pool.stats().errorsBy.reply;
      await rejectsWith(fp.pool.incr('k'), 'ERR_REPLY');
      assert.equal(fp.script.count('incr'), 1);
      const s = fp.pool.stats();
      assert.equal(s.errorsBy.reply, before + 1);
      assert.equal(fp.driver.open.size, 1, 'an error reply does not cost the connection');
    });
  });

  function assertUnknown(err: ConnectionError): void {
    assert.ok(err instanceof ConnectionError, String(err));
    assert.equal(err.code, 'ERR_CONNECTION');
    assert.equal(err.outcome, 'unknown');
  }
}
