/**
 * pool.subscriber() against a real redis-server: messages of every kind, counted in stats and
 * in the server's CLIENT LIST within `max`, resubscribed by itself after a SIGKILL + restart on
 * the same port, closed by pool.close(). `lease.raw` cannot escape the budget.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { createPool, type SubscriberConnectInfo } from '../../../src/index.js';
import { clientNames, waitFor, withRedis } from '../../helpers/redis.js';
import { crashAndRestart, sampleConnections, serverConnections } from './support.js';

void test('subscriber: messages, patterns and shard channels; resubscribed after a restart; within max; closed by pool.close()', async (t) => {
  const server = await withRedis(t);
  const pool = createPool({ url: server.url, name: 'sub-it', max: 3, lanes: 1, connectTimeoutMs: 500, commandTimeoutMs: 1_000 });
  t.after(() => pool.destroy());
  await pool.ready();
  const sampler = sampleConnections(server);
  const sub = pool.subscriber();
  const got: string[] = [];
  sub.on('message', (c, m) => got.push(`m:${c}:${m}`));
  sub.on('pmessage', (p, c, m) => got.push(`p:${p}:${c}:${m}`));
  sub.on('smessage', (c, m) => got.push(`s:${c}:${m}`));
  const connects: SubscriberConnectInfo[] = [];
  sub.on('connect', (i) => connects.push(i));
  await sub.subscribe('news');
  await sub.psubscribe('ev:*');
  await sub.ssubscribe('shard');
  assert.equal(pool.stats().subscribers, 1);
  assert.ok(pool.stats().total <= 3);
  // The CLIENT ID reported is the server's id of the subscriber connection.
  const list = String(await server.command('CLIENT', 'LIST'));
  assert.match(list, new RegExp(`id=${sub.clientId} .* sub=1 psub=1 ssub=1 `));

  const publishAll = async (tag: string): Promise<void> => {
    await pool.publish('news', tag);
    await pool.publish('ev:x', tag);
    await pool.spublish('shard', tag);
  };
  await publishAll('one');
  await waitFor(() => got.length === 3);
  assert.deepEqual(got.sort(), ['m:news:one', 'p:ev:*:ev:x:one', 's:shard:one']);

  const disconnected = once(sub, 'disconnect');
  await crashAndRestart(server);
  await disconnected;
  await waitFor(() => connects.length === 2, { timeoutMs: 10_000, message: 'subscriber reconnected' });
  assert.equal(connects[1]!.reconnect, true);
  got.length = 0;
  await waitFor(
    async () => {
      await publishAll('two');
      return got.length >= 3;
    },
    { timeoutMs: 5_000 },
  );
  assert.ok(got.includes('m:news:two') && got.includes('p:ev:*:ev:x:two') && got.includes('s:shard:two'), got.join());
  assert.match(String(await server.command('CLIENT', 'LIST')), new RegExp(`id=${sub.clientId} .* sub=1 psub=1 ssub=1 `));
  assert.equal(pool.stats().subscribers, 1);

  const { max, samples } = await sampler.stop();
  t.diagnostic(`CLIENT LIST: at most ${max} connections in ${samples} samples (max 3)`);
  assert.ok(samples >= 2);
  assert.ok(max <= 3, `server saw ${max} connections`);
  await pool.close();
  assert.equal(sub.state, 'closed');
  assert.deepEqual(await clientNames(server, 'redpool:sub-it:'), []);
  assert.equal(await serverConnections(server), 0);
});

void test('lease.raw cannot escape the budget: duplicate() refused, connect()/commands refused once the connection ended, nothing outlives close()', async (t) => {
  const server = await withRedis(t);
  const pool = createPool({ url: server.url, name: 'raw-it', max: 2, lanes: 1, connectTimeoutMs: 500 });
  t.after(() => pool.destroy());
  await pool.ready();
  const lease = await pool.acquire();
  const raw = lease.raw;
  assert.equal(await raw.set('raw:k', 'v'), 'OK');
  assert.equal(await raw.get('raw:k'), 'v');
  assert.throws(
    () => raw.duplicate(),
    (e: { code?: string }) => e.code === 'ERR_OUTSIDE_BUDGET',
  );
  const id = Number(await raw.client('ID'));
  await server.command('CLIENT', 'KILL', 'ID', String(id));
  await waitFor(() => raw.status === 'end');
  await assert.rejects(raw.connect(), (e: { code?: string }) => e.code === 'ERR_OUTSIDE_BUDGET');
  await assert.rejects(
    raw.get('raw:k'),
    (e: { code?: string; message?: string }) => e.code === 'ERR_CONNECTION' && /Connection is closed/.test(e.message ?? ''),
  );
  let cbErr: { code?: string } | undefined;
  await new Promise<void>((resolve) => {
    void raw.get('raw:k', (err) => {
      cbErr = err as { code?: string };
      resolve();
    });
  });
  assert.equal(cbErr?.code, 'ERR_CONNECTION');
  // Nothing was revived: the server sees only the pool's lane.
  await waitFor(async () => (await serverConnections(server)) === 1);
  lease.release();
  const lease2 = await pool.acquire();
  const raw2 = lease2.raw;
  lease2.release();
  await assert.rejects(raw2.get('raw:k'), (e: { code?: string }) => e.code === 'ERR_LEASE_RELEASED');
  await pool.close();
  assert.equal(await serverConnections(server), 0, 'no connection outlives pool.close()');
});
