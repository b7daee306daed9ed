/**
 * The channel layer against a real Redis: capacity and ERR_CHANNEL_FULL (atomic under racing
 * senders), pattern capacities, message expiry, group membership expiry, per-member group
 * results, process-local channels, receive on leases (never lanes), close and flush.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { describe, test } from 'node:test';
import calculateSlot from 'cluster-key-slot';
import { createPool } from '../../../src/index.js';
import { ChannelFullError, createChannelLayer, type GroupSendResult } from '../../../src/channels/index.js';
import { useRedis, waitFor } from '../../helpers/redis.js';
import { layerFactory } from './layers.js';

void describe('channel layer', () => {
  const server = useRedis();
  const setup = layerFactory(() => server().url, 'ch', 't');

  void test('send rejects with ERR_CHANNEL_FULL at capacity; nothing is stored; receive frees room', async () => {
    const { layer } = setup({ capacity: 3 });
    for (let i = 0; i < 3; i++) await layer.send('work', { i });
    const err = await layer.send('work', { i: 3 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ChannelFullError);
    assert.equal(err.code, 'ERR_CHANNEL_FULL');
    assert.equal(err.capacity, 3);
    assert.equal(err.channel, 'work');
    assert.deepEqual(await layer.receive('work'), { i: 0 });
    await layer.send('work', { i: 4 });
    assert.deepEqual(await layer.receive('work'), { i: 1 });
    assert.deepEqual(await layer.receive('work'), { i: 2 });
    assert.deepEqual(await layer.receive('work'), { i: 4 });
    assert.equal(layer.stats().full, 1);
  });

  void test('200 racing senders never overshoot capacity (one atomic script)', async () => {
    const { pool, layer } = setup({ capacity: 50 });
    const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => layer.send('race', i)));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const full = results.filter((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ERR_CHANNEL_FULL').length;
    assert.equal(ok, 50);
    assert.equal(full, 150);
    assert.equal(await pool.llen(`${layer.options.prefix}:ch:{race}`), 50);
  });

  void test('waitMs: a full send waits for room and succeeds when a receiver drains', async () => {
    const { layer } = setup({ capacity: 1 });
    await layer.send('slow', 'a');
    const pending = layer.send('slow', 'b', { waitMs: 5000 });
    assert.equal(await layer.receive('slow'), 'a');
    await pending;
    assert.equal(await layer.receive('slow'), 'b');
    const err = await layer
      .send('slow', 'c', { waitMs: 1 })
      .then(() => layer.send('slow', 'd', { waitMs: 30 }))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof ChannelFullError);
  });

  void test('channelCapacity: globs and RegExps, first match wins, default otherwise', async () => {
    const { layer } = setup({
      capacity: 2,
      channelCapacity: new Map<string | RegExp, number>([
        ['chat.*', 4],
        [/^chat\.vip/, 100],
        [/notifications\..+/, 1],
      ]),
    });
    const fill = async (ch: string): Promise<number> => {
      for (let i = 0; ; i++) {
        try {
          await layer.send(ch, i);
        } catch (err) {
          assert.equal((err as { code?: string }).code, 'ERR_CHANNEL_FULL');
          return i;
        }
      }
    };
    assert.equal(await fill('chat.room1'), 4);
    assert.equal(await fill('chat.vip'), 4, 'the glob chat.* comes first');
    assert.equal(await fill('notifications.u1'), 1);
    assert.equal(await fill('other'), 2);
    const depth = await layer.refreshDepth();
    assert.equal(depth['chat.*'], 8);
    assert.equal(depth['notifications\\..+'], 1);
    assert.equal(depth['default'], 2);
    assert.deepEqual(layer.stats().depth, depth);
  });

  void test('expiry: messages older than expiryMs are never delivered, and free capacity', async () => {
    const { layer } = setup({ capacity: 2, expiryMs: 150 });
    await layer.send('ttl', 'old1');
    await new Promise((r) => setTimeout(r, 100));
    await layer.send('ttl', 'old2'); // refreshes the key's expiry
    await new Promise((r) => setTimeout(r, 100));
    await layer.send('ttl', 'new'); // old1 is 200 ms old: trimmed first, so no ERR_CHANNEL_FULL
    assert.equal(layer.stats().expired, 1);
    assert.equal(await layer.receive('ttl'), 'old2');
    assert.equal(await layer.receive('ttl'), 'new');
    // Expired while queued, with no later send to trim it: the reader drops it, never delivers it.
    await layer.send('ttl2', 'stale');
    await new Promise((r) => setTimeout(r, 100));
    await layer.send('ttl2', 'fresh');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await layer.receive('ttl2'), 'fresh');
    assert.equal(layer.stats().expired, 2);
  });

  void test('groups: per-member result, membership expiry, groupMembers, groupDiscard', async () => {
    const { layer } = setup({ capacity: 1, groupExpiryMs: 300 });
    await layer.groupAdd('room', 'a');
    await layer.groupAdd('room', 'b');
    await layer.send('b', 'filler'); // b is full
    let r = await layer.groupSend('room', 'hello');
    assert.deepEqual(r.members, { a: 'delivered', b: 'full' });
    assert.equal(r.delivered, 1);
    assert.equal(r.full, 1);
    assert.equal(await layer.receive('a'), 'hello');
    assert.deepEqual((await layer.groupMembers('room')).sort(), ['a', 'b']);
    await new Promise((r) => setTimeout(r, 200));
    await layer.groupAdd('room', 'c'); // refreshes the key, not a and b
    await new Promise((r) => setTimeout(r, 200));
    r = await layer.groupSend('room', 'later');
    assert.deepEqual(r.members, { a: 'expired', b: 'expired', c: 'delivered' });
    assert.deepEqual(await layer.groupMembers('room'), ['c']);
    await layer.groupDiscard('room', 'c');
    await layer.groupDiscard('room', 'never-there');
    assert.deepEqual(await layer.groupMembers('room'), []);
    assert.equal(await layer.receive('c'), 'later');
    assert.equal(layer.stats().groupExpired >= 2, true);
  });

  void test('process-local channels: one reader for all; group send writes one message per process', async () => {
    const { pool, layer } = setup();
    const other = setup({ prefix: layer.options.prefix }).layer;
    const chans = Array.from({ length: 20 }, () => layer.newChannel());
    assert.match(chans[0]!, /^specific\.[0-9a-f]{12}![0-9a-f]{16}$/);
    for (const c of chans) await layer.groupAdd('g', c);
    const r = await other.groupSend('g', { hi: 1 });
    assert.equal(r.delivered, 20);
    const key = `${layer.options.prefix}:ch:{specific.${layer.processId}!}`;
    assert.equal(await pool.llen(key), 1, 'one element names all 20 local channels');
    const got = await Promise.all(chans.map((c) => layer.receive(c)));
    assert.deepEqual(
      got,
      chans.map(() => ({ hi: 1 })),
    );
    await other.send(chans[3]!, 'direct');
    assert.equal(await layer.receive(chans[3]!), 'direct');
    assert.ok(layer.stats().readers <= 1);
    await assert.rejects(other.receive(chans[0]!), { code: 'ERR_INVALID_ARGUMENT' });
  });

  void test('receives block on leases, bounded by maxReaders, while shared commands keep flowing', async () => {
    const { pool, layer } = setup({ maxReaders: 2, blockMs: 200 });
    const ac = new AbortController();
    const pending = Array.from({ length: 6 }, (_, i) => layer.receive(`idle${i}`, { signal: ac.signal }));
    await waitFor(() => layer.stats().readers === 2);
    for (let i = 0; i < 50; i++) assert.equal(await pool.ping(), 'PONG');
    const s = pool.stats();
    assert.ok(s.leased <= 2, `leased=${s.leased}`);
    // Every channel is served in turn: a message to the last one arrives.
    await layer.send('idle5', 'x');
    assert.equal(await pending[5], 'x');
    ac.abort();
    const settled = await Promise.allSettled(pending.slice(0, 5));
    assert.ok(settled.every((p) => p.status === 'rejected'));
  });

  void test('close() rejects waiters, releases leases, returns buffered messages to the channel', async () => {
    const { pool, layer } = setup({ blockMs: 5000 });
    await layer.send('keep', 1);
    await layer.send('keep', 2);
    assert.equal(await layer.receive('keep'), 1); // the reader buffered 2 as well
    const waiting = layer.receive('empty').then(
      () => 'resolved',
      (e: unknown) => e,
    );
    await waitFor(() => layer.stats().readers >= 1);
    await layer.close();
    assert.equal(((await waiting) as { code?: string }).code, 'ERR_POOL_CLOSED');
    await assert.rejects(layer.send('keep', 3), { code: 'ERR_POOL_CLOSED' });
    await waitFor(() => pool.stats().leased === 0);
    const next = setup({ prefix: layer.options.prefix }).layer;
    assert.equal(await next.receive('keep'), 2);
  });

  void test('a pool closed under the layer rejects pending receives instead of hanging', async () => {
    const pool = createPool({ url: server().url, max: 10, name: 'closing' });
    const layer = createChannelLayer(pool, { prefix: 'gone' });
    const ordinary = layer.receive('nothing').then(
      () => 'resolved',
      (e: unknown) => (e as { code?: string }).code,
    );
    const local = layer.receive(layer.newChannel()).then(
      () => 'resolved',
      (e: unknown) => (e as { code?: string }).code,
    );
    await waitFor(() => layer.stats().readers === 2);
    await pool.close({ timeoutMs: 100 });
    assert.deepEqual(await Promise.all([ordinary, local]), ['ERR_POOL_CLOSED', 'ERR_POOL_CLOSED']);
    await layer.close();
  });

  void test('standalone: a group send to members in 20 slots is one delivery script (plus the member lookup)', async () => {
    const { pool, layer } = setup({ capacity: 1, channelCapacity: { 'member.full': 1 } });
    const members = Array.from({ length: 20 }, (_, i) => `member.${i}`);
    assert.ok(new Set(members.map((m) => calculateSlot(`${layer.options.prefix}:ch:{${m}}`))).size >= 15, 'members in many slots');
    for (const m of [...members, 'member.full']) await layer.groupAdd('wide', m);
    await layer.send('member.full', 'occupied');
    const name = pool.options.name;
    let scripts = 0;
    const onCommand = (m: unknown): void => {
      const c = m as { pool: string; command: string };
      if (c.pool === name && c.command.toLowerCase() === 'evalsha') scripts++;
    };
    diagnostics.subscribe('redpool:command', onCommand);
    let r;
    try {
      r = await layer.groupSend('wide', 'hi');
    } finally {
      diagnostics.unsubscribe('redpool:command', onCommand);
    }
    assert.equal(scripts, 2, 'GROUP_MEMBERS + one DELIVER');
    assert.equal(r.delivered, 20);
    assert.equal(r.full, 1);
    assert.equal(r.members['member.full'], 'full');
    for (const m of members) assert.equal(await layer.receive(m), 'hi');
  });

  void test('a later group send is one script (members checked inside it) and sees another process changing the group', async (t) => {
    const { pool, layer } = setup();
    const other = createChannelLayer(pool, { prefix: layer.options.prefix }); // another process, same layer
    t.after(() => other.close());
    const name = pool.options.name;
    let scripts = 0;
    const onCommand = (m: unknown): void => {
      const c = m as { pool: string; command: string };
      if (c.pool === name && c.command.toLowerCase() === 'evalsha') scripts++;
    };
    const counted = async (fn: () => Promise<GroupSendResult>): Promise<[GroupSendResult, number]> => {
      scripts = 0;
      diagnostics.subscribe('redpool:command', onCommand);
      try {
        const r = await fn();
        return [r, scripts];
      } finally {
        diagnostics.unsubscribe('redpool:command', onCommand);
      }
    };
    await layer.groupAdd('g', 'x');
    await layer.groupAdd('g', 'y');
    assert.equal((await layer.groupSend('g', 1)).delivered, 2); // member lookup + delivery: the plan is kept
    let [r, n] = await counted(() => layer.groupSend('g', 2));
    assert.deepEqual([r.members, n], [{ x: 'delivered', y: 'delivered' }, 1], 'one script, no lookup');
    await other.groupAdd('g', 'z');
    [r, n] = await counted(() => layer.groupSend('g', 3));
    assert.deepEqual(r.members, { x: 'delivered', y: 'delivered', z: 'delivered' }, 'the new member is seen');
    assert.equal(n, 2, 'the guarded delivery found the members changed, then the delivery to them');
    await other.groupDiscard('g', 'x');
    [r] = await counted(() => layer.groupSend('g', 4));
    assert.deepEqual(r.members, { y: 'delivered', z: 'delivered' }, 'the discarded member is not sent to');
    await other.groupAdd('g', 'y'); // a refresh reorders the set, it does not change it
    [r, n] = await counted(() => layer.groupSend('g', 5));
    assert.deepEqual([r.delivered, n], [2, 1]);
    const drain = async (ch: string, k: number): Promise<unknown[]> => Promise.all(Array.from({ length: k }, () => layer.receive(ch)));
    assert.deepEqual(await drain('x', 3), [1, 2, 3]);
    assert.deepEqual(await drain('y', 5), [1, 2, 3, 4, 5]);
    assert.deepEqual(await drain('z', 3), [3, 4, 5]);
  });

  void test('lapsed members found by the member check of two concurrent sends: both report them, counted once', async () => {
    const { layer } = setup({ groupExpiryMs: 300 });
    await layer.groupAdd('room', 'a');
    await layer.groupAdd('room', 'b');
    assert.equal((await layer.groupSend('room', 0)).delivered, 2); // the plan is kept
    await new Promise((r) => setTimeout(r, 200));
    await layer.groupAdd('room', 'c');
    await new Promise((r) => setTimeout(r, 200)); // a and b lapsed, c did not
    const before = layer.stats().groupExpired;
    const results = await Promise.all([layer.groupSend('room', 1), layer.groupSend('room', 2)]);
    for (const r of results) assert.deepEqual(r.members, { a: 'expired', b: 'expired', c: 'delivered' });
    assert.equal(layer.stats().groupExpired - before, 2);
    assert.deepEqual((await Promise.all([layer.receive('c'), layer.receive('c')])).sort(), [1, 2]);
  });

  void test('flush() deletes this prefix only (SCAN + UNLINK)', async () => {
    const { pool, layer } = setup({ prefix: 'flushme' });
    await layer.send('a', 1);
    await layer.groupAdd('g', 'a');
    await pool.set('flushme2:other', 'x');
    assert.equal(await layer.flush(), 2);
    assert.equal(await pool.get('flushme2:other'), 'x');
    assert.equal(await pool.exists('flushme:ch:{a}'), 0);
  });
});
