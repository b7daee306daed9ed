#!/usr/bin/env node
// Reports whether the ioredis direct path is active with the installed ioredis (needs dist/:
// npm run build). 'auto' (the default) uses it only on releases matching VERIFIED_IOREDIS and
// silently falls back to ioredis's own Command path otherwise; this makes that visible.
// Prints one line per mode and exits 0; `DIRECT_PATH_REQUIRED=1` exits 1 when 'auto' is off.
import { createRequire } from 'node:module';
import { ioredisDriver } from '../dist/index.js';
import { startRedisServer } from '../dist/testing/index.js';

const require = createRequire(new URL('../dist/index.js', import.meta.url));
const version = require('ioredis/package.json').version;
const server = await startRedisServer();
const spec = {
  host: server.host,
  port: server.port,
  path: undefined,
  username: undefined,
  password: undefined,
  db: 0,
  tls: undefined,
  connectTimeoutMs: 2_000,
  keepAliveMs: 0,
  connectionName: 'direct-path-probe',
  autoPipelining: false,
  endpoint: server.url,
};
let auto = false;
try {
  for (const mode of ['auto', true]) {
    const conn = await ioredisDriver({ directPath: mode }).connect(spec);
    const direct = conn.direct === true;
    await conn.close();
    if (mode === 'auto') auto = direct;
    const what = mode === 'auto' ? "directPath 'auto' (default)" : 'directPath true (probe only)';
    console.log(`direct-path-probe: ioredis ${version}: ${what}: ${direct ? 'ACTIVE' : 'INACTIVE (plain ioredis path)'}`);
  }
} finally {
  await server.stop();
}
if (!auto) {
  console.log(
    `direct-path-probe: 'auto' is off on ioredis ${version}: run the suite and the reliability report on it, then widen VERIFIED_IOREDIS in src/driver/ioredis-direct.ts`,
  );
  if (process.env.DIRECT_PATH_REQUIRED) process.exit(1);
}
