/**
 * `createPool({ sentinel })` against a real Sentinel set (1 primary, 1 replica, 3 sentinels):
 * discovery of the primary with ROLE checked on every data connection, a stale sentinel naming
 * the replica refused by that check and rediscovered, and a SENTINEL FAILOVER followed without
 * a restart: one `topology:primary-changed`, the old primary's connections drained and closed,
 * an active lease invalidated (not-sent), a subscriber resubscribed on the new primary, writes on it, sentinel connections
 * bounded and counted outside `max`, nothing left open after close.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createPool, type PrimaryChangedEvent } from '../../../src/index.js';
import { ioredisDriver } from '../../../src/driver/ioredis-driver.js';
import { systemClock } from '../../../src/internal/clock.js';
import { resolveOptions } from '../../../src/options.js';
import { Engine } from '../../../src/pool/engine.js';
import type { NodeAddress } from '../../../src/topology/cluster/nat-map.js';
import { ioredisSentinelConnector, type SentinelConnector } from '../../../src/topology/sentinel/link.js';
import { SentinelTopology } from '../../../src/topology/sentinel/pool-topology.js';
import { clientNames, waitFor } from '../../helpers/redis.js';
import { useSentinelSet, withSentinelSet } from '../../helpers/topology.js';

function commandCalls(info: unknown, command: string, field = 'calls'): number {
  const m = new RegExp(`cmdstat_${command}:.*\\b${field}=(\\d+)`).exec(String(info));
  return m ? Number(m[1]) : 0;
}

void describe('createPool({ sentinel }) on a real Sentinel set', () => {
  const sentinelSet = useSentinelSet();

  void test('discovers the primary, ROLE-checks every data connection, keeps sentinel connections outside max', async (t) => {
    const set = sentinelSet();
    await set.primary.command('CONFIG', 'RESETSTAT');
    const pool = createPool({
      sentinel: { name: set.name, sentinels: set.sentinelAddresses() },
      name: 'sdisc',
      max: 4,
      min: 2,
      logger: false,
    });
    t.after(() => pool.destroy());
    assert.equal(pool.stats().sentinel?.primary, undefined, 'nothing is opened before ready()');
    assert.equal(await pool.ready(), 'healthy');
    assert.equal(await pool.set('sentinel:k', 'v'), 'OK');
    assert.equal(await set.primary.command('GET', 'sentinel:k'), 'v', 'the write reached the primary');
    const s = pool.stats().sentinel!;
    assert.equal(s.primary, `127.0.0.1:${set.primary.port}`);
    assert.equal(s.generation, 1);
    assert.equal(s.sentinels, 3, 'seeds plus SENTINEL SENTINELS, deduplicated');
    await waitFor(() => pool.stats().sentinel!.subscribed === 3, { message: 'watcher subscribed' });
    const created = pool.stats().created;
    assert.ok(created >= 2);
    assert.equal(commandCalls(await set.primary.command('INFO', 'commandstats'), 'role'), created, 'one ROLE per data connection');
    assert.equal((await clientNames(set.primary, 'redpool:sdisc:')).length, pool.stats().total, 'data connections within max');
    await waitFor(() => pool.stats().sentinel!.connectionsOpen === 3, { message: 'only the 3 subscribers stay open' });
    const health = await pool.health();
    assert.equal(health.stats.sentinel?.primary, `127.0.0.1:${set.primary.port}`);
    await pool.close();
    await waitFor(() => pool.stats().sentinel!.connectionsOpen === 0, { message: 'sentinel connections closed' });
    let leftover = 0;
    for (const s2 of set.sentinels) leftover += (await clientNames(s2, 'redpool:sdisc:sentinel')).length;
    assert.equal(leftover, 0);
  });

  void test('a sentinel naming the replica: the ROLE check refuses it (nothing written), rediscovery finds the primary', async (t) => {
    const set = sentinelSet();
    const real = ioredisSentinelConnector({ connectionName: 'redpool-test-stale' });
    let stale = 1;
    // The first GET-MASTER-ADDR-BY-NAME answer is stale (the replica), as after a missed switch.
    const connector: SentinelConnector = {
      stats: () => real.stats(),
      async open(address: NodeAddress, purpose) {
        const conn = await real.open(address, purpose);
        return {
          ...conn,
          call: async (...args: string[]) => {
            if (args[1] === 'GET-MASTER-ADDR-BY-NAME' && stale-- > 0) return ['127.0.0.1', String(set.replica.port)];
            return conn.call(...args);
          },
        };
      },
    };
    const o = resolveOptions({ name: 'sstale', max: 3, min: 1, logger: false, connectTimeoutMs: 2_000 }, {});
    const changes: PrimaryChangedEvent[] = [];
    const errors: string[] = [];
    const ref: { engine?: Engine } = {};
    const topology = new SentinelTopology(
      {
        sentinel: resolveOptions({ sentinel: { name: set.name, sentinels: set.sentinelAddresses() } }, {}).sentinel!,
        clock: systemClock,
        pool: 'sstale',
        connectTimeoutMs: 1_000,
        label: (h, p) => `redis://${h}:${p}`,
        connector,
      },
      { retarget: (g) => ref.engine!.retarget(g), changed: (e) => changes.push(e), warning: () => undefined },
    );
    const engine = (ref.engine = new Engine(
      o,
      ioredisDriver(),
      (event, payload) => {
        if (event === 'connection:error') errors.push((payload as { error: Error }).error.message);
      },
      () => true,
      { topology },
    ));
    t.after(async () => {
      topology.close();
      await engine.destroy();
    });
    // A write sent to the replica would be refused there (READONLY: counted in rejected_calls).
    const before = commandCalls(await set.replica.command('INFO', 'commandstats'), 'set', 'rejected_calls');
    assert.equal(await engine.command('set', ['sentinel:stale', '1'], false, { timeoutMs: 4_000 }), 'OK');
    assert.match(errors[0] ?? '', new RegExp(`127\\.0\\.0\\.1:${set.replica.port} is a replica, not the primary`));
    assert.deepEqual(
      changes.map((c) => [c.from, c.to, c.generation]),
      [[`127.0.0.1:${set.replica.port}`, `127.0.0.1:${set.primary.port}`, 2]],
    );
    // The failed ROLE check asked for a rediscovery; the watcher's first check may answer it first.
    assert.ok(['role', 'poll'].includes(changes[0]!.via), changes[0]!.via);
    assert.equal(
      commandCalls(await set.replica.command('INFO', 'commandstats'), 'set', 'rejected_calls'),
      before,
      'nothing sent to the replica',
    );
    assert.equal(await set.primary.command('GET', 'sentinel:stale'), '1');
  });

  void test('SENTINEL FAILOVER: one primary-changed, old connections drained and closed, a held lease invalidated, writes on the new primary', async (t) => {
    const set = await withSentinelSet(t);
    const pool = createPool({
      sentinel: { name: set.name, sentinels: set.sentinelAddresses() },
      name: 'sfail',
      max: 4,
      min: 2,
      logger: false,
      commandTimeoutMs: 3_000,
    });
    t.after(() => pool.destroy());
    const changes: Array<PrimaryChangedEvent & { at: number }> = [];
    pool.on('topology:primary-changed', (e) => changes.push({ ...e, at: performance.now() }));
    await pool.ready();
    await waitFor(() => pool.stats().sentinel!.subscribed === 3, { message: 'watcher subscribed' });
    const lease = await pool.acquire();
    assert.equal(await lease.ping(), 'PONG');
    const sub = pool.subscriber();
    const messages: string[] = [];
    let connects = 0;
    sub.on('message', (_channel, message) => messages.push(message));
    sub.on('connect', () => connects++);
    await sub.subscribe('sentinel:news');
    assert.equal(connects, 1);
    const oldNames = await clientNames(set.primary, 'redpool:sfail:');
    assert.ok(oldNames.length >= 2);

    const t0 = performance.now();
    await set.sentinels[0]!.command('SENTINEL', 'FAILOVER', set.name);
    await waitFor(() => changes.length > 0, { timeoutMs: 15_000, message: 'topology:primary-changed' });
    const moved = changes[0]!;
    t.diagnostic(`SENTINEL FAILOVER → topology:primary-changed via ${moved.via} after ${Math.round(moved.at - t0)} ms`);
    assert.equal(moved.from, `127.0.0.1:${set.primary.port}`);
    assert.equal(moved.to, `127.0.0.1:${set.replica.port}`);
    assert.equal(moved.generation, 2);

    await assert.rejects(lease.ping(), { code: 'ERR_CONNECTION', outcome: 'not-sent' });
    lease.release();
    assert.equal(await pool.set('sentinel:after', 'x'), 'OK');
    assert.equal(await set.replica.command('GET', 'sentinel:after'), 'x', 'written on the promoted replica');
    // The subscriber's connection to the old primary was dropped; it resubscribed on the new one.
    await waitFor(() => connects >= 2, { message: 'subscriber reconnected' });
    await waitFor(
      async () => {
        await set.replica.command('PUBLISH', 'sentinel:news', 'after');
        return messages.includes('after');
      },
      { message: 'message published on the new primary received' },
    );
    await waitFor(async () => (await clientNames(set.primary, 'redpool:sfail:')).length === 0, {
      message: 'no data connection left on the old primary',
    });
    const s = pool.stats();
    assert.equal(s.sentinel?.generation, 2);
    assert.equal(s.sentinel?.changes, 1);
    assert.ok(s.destroyedBy.retarget >= 3, `retarget closes: ${s.destroyedBy.retarget}`);
    assert.ok(s.sentinel!.connectionsOpen <= 4, 'sentinel connections bounded');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(changes.length, 1, 'one event per move, whichever sentinel said it first');
  });
});
