/**
 * The delivery queue's routing: on one endpoint every delivery of a turn goes in one DELIVER
 * script, whatever slots its keys hash to; a pool that routes by slot refuses a cross-slot script
 * (CrossSlotError, nothing sent), after which the queue runs one script per slot group and merges
 * the per-key results back in order. The target here records the calls and answers as the script
 * would (a key named `…full…` is at capacity), so the partitioning itself is what is tested.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import calculateSlot from 'cluster-key-slot';
import { CrossSlotError } from '../../../src/errors.js';
import { Deliveries, groupBySlot, type Delivery } from '../../../src/channels/deliver.js';
import { Keys } from '../../../src/channels/keys.js';
import type { ScriptTarget } from '../../../src/channels/scripts.js';

interface Call {
  keys: string[];
  payloads: string[];
  /** Guard arguments (G, groupExpiryMs, per-list guard index, members…), when any. */
  guards: string[];
}

/** A script target that answers DELIVER; `routesBySlot` refuses keys of several slots, as a Cluster pool does. */
function target(routesBySlot: boolean): ScriptTarget & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    callBuffer(command, args) {
      assert.equal(command, 'EVALSHA');
      const n = Number(args[1]);
      const keys = args.slice(2, 2 + n).map(String);
      const slots = keys.map((k) => calculateSlot(k));
      const other = slots.findIndex((s) => s !== slots[0]);
      if (routesBySlot && other > 0) return Promise.reject(new CrossSlotError('EVALSHA', [2, 2 + other], [slots[0]!, slots[other]!]));
      // ARGV: expiryMs, the distinct envelopes concatenated, their lengths, ids, capacities, indexes.
      const rest = args.slice(2 + n);
      const blob = rest[1] as Buffer;
      let at = 0;
      const payloads = String(rest[2])
        .split(',')
        .map((len) => blob.toString('utf8', at, (at += Number(len))));
      assert.equal(at, blob.length);
      const guards = rest.slice(6).map(String);
      calls.push({ keys, payloads, guards });
      // A guard holds unless its group key says 'stale'; the lists of one that does not get 2.
      const g = Number(guards[0] ?? 0);
      const lists = keys.slice(0, keys.length - g);
      const held = keys.slice(lists.length).map((k) => !k.includes('stale'));
      const idx = g > 0 ? guards[2]!.split(',').map(Number) : [];
      return Promise.resolve([
        0,
        1_700_000_000_000,
        lists.map((k, i) => (idx[i]! > 0 && !held[idx[i]! - 1] ? 2 : k.includes('full') ? 0 : 1)),
        held.map((ok) => (ok ? 0 : [[Buffer.from('gone')], [Buffer.from('a'), Buffer.from('new')]])),
      ]);
    },
  };
}

const keys = new Keys('t');
function items(names: string[], payload = Buffer.from('m')): Delivery[] {
  return names.map((name, i) => ({ key: keys.channel(name), id: `id${String(i).padStart(14, '0')}`, capacity: 10, payload }));
}

const NAMES = ['a', 'b', 'full.c', 'd', 'e', 'full.f', 'g', 'h'];

void describe('delivery routing', () => {
  void test('the member keys hash to different slots (the premise)', () => {
    assert.ok(new Set(NAMES.map((n) => calculateSlot(keys.channel(n)))).size >= 6);
  });

  void test('groupBySlot: one group per slot, in order of first appearance, indexes ascending, nothing lost', () => {
    const ks = ['x{1}', 'y{2}', 'z{1}', 'w{3}', 'v{2}'];
    assert.deepEqual(groupBySlot(ks), [[0, 2], [1, 4], [3]]);
    const many = NAMES.map((n) => keys.channel(n));
    const groups = groupBySlot(many);
    assert.deepEqual(
      groups.flat().sort((a, b) => a - b),
      many.map((_, i) => i),
    );
    for (const g of groups) assert.equal(new Set(g.map((i) => calculateSlot(many[i]!))).size, 1);
  });

  void test('one endpoint: one script for every member of the turn, the shared envelope sent once', async () => {
    const t = target(false);
    const q = new Deliveries(t, 1000, () => {});
    const shared = Buffer.from('group message');
    const [r1, r2] = await Promise.all([q.submit(items(NAMES, shared)), q.submit(items(['z'], shared))]);
    assert.equal(t.calls.length, 1);
    assert.equal(t.calls[0]!.keys.length, NAMES.length + 1);
    assert.equal(t.calls[0]!.payloads.length, 1, 'one payload for all');
    assert.deepEqual(
      r1,
      NAMES.map((n) => !n.includes('full')),
    );
    assert.deepEqual(r2, [true]);
    assert.equal(q.bySlot, false);
  });

  void test('a pool that routes by slot: one script per slot group, results merged in order, and so from then on', async () => {
    const t = target(true);
    const q = new Deliveries(t, 1000, () => {});
    const r = await q.submit(items(NAMES));
    assert.equal(q.bySlot, true);
    const slots = new Set(NAMES.map((n) => calculateSlot(keys.channel(n))));
    assert.equal(t.calls.length, slots.size, 'one call per slot');
    for (const c of t.calls) assert.equal(new Set(c.keys.map((k) => calculateSlot(k))).size, 1);
    assert.deepEqual(t.calls.flatMap((c) => c.keys).sort(), NAMES.map((n) => keys.channel(n)).sort(), 'every member once');
    assert.deepEqual(
      r,
      NAMES.map((n) => !n.includes('full')),
      'per-member results in the order given',
    );
    // The next turn splits at once (no refused attempt first).
    t.calls.length = 0;
    const r2 = await q.submit(items(['a', 'full.c']));
    assert.equal(t.calls.length, 2);
    assert.deepEqual(r2, [true, false]);
  });

  void test('a pool that routes by slot: keys of one slot still go in one script', async () => {
    const t = target(true);
    const q = new Deliveries(t, 1000, () => {});
    const r = await q.submit(items(['same', 'same', 'same']));
    assert.equal(t.calls.length, 1);
    assert.deepEqual(r, [true, true, true]);
    assert.equal(q.bySlot, false);
  });

  void test('guards: one check per group and member set in a call; a failed one leaves its lists alone and says what it found', async () => {
    const t = target(false);
    const q = new Deliveries(t, 1000, () => {}, 5000);
    const ok = { key: 't:group:{ok}', members: 'a\nb' };
    const stale = { key: 't:group:{stale}', members: 'a' };
    const guarded = (names: string[], guard: typeof ok): Delivery[] => items(names).map((d) => ({ ...d, guard }));
    const [r1, r2, r3, r4] = await Promise.all([
      q.submit(guarded(['a', 'b'], ok)),
      q.submit(guarded(['a', 'full.b'], { ...ok })), // same group and members: the same check
      q.submit(guarded(['a'], stale)),
      q.submit(items(['plain'])),
    ]);
    assert.equal(t.calls.length, 1, 'one script');
    const call = t.calls[0]!;
    assert.deepEqual(call.keys.slice(-2), [ok.key, stale.key], 'the group keys follow the lists, once each');
    assert.deepEqual(call.guards, ['2', '5000', '1,1,1,1,2,0', 'a\nb', 'a']);
    assert.deepEqual(r1, [true, true]);
    assert.deepEqual(r2, [true, false]);
    assert.deepEqual(r3, [{ checked: true, lapsed: ['gone'], live: ['a', 'new'] }]);
    assert.deepEqual(r4, [true]);
  });

  void test('guards on a pool that routes by slot: not sent (unchecked), the rest delivered', async () => {
    const t = target(true);
    const q = new Deliveries(t, 1000, () => {});
    const guard = { key: 't:group:{g}', members: 'a\nb' };
    const [guarded, plain] = await Promise.all([q.submit(items(['a', 'b']).map((d) => ({ ...d, guard }))), q.submit(items(['d', 'e']))]);
    assert.equal(q.bySlot, true);
    assert.deepEqual(guarded, [
      { checked: false, lapsed: [], live: [] },
      { checked: false, lapsed: [], live: [] },
    ]);
    assert.deepEqual(plain, [true, true]);
    assert.ok(
      t.calls.every((c) => c.guards.length === 0 && !c.keys.includes(guard.key)),
      'no guard ever sent',
    );
    assert.deepEqual(t.calls.flatMap((c) => c.keys).sort(), [keys.channel('d'), keys.channel('e')].sort());
  });
});
