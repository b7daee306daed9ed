/**
 * The envelope: AES-256-GCM with HKDF-derived keys and a key id, rotation without trial
 * decryption, and typed errors (never a crash, never a delivered value) for unknown keys,
 * tampered bytes, plain text where encryption is required, and garbage.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChannelMessageError } from '../../../src/errors.js';
import { Envelope } from '../../../src/channels/envelope.js';
import { jsonSerializer } from '../../../src/channels/options.js';

const A = Buffer.from('secret-number-one-0123456789abcdef');
const B = Buffer.from('secret-number-two-0123456789abcdef');

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ChannelMessageError, String(err));
    assert.equal(err.code, 'ERR_CHANNEL_MESSAGE');
    return err.reason;
  }
  return 'opened';
}

void describe('envelope', () => {
  void test('plain round trip with targets', () => {
    const e = new Envelope([], jsonSerializer);
    const env = e.seal(e.serialize({ a: 1 }), ['specific.x!1', 'specific.x!2']);
    const o = e.open('c', env);
    assert.deepEqual(o.targets, ['specific.x!1', 'specific.x!2']);
    assert.deepEqual(e.decode('c', o.body), { a: 1 });
  });

  void test('process-local targets of one process: compact header (prefix once, hex suffixes as bytes), exact round trip', () => {
    const e = new Envelope([], jsonSerializer);
    const hex = Array.from({ length: 100 }, (_, i) => `specific.0a1b2c3d4e5f!${i.toString(16).padStart(16, '0')}`);
    const odd = ['specific.0a1b2c3d4e5f!', 'specific.0a1b2c3d4e5f!ABCD', 'specific.0a1b2c3d4e5f!x.y-z', 'specific.0a1b2c3d4e5f!abc'];
    for (const targets of [hex, odd, [...odd, ...hex]]) {
      const o = e.open('c', e.seal(e.serialize('m'), targets));
      assert.deepEqual(o.targets, targets);
      assert.equal(e.decode('c', o.body), 'm');
    }
    // 9 bytes per 16-hex-digit member (a newChannel() name) plus the prefix once; the long form is ~40 per member.
    assert.ok(e.header(hex).length <= 3 + 22 + 100 * 9, `compact: ${e.header(hex).length} bytes`);
    // Different processes (or an ordinary name) among the targets: the long form, still exact.
    const mixed = ['specific.aaa!01', 'specific.bbb!02', 'plain'];
    assert.deepEqual(e.open('c', e.seal(e.serialize(1), mixed)).targets, mixed);
    // A truncated compact header is malformed, never a wrong name.
    const body = Buffer.concat([Buffer.from([0x01]), e.header(hex).subarray(0, 40)]);
    assert.equal(
      reason(() => e.open('c', body)),
      'malformed',
    );
  });

  void test('encrypted: the plaintext is not in the envelope; the first key encrypts, every key decrypts', () => {
    const old = new Envelope([A], jsonSerializer);
    const rotated = new Envelope([B, A], jsonSerializer);
    const env = old.seal(old.serialize({ secret: 'visible?' }));
    assert.equal(env.includes(Buffer.from('visible?')), false);
    assert.deepEqual(rotated.decode('c', rotated.open('c', env).body), { secret: 'visible?' });
    const fresh = rotated.seal(rotated.serialize('new'));
    assert.equal(
      reason(() => old.open('c', fresh)),
      'unknown-key',
      'old process cannot read the new key: typed, not a crash',
    );
    assert.deepEqual(new Envelope([B], jsonSerializer).decode('c', new Envelope([B], jsonSerializer).open('c', fresh).body), 'new');
    // Two envelopes of the same message differ (random IV).
    assert.notDeepEqual(rotated.seal(rotated.serialize('x')), rotated.seal(rotated.serialize('x')));
  });

  void test('every single flipped byte is detected (tampered / unknown-key / malformed), never opened', () => {
    const e = new Envelope([A], jsonSerializer);
    const env = e.seal(e.serialize({ n: 42 }));
    const seen = new Set<string>();
    for (let i = 0; i < env.length; i++) {
      const bad = Buffer.from(env);
      bad[i] = bad[i]! ^ 0x01;
      const r = reason(() => e.open('c', bad));
      assert.notEqual(r, 'opened', `byte ${i}`);
      seen.add(r);
    }
    assert.ok(seen.has('tampered') && seen.has('unknown-key') && seen.has('malformed'), [...seen].join());
    assert.equal(
      reason(() => e.open('c', env.subarray(0, 10))),
      'malformed',
    );
  });

  void test('a layer with keys refuses plain text; a layer without keys cannot open sealed text', () => {
    const plain = new Envelope([], jsonSerializer);
    const sealed = new Envelope([A], jsonSerializer);
    assert.equal(
      reason(() => sealed.open('c', plain.seal(plain.serialize(1)))),
      'unencrypted',
    );
    assert.equal(
      reason(() => plain.open('c', sealed.seal(sealed.serialize(1)))),
      'unknown-key',
    );
  });

  void test('a throwing serializer is a malformed message', () => {
    const e = new Envelope([], jsonSerializer);
    const env = e.seal(Buffer.from('{not json'));
    assert.equal(
      reason(() => e.decode('c', e.open('c', env).body)),
      'malformed',
    );
  });
});
