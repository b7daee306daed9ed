/** The invalidation connection's frame reader: RESP2 messages, RESP3 pushes, split chunks. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RespFrames, type RespValue } from '../../../src/cache/resp-frames.js';

const norm = (v: RespValue): unknown => (Buffer.isBuffer(v) ? v.toString() : Array.isArray(v) ? v.map(norm) : v);

void test('RESP3 invalidate pushes, RESP2 messages, nulls and PONGs, split at every byte', () => {
  const wire = Buffer.from(
    '>2\r\n$10\r\ninvalidate\r\n*2\r\n$3\r\nx:1\r\n$3\r\nx:2\r\n' +
    '>2\r\n$10\r\ninvalidate\r\n_\r\n' +
    '+PONG\r\n' +
    '*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$3\r\nx:3\r\n' +
    '*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n' +
    '%1\r\n+k\r\n:1\r\n',
  );
  const expected = [
    ['invalidate', ['x:1', 'x:2']], ['invalidate', null], 'PONG',
    ['message', '__redis__:invalidate', ['x:3']], ['message', '__redis__:invalidate', null], ['k', '1'],
  ];
  for (let cut = 0; cut <= wire.length; cut++) {
    const got: unknown[] = [];
    const r = new RespFrames((f) => got.push(norm(f)));
    r.push(wire.subarray(0, cut));
    r.push(wire.subarray(cut));
    assert.deepEqual(got, expected, `cut at ${cut}`);
  }
});

void test('bytes that are not RESP throw (the caller treats the stream as lost)', () => {
  assert.throws(() => new RespFrames(() => undefined).push(Buffer.from('hello\r\n')), /not RESP/);
  assert.throws(() => new RespFrames(() => undefined).push(Buffer.from('$-5\r\n')), /bad RESP length/);
});
