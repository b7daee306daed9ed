/**
 * Channel layer options: every bad value is a ConfigError (ERR_INVALID_OPTION) naming the option;
 * secrets never appear in messages; capacity patterns are globs or RegExps, first match wins.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../src/errors.js';
import { capacityOf, globToRegExp, resolveChannelOptions } from '../../../src/channels/options.js';
import { checkChannel, Keys, nonLocal } from '../../../src/channels/keys.js';

function optionOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.code, 'ERR_INVALID_OPTION');
    return err.option;
  }
  return 'accepted';
}

void describe('channel layer options', () => {
  void test('defaults (channels_redis defaults, in ms)', () => {
    const o = resolveChannelOptions(undefined, 8);
    assert.equal(o.prefix, 'channels');
    assert.equal(o.capacity, 100);
    assert.equal(o.expiryMs, 60_000);
    assert.equal(o.groupExpiryMs, 86_400_000);
    assert.equal(o.maxReaders, 3);
    assert.equal(o.encryptionKeys.length, 0);
    assert.equal(o.readBatch, 256);
    assert.equal(o.leaseMs, 10_000, 'a reader lease outlives several blocking pops');
    assert.equal(resolveChannelOptions({ blockMs: 8000 }, 8).leaseMs, 16_000, 'at least 2 × blockMs');
  });

  void test('bad values name the option', () => {
    const bad: Array<[string, Record<string, unknown>, number?]> = [
      ['capacity', { capacity: 0 }],
      ['capacity', { capacity: 1.5 }],
      ['expiryMs', { expiryMs: '10' }],
      ['groupExpiryMs', { groupExpiryMs: -1 }],
      ['prefix', { prefix: 'a{b}' }],
      ['prefix', { prefix: 'a*' }],
      ['prefix', { prefix: '' }],
      ['channelCapacity["chat.*"]', { channelCapacity: { 'chat.*': 0 } }],
      ['channelCapacity', { channelCapacity: 5 }],
      ['encryptionKeys', { encryptionKeys: 'one-string-not-a-list-0123456789' }],
      ['encryptionKeys', { encryptionKeys: [] }],
      ['encryptionKeys[1]', { encryptionKeys: ['long-enough-secret-0123456789', 'short'] }],
      ['serializer', { serializer: { encode: 1 } }],
      ['maxReaders', { maxReaders: 7 }],
      ['maxReaders', {}, 2],
      // Budget 8: 1 process-local reader + 1 room subscriber + 5 readers leave 1 lease; 6 would leave none.
      ['maxReaders', { maxReaders: 6 }],
      ['maxReaders', {}, 3],
      ['sharedValues', { sharedValues: 'yes' }],
      ['blockMs', { blockMs: 1 }],
      ['leaseMs', { blockMs: 1000, leaseMs: 1999 }],
      ['leaseMs', { leaseMs: 1.5 }],
      ['capacitty', { capacitty: 5 }],
    ];
    for (const [option, value, budget] of bad)
      assert.equal(
        optionOf(() => resolveChannelOptions(value, budget ?? 8)),
        option,
        JSON.stringify(value),
      );
  });

  void test('a short secret is never echoed', () => {
    try {
      resolveChannelOptions({ encryptionKeys: ['tiny-pw'] }, 8);
      assert.fail('accepted');
    } catch (err) {
      assert.ok(!String((err as Error).message).includes('tiny-pw'));
    }
  });

  void test('patterns: globs anchored at both ends, RegExps at the start, first match wins', () => {
    const o = resolveChannelOptions(
      {
        capacity: 7,
        channelCapacity: [
          ['http.response!*', 10],
          [/websocket\.send!.+/, 20],
          ['chat.*', 2000],
          ['chat.vip', 1],
          ['ro?m[0-9]', 3],
          ['[!a]x', 4],
        ],
      },
      8,
    );
    assert.equal(capacityOf(o, 'http.response!abc').capacity, 10);
    assert.equal(capacityOf(o, 'xhttp.response!abc').capacity, 7);
    assert.equal(capacityOf(o, 'websocket.send!x').capacity, 20);
    assert.equal(capacityOf(o, 'a.websocket.send!x').capacity, 7, 'RegExp anchored at the start, like re.match');
    assert.equal(capacityOf(o, 'chat.vip').capacity, 2000);
    assert.equal(capacityOf(o, 'room1').capacity, 3);
    assert.equal(capacityOf(o, 'bx').capacity, 4);
    assert.equal(capacityOf(o, 'ax').capacity, 7);
    assert.equal(capacityOf(o, 'chat.').label, 'chat.*');
    assert.equal(globToRegExp('a.b').test('aXb'), false, 'dots are literal');
  });

  void test('names and hash-tagged keys', () => {
    const k = new Keys('asgi');
    assert.equal(k.channel('chat.room'), 'asgi:ch:{chat.room}');
    assert.equal(k.channel('specific.abc!def'), 'asgi:ch:{specific.abc!}');
    assert.equal(k.inflight(k.channel('x'), 'p1'), 'asgi:ch:{x}:inflight:p1');
    assert.equal(k.group('g'), 'asgi:group:{g}');
    assert.equal(nonLocal('a!b'), 'a!');
    for (const bad of ['', 'a b', 'a{b}', 'x'.repeat(100), 'a!b!c', 3])
      assert.throws(() => checkChannel('send', bad), { code: 'ERR_INVALID_ARGUMENT' });
    checkChannel('send', 'specific.abc!');
  });
});
