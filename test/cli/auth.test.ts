/**
 * Issue 15 item 5: an auth failure is named as one, with the fix. `bench` used to say "cannot
 * reach" (sending the user to the network) and `monitor` "is unavailable (1 consecutive connect
 * failures)"; both now print the AuthError with its hint. The hint's URL placeholders survive
 * the CLI's credential scrubbing, real credentials do not.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { scrub } from '../../src/cli/args.js';
import { useRedis } from '../helpers/redis.js';
import { runCli, type CliResult } from './run-cli.js';

const SERVER_PASSWORD = 'cli-auth-pw-41d0';
const HINT = 'redis://:<password>@<host>:<port> or redis://<user>:<password>@<host>:<port>';

function assertNoSecret(r: CliResult, secret: string): void {
  assert.ok(!`${r.stdout}${r.stderr}`.includes(secret), `printed a password:\n${r.stdout}${r.stderr}`);
}

void describe('CLI: auth failures are named, with the fix', () => {
  const redis = useRedis({ requirepass: SERVER_PASSWORD });

  void test('bench without a password: "authentication … failed", the hint, exit 1', async () => {
    const r = await runCli(['bench', '--url', `redis://127.0.0.1:${redis().port}`, '--duration', '0.3'], { timeoutMs: 30_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.doesNotMatch(r.stderr, /cannot reach/);
    assert.match(r.stderr, /^redpool bench: authentication to redis:\/\/127\.0\.0\.1:\d+ failed: NOAUTH .*none was sent/m);
    assert.ok(r.stderr.includes(HINT), r.stderr);
    assertNoSecret(r, SERVER_PASSWORD);
  });

  void test('bench with a wrong password: WRONGPASS named, the password not printed', async () => {
    const wrong = 'cli-wrong-pw-77aa';
    const r = await runCli(['bench', '--url', `redis://:${wrong}@127.0.0.1:${redis().port}`, '--duration', '0.3'], { timeoutMs: 30_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^redpool bench: authentication to redis:\/\/\*\*\*@127\.0\.0\.1:\d+ failed: WRONGPASS .*'default' user/m);
    assertNoSecret(r, wrong);
    assertNoSecret(r, SERVER_PASSWORD);
  });

  void test('monitor without a password: the sample failure names the auth failure, exit 1', async () => {
    const r = await runCli(['monitor', `redis://127.0.0.1:${redis().port}`, '--count', '1'], { timeoutMs: 30_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /sample failed: authentication to redis:\/\/127\.0\.0\.1:\d+ failed: NOAUTH /);
    assert.ok(r.stderr.includes(HINT), r.stderr);
  });
});

void test('scrub spares the hint placeholders and masks everything else', () => {
  assert.equal(scrub(`x ${HINT} y`), `x ${HINT} y`);
  assert.equal(scrub('redis://:hunter2@10.0.0.1:6379'), 'redis://***@10.0.0.1:6379');
  assert.equal(scrub('redis://app:hunter2@<host>:1'), 'redis://***@<host>:1');
  assert.equal(scrub('redis://:<password>@db:6379'), 'redis://***@db:6379');
  assert.equal(scrub('rediss://<user>:hunter2@<host>:1'), 'rediss://***@<host>:1');
});
