/**
 * The CLI's surface without a server: --help everywhere, --version, `size`, and bad arguments
 * (one line on stderr, exit code 2, never echoing a credential).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import { oneLine, runCli } from './run-cli.js';

const COMMANDS = ['bench', 'health', 'monitor', 'size'] as const;

void describe('redpool --help', () => {
  void test('root help lists every command and exits 0', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await runCli([flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Usage: redpool <command>/);
      for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
      assert.equal(r.stderr, '');
    }
  });

  for (const c of COMMANDS) {
    void test(`${c} --help and "help ${c}" print the command's usage`, async () => {
      const a = await runCli([c, '--help']);
      assert.equal(a.code, 0, a.stderr);
      assert.match(a.stdout, new RegExp(`^Usage: redpool ${c}`));
      assert.match(a.stdout, /-h, --help/);
      const b = await runCli(['help', c]);
      assert.equal(b.code, 0);
      assert.equal(b.stdout, a.stdout);
    });
  }

  void test('the package bin (dist/cli/main.js, built by npm ci) is executable and runs by its shebang', async () => {
    // npx links the bin and runs the file itself; a 0644 file is "Permission denied" wherever
    // npm did not chmod it (e.g. a cached npx link to a re-cloned checkout).
    const bin = fileURLToPath(new URL('../../../dist/cli/main.js', import.meta.url));
    assert.ok((statSync(bin).mode & 0o111) !== 0, `${bin} is not executable: the build must chmod it`);
    const { stdout } = await promisify(execFile)(bin, ['--version']);
    assert.match(stdout.trim(), /^\d+\.\d+\.\d+/);
  });

  void test('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+/);
  });
});

void describe('bad arguments: one line on stderr, exit 2', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['no command', [], /no command given/],
    ['unknown command', ['frobnicate'], /unknown command "frobnicate"/],
    ['option before the command', ['--json'], /unknown option "--json"/],
    ['unknown option', ['health', '--bogus'], /Unknown option '--bogus'/],
    ['missing option value', ['bench', '--concurrency'], /--concurrency/],
    ['not a number', ['bench', '--concurrency', 'lots'], /--concurrency must be a number, got "lots"/],
    ['fraction for an integer', ['bench', '--pool-size', '2.5'], /--pool-size must be a whole number/],
    ['below the minimum', ['bench', '--concurrency', '0'], /--concurrency must be >= 1/],
    ['unknown workload', ['bench', '--workload', 'huge'], /--workload must be one of small, mixed, blocking, pubsub, compare/],
    ['duration and ops', ['bench', '--duration', '1', '--ops', '5'], /--duration or --ops, not both/],
    ['lanes above pool size', ['bench', '--pool-size', '2', '--lanes', '3'], /--lanes \(3\) must be <= --pool-size \(2\)/],
    [
      'blocking without lease capacity',
      ['bench', '--workload', 'blocking', '--pool-size', '2', '--lanes', '2'],
      /needs --pool-size > --lanes/,
    ],
    ['bad URL scheme', ['health', 'http://example.com'], /invalid URL: .*unsupported scheme "http:"/],
    ['two URLs', ['health', 'redis://a:1', '--url', 'redis://b:2'], /either as an argument or with --url/],
    ['extra argument', ['monitor', 'redis://a:1', 'extra'], /unexpected argument "extra"/],
    ['bad interval', ['monitor', '--interval=-1'], /--interval must be >= 0.05/],
    [
      'value that looks like an option',
      ['monitor', '--interval', '-1'],
      /--interval needs a value \(for a value starting with "-", write --interval=VALUE\)/,
    ],
    ['size without numbers', ['size'], /give --rps and --latency-ms, or --preset/],
    ['size with only rps', ['size', '--rps', '100'], /give both --rps and --latency-ms/],
    ['size with unknown preset', ['size', '--preset', 'huge'], /--preset must be one of development, staging, production/],
    ['size zero latency', ['size', '--rps', '100', '--latency-ms', '0'], /--latency-ms must be > 0/],
    ['help for an unknown command', ['help', 'nope'], /unknown command "nope"/],
  ];
  for (const [name, args, pattern] of cases) {
    void test(name, async () => {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
      assert.ok(oneLine(r.stderr), `expected one line on stderr, got:\n${r.stderr}`);
      assert.match(r.stderr, /^redpool: /);
      assert.match(r.stderr, pattern);
      assert.equal(r.stdout, '');
    });
  }

  void test('an invalid REDIS_URL is reported as such', async () => {
    const r = await runCli(['health'], { env: { REDIS_URL: 'redis://host:notaport' } });
    assert.equal(r.code, 2);
    assert.ok(oneLine(r.stderr));
    assert.match(r.stderr, /invalid REDIS_URL/);
  });
});

void describe('redpool size', () => {
  void test("Little's law with workers and maxclients", async () => {
    const r = await runCli(['size', '--rps', '2000', '--latency-ms', '5', '--workers', '4', '--maxclients', '100']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^pool size: max 5 per worker \(min 3\), 20 connections over 4 workers/);
    assert.match(r.stdout, /busy on average\s+10 connections \(2\.5 per worker\)/);
    assert.match(r.stdout, /Little's law: 2000 ops\/s × 5 ms = 10 connections/);
    assert.match(r.stdout, /createPool\(\{ max: 5, min: 3 \}\)/);
  });

  void test('capped by maxclients', async () => {
    const r = await runCli(['size', '--rps', '100000', '--latency-ms', '10', '--workers', '10', '--maxclients', '100']);
    // 1000 connections busy on average, 100 allowed: no pool size serves this load.
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /max 10 per worker/);
    assert.match(r.stdout, /capped\s+by maxclients/);
  });

  void test('preset and --json', async () => {
    const r = await runCli(['size', '--preset', 'production', '--workers', '4', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { command: string; max: number; total: number; source: string };
    assert.equal(j.command, 'size');
    assert.equal(j.source, 'preset');
    assert.equal(j.max, 40);
    assert.equal(j.total, 160);
  });

  void test('a URL with a password given as a value is never echoed', async () => {
    const canary = 'CANARY-size-9f3b';
    const r = await runCli(['size', '--rps', `redis://:${canary}@h:1`, '--latency-ms', '1']);
    assert.equal(r.code, 2);
    assert.ok(!`${r.stdout}${r.stderr}`.includes(canary), r.stderr);
    assert.match(r.stderr, /redis:\/\/\*\*\*@h:1/);
  });
});
