/**
 * Sentinel discovery and the +switch-master watcher against a scripted fake connector on a
 * manual clock: random order with fallback, sentinel-list refresh, role verification, single
 * flight; the watcher's dedupe, bounded subscriptions, backoff reconnect, poll and close. The
 * real-server behaviour is in test/integration/topology/sentinel.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NodeAddress } from '../../src/topology/cluster/nat-map.js';
import { parseMasterAddr, parseRole, parseSentinels, SentinelDiscovery } from '../../src/topology/sentinel/discovery.js';
import type { SentinelConnection, SentinelConnector } from '../../src/topology/sentinel/link.js';
import {
  parsePromotion,
  parseSwitchMaster,
  REPLICA_CHANNELS,
  SentinelWatcher,
  type PrimaryChange,
} from '../../src/topology/sentinel/watcher.js';
import { constantBackoff } from '../../src/resilience/backoff.js';
import { ManualClock } from '../../src/testing/manual-clock.js';

const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

interface FakeSentinel {
  master: [string, string] | null | Error;
  sentinels?: unknown[];
  replicas?: unknown[];
  down?: boolean;
}

type FakeSub = {
  onMessage?: (m: string) => void;
  onPromotion?: (m: string) => void;
  channels?: Map<string, (m: string) => void>;
  close: () => void;
};

class FakeConnector implements SentinelConnector {
  readonly byPort = new Map<number, FakeSentinel>();
  readonly asked: number[] = [];
  readonly subscribers = new Map<number, FakeSub>();
  opened = 0;
  openNow = 0;
  stats() {
    return { opened: this.opened, open: this.openNow };
  }
  async open(address: NodeAddress, purpose: 'command' | 'subscriber'): Promise<SentinelConnection> {
    await Promise.resolve();
    const s = this.byPort.get(address.port);
    if (!s || s.down) throw new Error(`ECONNREFUSED ${address.port}`);
    this.opened++;
    this.openNow++;
    let closed = false;
    const closeFns: (() => void)[] = [];
    const close = (): void => {
      if (closed) return;
      closed = true;
      this.openNow--;
      this.subscribers.delete(address.port);
      for (const fn of closeFns.splice(0)) fn();
    };
    const entry: FakeSub = { close };
    if (purpose === 'subscriber') this.subscribers.set(address.port, entry);
    return {
      call: async (...args: string[]) => {
        if (args[1] === 'GET-MASTER-ADDR-BY-NAME') {
          this.asked.push(address.port);
          if (s.master instanceof Error) throw s.master;
          return s.master;
        }
        if (args[1] === 'REPLICAS') return s.replicas ?? [];
        return s.sentinels ?? [];
      },
      subscribe: async (channel, onMessage) => {
        if (channel === '+switch-master') entry.onMessage = onMessage;
        else if (channel === '+failover-state-wait-promotion') entry.onPromotion = onMessage;
        else (entry.channels ??= new Map()).set(channel, onMessage);
      },
      onClose: (fn) => (closed ? fn() : closeFns.push(fn)),
      close,
    };
  }
}

const at = (port: number): NodeAddress => ({ host: '127.0.0.1', port });

void describe('sentinel reply parsers', () => {
  void test('ROLE, GET-MASTER-ADDR-BY-NAME, SENTINELS, +switch-master', () => {
    assert.deepEqual(parseRole(['master', 10, []]), { role: 'master' });
    assert.deepEqual(parseRole(['slave', '127.0.0.1', 6379, 'connected', 10]), { role: 'replica', primary: at(6379) });
    assert.deepEqual(parseRole(['sentinel', ['m']]), { role: 'sentinel' });
    assert.throws(() => parseRole('x'), /ROLE/);
    assert.deepEqual(parseMasterAddr(['127.0.0.1', '6380']), at(6380));
    assert.equal(parseMasterAddr(null), undefined);
    assert.throws(() => parseMasterAddr(['h', 'x']), /shape/);
    assert.deepEqual(
      parseSentinels([
        ['ip', '127.0.0.1', 'port', '26380', 'flags', 'sentinel'],
        ['ip', '127.0.0.1', 'port', '26381', 'flags', 's_down,sentinel'],
      ]),
      [at(26380)],
    );
    assert.deepEqual(parseSwitchMaster('m 127.0.0.1 6379 127.0.0.1 6380'), { name: 'm', from: at(6379), to: at(6380) });
    assert.equal(parseSwitchMaster('m 127.0.0.1 6379'), undefined);
    assert.deepEqual(parsePromotion('slave 127.0.0.1:6380 127.0.0.1 6380 @ m 127.0.0.1 6379'), { name: 'm', from: at(6379), to: at(6380) });
    assert.equal(parsePromotion('master m 127.0.0.1 6379'), undefined);
    assert.equal(parsePromotion('slave 127.0.0.1:x 127.0.0.1 x @ m 127.0.0.1 6379'), undefined);
  });
});

void describe('SentinelDiscovery', () => {
  void test('asks sentinels in random order, skips dead/unknowing ones, refreshes the list', async () => {
    const fake = new FakeConnector();
    fake.byPort.set(1, { master: null });
    fake.byPort.set(2, { master: null, down: true });
    fake.byPort.set(3, { master: ['127.0.0.1', '6379'], sentinels: [['ip', '127.0.0.1', 'port', '4', 'flags', 'sentinel']] });
    const d = new SentinelDiscovery({ name: 'm', sentinels: [at(1), at(2), at(3)], connector: fake, random: () => 0 });
    const r = await d.discover();
    assert.deepEqual(r, { primary: at(6379), sentinel: at(3) });
    // shuffle with random() = 0 rotates [1,2,3] to [2,3,1]: 2 is down (not asked), 3 answers.
    assert.deepEqual(fake.asked, [3]);
    assert.deepEqual(d.sentinels(), [at(1), at(2), at(3), at(4)], 'seeds kept, discovered added');
    assert.equal(fake.openNow, 0, 'command connections are closed');
  });

  void test('a primary that fails verification sends discovery to the next sentinel', async () => {
    const fake = new FakeConnector();
    fake.byPort.set(1, { master: ['127.0.0.1', '7001'] }); // stale sentinel
    fake.byPort.set(2, { master: ['127.0.0.1', '7002'] });
    const verified: number[] = [];
    const d = new SentinelDiscovery({
      name: 'm',
      sentinels: [at(1), at(2)],
      connector: fake,
      random: () => 0.99,
      verify: async (a) => {
        verified.push(a.port);
        return a.port === 7002;
      },
    });
    assert.deepEqual((await d.discover()).primary, at(7002));
    assert.deepEqual(verified, [7001, 7002]);
  });

  void test('no sentinel → ERR_UNAVAILABLE with the last cause; concurrent calls share one run', async () => {
    const fake = new FakeConnector();
    fake.byPort.set(1, { master: new Error('boom') });
    const d = new SentinelDiscovery({ name: 'm', sentinels: [at(1), at(9)], connector: fake });
    const [a, b] = [d.discover(), d.discover()];
    assert.equal(a, b);
    await assert.rejects(a, (err: Error & { code?: string }) => err.code === 'ERR_UNAVAILABLE' && err.cause instanceof Error);
    assert.equal(d.discoveries, 1);
  });
});

function watcherHarness(pollMs = Infinity) {
  const fake = new FakeConnector();
  for (const p of [1, 2, 3, 4]) fake.byPort.set(p, { master: ['127.0.0.1', '6379'] });
  const clock = new ManualClock();
  const discovery = new SentinelDiscovery({ name: 'm', sentinels: [at(1), at(2), at(3), at(4)], connector: fake, random: () => 0.99 });
  const watcher = new SentinelWatcher({ discovery, connector: fake, clock, backoff: constantBackoff(100), pollMs });
  const changes: PrimaryChange[] = [];
  watcher.on('primary-changed', (c) => changes.push(c));
  return { fake, clock, discovery, watcher, changes };
}

void describe('replica listing and events (read routing)', () => {
  void test('discovery with replicas: SENTINEL REPLICAS parsed from the sentinel that answered, onDiscovered told', async () => {
    const fake = new FakeConnector();
    const entry = (port: number, flags: string): string[] => [
      'ip',
      '127.0.0.1',
      'port',
      String(port),
      'flags',
      flags,
      'master-link-status',
      'ok',
    ];
    fake.byPort.set(1, { master: ['127.0.0.1', '6379'], replicas: [entry(6380, 'slave'), entry(6381, 's_down,slave')] });
    const seen: number[] = [];
    const d = new SentinelDiscovery({
      name: 'm',
      sentinels: [at(1)],
      connector: fake,
      replicas: true,
      onDiscovered: (f) => seen.push(f.replicas?.length ?? -1),
    });
    const found = await d.discover();
    assert.deepEqual(
      found.replicas?.map((r) => [r.address.port, r.usable]),
      [
        [6380, true],
        [6381, false],
      ],
    );
    assert.deepEqual(seen, [2]);
    const plain = await new SentinelDiscovery({ name: 'm', sentinels: [at(1)], connector: fake }).discover();
    assert.equal(plain.replicas, undefined, 'not asked without the option');
  });

  void test('watcher with replicaEvents: +sdown/-sdown/+slave/+role-change… of this master emit replicas-changed, others do not', async () => {
    const fake = new FakeConnector();
    fake.byPort.set(1, { master: ['127.0.0.1', '6379'] });
    const clock = new ManualClock();
    const discovery = new SentinelDiscovery({ name: 'm', sentinels: [at(1)], connector: fake });
    const watcher = new SentinelWatcher({ discovery, connector: fake, clock, pollMs: Infinity, replicaEvents: true });
    const events: string[] = [];
    watcher.on('replicas-changed', (ch) => events.push(ch));
    await watcher.start();
    const channels = fake.subscribers.get(1)!.channels!;
    assert.deepEqual([...channels.keys()].sort(), [...REPLICA_CHANNELS].sort());
    channels.get('+sdown')!('slave 127.0.0.1:6380 127.0.0.1 6380 @ m 127.0.0.1 6379');
    channels.get('-sdown')!('slave 127.0.0.1:6380 127.0.0.1 6380 @ other 127.0.0.1 6379');
    channels.get('+convert-to-slave')!('slave 127.0.0.1:6379 127.0.0.1 6379 @ m 127.0.0.1 6380');
    assert.deepEqual(events, ['+sdown', '+convert-to-slave']);
    watcher.close();
  });
});

void describe('SentinelWatcher', () => {
  void test('subscribes to at most maxSubscriptions sentinels and emits one change per move', async () => {
    const h = watcherHarness();
    assert.deepEqual(await h.watcher.start(), at(6379));
    assert.equal(h.fake.subscribers.size, 3, 'default maxSubscriptions = 3');
    assert.deepEqual(h.watcher.stats().subscribed, 3);
    for (const sub of h.fake.subscribers.values()) sub.onMessage?.('m 127.0.0.1 6379 127.0.0.1 6380');
    h.fake.subscribers.get(1)?.onMessage?.('other 127.0.0.1 1 127.0.0.1 2');
    assert.deepEqual(
      h.changes.map((c) => [c.via, c.from?.port, c.to.port]),
      [
        ['start', undefined, 6379],
        ['switch-master', 6379, 6380],
      ],
    );
    assert.equal(h.watcher.stats().switchMessages, 3);
    assert.equal(h.watcher.primary?.port, 6380);
    // The failover leader's `+failover-state-wait-promotion` comes as a `promoting` event, for this name only.
    const promoting: number[] = [];
    h.watcher.on('promoting', (p) => promoting.push(p.to.port));
    h.fake.subscribers.get(1)?.onPromotion?.('slave 127.0.0.1:6381 127.0.0.1 6381 @ m 127.0.0.1 6380');
    h.fake.subscribers.get(1)?.onPromotion?.('slave 127.0.0.1:9 127.0.0.1 9 @ other 127.0.0.1 8');
    assert.deepEqual(promoting, [6381]);
    h.watcher.close();
    assert.equal(h.fake.openNow, 0);
    assert.equal(h.clock.pendingTimers, 0);
  });

  void test('a lost subscription reconnects on the backoff (clock-driven) and re-checks the primary', async () => {
    const h = watcherHarness();
    await h.watcher.start();
    const s1 = h.fake.byPort.get(1)!;
    s1.down = true;
    h.fake.subscribers.get(1)?.close();
    assert.equal(h.watcher.stats().subscribed, 2);
    h.clock.advance(100);
    await flush();
    assert.equal(h.watcher.stats().reconnects, 1);
    assert.equal(h.watcher.stats().subscribed, 2, 'still down: retried again later');
    // The primary moved while sentinel 1 was unreachable; nobody told us.
    for (const p of [1, 2, 3, 4]) h.fake.byPort.get(p)!.master = ['127.0.0.1', '6390'];
    s1.down = false;
    h.clock.advance(100);
    await flush();
    assert.equal(h.watcher.stats().reconnects, 2);
    assert.equal(h.watcher.stats().subscribed, 3);
    assert.equal(h.watcher.primary?.port, 6390, 'the resubscription ran a check');
    assert.equal(h.changes.at(-1)?.via, 'poll');
    assert.equal(h.fake.openNow, 3, 'one connection per watched sentinel, no leak from failed attempts');
    h.watcher.close();
    assert.equal(h.clock.pendingTimers, 0);
  });

  void test('the periodic poll finds a move without any message', async () => {
    const h = watcherHarness(5000);
    await h.watcher.start();
    for (const p of [1, 2, 3, 4]) h.fake.byPort.get(p)!.master = ['127.0.0.1', '6391'];
    h.clock.advance(4999);
    await flush();
    assert.equal(h.watcher.primary?.port, 6379);
    h.clock.advance(1);
    await flush();
    assert.equal(h.watcher.primary?.port, 6391);
    h.watcher.close();
    await flush();
    assert.equal(h.clock.pendingTimers, 0);
  });
});
