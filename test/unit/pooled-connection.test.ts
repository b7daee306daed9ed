/**
 * The per-connection in-flight FIFO: settled ops leave from the head and their slots are
 * cleared at once (a settled op references its caller's promise and so the reply; under steady
 * load the FIFO seldom drains, so a slot that is only skipped keeps replies alive).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newTally, PooledConnection, type InflightOp } from '../../src/pool/pooled-connection.js';

function op(deadline: number): InflightOp & { settled: boolean } {
  return {
    settled: false,
    deadline,
    expire() {
      this.settled = true;
    },
  };
}

void test('settled ops are dropped from the FIFO as soon as everything before them is settled', () => {
  const pc = new PooledConnection('t', 'lane', 0, Infinity, newTally());
  const ops = [op(10), op(11), op(12), op(13)];
  for (const o of ops) pc.track(o, false);
  // Replies in order (one connection answers FIFO), never draining completely.
  for (let i = 0; i < 3; i++) {
    ops[i]!.settled = true;
    pc.untrack(false);
    assert.ok(!pc.ops.includes(ops[i]), `op ${i} is no longer referenced`);
    const next = op(20 + i);
    pc.track(next, false);
    ops.push(next);
  }
  assert.equal(pc.inflight, 4);
  // An op settled out of order (a timeout) waits behind the unsettled head, then goes with it.
  ops[4]!.settled = true;
  pc.untrack(false);
  assert.ok(pc.ops.includes(ops[4]));
  ops[3]!.settled = true;
  pc.untrack(false);
  assert.ok(!pc.ops.includes(ops[3]) && !pc.ops.includes(ops[4]));
  assert.equal(pc.inflight, 2);
  const expiredBefore = ops.filter((o) => o.settled).length;
  pc.sweep(21);
  assert.equal(ops.filter((o) => o.settled).length - expiredBefore, 1, 'the sweep still finds the ops in flight');
});
