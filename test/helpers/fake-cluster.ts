/**
 * A fake three-node cluster for unit tests: three ports of one FakeDriver whose handler owns
 * slots per port, answers CLUSTER SHARDS from the same table, and answers MOVED/ASK as a real
 * node would (with ASKING honoured per connection). With `{ replicas: true }` each primary has
 * a replica (port + 3) that serves reads of its primary's slots on a connection that sent
 * `READONLY` (from the primary's store) and answers `MOVED` otherwise, as a real replica does.
 */
import assert from 'node:assert/strict';
import { ConnectionError, ReplyError } from '../../src/errors.js';
import { createPool, type ClusterOptions, type ClusterPool, type PoolOptions } from '../../src/index.js';
import { commandSlot } from '../../src/topology/cluster/keys.js';
import { FakeDriver, type FakeConnection, type ManualClock } from '../../src/testing/index.js';

export const PORTS = [7001, 7002, 7003] as const;
/** Replica ports (with `{ replicas: true }`): 7004 follows 7001, 7005 7002, 7006 7003. */
export const REPLICA_PORTS = [7004, 7005, 7006] as const;
export const primaryPortOf = (replicaPort: number): number => replicaPort - 3;
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
  /** Whether the shards list replicas (port + 3 of each primary). */
  readonly replicas: boolean;
  /** Health CLUSTER SHARDS reports per replica port (default online). */
  readonly replicaHealth = new Map<number, 'online' | 'fail' | 'loading'>();
  /** Ports whose connects are refused (a node down). */
  readonly down = new Set<number>();
  readonly #readonly = new WeakSet<FakeConnection>();
  /** Reads served (not redirected) per port, by command name. */
  readonly served = new Map<number, Map<string, number>>();

  constructor(opts: { replicas?: boolean } = {}) {
    this.replicas = opts.replicas ?? false;
    this.driver.handler = (name, args, conn) => this.#handle(conn.spec.port!, name, args, conn);
    const connect = this.driver.connect.bind(this.driver);
    this.driver.connect = (spec) =>
      this.down.has(spec.port!)
        ? Promise.reject(new ConnectionError(`connect to ${spec.endpoint} failed: ECONNREFUSED`, 'not-sent'))
        : connect(spec);
  }

  /** How many `name` commands `port` served. */
  count(port: number, name = 'get'): number {
    return this.served.get(port)?.get(name) ?? 0;
  }

  /** Kills every open connection to `port` and refuses new ones (until `down.delete(port)`). */
  kill(port: number): void {
    this.down.add(port);
    for (const c of [...this.driver.open]) if (c.spec.port === port) c.kill(new Error('server closed the connection'));
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
      const nodes = [node];
      if (this.replicas) {
        const r = port + 3;
        nodes.push(['id', idOf(r), 'port', r, 'ip', this.announce, 'endpoint', this.announce, 'role', 'replica']);
        nodes[1]!.push('replication-offset', 1, 'health', this.replicaHealth.get(r) ?? 'online');
      }
      return ['slots', ranges, 'nodes', nodes];
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
    if (name === 'readonly') {
      this.#readonly.add(conn);
      return 'OK';
    }
    if (port > PORTS[PORTS.length - 1]!) return this.#replica(port, name, args, conn);
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
    return this.#run(port, store, name, args);
  }

  /** A replica: reads of its primary's slots on a READONLY connection; MOVED to the owner otherwise. */
  #replica(port: number, name: string, args: readonly unknown[], conn: FakeConnection): unknown {
    const primary = primaryPortOf(port);
    const slot = commandSlot(name, args);
    const read = name === 'get' || name === 'mget' || name === 'exists' || name === 'dbsize';
    if (slot !== undefined && (!read || !this.#readonly.has(conn) || this.owner[slot] !== primary))
      throw new ReplyError(`MOVED ${slot} 127.0.0.1:${this.owner[slot]!}`, name);
    if (slot !== undefined && !read) throw new ReplyError("READONLY You can't write against a read only replica.", name);
    return this.#run(port, this.stores.get(primary)!, name, args);
  }

  #run(port: number, store: Map<string, string>, name: string, args: readonly unknown[]): unknown {
    const byName = this.served.get(port) ?? new Map<string, number>();
    this.served.set(port, byName.set(name, (byName.get(name) ?? 0) + 1));
    switch (name) {
      case 'get':
        return store.get(String(args[0])) ?? null;
      case 'dbsize':
        return store.size;
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
