/**
 * Small HTTP helpers for the observability integration tests: listen on 127.0.0.1 port 0 with
 * cleanup, and fetch with a deadline. Real sockets, loopback only.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

/** Starts `server` on 127.0.0.1:0, closes it (and its keep-alive sockets) after the test. */
export async function listen(t: TestContext, server: http.Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  t.after(() => closeServer(server));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes a server now, dropping idle keep-alive connections. Idempotent. */
export function closeServer(server: http.Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** GET with a 10 s deadline; resolves with the status and the parsed JSON (or text) body. */
export async function get(url: string): Promise<{ status: number; body: Record<string, unknown>; text: string; contentType: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON (e.g. /metrics)
  }
  return { status: res.status, body, text, contentType: res.headers.get('content-type') ?? '' };
}

/** Parsed series of `name` in Prometheus text exposition whose labels include `labels`. */
export function series(text: string, name: string, labels: Record<string, string> = {}): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const kv of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) got[kv[1]!] = kv[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) out.push({ labels: got, value: Number(m[3]) });
  }
  return out;
}

/** The value of the first series of `name` matching `labels`, or undefined. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  return series(text, name, labels)[0]?.value;
}

/** Sum over every series of `name` matching `labels`. */
export function sum(text: string, name: string, labels: Record<string, string> = {}): number {
  return series(text, name, labels).reduce((a, s) => a + s.value, 0);
}
