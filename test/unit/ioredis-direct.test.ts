/**
 * RESP encoding of the ioredis driver's direct path: byte lengths (not string lengths) for
 * non-ASCII text, numbers as ioredis prints them, Buffers kept as bytes, and anything else
 * left to ioredis's own path (undefined).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { directWire, encodeCommand, VERIFIED_IOREDIS } from '../../src/driver/ioredis-direct.js';

const join = (w: string | Array<string | Buffer> | undefined): Buffer => {
  assert.ok(w !== undefined);
  return typeof w === 'string' ? Buffer.from(w) : Buffer.concat(w.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
};

void describe('direct-path RESP encoding', () => {
  void test('strings are length-prefixed by their UTF-8 byte length', () => {
    assert.equal(encodeCommand('get', ['k']), '*2\r\n$3\r\nget\r\n$1\r\nk\r\n');
    assert.equal(encodeCommand('set', ['é', '𝄞']), '*3\r\n$3\r\nset\r\n$2\r\né\r\n$4\r\n𝄞\r\n');
    assert.equal(encodeCommand('set', ['k', '']), '*3\r\n$3\r\nset\r\n$1\r\nk\r\n$0\r\n\r\n');
    assert.equal(encodeCommand('ping', []), '*1\r\n$4\r\nping\r\n');
  });

  void test('numbers are sent as String(n), as ioredis does', () => {
    assert.equal(encodeCommand('incrby', ['n', -42]), '*3\r\n$6\r\nincrby\r\n$1\r\nn\r\n$3\r\n-42\r\n');
    assert.equal(encodeCommand('set', ['n', 0.5]), '*3\r\n$3\r\nset\r\n$1\r\nn\r\n$3\r\n0.5\r\n');
  });

  void test('Buffers are sent as their bytes, CR/LF and NUL included', () => {
    const bin = Buffer.from([0, 13, 10, 255]);
    const wire = encodeCommand('set', ['k', bin, 'EX', 10]);
    assert.ok(Array.isArray(wire));
    assert.deepEqual(
      join(wire),
      Buffer.concat([Buffer.from('*5\r\n$3\r\nset\r\n$1\r\nk\r\n$4\r\n'), bin, Buffer.from('\r\n$2\r\nEX\r\n$2\r\n10\r\n')]),
    );
    assert.deepEqual(join(encodeCommand('set', ['k', Buffer.alloc(0)])), Buffer.from('*3\r\n$3\r\nset\r\n$1\r\nk\r\n$0\r\n\r\n'));
  });

  void test('a large string argument is its own chunk (no rope for the write to flatten)', () => {
    const big = 'é'.repeat(20_000);
    const wire = encodeCommand('set', ['k', big, 'EX', 5]);
    assert.ok(Array.isArray(wire));
    assert.ok(wire.includes(big), 'the value itself is one of the parts');
    assert.deepEqual(join(wire), Buffer.from(`*5\r\n$3\r\nset\r\n$1\r\nk\r\n$40000\r\n${big}\r\n$2\r\nEX\r\n$1\r\n5\r\n`));
  });

  void test('arrays, objects, typed arrays and null are left to ioredis', () => {
    for (const bad of [['a'], { a: 1 }, new Uint8Array([1]), null, undefined, true, 10n]) {
      assert.equal(encodeCommand('set', ['k', bad]), undefined, String(bad));
    }
  });

  void test('only commands ioredis sends and answers untransformed take the direct path', () => {
    for (const plain of ['get', 'set', 'incr', 'hget', 'mget', 'ping', 'echo', 'del'])
      assert.notEqual(directWire(plain, ['k']), undefined, plain);
    // Argument or reply transformers, subscriber/blocking/quit handling, transactions.
    for (const special of [
      'hgetall',
      'hset',
      'mset',
      'zrange',
      'xread',
      'subscribe',
      'blpop',
      'quit',
      'multi',
      'exec',
      'select',
      'monitor',
      'auth',
      'hello',
    ]) {
      assert.equal(directWire(special, ['k']), undefined, special);
      assert.equal(directWire(special.toUpperCase(), ['k']), undefined, special.toUpperCase());
    }
    assert.equal(directWire('GET', ['k']), undefined, 'names the pool did not lower-case go through ioredis');
  });

  void test("'auto' trusts only the ioredis releases the path was verified against", () => {
    for (const v of ['6.0.0', '6.0.17']) assert.match(v, VERIFIED_IOREDIS);
    for (const v of ['6.1.0', '7.0.0', '5.6.1', '6.0.0-beta.1', '']) assert.doesNotMatch(v, VERIFIED_IOREDIS);
  });
});
