/**
 * Pure argument/reply transformations and error translation of the node-redis driver: the
 * wire form matches what ioredis sends, HGETALL becomes an object, nested error replies become
 * redpool errors, and no message carries an argument or a password.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorReply } from 'redis';
import { AuthError, ConnectionError, ConnectTimeoutError, ReplyError, TlsError } from '../../src/errors.js';
import { commandError, connectError } from '../../src/driver/node-redis/errors.js';
import { buffersToStrings, pairsToObject, shapeReply, toWire, translateNested } from '../../src/driver/node-redis/replies.js';
import { redactReply } from '../../src/driver/common.js';

const isErr = (v: unknown): v is Error => v instanceof ErrorReply;
const spec = { endpoint: 'redis://127.0.0.1:6379', connectTimeoutMs: 500, tls: undefined };

void describe('node-redis driver: arguments', () => {
  void test('numbers become decimal text, Buffers are kept, arrays flatten one level', () => {
    const b = Buffer.from([0, 1, 2]);
    assert.deepEqual(toWire('set', ['k', 42]), ['set', 'k', '42']);
    assert.deepEqual(toWire('set', ['k', 1.5]), ['set', 'k', '1.5']);
    assert.deepEqual(toWire('set', ['k', 2 ** 70]), ['set', 'k', '1180591620717411303424']);
    assert.deepEqual(toWire('set', [b, b]), ['set', b, b]);
    assert.deepEqual(toWire('mget', [['a', 'b'], 'c']), ['mget', 'a', 'b', 'c']);
    assert.deepEqual(toWire('del', []), ['del']);
  });

  void test('typed arrays are sent as their bytes', () => {
    const out = toWire('set', ['k', new Uint8Array([1, 2, 3])]);
    assert.ok(Buffer.isBuffer(out[2]) && out[2].equals(Buffer.from([1, 2, 3])));
  });

  void test('HSET/HMSET expand an object or a Map after the key; MSET/MSETNX a lone object', () => {
    assert.deepEqual(toWire('hset', ['h', { a: 1, b: 'x' }]), ['hset', 'h', 'a', '1', 'b', 'x']);
    assert.deepEqual(toWire('hmset', ['h', new Map<string, unknown>([['a', 1]])]), ['hmset', 'h', 'a', '1']);
    assert.deepEqual(toWire('mset', [{ k1: 'v1', k2: 2 }]), ['mset', 'k1', 'v1', 'k2', '2']);
    assert.deepEqual(toWire('msetnx', [new Map([['k', 'v']])]), ['msetnx', 'k', 'v']);
    // Only the exact ioredis shapes expand; a Buffer value is not an object to expand.
    assert.deepEqual(toWire('hset', ['h', 'f', 'v']), ['hset', 'h', 'f', 'v']);
    const b = Buffer.from('v');
    assert.deepEqual(toWire('mset', [b]), ['mset', b]);
  });
});

void describe('node-redis driver: replies', () => {
  void test('HGETALL pairs become an object; missing key → {}', () => {
    assert.deepEqual(shapeReply('hgetall', ['a', '1', 'b', '2'], isErr), { a: '1', b: '2' });
    assert.deepEqual(shapeReply('hgetall', [], isErr), {});
    const buf = pairsToObject([Buffer.from('f'), Buffer.from('v')]) as Record<string, Buffer>;
    assert.deepEqual(Object.keys(buf), ['f']);
    assert.ok(buf['f']!.equals(Buffer.from('v')));
  });

  void test('a field named __proto__ becomes an own property', () => {
    const obj = pairsToObject(['__proto__', 'x', 'constructor', 'y']) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(obj), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(obj, '__proto__')?.value, 'x');
    assert.equal(obj['constructor'], 'y');
  });

  void test('other replies pass through unchanged', () => {
    const r = ['a', '1.5', 'b', '2'];
    assert.equal(shapeReply('zrange', r, isErr), r);
    assert.equal(shapeReply('get', null, isErr), null);
    assert.equal(shapeReply('incr', 3, isErr), 3);
  });

  void test('nested error replies in EXEC and script replies become ReplyErrors', () => {
    const out = shapeReply(
      'exec',
      [1, new ErrorReply('WRONGTYPE Operation against a key'), ['x', new ErrorReply('ERR inner')]],
      isErr,
    ) as unknown[];
    assert.equal(out[0], 1);
    assert.ok(out[1] instanceof ReplyError && out[1].prefix === 'WRONGTYPE' && out[1].command === 'EXEC');
    assert.ok((out[2] as unknown[])[1] instanceof ReplyError);
    const ev = translateNested([new ErrorReply('ERR x')], 'EVAL', isErr) as unknown[];
    assert.ok(ev[0] instanceof ReplyError && ev[0].command === 'EVAL');
  });

  void test('buffersToStrings converts deeply, leaving numbers and nulls', () => {
    assert.deepEqual(buffersToStrings([Buffer.from('a'), 1, null, [Buffer.from('b')]]), ['a', 1, null, ['b']]);
    assert.equal(buffersToStrings(Buffer.from('é')), 'é');
  });
});

void describe('node-redis driver: errors', () => {
  void test('an error reply is a ReplyError naming the command; the unknown-command echo is cut', () => {
    const e = commandError(new ErrorReply("ERR unknown command 'FOO', with args beginning with: 'hunter2' "), 'FOO', true);
    assert.ok(e instanceof ReplyError);
    assert.equal(e.command, 'FOO');
    assert.equal(e.outcome, 'rejected');
    assert.ok(!e.message.includes('hunter2'), e.message);
    assert.equal(redactReply('ERR plain'), 'ERR plain');
  });

  void test('WRONGPASS/NOAUTH are AuthErrors; NOPERM stays a ReplyError', () => {
    assert.ok(commandError(new ErrorReply('NOAUTH Authentication required.'), 'GET', true) instanceof AuthError);
    assert.ok(commandError(new ErrorReply('NOPERM this user has no permissions'), 'GET', true) instanceof ReplyError);
  });

  void test('a socket failure is a ConnectionError: unknown if written, not-sent if not', () => {
    const lost = new Error('Socket closed unexpectedly');
    const a = commandError(lost, 'INCR', true);
    assert.ok(a instanceof ConnectionError && a.outcome === 'unknown');
    const b = commandError(lost, 'INCR', false);
    assert.ok(b instanceof ConnectionError && b.outcome === 'not-sent');
  });

  void test('connect errors: auth, refused by the server, TLS, timeout, socket', () => {
    const auth = connectError(spec, new ErrorReply('WRONGPASS invalid username-password pair'));
    assert.ok(auth instanceof AuthError && auth.message.includes(spec.endpoint));
    const full = connectError(spec, new ErrorReply('ERR max number of clients reached'));
    assert.ok(full instanceof ConnectionError && full.outcome === 'not-sent');
    const tls = connectError(spec, Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }));
    assert.ok(tls instanceof TlsError && tls.message.includes('DEPTH_ZERO_SELF_SIGNED_CERT'));
    class ConnectionTimeoutError extends Error {}
    const slow = connectError(spec, new ConnectionTimeoutError('Connection timeout'));
    assert.ok(slow instanceof ConnectTimeoutError && slow.message.includes('500ms'));
    const refused = connectError(spec, Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }));
    assert.ok(refused instanceof ConnectionError && refused.outcome === 'not-sent' && refused.message.includes('ECONNREFUSED'));
  });
});
