/**
 * A fake three-node cluster for unit tests: three ports of one FakeDriver whose handler owns
 * slots per port, answers CLUSTER SHARDS from the same table, and answers MOVED/ASK as a real
 * node would (with ASKING honoured per connection).
 */
import assert from 'node:assert/strict';
import { ReplyError } from '../../src/errors.js';
import { createPool, type ClusterOptions, type ClusterPool, type PoolOptions } from '../../src/index.js';
import { commandSlot } from '../../src/topology/cluster/keys.js';
import { FakeDriver, type FakeConnection, type ManualClock } from '../../src/testing/index.js';

export const PORTS = [7001, 7002, 7003] as const;
export const idOf = (port: number): string => String(port).padStart(40, 'a');

/** A fake cluster: slot owners, per-port stores, migrations (ASK), and a hook per command. */
export class FakeCluster {
  readonly driver = new FakeDriver();
  /** Owner port of each slot as the nodes see it. */
  readonly owner: number[] = Array.from({ length: 16384 }, (_, s) => (s <= 5460 ? 7001 : s <= 10922 ? 7002 : 7003));
  /** What CLUSTER SHARDS reports (lags `owner` until `publish()`). */
  shards = [...this.owner];
  readonly stores = new Map<number, Map<string, string>>(PORTS.map((p) => [p, new Map()]));
  /** slot → port importing it (the owner answers ASK for keys it does not have). */
  readonly migrating = new Map<number, number>();
  readonly asking = new WeakSet<FakeConnection>();
  /** The address the nodes announce (CLUSTER SHARDS `ip`/`endpoint`), and whether they announce a hostname. */
  announce = '127.0.0.1';
  hostnames = false;
  /** Runs before the default behaviour; return undefined to fall through. */
  hook: ((port: number, name: string, args: readonly unknown[]) => unknown) | undefined;

  constructor() {
    this.driver.handler = (name, args, conn) => this.#handle(conn.spec.port!, name, args, conn);
  }

  publish(): void {
    this.shards = [...this.owner];
  }

  shardsReply(): unknown[] {
    return PORTS.map((port) => {
      const ranges: number[] = [];
      for (let s = 0; s < 16384; s++) {
        if (this.shards[s] !== port) continue;
        if (ranges.length > 0 && ranges[ranges.length - 1] === s - 1) ranges[ranges.length - 1] = s;
        else ranges.push(s, s);
      }
      const node: unknown[] = ['id', idOf(port), 'port', port, 'ip', this.announce, 'endpoint', this.announce];
      node.push('role', 'master', 'replication-offset', 1, 'health', 'online');
      if (this.hostnames) node.push('hostname', `node-${port}.redis.test`);
      return ['slots', ranges, 'nodes', [node]];
    });
  }

  #handle(port: number, name: string, args: readonly unknown[], conn: FakeConnection): unknown {
    const hooked = this.hook?.(port, name, args);
    if (hooked !== undefined) return hooked;
    if (name === 'cluster' && String(args[0]) === 'shards') return this.shardsReply();
    if (name === 'asking') {
      this.asking.add(conn);
      return 'OK';
    }
    if (name === 'ping') return 'PONG';
    const slot = commandSlot(name, args);
    const asked = this.asking.has(conn);
    this.asking.delete(conn);
    const store = this.stores.get(port)!;
    if (slot !== undefined) {
      const key = String(args[0]);
      const importing = this.migrating.get(slot);
      const mine = this.owner[slot] === port;
      if (mine && importing !== undefined && !store.has(key)) throw new ReplyError(`ASK ${slot} 127.0.0.1:${importing}`, name);
      if (!mine && !(asked && importing === port)) throw new ReplyError(`MOVED ${slot} 127.0.0.1:${this.owner[slot]!}`, name);
    }
    switch (name) {
      case 'get':
        return store.get(String(args[0])) ?? null;
      case 'set':
        store.set(String(args[0]), String(args[1]));
        return 'OK';
      case 'incr': {
        const v = Number(store.get(String(args[0])) ?? 0) + 1;
        store.set(String(args[0]), String(v));
        return v;
      }
      default:
        return 'OK';
    }
  }
}

/** Lets the fake driver's replies and the pools' microtasks run (20 turns of setImmediate). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/**
 * A cluster pool over `fc` on `clock`, seeded with the first fake node, no background refresh,
 * and ready (asserted healthy). `extra`: pool options, and `cluster` fields to override.
 */
export async function openFakeClusterPool(
  fc: FakeCluster,
  clock: ManualClock,
  extra: Omit<PoolOptions, 'cluster'> & { cluster?: Partial<ClusterOptions> } = {},
): Promise<ClusterPool> {
  const { cluster, ...rest } = extra;
  const pool = createPool({
    driver: fc.driver,
    clock,
    logger: false,
    max: 4,
    ...rest,
    cluster: { nodes: [{ host: '127.0.0.1', port: PORTS[0] }], refreshIntervalMs: Infinity, ...cluster },
  });
  const ready = pool.ready();
  await settle();
  assert.equal(await ready, 'healthy');
  return pool;
}
