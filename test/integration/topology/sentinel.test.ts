/**
 * Sentinel discovery and the +switch-master watcher against a real Sentinel set (1 primary,
 * 1 replica, 3 sentinels): discovery with ROLE verification, the watcher's subscriptions
 * counted on the sentinels (CLIENT LIST), a SENTINEL FAILOVER reported once with its timing
 * (and the dual-master window measured), a killed and restarted sentinel re-subscribed on the
 * backoff, and no sentinel connection left after close.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { systemClock } from '../../../src/internal/clock.js';
import { constantBackoff } from '../../../src/resilience/backoff.js';
import type { NodeAddress } from '../../../src/topology/cluster/nat-map.js';
import { parseRole, SentinelDiscovery } from '../../../src/topology/sentinel/discovery.js';
import { ioredisSentinelConnector } from '../../../src/topology/sentinel/link.js';
import { SentinelWatcher, type PrimaryChange } from '../../../src/topology/sentinel/watcher.js';
import { clientNames, waitFor, type RedisProcess } from '../../helpers/redis.js';
import { useSentinelSet, withSentinelSet, type SentinelSet } from '../../helpers/topology.js';

function setup(set: SentinelSet) {
  const connector = ioredisSentinelConnector({ connectionName: 'redpool-test-sentinel' });
  const verify = async (a: NodeAddress): Promise<boolean> => parseRole(await set.dataNode(a.port).command('ROLE')).role === 'master';
  const discovery = new SentinelDiscovery({ name: set.name, sentinels: set.sentinelAddresses(), connector, verify });
  const watcher = new SentinelWatcher({ discovery, connector, clock: systemClock, backoff: constantBackoff(50), pollMs: 2000 });
  const changes: (PrimaryChange & { at: number })[] = [];
  watcher.on('primary-changed', (c) => changes.push({ ...c, at: performance.now() }));
  return { connector, discovery, watcher, changes };
}

async function ourConnections(sentinels: readonly RedisProcess[]): Promise<number> {
  let n = 0;
  for (const s of sentinels) n += (await clientNames(s, 'redpool-test-sentinel')).length;
  return n;
}

async function remonitor(set: SentinelSet, sentinel: RedisProcess): Promise<void> {
  const p = await set.currentPrimary();
  await sentinel.command('SENTINEL', 'MONITOR', set.name, p.host, String(p.port), '2');
  await sentinel.command('SENTINEL', 'SET', set.name, 'down-after-milliseconds', '1000', 'failover-timeout', '2000');
}

void describe('sentinel topology objects on a real Sentinel set', () => {
  const sentinelSet = useSentinelSet();

  void test('a killed sentinel is re-subscribed on the backoff once it is back; connections stay bounded', async (t) => {
    const set = sentinelSet();
    const { connector, watcher } = setup(set);
    t.after(() => watcher.close());
    await watcher.start();
    assert.deepEqual(watcher.stats().subscribed, 3);
    const victim = set.sentinels[1]!;
    await victim.kill();
    let maxOpen = 0;
    await waitFor(
      () => {
        maxOpen = Math.max(maxOpen, connector.stats().open);
        return watcher.stats().subscribed === 2 && watcher.stats().reconnects >= 4;
      },
      { intervalMs: 5, message: 'reconnect attempts while down' },
    );
    // Two live subscriptions plus at most the one reconnect attempt in progress: attempts do not pile up.
    assert.ok(maxOpen <= 3, `at most 3 open while the sentinel is down, saw ${maxOpen}`);
    await victim.restart();
    await remonitor(set, victim);
    await waitFor(() => watcher.stats().subscribed === 3, { message: 're-subscribed' });
    t.diagnostic(`reconnect attempts: ${watcher.stats().reconnects}, connections opened in total: ${connector.stats().opened}`);
    // The resubscription runs a discovery: its command connection is the only extra one, and it closes.
    assert.ok(connector.stats().open <= 4, `open ${connector.stats().open}`);
    await waitFor(() => connector.stats().open === 3, { message: 'back to one connection per watched sentinel' });
    watcher.close();
    await waitFor(async () => connector.stats().open === 0 && (await ourConnections(set.sentinels)) === 0, { message: 'all closed' });
  });

  void test('SENTINEL FAILOVER: one primary-changed event to the promoted replica, discovery agrees, nothing left open', async (t) => {
    // A fresh set: a restarted sentinel (previous test) can take seconds to be re-admitted by its peers.
    const set = await withSentinelSet(t);
    const { connector, discovery, watcher, changes } = setup(set);
    t.after(() => watcher.close());
    const first = await watcher.start();
    assert.equal(first.port, set.primary.port);
    // start()'s discovery connection is closed asynchronously (the server sees it go a moment later).
    await waitFor(async () => connector.stats().open === 3 && (await ourConnections(set.sentinels)) === 3, {
      message: 'one subscriber per sentinel, discovery connection closed',
    });

    const t0 = performance.now();
    await set.sentinels[0]!.command('SENTINEL', 'FAILOVER', set.name);
    await waitFor(() => changes.length === 2, { timeoutMs: 15_000, message: 'primary-changed' });
    const change = changes[1]!;
    assert.equal(change.from?.port, set.primary.port);
    assert.equal(change.to.port, set.replica.port);
    const detectedMs = Math.round(change.at - t0);
    // The old primary keeps answering role:master for a while (the dual-master window).
    const oldStillMaster = parseRole(await set.primary.command('ROLE')).role === 'master';
    await waitFor(async () => parseRole(await set.primary.command('ROLE')).role === 'replica', {
      timeoutMs: 20_000,
      intervalMs: 50,
      message: 'old primary demoted',
    });
    const demotedMs = Math.round(performance.now() - t0);
    t.diagnostic(
      `SENTINEL FAILOVER → primary-changed (${change.via}) ${detectedMs} ms; old primary still master at detection: ${oldStillMaster}; demoted after ${demotedMs} ms`,
    );
    assert.deepEqual((await discovery.discover()).primary, { host: '127.0.0.1', port: set.replica.port });
    assert.equal(changes.length, 2, 'the three sentinels reporting the switch gave one event');
    assert.ok(watcher.stats().switchMessages >= 1 || change.via === 'poll');
    watcher.close();
    await waitFor(async () => connector.stats().open === 0 && (await ourConnections(set.sentinels)) === 0, { message: 'all closed' });
  });
});
