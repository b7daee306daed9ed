/**
 * A driver ConnectSpec for a loopback test server: plain TCP, db 0, no credentials, no keepalive.
 * Tests that call a driver directly (no pool) override only what they are about.
 */
import type { ConnectSpec } from '../../src/index.js';

/** `port` on 127.0.0.1 with test defaults (connect deadline 2000 ms); `over` wins. */
export function loopbackSpec(port: number, over: Partial<ConnectSpec> = {}): ConnectSpec {
  return {
    host: '127.0.0.1',
    port,
    path: undefined,
    username: undefined,
    password: undefined,
    db: 0,
    tls: undefined,
    connectTimeoutMs: 2_000,
    keepAliveMs: 0,
    connectionName: 'redpool-test',
    autoPipelining: false,
    endpoint: `redis://127.0.0.1:${port}`,
    ...over,
  };
}
