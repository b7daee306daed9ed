/**
 * pool.subscriber({ tracking }) on a real redis-server through the ioredis driver: the RESP3
 * `invalidate` pushes ioredis would drop reach the subscriber (keys, and null for FLUSHDB);
 * after CLIENT KILL it reports 'disconnect', reconnects and has tracking on again before
 * 'connect', so writes are reported again.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { constantBackoff, createPool, type SubscriberConnectInfo } from '../../../src/index.js';
import { waitFor, withRedis, type RedisProcess } from '../../helpers/redis.js';

async function flagsOf(server: RedisProcess, id: number): Promise<string> {
  const line = String(await server.command('CLIENT', 'LIST', 'ID', String(id)));
  return /\bflags=(\S*)/.exec(line)?.[1] ?? '';
}

void test('subscriber tracking: invalidations from other clients, FLUSHDB as null, re-applied after CLIENT KILL', async (t) => {
  const server = await withRedis(t);
  const pool = createPool({ url: server.url, name: 'track-it', max: 3, lanes: 1, connectTimeoutMs: 1_000, commandTimeoutMs: 1_000 });
  t.after(() => pool.destroy());
  await pool.ready();
  const sub = pool.subscriber({ tracking: { prefixes: ['p:'] }, backoff: constantBackoff(20) });
  const seen: Array<string[] | null> = [];
  sub.on('invalidate', (keys) => seen.push(keys));
  const connects: Array<SubscriberConnectInfo & { flags: string }> = [];
  let flagsAtConnect: Promise<string> | undefined;
  sub.on('connect', (info) => {
    // Read the server's view at the moment 'connect' is emitted: tracking must already be on.
    flagsAtConnect = flagsOf(server, info.clientId);
    connects.push({ ...info, flags: '' });
  });
  const first = await sub.ready();
  assert.match(await flagsAtConnect!, /t/, 'tracking on (flag t) when connect was emitted');
  assert.match(await flagsOf(server, first.clientId), /B/, 'in BCAST mode');

  await server.command('SET', 'p:a', '1'); // another client
  await pool.set('p:b', '2'); // the pool's own lane is another client too
  await pool.set('other', '3'); // outside the prefix: not reported
  await waitFor(() => seen.length >= 2, { message: 'two invalidations' });
  assert.deepEqual(seen.slice(0, 2), [['p:a'], ['p:b']]);
  await server.command('FLUSHDB');
  await waitFor(() => seen.length >= 3, { message: 'flush invalidation' });
  assert.equal(seen[2], null, 'FLUSHDB invalidates every key');
  assert.equal(seen.length, 3, 'the key outside the prefix was not reported');

  const lost = once(sub, 'disconnect');
  await server.command('CLIENT', 'KILL', 'ID', String(first.clientId));
  await lost;
  await waitFor(() => connects.length === 2, { timeoutMs: 5_000, message: 'reconnected' });
  assert.equal(connects[1]!.reconnect, true);
  assert.notEqual(connects[1]!.clientId, first.clientId);
  assert.match(await flagsAtConnect!, /t/, 'tracking re-applied before the second connect');
  seen.length = 0;
  await server.command('SET', 'p:c', '4');
  await waitFor(() => seen.length === 1, { message: 'invalidation after reconnect' });
  assert.deepEqual(seen, [['p:c']]);
  await sub.close();
});
