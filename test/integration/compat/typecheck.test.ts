/**
 * Compile-time checks: the views are accepted by the libraries' own types without casts. `tsc`
 * fails the build on an error here; the function is never called.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import KeyvRedis from '@keyv/redis';
import { createAdapter } from '@socket.io/redis-adapter';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { RedisStore } from 'connect-redis';
import type { Redis } from 'ioredis';
import type { RedisClientType } from 'redis';
import Redlock from 'redlock';
import { asIoredis, asNodeRedis, type IoredisView, type NodeRedisView } from '../../../src/compat/index.js';
import type { Pool } from '../../../src/index.js';

function compileOnly(pool: Pool): void {
  const connection = asIoredis(pool);
  void new Queue('q', { connection: asIoredis(pool) });
  void new Worker('q', async () => 1, { connection, concurrency: 5 });
  void new QueueEvents('q', { connection });
  void new RedisStore({ client: asNodeRedis(pool) });
  void createAdapter(asIoredis(pool), asIoredis(pool).duplicate());
  void new KeyvRedis(asNodeRedis(pool));
  void new Redlock([asIoredis(pool)]);
  // The views carry the clients' own command types.
  const ioredis: Redis = connection;
  const nodeRedis: RedisClientType = asNodeRedis(pool);
  const dup: Redis = connection.duplicate();
  const view: IoredisView = asIoredis(pool);
  const nr: NodeRedisView = asNodeRedis(pool);
  void [ioredis, nodeRedis, dup, nr, view.pool];
}

void test('compat views type-check with BullMQ, connect-redis, socket.io adapter, Keyv and redlock (compile-time)', () => {
  assert.equal(typeof compileOnly, 'function');
});
