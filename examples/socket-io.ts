/**
 * Two socket.io servers sharing one redpool pool through @socket.io/redis-adapter: a broadcast
 * from one reaches the clients of both. The adapter's publisher is `asIoredis(pool)`, its
 * subscriber `asIoredis(pool).duplicate()` (a budget-counted `pool.subscriber()` connection).
 *
 *   npm run build && npx tsc -p tsconfig.json && node build/examples/socket-io.js      # self-check, exits
 *   REDIS_URL=redis://127.0.0.1:6379 node build/examples/socket-io.js
 *
 * Without REDIS_URL a throwaway redis-server is started, and the self-check ends by stopping it
 * while still broadcasting: the adapter's un-awaited publishes fail during the outage without an
 * unhandled rejection (a default Node process would die of one; nothing here catches on the
 * adapter's behalf). Recovery after a restart on the same port is shown by
 * test/integration/compat/socket-io.test.ts.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { startRedisServer, type RedisServer } from 'redpool/testing';
import { asIoredis } from 'redpool/compat';
import { createPool } from 'redpool';

const embedded: RedisServer | undefined = process.env['REDIS_URL'] ? undefined : await startRedisServer();
const url = process.env['REDIS_URL'] ?? embedded!.url;
// 2 lanes + one subscriber per adapter (+1 spare).
const pool = createPool({
  url,
  name: 'socket-io-example',
  max: 5,
  lanes: 2,
  connectTimeoutMs: 500,
  commandTimeoutMs: 1_000,
  failureThreshold: 2,
});
await pool.ready();
console.log(`pool ${pool.options.name} on Redis ${pool.options.endpoint}`);

const servers: Server[] = [];
const clients: Socket[] = [];
const received: string[][] = [[], []];
for (let i = 0; i < 2; i++) {
  const http = createServer();
  const pub = asIoredis(pool);
  const io = new Server(http, { adapter: createAdapter(pub, pub.duplicate()) });
  servers.push(io);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const client = connect(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, { transports: ['websocket'], reconnection: false });
  clients.push(client);
  client.on('news', (msg: string) => received[i]!.push(msg));
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
}

/** Broadcasts from server 0 until both clients got `tag` (or `ms` passed). */
async function reachesBoth(tag: string, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    servers[0]!.emit('news', tag);
    await new Promise((r) => setTimeout(r, 100));
    if (received.every((r) => r.includes(tag))) return true;
  }
  return false;
}

let failures = 0;
const check = (ok: boolean, what: string): void => {
  if (!ok) failures++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
};
try {
  check(await reachesBoth('hello'), 'a broadcast from server 1 reaches the clients of both servers');
  check((await servers[1]!.fetchSockets()).length === 2, 'fetchSockets() sees the sockets of both servers');
  const s = pool.stats();
  check(s.total <= s.max && s.subscribers === 2, `connections ${s.total} <= max ${s.max}, of which ${s.subscribers} subscribers`);
  if (embedded) {
    await embedded.stop();
    for (let i = 0; i < 10; i++) {
      servers[0]!.emit('news', `lost-${i}`); // fire-and-forget publishes while Redis is down
      await new Promise((r) => setTimeout(r, 30));
    }
    await new Promise((r) => setTimeout(r, 300));
    check(true, 'broadcasts while Redis is down failed quietly: the process is still running');
  }
} catch (err) {
  failures++;
  console.log(`FAIL ${(err as Error).message}`);
} finally {
  for (const c of clients) c.close();
  await Promise.all(servers.map((io) => new Promise<void>((resolve) => void io.close(() => resolve()))));
  await pool.close({ timeoutMs: 5_000 });
  await embedded?.stop();
}
console.log(failures === 0 ? 'self-check: ok' : `self-check: ${failures} failure(s)`);
process.exitCode = failures === 0 ? 0 : 1;
