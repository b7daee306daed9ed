/**
 * Shard channels on the fake driver: one SSUBSCRIBE (and SUNSUBSCRIBE) per slot, also when they
 * are restored after a reconnect (a cluster node refuses channels of several slots in one
 * command); a server-initiated `sunsubscribe` push reaches the internal hook, except while an
 * SSUBSCRIBE of ours is in flight (ioredis signals a MOVED answer to it the same way).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { constantBackoff } from '../../src/index.js';
import { kShardDropped } from '../../src/pool/subscriber.js';
import type { FakeConnection } from '../../src/testing/index.js';
import { keySlot } from '../../src/topology/cluster/keys.js';
import { fakePool, flush, type FakePool } from '../helpers/pool-fixtures.js';

function subConn(fp: FakePool): FakeConnection {
  const c = [...fp.driver.open].find((x) => x.log[0]?.[0] === 'client' && x.log[0][1] === 'ID');
  assert.ok(c, 'a subscriber connection is open');
  return c;
}

// Two channels in one slot (a hash tag), one in another.
const A1 = '{a}one';
const A2 = '{a}two';
const B = '{b}x';

void test('shard channels go one SSUBSCRIBE / SUNSUBSCRIBE per slot, on subscribe and on restore', async (t) => {
  assert.equal(keySlot(A1), keySlot(A2));
  assert.notEqual(keySlot(A1), keySlot(B));
  const fp = fakePool(t, { max: 3, lanes: 1, min: 0, reconnectBackoff: constantBackoff(1) });
  const sub = fp.pool.subscriber();
  assert.equal(await sub.ssubscribe(A1, B, A2), 3);
  const first = subConn(fp);
  assert.deepEqual(first.log.slice(1), [
    ['ssubscribe', A1, A2],
    ['ssubscribe', B],
  ]);
  first.kill(new Error('gone'));
  await flush();
  fp.clock.advance(1);
  await flush();
  const second = subConn(fp);
  assert.notEqual(second, first);
  assert.deepEqual(second.log.slice(1), [
    ['ssubscribe', A1, A2],
    ['ssubscribe', B],
  ]);
  await sub.sunsubscribe();
  assert.deepEqual(second.log.slice(3), [
    ['sunsubscribe', A1, A2],
    ['sunsubscribe', B],
  ]);
  await sub.close();
});

void test('a sunsubscribe push reaches the hook, but not while our own SSUBSCRIBE is in flight', async (t) => {
  const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
  const sub = fp.pool.subscriber();
  let dropped = 0;
  sub[kShardDropped] = () => dropped++;
  await sub.ssubscribe(A1);
  const conn = subConn(fp);
  conn.push('sunsubscribe');
  assert.equal(dropped, 1, 'a drop by the server');
  // The fake answers SSUBSCRIBE after a push of the 'moved' kind, as ioredis does for a MOVED reply.
  fp.driver.handler = (name, _args, c) => {
    if (name === 'ssubscribe') c.push('sunsubscribe');
    return undefined;
  };
  await sub.ssubscribe(B);
  assert.equal(dropped, 1, 'the signal of our own command is not a drop');
  await sub.close();
});
