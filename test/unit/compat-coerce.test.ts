/**
 * redpool/compat's pure pieces: ioredis argument coercion, callback splitting, and the ioredis
 * wording of connection-loss errors (class, code and outcome kept).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { coerce, ioredisError, settle, splitCallback } from '../../src/compat/coerce.js';
import { CommandTimeoutError, ConnectionError, ReplyError, UnavailableError } from '../../src/index.js';
import { flush } from '../helpers/pool-fixtures.js';

void describe('compat coercion', () => {
  void test('returns the same array when nothing needs coercion', () => {
    const args = ['a', 1, 'b'];
    assert.equal(coerce('set', args), args);
  });
  void test('undefined/null → "", booleans → "true"/"false", nested arrays flattened, bigint/Infinity as text', () => {
    assert.deepEqual(coerce('evalsha', ['sha', 1, ['k', [undefined, null]], true, false, 10n, Infinity]), [
      'sha',
      1,
      'k',
      '',
      '',
      'true',
      'false',
      '10',
      'Infinity',
    ]);
  });
  void test('Buffers stay Buffers; an object for hset stays for the core to expand, elsewhere String()', () => {
    const b = Buffer.from('x');
    assert.equal(coerce('set', ['k', b])[1], b);
    const obj = { f: 'v' };
    assert.equal(coerce('hset', ['h', obj])[1], obj);
    assert.equal(coerce('set', ['k', obj])[1], '[object Object]');
  });
  void test('a trailing callback is split off', () => {
    const cb = (): void => undefined;
    const args: unknown[] = ['k', cb];
    assert.equal(splitCallback(args), cb);
    assert.deepEqual(args, ['k']);
    assert.equal(splitCallback(['k']), undefined);
  });
});

void describe('compat error wording', () => {
  void test('connection loss says "Connection is closed." and keeps class, code, outcome and the redpool message', () => {
    const orig = new ConnectionError('GET: connection lost (ECONNRESET)', 'unknown');
    const e = ioredisError(orig) as ConnectionError & { detail: string };
    assert.ok(e instanceof ConnectionError);
    assert.equal(e.message, 'Connection is closed.');
    assert.equal(e.code, 'ERR_CONNECTION');
    assert.equal(e.outcome, 'unknown');
    assert.equal(e.detail, orig.message);
    assert.equal(e.cause, orig);
    assert.equal((ioredisError(new UnavailableError('down')) as Error).message, 'Connection is closed.');
  });
  void test('timeouts say "Command timed out"; reply errors are untouched', () => {
    const snap = { total: 1, idle: 0, busy: 1, lanes: 1, leased: 0, connecting: 0, pending: 0 };
    assert.equal((ioredisError(new CommandTimeoutError('GET', 10, 'unknown', snap)) as Error).message, 'Command timed out');
    const reply = new ReplyError('WRONGTYPE bad', 'GET');
    assert.equal(ioredisError(reply), reply);
  });
  void test('settle: callbacks get (err) or (null, value), their return value and throws never become rejections', async () => {
    const seen: unknown[] = [];
    await settle(Promise.resolve(1), (err, v) => seen.push([err, v]));
    const failing = settle(Promise.reject(new Error('x')), (err) => {
      seen.push(err?.message);
      // Like redlock 4: the callback returns a rejected promise someone else handles.
      const r = Promise.reject(new Error('returned by the callback'));
      r.catch(() => undefined);
      return r as never;
    });
    await failing.catch(() => undefined);
    void settle(Promise.reject(new Error('nobody awaits this')), undefined); // must not be an unhandled rejection
    await flush();
    assert.deepEqual(seen, [[null, 1], 'x']);
  });
});
