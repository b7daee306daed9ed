/**
 * `redpool bench` as a user runs it: on the embedded server (no URL), with --json, with
 * --report (loaded in headless Chromium when it is installed), the compare table against a
 * real server, Ctrl-C, and a missing redis-server.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { useRedis } from '../helpers/redis.js';
import { oneLine, runCli } from './run-cli.js';
import { CHROMIUM, launchChromium } from '../helpers/browser.js';

interface RunJson {
  label: string;
  ops: number;
  errors: number;
  opsPerSec: number;
  latency: { p50Ms: number; p99Ms: number; p999Ms: number };
  classes: Record<string, { ops: number; errors: number }>;
  server: { connectionsOpened: number; peakConnectedClients: number };
  timeline: unknown[];
  histogram: unknown[];
}
interface BenchJson {
  command: string;
  workload: string;
  target: string;
  embedded: boolean;
  redisVersion: string;
  runs: RunJson[];
  comparison?: { throughputRatio: number; connectionsOpened: { perOperation: number; pool: number }; poolSize: number };
}

const OUTPUT_DIR = path.resolve('test-output');

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Resolves true if something accepts connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

void describe('redpool bench on the embedded server', () => {
  void test('no URL: starts redis-server, runs small, prints JSON, stops the server', async () => {
    const r = await runCli(['bench', '--duration', '1', '--concurrency', '20', '--json'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as BenchJson;
    assert.equal(j.command, 'bench');
    assert.equal(j.workload, 'small');
    assert.equal(j.embedded, true);
    assert.match(j.redisVersion, /^\d+\.\d+/);
    assert.equal(j.runs.length, 1);
    const run = j.runs[0]!;
    assert.ok(run.ops > 0, 'ops > 0');
    assert.equal(run.errors, 0);
    assert.ok(run.latency.p50Ms > 0 && run.latency.p50Ms <= run.latency.p99Ms && run.latency.p99Ms <= run.latency.p999Ms);
    assert.ok(run.timeline.length >= 2 && run.histogram.length >= 1);
    assert.ok(run.server.connectionsOpened >= 1);
    assert.equal(await listening(portOf(j.target)), false, 'the embedded server is stopped');
  });

  void test('text output with progress lines on a non-TTY stderr', async () => {
    const r = await runCli(['bench', '--duration', '1.2', '--concurrency', '10'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^redpool bench · small · redis:\/\/127\.0\.0\.1:\d+ \(embedded\)/);
    assert.match(r.stdout, /^client\s+ops\/s\s+p50\s+p95\s+p99\s+p99\.9\s+errors\s+conns opened\s+peak clients$/m);
    assert.match(r.stdout, /^redpool\s+[\d.]+k?\s/m);
    assert.match(r.stderr, /starting a throwaway redis-server/);
    assert.match(r.stderr, /^redpool: [\d.]+s\s+\S+ ops/m);
  });

  void test('--report writes an HTML page that headless Chromium renders without errors', async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'redpool-report-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'out.html');
    const r = await runCli(['bench', '--workload', 'compare', '--duration', '0.6', '--concurrency', '10', '--report', file, '--quiet'], {
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`report written to ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const html = readFileSync(file, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /Latency histogram/);
    assert.match(html, /Throughput over time/);
    assert.doesNotMatch(
      html,
      /<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/,
      'self-contained: no external resources',
    );

    if (!existsSync(CHROMIUM)) {
      t.skip(`${CHROMIUM} is not installed (apt-get install -y chromium); HTML checked statically only`);
      return;
    }
    const browser = await launchChromium(t);
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (req) => {
      if (!req.url().startsWith('file:')) problems.push(`external request: ${req.url()}`);
    });
    await page.goto(`file://${file}`);
    assert.equal(await page.locator('svg.chart').count(), 2);
    assert.equal((await page.locator('svg.chart rect').count()) > 0, true, 'histogram bars drawn');
    assert.equal(await page.locator('svg.chart path').count(), 2, 'one throughput line per phase');
    assert.equal(await page.locator('h1').textContent(), 'redpool bench · compare');
    mkdirSync(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'bench-report.png'), fullPage: true });
    assert.deepEqual(problems, []);
  });

  void test('Ctrl-C stops the run, prints what ran, stops the server (exit 130)', async () => {
    let sent = false;
    const r = await runCli(['bench', '--duration', '60', '--concurrency', '5', '--json'], {
      timeoutMs: 30_000,
      onStderr: (text, child) => {
        // The first progress line means the run is under way.
        if (!sent && /^redpool: [\d.]+s /m.test(text)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    assert.ok(sent, `no progress line seen:\n${r.stderr}`);
    assert.equal(r.code, 130, r.stderr);
    const j = JSON.parse(r.stdout) as BenchJson & { interrupted: boolean };
    assert.equal(j.interrupted, true);
    assert.ok(j.runs[0]!.ops > 0);
    assert.ok(r.ms < 25_000);
    assert.equal(await listening(portOf(j.target)), false, 'the embedded server is stopped');
  });

  void test('redis-server not installed: one clear line, exit 3', async (t) => {
    // The CLI is started by absolute path; an empty PATH hides redis-server from it.
    const empty = mkdtempSync(path.join(os.tmpdir(), 'redpool-nopath-'));
    t.after(() => rmSync(empty, { recursive: true, force: true }));
    const r = await runCli(['bench', '--duration', '1'], { replaceEnv: true, env: { PATH: empty, HOME: os.tmpdir() } });
    assert.equal(r.code, 3, r.stdout + r.stderr);
    const last = r.stderr.trim().split('\n').pop()!;
    assert.match(last, /^redpool: redis-server is not installed/);
    assert.ok(oneLine(`${last}\n`));
  });
});

void describe('redpool bench against a given server', () => {
  const redis = useRedis();

  void test('compare: one table, the pool opens exactly its size, a connection per op opens one per op', async () => {
    const r = await runCli(
      [
        'bench',
        '--url',
        redis().url,
        '--workload',
        'compare',
        '--duration',
        '1',
        '--concurrency',
        '20',
        '--pool-size',
        '6',
        '--json',
        '--quiet',
      ],
      { timeoutMs: 60_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as BenchJson;
    assert.equal(j.embedded, false);
    assert.deepEqual(
      j.runs.map((x) => x.label),
      ['connection per op', 'redpool pool'],
    );
    const [perOp, pool] = j.runs;
    assert.equal(perOp!.errors, 0);
    assert.equal(pool!.errors, 0);
    assert.equal(pool!.server.connectionsOpened, 6);
    assert.ok(pool!.server.peakConnectedClients <= 6);
    // Each completed operation opened a connection (a few more may have been opening at the end).
    assert.ok(perOp!.server.connectionsOpened >= perOp!.ops, `${perOp!.server.connectionsOpened} < ${perOp!.ops}`);
    assert.ok(j.comparison!.throughputRatio > 1);
    assert.equal(j.comparison!.connectionsOpened.pool, 6);
  });

  void test('blocking and mixed report their operation classes; --ops bounds the run', async () => {
    const b = await runCli([
      'bench',
      redis().url,
      '--workload',
      'blocking',
      '--duration',
      '0.8',
      '--concurrency',
      '10',
      '--json',
      '--quiet',
    ]);
    assert.equal(b.code, 0, b.stderr);
    const bj = JSON.parse(b.stdout) as BenchJson;
    assert.ok(bj.runs[0]!.classes['blocking']!.ops > 0, 'BLPOPs completed (timed out empty)');
    assert.ok(bj.runs[0]!.classes['small']!.ops > 0);
    const m = await runCli([
      'bench',
      redis().url,
      '--workload',
      'mixed',
      '--ops',
      '400',
      '--large-share',
      '0.2',
      '--large-size',
      '65536',
      '--concurrency',
      '8',
      '--json',
      '--quiet',
    ]);
    assert.equal(m.code, 0, m.stderr);
    const mj = JSON.parse(m.stdout) as BenchJson;
    assert.equal(mj.runs[0]!.ops, 400);
    assert.ok(mj.runs[0]!.classes['large']!.ops > 0);
    const text = await runCli(['bench', redis().url, '--workload', 'pubsub', '--duration', '0.6', '--concurrency', '4', '--quiet']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^delivery\s/m);
    assert.match(text.stdout, /messages delivered per second over 2 subscribers/);
  });

  void test('an unreachable URL: one line, exit 1', async () => {
    const r = await runCli(['bench', '--url', 'redis://127.0.0.1:1', '--duration', '1']);
    assert.equal(r.code, 1);
    assert.ok(oneLine(r.stderr), r.stderr);
    assert.match(r.stderr, /^redpool bench: cannot reach redis:\/\/127\.0\.0\.1:1/);
  });
});
