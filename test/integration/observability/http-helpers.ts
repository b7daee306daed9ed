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

export { sample, series, sum } from '../../helpers/prom-text.js';
