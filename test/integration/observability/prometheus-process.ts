/**
 * A throwaway Prometheus server for tests: loopback port, storage in a temporary directory, the
 * caller's config (no remote read/write), stopped by PID afterwards — by `t.after`, by the
 * process 'exit' hook, and on SIGINT/SIGTERM/SIGHUP — even when the test fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

/** Debian package `prometheus` installs both. */
export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';

/** A running Prometheus. */
export interface PrometheusProcess {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly pid: number;
  /** SIGTERM, then SIGKILL after 10 s; removes the storage directory. Idempotent. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let hooked = false;

function killAllNow(): void {
  for (const child of live) {
    try {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

function installHooks(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // Kill our servers, then re-raise so that the other handlers (redis cleanup) or the default
    // action (terminate) still happen.
    const handler = (): void => {
      killAllNow();
      process.off(signal, handler);
      process.kill(process.pid, signal);
    };
    process.on(signal, handler);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, log: () => string, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`prometheus exited (${child.exitCode ?? child.signalCode}):\n${log()}`);
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
      await res.text();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`prometheus not ready after ${deadlineMs} ms:\n${log()}`);
}

/**
 * Starts Prometheus with `config` (YAML text) and `files` written beside it (name → content), on
 * a free 127.0.0.1 port. Registers `t.after(stop)`.
 */
export async function startPrometheus(t: TestContext, config: string, files: Record<string, string> = {}): Promise<PrometheusProcess> {
  if (!existsSync(PROMETHEUS)) throw new Error(`${PROMETHEUS} is missing (apt-get install prometheus)`);
  installHooks();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'redpool-prometheus-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  writeFileSync(path.join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    PROMETHEUS,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.add(child);
  let output = '';
  const keep = (b: Buffer): void => {
    output = (output + b.toString()).slice(-8_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      live.delete(child);
      rmSync(dir, { recursive: true, force: true });
    })());
  t.after(stop);
  if (child.pid === undefined) throw new Error(`could not start ${PROMETHEUS}`);
  await waitReady(url, child, () => output, 30_000);
  return { url, pid: child.pid, stop };
}

/** Result of a Prometheus HTTP API query. */
export interface PromSeries {
  metric: Record<string, string>;
  /** [unix seconds, value as text] pairs (a range query) or one pair (an instant query). */
  values: Array<[number, string]>;
}

/** GET `/api/v1/<endpoint>` with `params`; throws on a non-success status with Prometheus's error text. */
export async function promApi<T>(base: string, endpoint: string, params: Record<string, string> = {}): Promise<T> {
  const res = await fetch(`${base}/api/v1/${endpoint}?${new URLSearchParams(params).toString()}`, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { status: string; data: T; error?: string; errorType?: string };
  if (body.status !== 'success') throw new Error(`${endpoint} ${JSON.stringify(params)}: ${body.errorType}: ${body.error}`);
  return body.data;
}

/** A range query: every series with its samples between `start` and `end` (unix seconds). */
export async function queryRange(base: string, query: string, start: number, end: number, step = 1): Promise<PromSeries[]> {
  const data = await promApi<{ resultType: string; result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> }>(
    base,
    'query_range',
    { query, start: String(start), end: String(end), step: String(step) },
  );
  return data.result;
}
