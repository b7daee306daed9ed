/**
 * `redpool health` and `redpool monitor` against real servers: exit codes for a running, a
 * degraded, a stopped and a frozen (SIGSTOP) server, and `monitor --once` / `--json` output.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findFreePort } from '../support/free-port.js';
import { useRedis, withRedis } from '../helpers/redis.js';
import { oneLine, runCli } from './run-cli.js';

interface HealthJson {
  status: string;
  latencyMs: number | null;
  problems: string[];
  server: { version: string; role: string; maxclients: number; maxclientsSource: string; connectedClients: number } | null;
}

void describe('redpool health', () => {
  const redis = useRedis();

  void test('a running server is healthy: exit 0, server facts shown', async () => {
    const r = await runCli(['health', redis().url]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^redis://127\\.0\\.0\\.1:${redis().port}  healthy  PING `));
    assert.match(r.stdout, /server {3}redis 7\.\d+\.\d+ \(standalone\), role master/);
    assert.match(r.stdout, /clients {2}\d+ connected \/ maxclients \d+/);
    assert.equal(r.stderr, '');
  });

  void test('--json, and the URL from REDIS_URL', async () => {
    const r = await runCli(['health', '--json'], { env: { REDIS_URL: redis().url } });
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as HealthJson;
    assert.equal(j.status, 'healthy');
    assert.ok(j.latencyMs !== null && j.latencyMs >= 0);
    assert.equal(j.server?.role, 'master');
    assert.equal(j.server?.maxclientsSource, 'config');
    assert.ok((j.server?.connectedClients ?? 0) >= 1);
    assert.deepEqual(j.problems, []);
  });

  void test('clients at maxclients: degraded, exit 1', async (t) => {
    const small = await withRedis(t, { args: ['--maxclients', '1'] });
    const r = await runCli(['health', small.url, '--json']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const j = JSON.parse(r.stdout) as HealthJson;
    assert.equal(j.status, 'degraded');
    assert.ok(
      j.problems.some((p) => /1 of 1 clients connected/.test(p)),
      j.problems.join('\n'),
    );
  });

  void test('nothing listening: unavailable, exit 2', async () => {
    const port = await findFreePort();
    const r = await runCli(['health', `redis://127.0.0.1:${port}`, '--timeout', '1000']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /unavailable/);
    assert.match(r.stdout, /ECONNREFUSED/);
  });

  void test('a stopped server: exit 2', async (t) => {
    const s = await withRedis(t);
    const url = s.url;
    await s.stop();
    const r = await runCli(['health', url]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /unavailable/);
  });

  void test('a frozen (SIGSTOPped) server: exit 2 quickly, no hang', async (t) => {
    const s = await withRedis(t);
    s.pause();
    t.after(() => {
      if (s.paused) s.resume();
    });
    const r = await runCli(['health', s.url, '--timeout', '500'], { timeoutMs: 15_000 });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /unavailable/);
    // Per-step deadline 500 ms; the whole command (process start included) well under 5 s.
    assert.ok(r.ms < 5_000, `took ${r.ms} ms`);
  });
});

interface MonitorJson {
  target: string;
  connectedClients: number;
  totalConnectionsReceived: number;
  connectionsPerSec: number | null;
  commandsPerSec: number | null;
  keys: number;
  keyspaceHits: number;
  keyspaceMisses: number;
  hitRatio: number | null;
  evictedKeys: number;
  usedMemoryHuman: string;
}

void describe('redpool monitor', () => {
  const redis = useRedis();

  void test('--once prints one snapshot of every figure and exits 0', async () => {
    await redis().command('SET', 'k1', 'v');
    await redis().command('GET', 'k1');
    await redis().command('GET', 'missing');
    const r = await runCli(['monitor', redis().url, '--once']);
    assert.equal(r.code, 0, r.stderr);
    for (const field of [
      'connected_clients',
      'blocked_clients',
      'rejected_connections',
      'total_connections_received',
      'instantaneous_ops_per_sec',
      'used_memory_human',
      'keyspace hits / misses',
      'evicted_keys',
    ]) {
      assert.match(r.stdout, new RegExp(`^  ${field.replace(/[/]/g, '\\/')}\\s`, 'm'), `missing ${field}:\n${r.stdout}`);
    }
    assert.match(r.stdout, /hit ratio 50\.0 %/);
  });

  void test('--json --count 2: one object per sample, rates from the second', async () => {
    const r = await runCli(['monitor', redis().url, '--json', '--count', '2', '--interval', '0.2']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    const [a, b] = lines.map((l) => JSON.parse(l) as MonitorJson);
    assert.equal(a!.target, redis().url);
    assert.equal(a!.connectionsPerSec, null);
    assert.ok(typeof b!.connectionsPerSec === 'number');
    assert.ok(typeof b!.commandsPerSec === 'number' && b!.commandsPerSec > 0);
    assert.ok(b!.keys >= 1);
    assert.match(b!.usedMemoryHuman, /^[\d.]+[KMG]?$/);
  });

  void test('--once against nothing: one error line, exit 1', async () => {
    const port = await findFreePort();
    const r = await runCli(['monitor', `redis://127.0.0.1:${port}`, '--once', '--timeout', '500']);
    assert.equal(r.code, 1);
    assert.ok(oneLine(r.stderr), r.stderr);
    assert.match(r.stderr, /sample failed/);
  });
});
