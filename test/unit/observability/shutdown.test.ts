/**
 * installShutdown: on a signal, beforeClose runs, pools close within the deadline, then are
 * destroyed, then exit(code) — 0 when clean, 1 after a deadline or a failure; a second signal
 * forces; uninstall removes the handlers. Signals are delivered with process.emit, so nothing
 * is really sent to the test process.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { installShutdown, type Closable } from '../../../src/lifecycle/shutdown.js';
import { createPool } from '../../../src/pool/pool.js';
import { FakeDriver, ManualClock } from '../../../src/testing/index.js';

class FakeClosable implements Closable {
  readonly calls: string[] = [];
  readonly options = { name: 'fake' };
  #release: (() => void) | undefined;
  readonly hang: boolean;
  readonly fail: boolean;
  constructor(hang = false, fail = false) {
    this.hang = hang;
    this.fail = fail;
  }
  close(opts?: { timeoutMs?: number }): Promise<void> {
    this.calls.push(`close:${opts?.timeoutMs}`);
    if (this.fail) return Promise.reject(new Error('close failed'));
    if (this.hang) return new Promise((resolve) => (this.#release = resolve));
    return Promise.resolve();
  }
  destroy(): Promise<void> {
    this.calls.push('destroy');
    this.#release?.();
    return Promise.resolve();
  }
}

function exitPromise(): { exit: (code: number) => void; code: Promise<number> } {
  let exit!: (code: number) => void;
  const code = new Promise<number>((resolve) => (exit = resolve));
  return { exit, code };
}

const SIG = 'SIGUSR2' as NodeJS.Signals; // not used by the test runner

void describe('installShutdown', () => {
  void test('closes every pool with the deadline, destroys, exits 0; uninstall removes the handler', async () => {
    const a = new FakeClosable();
    const b = new FakeClosable();
    const order: string[] = [];
    const { exit, code } = exitPromise();
    const before = process.listenerCount(SIG);
    const uninstall = installShutdown([a, b], { signals: [SIG], timeoutMs: 1234, exit, beforeClose: () => void order.push('before') });
    assert.equal(process.listenerCount(SIG), before + 1);
    process.emit(SIG, SIG);
    assert.equal(await code, 0);
    assert.deepEqual(order, ['before']);
    assert.deepEqual(a.calls, ['close:1234', 'destroy']);
    assert.deepEqual(b.calls, ['close:1234', 'destroy']);
    uninstall();
    uninstall();
    assert.equal(process.listenerCount(SIG), before);
  });

  void test('a close that outlives the deadline: destroy, exit 1', async () => {
    const slow = new FakeClosable(true);
    const { exit, code } = exitPromise();
    const uninstall = installShutdown(slow, { signals: [SIG], timeoutMs: 20, exit });
    process.emit(SIG, SIG);
    assert.equal(await code, 1);
    assert.deepEqual(slow.calls, ['close:20', 'destroy']);
    uninstall();
  });

  void test('a failing close or beforeClose still closes everything; exit 1; logged without throwing', async () => {
    const bad = new FakeClosable(false, true);
    const good = new FakeClosable();
    const lines: string[] = [];
    const logger = {
      info: (_: object, m?: string) => void lines.push(m!),
      warn: (_: object, m?: string) => void lines.push(m!),
      error: () => undefined,
    };
    const { exit, code } = exitPromise();
    const uninstall = installShutdown([bad, good], {
      signals: [SIG],
      exit,
      logger,
      beforeClose: () => {
        throw new Error('server.close failed');
      },
    });
    process.emit(SIG, SIG);
    assert.equal(await code, 1);
    assert.deepEqual(good.calls, ['close:10000', 'destroy']);
    assert.deepEqual(bad.calls, ['close:10000', 'destroy']);
    assert.deepEqual(lines, ['redis_shutdown', 'redis_shutdown_error', 'redis_shutdown_error', 'redis_shutdown_done']);
    uninstall();
  });

  void test('a second signal destroys at once and exits 1', async () => {
    const slow = new FakeClosable(true);
    const codes: number[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const uninstall = installShutdown(slow, {
      signals: [SIG],
      timeoutMs: 60_000,
      exit: (c) => {
        codes.push(c);
        if (codes.length === 2) done();
      },
    });
    process.emit(SIG, SIG);
    process.emit(SIG, SIG);
    await finished;
    assert.equal(codes[0], 1, 'forced');
    assert.ok(slow.calls.includes('destroy'));
    uninstall();
  });

  void test('exit: false leaves the process alone; a real pool ends closed', async () => {
    const pool = createPool({ driver: new FakeDriver(), clock: new ManualClock(), max: 2 });
    await pool.ready();
    let closed = false;
    pool.on('pool:closed', () => (closed = true));
    const uninstall = installShutdown(pool, { signals: [SIG], exit: false });
    process.emit(SIG, SIG);
    for (let i = 0; i < 50 && !closed; i++) await new Promise((r) => setImmediate(r));
    assert.equal(closed, true);
    assert.equal(pool.state, 'closed');
    uninstall();
  });
});
