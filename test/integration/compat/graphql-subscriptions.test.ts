/**
 * graphql-redis-subscriptions 2.7 through asIoredis(pool) (publisher) and a duplicate()
 * (subscriber, on pool.subscriber()): publish, plain and pattern subscriptions, an async
 * iterator, close(); after a SIGKILL + restart the subscriptions are restored by themselves.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { asIoredis } from '../../../src/compat/index.js';
import { createPool } from '../../../src/index.js';
import { waitFor, withRedis } from '../../helpers/redis.js';
import { crashAndRestart, sampleConnections, serverConnections } from './support.js';

void test('graphql-redis-subscriptions: publish, pattern subscriptions, iterator, close(); restored after a restart', async (t) => {
  const server = await withRedis(t);
  const pool = createPool({ url: server.url, name: 'gql-it', max: 3, connectTimeoutMs: 500, commandTimeoutMs: 1_000 });
  t.after(() => pool.destroy());
  await pool.ready();
  const sampler = sampleConnections(server);
  const publisher = asIoredis(pool);
  // Type-only: graphql-redis-subscriptions pins ioredis 5, whose Redis type differs from ioredis 6's
  // (the view's). At runtime nothing is adapted.
  type GqlClient = NonNullable<NonNullable<ConstructorParameters<typeof RedisPubSub>[0]>['publisher']>;
  const pubsub = new RedisPubSub({
    publisher: publisher as unknown as GqlClient,
    subscriber: publisher.duplicate() as unknown as GqlClient,
  });
  const got: string[] = [];
  await pubsub.subscribe('post.added', (p: { id: number }) => got.push(`plain:${p.id}`));
  await pubsub.subscribe('post.*', (p: { id: number }) => got.push(`pattern:${p.id}`), { pattern: true });
  assert.equal(pool.stats().subscribers, 1, 'one budget-counted subscriber connection');
  const iterator = pubsub.asyncIterableIterator<{ id: number }>('comment.added');
  const nextComment = iterator.next();
  await waitFor(async () => {
    await pubsub.publish('comment.added', { id: 7 });
    return (await Promise.race([nextComment, new Promise((r) => setTimeout(() => r(undefined), 50))])) !== undefined;
  });
  assert.deepEqual((await nextComment).value, { id: 7 });
  await pubsub.publish('post.added', { id: 1 });
  await waitFor(() => got.length === 2);
  assert.deepEqual(got.sort(), ['pattern:1', 'plain:1']);

  await crashAndRestart(server);
  got.length = 0;
  await waitFor(
    async () => {
      await pubsub.publish('post.added', { id: 2 }).catch(() => undefined);
      return got.includes('plain:2') && got.includes('pattern:2');
    },
    { timeoutMs: 10_000, intervalMs: 100, message: 'subscriptions restored after the restart' },
  );

  const { max, samples } = await sampler.stop();
  t.diagnostic(`CLIENT LIST max ${max} over ${samples} samples (pool max 3)`);
  assert.ok(max <= 3, `server saw ${max} connections`);
  await iterator.return?.();
  assert.deepEqual(await pubsub.close(), ['OK', 'OK']);
  assert.equal(pool.state, 'open', 'close() ends the views, not the pool');
  assert.equal(pool.stats().subscribers, 0);
  await pool.close();
  assert.equal(await serverConnections(server), 0);
});
