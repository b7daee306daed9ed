/**
 * A canary password in the URL never appears in any output of any command: normal runs,
 * --json, --report, wrong passwords, usage errors, and a server that refuses the connection.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { findFreePort } from '../support/free-port.js';
import { useRedis } from '../helpers/redis.js';
import { runCli, type CliResult } from './run-cli.js';

const CANARY = 'CANARY-pw-7d41e9';

function assertClean(r: CliResult, what: string): void {
  const all = `${r.stdout}\n${r.stderr}`;
  assert.ok(!all.includes(CANARY), `${what} printed the password:\n${all}`);
  assert.ok(!all.includes(encodeURIComponent(CANARY)), `${what} printed the encoded password`);
}

void describe('the password in a URL is never printed', () => {
  const redis = useRedis({ requirepass: CANARY });
  const url = (): string => `redis://:${CANARY}@127.0.0.1:${redis().port}`;
  const userUrl = (): string => `redis://default:${CANARY}@127.0.0.1:${redis().port}/0`;

  void test('health (text and JSON), with the password working', async () => {
    for (const args of [
      ['health', url()],
      ['health', '--url', userUrl(), '--json'],
    ]) {
      const r = await runCli(args);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assertClean(r, args.join(' '));
      assert.match(r.stdout, /redis:\/\/\*\*\*@127\.0\.0\.1/);
    }
  });

  void test('health from REDIS_URL and with a wrong password', async () => {
    const ok = await runCli(['health'], { env: { REDIS_URL: url() } });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assertClean(ok, 'health via REDIS_URL');
    const wrong = await runCli(['health', `redis://:${CANARY}-wrong@127.0.0.1:${redis().port}`]);
    assert.equal(wrong.code, 2);
    assertClean(wrong, 'health with a wrong password');
    assert.match(wrong.stdout, /WRONGPASS|auth/i);
  });

  void test('monitor --once and --json', async () => {
    for (const args of [
      ['monitor', url(), '--once'],
      ['monitor', url(), '--json', '--count', '2', '--interval', '0.1'],
    ]) {
      const r = await runCli(args);
      assert.equal(r.code, 0, r.stderr);
      assertClean(r, args.join(' '));
    }
  });

  void test('bench --json and --report', async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'redpool-canary-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'r.html');
    const r = await runCli([
      'bench',
      '--url',
      url(),
      '--workload',
      'compare',
      '--duration',
      '0.4',
      '--concurrency',
      '5',
      '--json',
      '--report',
      file,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assertClean(r, 'bench --json');
    assert.ok(!readFileSync(file, 'utf8').includes(CANARY), 'the HTML report holds the password');
    const text = await runCli(['bench', url(), '--duration', '0.4', '--concurrency', '5']);
    assert.equal(text.code, 0, text.stderr);
    assertClean(text, 'bench (text, progress on stderr)');
  });

  void test('a refused connection and usage errors that quote arguments', async () => {
    const port = await findFreePort();
    const cases: string[][] = [
      ['health', `redis://:${CANARY}@127.0.0.1:${port}`, '--timeout', '300'],
      ['bench', '--url', `redis://:${CANARY}@127.0.0.1:${port}`, '--duration', '0.3'],
      ['monitor', `redis://:${CANARY}@127.0.0.1:${port}`, '--once', '--timeout', '300'],
      ['bench', `redis://:${CANARY}@h:1`, 'extra'],
      ['bench', '--workload', `redis://:${CANARY}@h:1`],
      ['monitor', `redis://:${CANARY}@h:1`, `redis://:${CANARY}@h:2`],
      ['health', `redis://:${CANARY}@h:notaport`],
      ['health', `rediss://u:${CANARY}@h:1/db/extra`],
      ['nope', `redis://:${CANARY}@h:1`],
      [`redis://:${CANARY}@h:1`],
    ];
    for (const args of cases) {
      const r = await runCli(args);
      assert.notEqual(r.code, 0, args.join(' '));
      assertClean(r, args.join(' '));
    }
  });
});
