/**
 * connect-redis 9's own test (node_modules/connect-redis/index_test.ts, "defaults" and
 * "redis" → lifecycleTest) with its node-redis client swapped for asNodeRedis(pool). The body is
 * theirs line by line; only vitest's `expect` is spelled with node:assert.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RedisStore } from 'connect-redis';
import { Cookie } from 'express-session';
import { asNodeRedis, type NodeRedisView } from '../../../src/compat/index.js';
import { createPool } from '../../../src/index.js';
import { withRedis } from '../../helpers/redis.js';

void test("connect-redis's own lifecycle test on asNodeRedis(pool)", async (t) => {
  const server = await withRedis(t);
  const pool = createPool({ url: server.url, name: 'cr-upstream', max: 3 });
  t.after(() => pool.close());

  // test("defaults")
  {
    const client = asNodeRedis(pool);
    await client.connect();
    const store = new RedisStore({ client });
    assert.ok(store.client !== undefined);
    assert.equal(store.prefix, 'sess:');
    assert.equal(store.ttl, 86400);
    assert.equal(store.scanCount, 100);
    assert.equal(store.serializer, JSON);
    assert.equal(store.disableTouch, false);
    assert.equal(store.disableTTL, false);
    client.destroy();
  }
  // test("redis")
  const client = asNodeRedis(pool);
  await client.connect();
  const store = new RedisStore({ client });
  await lifecycleTest(store, client);
  client.destroy();
  assert.equal(pool.state, 'open', 'destroy() ended the view only');
});

async function lifecycleTest(store: RedisStore, client: NodeRedisView): Promise<void> {
  let res: unknown = await store.clear();

  const sess = { foo: 'bar', cookie: { originalMaxAge: null } };
  await store.set('123', sess as never);

  res = await store.get('123');
  assert.deepEqual(res, sess);

  let ttl = await client.ttl('sess:123');
  assert.ok(ttl >= 86399);

  ttl = 60;
  let expires = new Date(Date.now() + ttl * 1000);
  await store.set('456', { cookie: { originalMaxAge: null, expires } } as never);
  ttl = await client.ttl('sess:456');
  assert.ok(ttl <= 60);

  ttl = 90;
  const expires2 = new Date(Date.now() + ttl * 1000);
  await store.touch('456', { cookie: { originalMaxAge: null, expires: expires2 } } as never);
  ttl = await client.ttl('sess:456');
  assert.ok(ttl > 60);

  res = await store.length();
  assert.equal(res, 2); // stored two keys length

  res = await store.ids();
  (res as string[]).sort();
  assert.deepEqual(res, ['123', '456']);

  res = await store.all();
  (res as Array<{ id: string }>).sort((a, b) => (a.id > b.id ? 1 : -1));
  assert.deepEqual(res, [
    { id: '123', foo: 'bar', cookie: { originalMaxAge: null } },
    { id: '456', cookie: { originalMaxAge: null, expires: expires.toISOString() } },
  ]);

  await store.destroy('456');
  res = await store.length();
  assert.equal(res, 1); // one key remains

  res = await store.clear();

  res = await store.length();
  assert.equal(res, 0); // no keys remain

  const count = 1000;
  await load(store, count);

  res = await store.length();
  assert.equal(res, count);

  await store.clear();
  res = await store.length();
  assert.equal(res, 0);

  expires = new Date(Date.now() + ttl * 1000); // expires in the future
  res = await store.set('789', { cookie: { originalMaxAge: null, expires } } as never);

  res = await store.length();
  assert.equal(res, 1);

  expires = new Date(Date.now() - ttl * 1000); // expires in the past
  await store.set('789', { cookie: { originalMaxAge: null, expires } } as never);

  res = await store.length();
  assert.equal(res, 0); // no key remains and that includes session 789
}

async function load(store: RedisStore, count: number): Promise<void> {
  const cookie = new Cookie();
  for (let sid = 0; sid < count; sid++) {
    cookie.expires = new Date(Date.now() + 1000);
    await store.set('s' + sid, { cookie });
  }
}
