/**
 * Exclusive leases against a real server: a lease returned dirty (inside MULTI, WATCHing, on
 * another db) is reset before the next borrower of that very connection gets it; poisoned or
 * busy connections are destroyed, not reused; release misuse gives typed errors and never
 * credits capacity twice; `await using`, `withConnection`, abort, timeouts and leak reports.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AcquireAbortedError,
  AcquireTimeoutError,
  ForeignLeaseError,
  LeaseReleasedError,
  RedpoolError,
  type Lease,
  type Pool,
} from '../../../src/index.js';
import { leakGuard } from '../../helpers/leaks.js';
import { useRedis, waitFor } from '../../helpers/redis.js';

/** The server-side `CLIENT INFO` line of a lease's connection, as key → value. */
async function clientInfo(lease: Lease): Promise<Record<string, string>> {
  const line = String(await lease.call('CLIENT', 'INFO')).trim();
  return Object.fromEntries(line.split(' ').map((kv) => kv.split('=', 2) as [string, string]));
}

/** The numeric `CLIENT ID` of a lease's connection. */
async function clientId(lease: Lease): Promise<number> {
  return Number(await lease.client('ID'));
}

/** Acquires a lease, runs `fn`, releases. One lease connection (`max` = lanes + 1) makes reuse certain. */
async function borrow<T>(pool: Pool, fn: (lease: Lease) => Promise<T>): Promise<T> {
  const lease = await pool.acquire({ timeoutMs: 2000 });
  try {
    return await fn(lease);
  } finally {
    if (!lease.released) lease.release();
  }
}

void describe('exclusive leases', () => {
  const server = useRedis();

  void test('a lease returned inside MULTI, WATCHing, on another db comes back clean', async (t) => {
    const g = leakGuard(t, server());
    // lanes 2, max 3: exactly one lease connection, so the next borrower gets the same socket.
    const pool = g.pool({ label: 'clean', max: 3, lanes: 2, db: 0 });
    const writer = g.raw();
    await pool.del('clean:k', 'clean:w', 'clean:after');

    const first = await pool.acquire();
    const firstId = await clientId(first);
    const firstLeaseId = first.id;
    assert.equal(await first.select(3), 'OK');
    assert.equal(await first.watch('clean:w'), 'OK');
    // A bare MULTI sent by name (`call('MULTI')` is tested below too).
    assert.equal(String(await first.callBuffer('MULTI')), 'OK');
    assert.equal(await first.set('clean:k', 'queued'), 'QUEUED', 'the first borrower really is inside MULTI');
    first.release();
    // A change to the WATCHed key: if the next borrower were still WATCHing, its EXEC would abort.
    await writer.set('clean:w', 'changed');

    await borrow(pool, async (next) => {
      assert.equal(next.id, firstLeaseId, 'same pooled connection');
      assert.equal(await clientId(next), firstId, 'same server connection (CLIENT ID)');
      const info = await clientInfo(next);
      assert.equal(info['multi'], '-1', 'not in MULTI');
      assert.equal(info['db'], '0', 'back on the pool db');
      assert.equal(await next.set('clean:after', 'now'), 'OK', 'SET runs at once, not QUEUED');
      assert.deepEqual(await next.multi().set('clean:w', 'mine').exec(), [[null, 'OK']], 'not WATCHing: EXEC commits');
    });
    assert.equal(await pool.get('clean:k'), null, 'the queued SET was discarded, in db 0 …');
    assert.equal(await writer.get('clean:after'), 'now');
    await writer.select(3);
    assert.equal(await writer.get('clean:k'), null, '… and in db 3');
    await writer.select(0);
    const s = pool.stats();
    assert.equal(s.destroyedBy.dirty, 0, 'reset, not destroyed');
    assert.equal(s.created, 3);
    await pool.del('clean:w', 'clean:after');
  });

  void test('a lease on a pool with db 2 is restored to db 2 after SELECT', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'db2', max: 3, lanes: 2, db: 2 });
    const id = await borrow(pool, async (c) => {
      assert.equal((await clientInfo(c))['db'], '2');
      await c.select(5);
      assert.equal((await clientInfo(c))['db'], '5');
      return clientId(c);
    });
    await borrow(pool, async (c) => {
      assert.equal(await clientId(c), id);
      assert.equal((await clientInfo(c))['db'], '2');
    });
  });

  void test("lease.call('MULTI') enters MULTI", async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'callmulti', max: 3, lanes: 2 });
    await borrow(pool, async (c) => {
      assert.equal(await c.call('MULTI'), 'OK');
      assert.equal(await c.set('cm:k', 'v'), 'QUEUED');
      assert.deepEqual(await c.call('EXEC'), ['OK']);
    });
    assert.equal(pool.stats().destroyedBy.dirty, 0);
  });

  void test('a poisoned lease (SUBSCRIBE) and one released with a command in flight are destroyed, not reused', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'poison', max: 3, lanes: 2 });
    const subscribedId = await borrow(pool, async (c) => {
      const id = await clientId(c);
      await c.subscribe('poison:ch');
      return id;
    });
    await waitFor(() => pool.stats().destroyedBy.dirty === 1);
    const inflightId = await borrow(pool, async (c) => {
      const id = await clientId(c);
      assert.notEqual(id, subscribedId, 'the subscriber connection was not handed out again');
      // Left running on purpose: the release must not hand this connection to anyone else.
      c.blpop('poison:empty', 1).catch(() => undefined);
      return id;
    });
    await waitFor(() => pool.stats().destroyedBy.dirty === 2);
    await borrow(pool, async (c) => {
      const id = await clientId(c);
      assert.notEqual(id, inflightId);
      assert.notEqual(id, subscribedId);
    });
    const ids = String(await server().command('CLIENT', 'LIST'));
    assert.ok(
      !ids.includes(`id=${subscribedId} `) && !ids.includes(`id=${inflightId} `),
      'both dirty connections are gone from the server',
    );
  });

  void test('withConnection with a callback that leaves a command running destroys the connection', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'dangling', max: 3, lanes: 2 });
    let orphan: Promise<unknown> | undefined;
    const value = await pool.withConnection((c) => {
      orphan = c.blpop('dangling:empty', 1).then(
        () => 'resolved',
        (err: unknown) => err,
      );
      return 42;
    });
    assert.equal(value, 42);
    const outcome = await orphan;
    assert.ok(outcome instanceof RedpoolError, `the abandoned command fails with a typed error: ${String(outcome)}`);
    await waitFor(() => pool.stats().destroyedBy.dirty === 1);
  });

  void test('double release, use after release and foreign leases give typed errors and never credit capacity twice', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'misuse', max: 4, lanes: 2 }); // 2 lease connections
    const other = g.pool({ label: 'misuse-other', max: 3, lanes: 2 });
    const a = await pool.acquire();
    a.release();
    assert.throws(() => a.release(), LeaseReleasedError);
    assert.throws(() => pool.release(a), LeaseReleasedError);
    await assert.rejects(a.get('k'), LeaseReleasedError);
    assert.throws(() => a.pipeline(), LeaseReleasedError);
    const foreign = await other.acquire();
    assert.throws(() => pool.release(foreign), ForeignLeaseError);
    assert.throws(() => pool.release({} as Lease), ForeignLeaseError);
    foreign.release();

    // Capacity is still exactly 2: two leases at once, a third times out with a snapshot.
    const l1 = await pool.acquire();
    const l2 = await pool.acquire();
    assert.notEqual(l1.id, l2.id);
    await assert.rejects(pool.acquire({ timeoutMs: 100 }), (err: unknown) => {
      assert.ok(err instanceof AcquireTimeoutError, String(err));
      assert.equal(err.snapshot.leased, 2);
      assert.ok(err.snapshot.total <= 4);
      return true;
    });
    assert.ok((await g.names(pool)).length <= 4);
    l1.release();
    l2.release();
    assert.equal(pool.stats().leased, 0);
  });

  void test('await using, withConnection on throw, abort signal', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'scope', max: 3, lanes: 2 });
    let held: Lease | undefined;
    {
      await using lease = await pool.acquire();
      held = lease;
      assert.equal(await lease.ping(), 'PONG');
      assert.equal(pool.stats().leased, 1);
    }
    assert.equal(held.released, true);
    assert.equal(pool.stats().leased, 0);

    await assert.rejects(
      pool.withConnection(async () => Promise.reject(new Error('async boom'))),
      /async boom/,
    );
    await assert.rejects(
      pool.withConnection(() => {
        throw new Error('sync boom');
      }),
      /sync boom/,
    );
    assert.equal(pool.stats().leased, 0);

    const blocker = await pool.acquire();
    const ac = new AbortController();
    const waiting = pool.acquire({ signal: ac.signal, timeoutMs: 5000 });
    await waitFor(() => pool.stats().pending === 1);
    ac.abort(new Error('caller gave up'));
    await assert.rejects(waiting, AcquireAbortedError);
    await assert.rejects(pool.acquire({ signal: AbortSignal.abort() }), AcquireAbortedError);
    assert.equal(pool.stats().pending, 0);
    blocker.release();
  });

  void test('a connection killed by the server while idle is never handed out', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'killed', max: 3, lanes: 2, validateAfterIdleMs: 20 });
    const id = await borrow(pool, clientId);
    assert.equal(await server().command('CLIENT', 'KILL', 'ID', id), 1);
    await new Promise((r) => setTimeout(r, 40));
    await borrow(pool, async (c) => {
      assert.notEqual(await clientId(c), id);
      assert.equal(await c.ping(), 'PONG');
    });
  });

  void test('a lease held past leakDetectionMs is reported with the stack of its acquire', async (t) => {
    const g = leakGuard(t, server());
    const pool = g.pool({ label: 'leak', max: 3, lanes: 2, leakDetectionMs: 50, housekeepingIntervalMs: 20 });
    const reports: Array<{ id: number; heldMs: number; stack: string }> = [];
    pool.on('lease:leak', (e) => reports.push(e));
    const lease = await pool.acquire();
    await waitFor(() => reports.length > 0, { timeoutMs: 2000 });
    assert.equal(reports[0]?.id, lease.id);
    assert.ok((reports[0]?.heldMs ?? 0) >= 50);
    assert.match(reports[0]?.stack ?? '', /leases\.test/, 'stack points at the acquire in this file');
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(reports.length, 1, 'reported once');
    lease.release();
  });
});
