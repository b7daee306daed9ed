/**
 * A5: the server restarts with a dataset and answers `-LOADING` while it loads. Injection: the
 * real thing — `DEBUG POPULATE` + `SAVE`, then a restart on the same port with
 * `--key-load-delay` (µs per key) and a small `loading-process-events-interval-bytes` so the
 * server answers clients while loading (the Redis suite's own recipe, tests/integration/rdb.tcl).
 * Expected: connections open (HELLO is allowed while loading); commands get a typed ERR_REPLY
 * with prefix LOADING, outcome 'rejected' (not executed: safe to retry, even writes); a pool
 * whose retry budget covers the load waits it out within the deadline and the write runs
 * exactly once; the pool recovers by itself when loading ends.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { constantBackoff } from '../../src/resilience/backoff.js';
import { eventually, expectOk, expectTyped, settle } from './lib/guard.js';
import { assertQuiet, fileChecks, scope } from './lib/scope.js';

fileChecks();

const LEDGER = "redis.call('SADD', KEYS[1], ARGV[1]); return redis.call('INCR', KEYS[2])";

void test('LOADING after a restart: typed not-executed errors, retry within the deadline, exactly-once writes, recovery', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  await server.command('DEBUG', 'POPULATE', '15000', 'load', '10');
  await server.command('SAVE');
  const quick = s.pool('loading-quick', { url: server.url, commandTimeoutMs: 400, min: 1, lanes: 1 }, server).pool;
  const patient = s.pool(
    'loading-patient',
    {
      url: server.url,
      commandTimeoutMs: 8_000,
      acquireTimeoutMs: 8_000,
      min: 1,
      lanes: 1,
      retries: 100,
      backoff: constantBackoff(80),
    },
    server,
  ).pool;
  await expectOk(quick.ready(), 2_000, 'ready');
  await expectOk(patient.ready(), 2_000, 'ready');

  await server.restart({ extraArgs: ['--key-load-delay', '15', '--loading-process-events-interval-bytes', '1024'], acceptLoading: true });
  const loadingSince = performance.now();
  // The patient pool's write is issued now and must come back OK once loading ends, run once.
  const ledger = settle(patient.eval(LEDGER, 2, 'load:ids', 'load:ctr', 'op-1'), 8_000 + 250, 'ledger write during LOADING');
  const get = settle(patient.get('load:1'), 8_000 + 250, 'GET during LOADING');

  const r = await expectTyped(
    quick.get('load:1'),
    { code: 'ERR_REPLY', outcome: 'rejected', prefix: 'LOADING', name: 'ReplyError' },
    400 + 250,
    'GET during LOADING',
  );
  assert.match(r.error.message, /^LOADING Redis is loading the dataset in memory/);
  const w = await expectTyped(quick.incr('load:quick'), { code: 'ERR_REPLY', prefix: 'LOADING' }, 400 + 250, 'INCR during LOADING');
  assert.ok(w.elapsedMs < 400 + 250);
  const quickRetries = quick.stats().retries;
  assert.ok(quickRetries >= 2, `LOADING is retried (not executed): retries=${quickRetries}`);
  const health = await quick.health({ timeoutMs: 200 });
  t.diagnostic(`quick pool during LOADING: ${health.status} / ${health.message}; retries=${quickRetries}`);

  const rl = await ledger;
  assert.ok(rl.ok, `patient ledger write failed: ${String((rl as { error?: unknown }).error)}`);
  assert.equal(rl.value, 1);
  const rg = await get;
  assert.ok(rg.ok);
  assert.match(String(rg.value), /^value:1\0*$/); // DEBUG POPULATE pads values to the size given
  t.diagnostic(`patient pool waited out LOADING: ${Math.round(performance.now() - loadingSince)} ms, retries=${patient.stats().retries}`);
  // Exactly once: the counter and the id set agree (duplicates = ctr - SCARD = 0).
  assert.equal(Number(await server.command('GET', 'load:ctr')), 1);
  assert.equal(Number(await server.command('SCARD', 'load:ids')), 1);
  // The refused INCR never ran.
  assert.equal(await server.command('GET', 'load:quick'), null);

  await eventually(() => quick.get('load:2'), { timeoutMs: 10_000, attemptMs: 650, intervalMs: 100, what: 'quick pool after loading' });
  assert.match(String(await quick.get('load:2')), /^value:2\0*$/);
  await assertQuiet(quick);
  await assertQuiet(patient);
});
