/**
 * `send(…, { waitMs })` on a full channel waits for a wake-up, not a poll: the reader that pops
 * from the full channel (another process's layer here: another pool) publishes room inside its
 * pull script, and the waiting sender tries again at once. Counted on the sender's pool through
 * the `redpool:command` diagnostics channel: a polling sender would have tried ~25 times in the
 * 2.2 s the channel stays full; this one tries on the fallback re-checks only (250 ms doubling).
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { after, describe, test } from 'node:test';
import { createPool } from '../../../src/index.js';
import { ChannelFullError, createChannelLayer } from '../../../src/channels/index.js';
import { useRedis } from '../../helpers/redis.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

void describe('waiting for room', () => {
  const server = useRedis();

  void test('a waiting send is woken by the pop that makes room (no polling), within its deadline', { timeout: 30_000 }, async () => {
    const senderPool = createPool({ url: server().url, max: 6, name: 'room-sender' });
    const readerPool = createPool({ url: server().url, max: 6, name: 'room-reader' });
    after(() => Promise.all([senderPool.close(), readerPool.close()]));
    const sender = createChannelLayer(senderPool, { prefix: 'room', capacity: 3 });
    const reader = createChannelLayer(readerPool, { prefix: 'room', capacity: 3 });
    after(() => Promise.all([sender.close(), reader.close()]));
    let attempts = 0;
    const onCommand = (m: unknown): void => {
      const c = m as { pool: string; command: string; via: string };
      if (c.pool === 'room-sender' && c.via === 'lane' && c.command.toLowerCase() === 'evalsha') attempts++;
    };
    diagnostics.subscribe('redpool:command', onCommand);
    after(() => diagnostics.unsubscribe('redpool:command', onCommand));

    for (let i = 0; i < 3; i++) await sender.send('q', i);
    attempts = 0;
    let resolvedAt = 0;
    const waiting = sender.send('q', 3, { waitMs: 10_000 }).then(() => (resolvedAt = Date.now()));
    await sleep(2200);
    const before = attempts;
    assert.ok(before >= 2 && before <= 6, `tries while full: the first, one after subscribing, the fallback re-checks (${before})`);
    const poppedAt = Date.now();
    assert.equal(await reader.receive('q'), 0);
    await waiting;
    // Woken by the room message: long before the next fallback re-check (due 1.5 s after the pop).
    assert.ok(resolvedAt - poppedAt < 1000, `stored ${resolvedAt - poppedAt} ms after the pop`);
    assert.ok(attempts <= before + 2, `one more try after the wake-up (${attempts - before})`);
    for (const want of [1, 2, 3]) assert.equal(await reader.receive('q'), want);
  });

  void test('with nobody reading, a waiting send rejects with ERR_CHANNEL_FULL at its deadline', { timeout: 30_000 }, async () => {
    const pool = createPool({ url: server().url, max: 6, name: 'room-deadline' });
    after(() => pool.close());
    const layer = createChannelLayer(pool, { prefix: 'room2', capacity: 1 });
    after(() => layer.close());
    await layer.send('q', 'a');
    const started = Date.now();
    const err = await layer.send('q', 'b', { waitMs: 600 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const took = Date.now() - started;
    assert.ok(err instanceof ChannelFullError, String(err));
    assert.ok(took >= 600, `waited the whole deadline (${took} ms)`);
    assert.ok(took < 600 + 1500, `and not much longer (${took} ms)`);
    assert.equal(await pool.llen('room2:ch:{q}'), 1, 'nothing stored');
  });

  void test('an aborted wait rejects with the signal reason and stores nothing', { timeout: 30_000 }, async () => {
    const pool = createPool({ url: server().url, max: 6, name: 'room-abort' });
    after(() => pool.close());
    const layer = createChannelLayer(pool, { prefix: 'room3', capacity: 1 });
    after(() => layer.close());
    await layer.send('q', 'a');
    const err = await layer.send('q', 'b', { waitMs: 10_000, signal: AbortSignal.timeout(300) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal((err as Error).name, 'TimeoutError');
    assert.equal(await pool.llen('room3:ch:{q}'), 1);
  });
});
