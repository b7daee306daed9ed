/**
 * The pool's SentinelTopology on a scripted sentinel connector and a manual clock: the first
 * discovery is shared by concurrent dials, hints rediscover at most once per REDISCOVER_MIN_MS
 * (single flight), a move bumps the generation and retargets once, a promotion notice fences
 * at once and discovery answers naming the old primary are ignored while it is under way (and
 * followed again after PROMOTION_GUARD_MS), `fenceOnPromotion: false` waits for +switch-master.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveOptions } from '../../src/options.js';
import type { Endpoint } from '../../src/pool/endpoint-source.js';
import type { PrimaryChangedEvent } from '../../src/pool/events.js';
import { ManualClock } from '../../src/testing/index.js';
import type { NodeAddress } from '../../src/topology/cluster/nat-map.js';
import type { SentinelConnection, SentinelConnector } from '../../src/topology/sentinel/link.js';
import { PROMOTION_GUARD_MS, REDISCOVER_MIN_MS, SentinelTopology } from '../../src/topology/sentinel/pool-topology.js';

const flush = async (): Promise<void> => {
  for (let i = 0; i < 30; i++) await Promise.resolve();
};

/** Every sentinel answers `master`; subscribers get messages through `publish`. */
class Sentinels implements SentinelConnector {
  master: [string, string] = ['127.0.0.1', '7001'];
  asks = 0;
  opened = 0;
  open_ = 0;
  readonly handlers = new Map<string, Array<(m: string) => void>>();
  stats() {
    return { opened: this.opened, open: this.open_ };
  }
  async open(_a: NodeAddress, purpose: 'command' | 'subscriber'): Promise<SentinelConnection> {
    await Promise.resolve();
    this.opened++;
    this.open_++;
    let closed = false;
    const mine: Array<[string, (m: string) => void]> = [];
    return {
      call: async (...args: string[]) => {
        if (args[1] === 'GET-MASTER-ADDR-BY-NAME') {
          this.asks++;
          return [...this.master];
        }
        return [];
      },
      subscribe: async (channel, fn) => {
        if (purpose !== 'subscriber') throw new Error('not a subscriber');
        mine.push([channel, fn]);
        this.handlers.set(channel, [...(this.handlers.get(channel) ?? []), fn]);
      },
      onClose: () => undefined,
      close: () => {
        if (closed) return;
        closed = true;
        this.open_--;
        for (const [channel, fn] of mine)
          this.handlers.set(
            channel,
            (this.handlers.get(channel) ?? []).filter((f) => f !== fn),
          );
      },
    };
  }
  publish(channel: string, message: string): void {
    for (const fn of this.handlers.get(channel) ?? []) fn(message);
  }
}

function harness(fenceOnPromotion = true) {
  const clock = new ManualClock();
  const sentinels = new Sentinels();
  const retargets: number[] = [];
  const changes: PrimaryChangedEvent[] = [];
  const s = resolveOptions(
    {
      sentinel: {
        name: 'm',
        sentinels: [
          { host: '127.0.0.1', port: 1 },
          { host: '127.0.0.1', port: 2 },
        ],
        pollMs: Infinity,
        fenceOnPromotion,
      },
    },
    {},
  ).sentinel!;
  const topology = new SentinelTopology(
    { sentinel: s, clock, pool: 'p', connectTimeoutMs: 1000, label: (h, p) => `redis://${h}:${p}`, connector: sentinels },
    { retarget: (g) => retargets.push(g), changed: (e) => changes.push(e), warning: () => undefined },
  );
  return { clock, sentinels, topology, retargets, changes };
}

const current = async (t: SentinelTopology): Promise<Endpoint> => await t.endpoint.current();

void describe('SentinelTopology', () => {
  void test('first discovery shared by concurrent dials; generation 1; then the watcher subscribes', async () => {
    const h = harness();
    const [a, b] = [h.topology.endpoint.current(), h.topology.endpoint.current()];
    assert.ok(a instanceof Promise);
    assert.equal(a, b, 'one discovery for both');
    assert.deepEqual(await a, { host: '127.0.0.1', port: 7001, generation: 1, label: 'redis://127.0.0.1:7001' });
    await flush();
    assert.equal(h.topology.endpoint.current(), h.topology.primary, 'known now: no promise');
    assert.equal(h.topology.stats().subscribed, 2);
    assert.deepEqual(h.retargets, []);
    h.topology.close();
    assert.equal(h.sentinels.open_, 0);
  });

  void test('hints rediscover at most once per REDISCOVER_MIN_MS; a move retargets once with the next generation', async () => {
    const h = harness();
    await current(h.topology);
    await flush();
    const asked = h.sentinels.asks;
    h.topology.hint('connect', 1);
    h.topology.hint('connect', 1);
    await flush();
    assert.equal(h.sentinels.asks, asked + 1, 'single flight');
    h.sentinels.master = ['127.0.0.1', '7002'];
    h.topology.hint('readonly', 1);
    await flush();
    assert.equal(h.sentinels.asks, asked + 1, 'rate-limited: waits for the trailing run');
    h.clock.advance(REDISCOVER_MIN_MS);
    await flush();
    assert.equal(h.sentinels.asks, asked + 2);
    assert.deepEqual(h.retargets, [2]);
    assert.deepEqual(
      h.changes.map((c) => [c.from, c.to, c.generation, c.via]),
      [['127.0.0.1:7001', '127.0.0.1:7002', 2, 'readonly']],
    );
    h.topology.hint('readonly', 1);
    h.clock.advance(REDISCOVER_MIN_MS);
    await flush();
    assert.equal(h.sentinels.asks, asked + 2, 'a hint from an older generation is ignored');
    h.topology.close();
  });

  void test('promotion notice: fenced at once; discovery naming the old primary ignored until +switch-master or the guard', async () => {
    const h = harness();
    await current(h.topology);
    await flush();
    h.sentinels.publish('+failover-state-wait-promotion', 'slave 127.0.0.1:7002 127.0.0.1 7002 @ m 127.0.0.1 7001');
    assert.deepEqual(h.retargets, [2]);
    assert.equal(h.changes[0]?.via, 'promotion');
    // The promoted replica still says slave: the role check hints; sentinels still name 7001.
    h.topology.hint('role', 2);
    await flush();
    assert.equal((await current(h.topology)).port, 7002, 'not moved back to the old primary');
    h.sentinels.publish('+switch-master', 'm 127.0.0.1 7001 127.0.0.1 7002');
    h.sentinels.master = ['127.0.0.1', '7002'];
    assert.deepEqual(h.retargets, [2], 'the announcement of the same move changes nothing');
    // A promotion that never completes: after the guard, discovery is followed again.
    h.sentinels.publish('+failover-state-wait-promotion', 'slave 127.0.0.1:7003 127.0.0.1 7003 @ m 127.0.0.1 7002');
    assert.deepEqual(h.retargets, [2, 3]);
    h.clock.advance(PROMOTION_GUARD_MS);
    h.topology.hint('role', 3);
    await flush();
    assert.deepEqual(h.retargets, [2, 3, 4]);
    assert.equal((await current(h.topology)).port, 7002);
    h.topology.close();
  });

  void test('fenceOnPromotion: false moves only at +switch-master', async () => {
    const h = harness(false);
    await current(h.topology);
    await flush();
    h.sentinels.publish('+failover-state-wait-promotion', 'slave 127.0.0.1:7002 127.0.0.1 7002 @ m 127.0.0.1 7001');
    assert.deepEqual(h.retargets, []);
    h.sentinels.publish('+switch-master', 'm 127.0.0.1 7001 127.0.0.1 7002');
    assert.deepEqual(h.retargets, [2]);
    assert.equal(h.changes[0]?.via, 'switch-master');
    h.topology.close();
  });
});
