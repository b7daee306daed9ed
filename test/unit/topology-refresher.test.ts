/**
 * The cluster topology refresher on a manual clock: single flight, rate limit with one trailing
 * load, periodic check, randomised sources with per-source timeouts, close.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RefreshFailedError, shuffle, TopologyRefresher, type RefresherOptions } from '../../src/topology/cluster/refresher.js';
import { ManualClock } from '../../src/testing/manual-clock.js';

/** Lets promise continuations run (no timers involved). */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

interface Deferred {
  source: string;
  resolve: (v: string) => void;
  reject: (e: Error) => void;
}

function harness(opts: Partial<RefresherOptions<string, string>> = {}) {
  const clock = new ManualClock();
  const calls: Deferred[] = [];
  const updates: string[] = [];
  const errors: unknown[] = [];
  const refresher = new TopologyRefresher<string, string>({
    clock,
    sources: () => ['a', 'b', 'c', 'd'],
    load: (source) => new Promise<string>((resolve, reject) => calls.push({ source, resolve, reject })),
    onUpdate: (r) => updates.push(r),
    onError: (e) => errors.push(e),
    random: () => 0.99, // shuffle keeps the order
    periodMs: Infinity,
    ...opts,
  });
  return { clock, calls, updates, errors, refresher };
}

void describe('TopologyRefresher', () => {
  void test('concurrent requests share one load (single flight)', async () => {
    const h = harness();
    const p1 = h.refresher.request('moved');
    const p2 = h.refresher.request('timeout');
    assert.equal(h.calls.length, 1);
    assert.equal(h.refresher.refreshing, true);
    h.calls[0]?.resolve('v1');
    assert.equal(await p1, 'v1');
    // p2 arrived during the load: it gets the next one (the first may predate its cause) …
    assert.equal(h.calls.length, 1, '… which waits for the rate limit');
    h.clock.advance(1000);
    await flush();
    assert.equal(h.calls.length, 2);
    h.calls[1]?.resolve('v2');
    assert.equal(await p2, 'v2');
    assert.deepEqual(h.updates, ['v1', 'v2']);
    assert.deepEqual(h.refresher.stats().requested, { moved: 1, timeout: 1 });
  });

  void test('requests inside the rate-limit window coalesce into one trailing load', async () => {
    const h = harness({ minIntervalMs: 500 });
    const first = h.refresher.request('initial');
    h.calls[0]?.resolve('v1');
    await first;
    h.clock.advance(100);
    const waiting = [h.refresher.request('moved'), h.refresher.request('moved'), h.refresher.request('connection-error')];
    await flush();
    assert.equal(h.calls.length, 1, 'no load before the window ends');
    h.clock.advance(399);
    await flush();
    assert.equal(h.calls.length, 1);
    h.clock.advance(1);
    await flush();
    assert.equal(h.calls.length, 2, 'exactly one trailing load');
    h.calls[1]?.resolve('v2');
    assert.deepEqual(await Promise.all(waiting), ['v2', 'v2', 'v2']);
    assert.equal(h.refresher.stats().loads, 2);
    assert.equal(h.refresher.stats().coalesced, 2);
    assert.equal(h.clock.pendingTimers, 0);
  });

  void test('after the window a request loads at once', async () => {
    const h = harness({ minIntervalMs: 500 });
    const p = h.refresher.request('initial');
    h.calls[0]?.resolve('v1');
    await p;
    h.clock.advance(500);
    void h.refresher.request('moved');
    assert.equal(h.calls.length, 2);
    h.calls[1]?.resolve('v2');
    await flush();
  });

  void test('a failing source falls through to the next; all failing rejects with the last cause', async () => {
    const h = harness({ maxSources: 2 });
    const p = h.refresher.request('manual');
    assert.equal(h.calls[0]?.source, 'a');
    h.calls[0]?.reject(new Error('refused'));
    await flush();
    assert.equal(h.calls[1]?.source, 'b');
    h.calls[1]?.reject(new Error('reset'));
    await assert.rejects(p, (err: unknown) => err instanceof RefreshFailedError && (err.cause as Error).message === 'reset');
    assert.equal(h.calls.length, 2, 'maxSources bounds the sources asked');
    assert.equal(h.errors.length, 1);
    assert.equal(h.refresher.stats().failed, 1);
  });

  void test('a source that does not answer times out on the clock and the next is asked (not hedged)', async () => {
    const h = harness({ sourceTimeoutMs: 200, hedgeDelayMs: Infinity });
    const p = h.refresher.request('timeout');
    h.clock.advance(199);
    await flush();
    assert.equal(h.calls.length, 1);
    h.clock.advance(1);
    await flush();
    assert.equal(h.calls.length, 2);
    h.calls[1]?.resolve('from-b');
    assert.equal(await p, 'from-b');
    assert.equal(h.refresher.stats().lastDurationMs, 200);
  });

  void test('hedged: a silent source does not hold the load; the next is asked after hedgeDelayMs and the first answer wins', async () => {
    const h = harness({ sourceTimeoutMs: 5000, hedgeDelayMs: 100, maxSources: 3 });
    const p = h.refresher.request('timeout');
    assert.equal(h.calls.length, 1);
    h.clock.advance(99);
    assert.equal(h.calls.length, 1);
    h.clock.advance(1);
    assert.equal(h.calls.length, 2, 'b asked while a is still silent');
    h.calls[1]?.resolve('from-b');
    assert.equal(await p, 'from-b');
    h.clock.advance(1000);
    assert.equal(h.calls.length, 2, 'no third source after an answer');
    assert.equal(h.refresher.stats().lastDurationMs, 100);
    assert.equal(h.refresher.stats().sourcesAsked, 2);
    // a finally times out: it is asked last from now on.
    h.clock.advance(4000);
    await flush();
    assert.deepEqual(h.refresher.candidates(), ['b', 'c', 'd'], 'a failed recently: last (and cut by maxSources); b answered: first');
    assert.equal(h.clock.pendingTimers, 0);
  });

  void test('hedged: a failure asks the next at once; all failing rejects once every asked source settled', async () => {
    const h = harness({ hedgeDelayMs: 100, maxSources: 3 });
    const p = h.refresher.request('manual');
    h.clock.advance(100); // a silent, b asked
    h.calls[1]?.reject(new Error('refused'));
    await flush();
    assert.equal(h.calls.length, 3, 'c asked at once after b failed');
    h.calls[2]?.reject(new Error('reset'));
    await flush();
    h.calls[0]?.reject(new Error('late'));
    await assert.rejects(p, (err: unknown) => err instanceof RefreshFailedError && (err.cause as Error).message === 'late');
    assert.equal(h.refresher.stats().sourceFailures, 3);
  });

  void test('noteFailure ranks a source last for failurePenaltyMs; an answer ranks it first', async () => {
    const h = harness({ failurePenaltyMs: 1000, maxSources: 4 });
    h.refresher.noteFailure('a');
    assert.deepEqual(h.refresher.candidates(), ['b', 'c', 'd', 'a']);
    const p = h.refresher.request('timeout');
    assert.equal(h.calls[0]?.source, 'b', 'the suspected source is not asked first');
    h.calls[0]?.resolve('v');
    await p;
    assert.deepEqual(h.refresher.candidates(), ['b', 'c', 'd', 'a']);
    h.clock.advance(1000);
    assert.deepEqual(h.refresher.candidates(), ['b', 'a', 'c', 'd'], 'the penalty expired: a is unknown again');
  });

  void test('sources are tried in random order (injected random)', () => {
    assert.deepEqual(
      shuffle(['a', 'b', 'c'], () => 0),
      ['b', 'c', 'a'],
    );
    const h = harness({ random: () => 0 });
    void h.refresher.request('initial');
    assert.equal(h.calls[0]?.source, 'b');
  });

  void test('periodic check fires every periodMs and stops on close', async () => {
    const h = harness({ periodMs: 10_000 });
    h.refresher.start();
    h.refresher.start(); // idempotent
    h.clock.advance(9_999);
    assert.equal(h.calls.length, 0);
    h.clock.advance(1);
    assert.equal(h.calls.length, 1);
    h.calls[0]?.resolve('p1');
    await flush();
    h.clock.advance(10_000);
    assert.equal(h.calls.length, 2);
    h.calls[1]?.resolve('p2');
    await flush();
    assert.deepEqual(h.refresher.stats().requested, { periodic: 2 });
    h.refresher.close();
    assert.equal(h.clock.pendingTimers, 0);
    await assert.rejects(h.refresher.request('manual'), /closed/);
  });

  void test('a trailing load waiting on a slow load does not start after close', async () => {
    const h = harness({ minIntervalMs: 100, sourceTimeoutMs: 10_000, hedgeDelayMs: Infinity });
    const p1 = h.refresher.request('initial');
    const p2 = h.refresher.request('moved');
    h.clock.advance(200); // the trailing timer fires while the first load still runs
    await flush();
    h.refresher.close();
    await assert.rejects(p2, /closed/);
    h.calls[0]?.resolve('slow');
    await p1;
    await flush();
    assert.equal(h.calls.length, 1, 'no source asked after close');
    assert.equal(h.refresher.stats().loads, 1, 'and no load started');
  });

  void test('close rejects a scheduled load and leaves no timer', async () => {
    const h = harness();
    const p1 = h.refresher.request('initial');
    const p2 = h.refresher.request('moved');
    h.refresher.close();
    await assert.rejects(p2, /closed/);
    h.calls[0]?.resolve('late');
    assert.equal(await p1, 'late');
    assert.deepEqual(h.updates, [], 'a closed refresher updates nobody');
    assert.equal(h.clock.pendingTimers, 0);
  });
});
