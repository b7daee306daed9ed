/**
 * The driver's error translation (src/driver/ioredis-driver.ts) on the exact error shapes the
 * fault suite meets: reply errors that carry ioredis `command.args` (an AUTH password),
 * unknown-command replies that quote arguments, OpenSSL messages, and socket errors during the
 * handshake. Pure functions: no server needed.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { test } from 'node:test';
import { connectError, redactReply, translateError } from '../../src/driver/ioredis-driver.js';
import { CANARY_PASSWORD } from './lib/capture.js';

const spec = { endpoint: 'redis://***@127.0.0.1:6390', connectTimeoutMs: 300, tls: undefined };

/** An ioredis-style reply error: name 'ReplyError' and the command with its raw arguments. */
function ioredisReply(message: string, args: unknown[]): Error {
  const e = new Error(message);
  e.name = 'ReplyError';
  Object.assign(e, { command: { name: 'hello', args } });
  return e;
}

void test('handshake WRONGPASS becomes AuthError without the password the HELLO carried', () => {
  const e = connectError(
    spec,
    ioredisReply('WRONGPASS invalid username-password pair or user is disabled.', [3, 'AUTH', 'default', CANARY_PASSWORD]),
  );
  assert.equal(e.code, 'ERR_AUTH');
  assert.match(
    e.message,
    /^authentication to redis:\/\/\*\*\*@127\.0\.0\.1:6390 failed: WRONGPASS invalid username-password pair or user is disabled\. \(the server rejected the password/,
  );
  assert.ok(!inspect(e, { depth: 10 }).includes(CANARY_PASSWORD));
});

void test('other handshake replies: ConnectionError not-sent, cause stripped of command args', () => {
  const e = connectError(spec, ioredisReply('ERR max number of clients reached', [3, 'AUTH', 'default', CANARY_PASSWORD]));
  assert.equal(e.code, 'ERR_CONNECTION');
  assert.equal((e as unknown as { outcome: string }).outcome, 'not-sent');
  assert.match(e.message, /refused by the server: ERR max number of clients reached$/);
  assert.ok(!inspect(e, { depth: 10 }).includes(CANARY_PASSWORD));
});

void test('socket errors during the handshake name the likely causes', () => {
  const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
  assert.match(
    connectError(spec, epipe).message,
    /failed: write EPIPE \(the server closed the connection during the handshake: maxclients reached, or a TLS-only port \(use rediss:\/\/\)\?\)$/,
  );
  const tlsSpec = { ...spec, tls: {} };
  assert.match(connectError(tlsSpec, epipe).message, /client certificate missing or rejected/);
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' });
  assert.equal(connectError(spec, refused).message, 'connect to redis://***@127.0.0.1:6390 failed: connect ECONNREFUSED 127.0.0.1:6390');
  assert.equal(connectError(spec, Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' })).code, 'ERR_CONNECT_TIMEOUT');
});

void test('OpenSSL messages are reduced to their reason, with the code', () => {
  const raw = Object.assign(
    new Error(
      '80FCA8E8A37F0000:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 48\n',
    ),
    { code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' },
  );
  const e = connectError({ ...spec, tls: {} }, raw);
  assert.equal(e.code, 'ERR_TLS');
  assert.equal(e.message, 'TLS to redis://***@127.0.0.1:6390 failed: tlsv1 alert unknown ca [ERR_SSL_TLSV1_ALERT_UNKNOWN_CA]');
  const wrongVersion = Object.assign(new Error('wrong version number'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' });
  assert.match(connectError({ ...spec, tls: {} }, wrongVersion).message, /is the server speaking TLS on this port\?/);
});

void test('command replies: unknown-command arguments redacted, NOPERM stays a ReplyError, args never attached', () => {
  assert.equal(
    redactReply(`ERR unknown command 'AUHT', with args beginning with: '${CANARY_PASSWORD}' `),
    "ERR unknown command 'AUHT', with args beginning with: <redacted>",
  );
  const unknown = translateError(
    ioredisReply(`ERR unknown command 'AUHT', with args beginning with: '${CANARY_PASSWORD}' `, [CANARY_PASSWORD]),
    'AUHT',
    true,
  );
  assert.equal(unknown.code, 'ERR_REPLY');
  assert.ok(!inspect(unknown, { depth: 10 }).includes(CANARY_PASSWORD));
  const noperm = translateError(ioredisReply("NOPERM this user has no permissions to run the 'set' command", ['k', 'v']), 'SET', true);
  assert.equal(noperm.code, 'ERR_REPLY');
  assert.equal((noperm as unknown as { prefix: string }).prefix, 'NOPERM');
  assert.equal(translateError(ioredisReply('WRONGPASS invalid username-password pair', []), 'AUTH', true).code, 'ERR_AUTH');
  const closed = translateError(new Error('Connection is closed.'), 'INCR', true);
  assert.deepEqual([closed.code, (closed as unknown as { outcome: string }).outcome], ['ERR_CONNECTION', 'unknown']);
  const unwritable = translateError(new Error("Stream isn't writeable and enableOfflineQueue options is false"), 'INCR', true);
  assert.deepEqual([unwritable.code, (unwritable as unknown as { outcome: string }).outcome], ['ERR_CONNECTION', 'not-sent']);
});
