/**
 * What both drivers (and the load generator's plain connections) share from driver/common.ts:
 * one connect-error translation, one reply redaction, one TLS-options builder (issue 9 item 5,
 * issue 10 defect 7). Pure functions on the error shapes each client library produces.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { ErrorReply } from 'redis';
import { ConnectionError, ReplyError } from '../../src/index.js';
import { connectError as ioredisConnectError } from '../../src/driver/ioredis-driver.js';
import { connectError as nodeRedisConnectError } from '../../src/driver/node-redis/errors.js';
import { redactReply, tlsConnectionOptions } from '../../src/driver/common.js';
import { ioredisOptions } from '../../src/load/clients.js';

const SECRET = 'Zq9-s3cret';
const spec = { endpoint: 'redis://***@127.0.0.1:6390', connectTimeoutMs: 300, tls: undefined };

function ioredisReply(message: string): Error {
  return Object.assign(new Error(message), { name: 'ReplyError', command: { name: 'hello', args: [3, 'AUTH', 'default', SECRET] } });
}

void test('"unknown subcommand" replies lose the quoted argument, whatever it contains; the command name stays', () => {
  assert.equal(redactReply(`ERR unknown subcommand '${SECRET}'. Try CONFIG HELP.`), 'ERR unknown subcommand <redacted>. Try CONFIG HELP.');
  assert.equal(redactReply(`ERR unknown subcommand 'a'. Try b'. Try OBJECT HELP.`), 'ERR unknown subcommand <redacted>. Try OBJECT HELP.');
  assert.equal(
    redactReply(`ERR Unknown subcommand or wrong number of arguments for '${SECRET}'. Try CLIENT HELP`),
    'ERR Unknown subcommand or wrong number of arguments for <redacted>. Try CLIENT HELP',
  );
  assert.equal(redactReply(`ERR unknown subcommand '${SECRET}`), 'ERR unknown subcommand <redacted>');
  assert.equal(
    redactReply(`ERR unknown command '${SECRET}x', with args beginning with: '${SECRET}' `),
    `ERR unknown command '${SECRET}x', with args beginning with: <redacted>`,
  );
  assert.equal(
    redactReply('WRONGTYPE Operation against a key holding the wrong kind of value'),
    'WRONGTYPE Operation against a key holding the wrong kind of value',
  );
});

void test('both drivers translate a refused connect the same way, keeping a cause without the handshake arguments', () => {
  const ioredis = ioredisConnectError(spec, ioredisReply(`ERR max number of clients reached`));
  const nodeRedis = nodeRedisConnectError(spec, new ErrorReply('ERR max number of clients reached'));
  for (const e of [ioredis, nodeRedis]) {
    assert.ok(e instanceof ConnectionError);
    assert.equal(e.outcome, 'not-sent');
    assert.equal(e.message, 'connect to redis://***@127.0.0.1:6390 refused by the server: ERR max number of clients reached');
    assert.ok(e.cause instanceof ReplyError, 'the cause is kept, as a plain ReplyError');
    assert.equal(inspect(e, { depth: 10, showHidden: true }).includes(SECRET), false);
  }
});

void test('both drivers: socket errors, auth replies and timeouts come out alike', () => {
  const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
  assert.equal(ioredisConnectError(spec, epipe).message, nodeRedisConnectError(spec, epipe).message);
  assert.equal(ioredisConnectError(spec, epipe).cause, epipe);
  assert.equal(nodeRedisConnectError(spec, epipe).cause, epipe);
  const a = ioredisConnectError(spec, ioredisReply('WRONGPASS invalid username-password pair'));
  const b = nodeRedisConnectError(spec, new ErrorReply('WRONGPASS invalid username-password pair'));
  assert.deepEqual([a.code, a.message], [b.code, b.message]);
  const timeout = Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' });
  assert.deepEqual(
    [ioredisConnectError(spec, timeout).code, ioredisConnectError(spec, timeout).message],
    [nodeRedisConnectError(spec, timeout).code, nodeRedisConnectError(spec, timeout).message],
  );
});

void test("the load generator's plain connections get every TLS setting the drivers pass (minVersion and ciphers were dropped)", () => {
  const tls = {
    minVersion: 'TLSv1.3',
    ciphers: 'TLS_AES_256_GCM_SHA384',
    servername: 'redis.internal',
    ca: 'CA',
    insecureSkipVerify: false,
  } as const;
  const o = ioredisOptions({ host: 'cache.example', tls });
  assert.deepEqual(o.tls, tlsConnectionOptions({ host: 'cache.example' }, tls));
  assert.equal(o.tls?.minVersion, 'TLSv1.3');
  assert.equal(o.tls?.ciphers, 'TLS_AES_256_GCM_SHA384');
  assert.equal(o.tls?.rejectUnauthorized, true);
});
