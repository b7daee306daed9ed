/**
 * The CLI's rough edges a new user hit, one test each: a bad --report path fails before the
 * run, piped compare shows progress for both phases, monitor on a dead server fails, size says
 * "see --help" once and fails when capped, latencies are rounded, --quiet is quiet, an
 * interrupted run says how long it ran, typos get a "did you mean", colour only on request.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { createPool } from '../../src/index.js';
import { createHealthHandler } from '../../src/http/index.js';
import { useRedis } from '../helpers/redis.js';
import { findFreePort } from '../support/free-port.js';
import { runCli } from './run-cli.js';

const ESC = '\x1b[';

void describe('CLI rough edges', () => {
  const redis = useRedis();

  void test('--report into a missing directory fails up front: exit 2, no run, no server', async () => {
    const r = await runCli(['bench', '--duration', '30', '--report', '/nonexistent/r.html']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--report: the directory \/nonexistent does not exist/);
    assert.doesNotMatch(r.stderr, /throwaway redis-server/, 'checked before the embedded server starts');
    // Before the fix this took the whole 30 s run; the check itself is a stat().
    assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
  });

  void test('piped compare shows progress lines for both phases', async () => {
    const r = await runCli([
      'bench',
      '--url',
      redis().url,
      '--workload',
      'compare',
      '--duration',
      '1.2',
      '--concurrency',
      '5',
      '--pool-size',
      '4',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^connection per op: [\d.]+s /m);
    assert.match(r.stderr, /^redpool pool: [\d.]+s /m, `no progress for the second phase:\n${r.stderr}`);
  });

  void test('monitor --count 3 against a dead server exits 1', async () => {
    const port = await findFreePort();
    const r = await runCli(['monitor', `redis://127.0.0.1:${port}`, '--count', '3', '--interval', '0.05', '--timeout', '200']);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /sample failed/);
  });

  void test('size: "(see redpool size --help)" once; a capped recommendation that cannot serve the load exits 1', async () => {
    const usage = await runCli(['size']);
    assert.equal(usage.code, 2);
    assert.equal(usage.stderr.split('(see redpool size --help)').length - 1, 1, usage.stderr);
    const capped = await runCli(['size', '--rps', '100000', '--latency-ms', '50', '--maxclients', '100']);
    assert.equal(capped.code, 1, capped.stdout);
    assert.match(capped.stdout, /cannot be served within maxclients/);
    const fits = await runCli(['size', '--rps', '2000', '--latency-ms', '5', '--maxclients', '100']);
    assert.equal(fits.code, 0, fits.stdout);
  });

  void test('health latencies are rounded to the microsecond (CLI JSON and /health/redis)', async (t) => {
    const cli = await runCli(['health', redis().url, '--json']);
    assert.equal(cli.code, 0, cli.stderr);
    const latency = (JSON.parse(cli.stdout) as { latencyMs: number }).latencyMs;
    assert.equal(latency, Math.round(latency * 1000) / 1000);

    const pool = createPool({ url: redis().url, max: 2 });
    t.after(() => pool.close());
    const server = http.createServer(createHealthHandler(pool));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await pool.ready();
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/health/redis`, {
      signal: AbortSignal.timeout(5_000),
    });
    const body = (await res.json()) as { latencyMs: number | null };
    assert.equal(typeof body.latencyMs, 'number');
    assert.equal(body.latencyMs, Math.round(body.latencyMs! * 1000) / 1000, `latencyMs ${body.latencyMs}`);
  });

  void test('--quiet prints nothing on stderr, the embedded-server notice included', async () => {
    const r = await runCli(['bench', '--quiet', '--duration', '0.3', '--concurrency', '2']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
  });

  void test('an interrupted run says how long it ran, not the planned duration', async () => {
    let sent = false;
    const r = await runCli(['bench', '--url', redis().url, '--duration', '60', '--concurrency', '2'], {
      timeoutMs: 30_000,
      onStderr: (text, child) => {
        if (!sent && /^redpool: [\d.]+s /m.test(text)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stdout, /· [\d.]+ s \(interrupted; planned 60 s\) ·/);
    assert.doesNotMatch(r.stdout, /· 60 s ·/);
  });

  void test('an unknown flag gets a "did you mean"', async () => {
    const r = await runCli(['bench', '--duraton', '1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Unknown option '--duraton'.*\(did you mean --duration\?\)/);
    const far = await runCli(['bench', '--zzzzzzzz']);
    assert.equal(far.code, 2);
    assert.doesNotMatch(far.stderr, /did you mean/, 'no guess when nothing is close');
  });

  void test('colour: off when piped, on with FORCE_COLOR, and NO_COLOR always wins', async () => {
    const dead = `redis://127.0.0.1:${await findFreePort()}`;
    const piped = await runCli(['health', dead, '--timeout', '200']);
    assert.ok(!piped.stdout.includes(ESC) && !piped.stderr.includes(ESC), 'no escapes when piped');
    const forced = await runCli(['health', dead, '--timeout', '200'], { env: { FORCE_COLOR: '1' } });
    assert.ok(forced.stdout.includes(`${ESC}31munavailable${ESC}0m`), JSON.stringify(forced.stdout));
    const json = await runCli(['health', dead, '--timeout', '200', '--json'], { env: { FORCE_COLOR: '1' } });
    assert.ok(!json.stdout.includes(ESC), 'JSON is never coloured');
    const no = await runCli(['health', dead, '--timeout', '200'], { env: { FORCE_COLOR: '1', NO_COLOR: '1' } });
    assert.ok(!no.stdout.includes(ESC) && !no.stderr.includes(ESC), 'NO_COLOR wins');
  });
});
