/**
 * @socket.io/redis-adapter through asIoredis(pool) (pub) and asIoredis(pool).duplicate() (sub,
 * on pool.subscriber()): two socket.io servers on one pool, a broadcast from one reaches the
 * clients of both, fetchSockets sees both; a broadcast during the outage (fire-and-forget
 * publish) raises no unhandled rejection; after a SIGKILL + restart it all works again.
 */
import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createAdapter } from '@socket.io/redis-adapter';
import { Server } from 'socket.io';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { asIoredis } from '../../../src/compat/index.js';
import { createPool } from '../../../src/index.js';
import { waitFor, withRedis } from '../../helpers/redis.js';
import { sampleConnections, serverConnections } from './support.js';

async function listen(http: HttpServer): Promise<number> {
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return (http.address() as AddressInfo).port;
}

void test('socket.io redis adapter: two servers on one pool, broadcast + fetchSockets, no unhandled rejection during a restart', async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));

  const server = await withRedis(t);
  const pool = createPool({
    url: server.url,
    name: 'sio-it',
    max: 5,
    lanes: 2,
    connectTimeoutMs: 500,
    commandTimeoutMs: 1_000,
    failureThreshold: 2,
  });
  t.after(() => pool.destroy());
  await pool.ready();
  const sampler = sampleConnections(server);

  const servers: Server[] = [];
  const clients: ClientSocket[] = [];
  t.after(async () => {
    for (const c of clients) c.close();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => void s.close(() => resolve()))));
  });
  const received: string[][] = [[], []];
  for (let i = 0; i < 2; i++) {
    const http = createServer();
    const pub = asIoredis(pool);
    const io = new Server(http, { adapter: createAdapter(pub, pub.duplicate()) });
    servers.push(io);
    const port = await listen(http);
    const client = connectClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
    clients.push(client);
    client.on('hello', (msg: string) => received[i]!.push(msg));
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  }
  // Both adapters subscribed (each on its own budget-counted subscriber connection).
  await waitFor(() => pool.stats().subscribers === 2, { message: `subscribers ${pool.stats().subscribers}` });

  const broadcastUntilBoth = async (tag: string): Promise<void> => {
    await waitFor(
      () => {
        servers[0]!.emit('hello', tag);
        return received.every((r) => r.includes(tag));
      },
      { timeoutMs: 10_000, intervalMs: 100, message: `broadcast ${tag} reached both` },
    );
  };
  await broadcastUntilBoth('one');
  const sockets = await servers[0]!.fetchSockets();
  assert.equal(sockets.length, 2, 'fetchSockets sees the clients of both servers');

  await server.kill();
  // Fire-and-forget publishes while Redis is down: they fail, but nothing crashes.
  for (let i = 0; i < 20; i++) {
    servers[0]!.emit('hello', `down-${i}`);
    servers[1]!.emit('hello', `down-${i}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  await server.restart();
  await waitFor(() => pool.stats().subscribers === 2, { timeoutMs: 10_000, message: 'subscribers back' });
  await broadcastUntilBoth('two');
  await waitFor(async () => (await servers[1]!.fetchSockets()).length === 2, {
    timeoutMs: 10_000,
    intervalMs: 200,
    message: 'fetchSockets after restart',
  });

  const { max, samples } = await sampler.stop();
  t.diagnostic(`CLIENT LIST max ${max} over ${samples} samples (pool max 5)`);
  assert.ok(max <= 5, `server saw ${max} connections`);
  assert.deepEqual(unhandled, []);
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => void s.close(() => resolve()))));
  servers.length = 0;
  await pool.close();
  assert.equal(await serverConnections(server), 0);
});
