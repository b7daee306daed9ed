/**
 * The clients the suite compares, each behind the same {@link LoadClient} interface so every
 * peer runs exactly the same workload code. Pools get the same budget (max 10 connections).
 * Peers are created inside the cell process, so one peer's GC/JIT state never affects another.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createClient, createClientPool } from 'redis';
import genericPool from 'generic-pool';
import { createPool, ioredisDriver } from '../src/index.js';
import { nodeRedisDriver } from '../src/driver/node-redis/index.js';
import { perOperationClient, poolClient, type LoadClient } from '../src/load/index.js';

/** Connection budget of every pooled peer. */
export const POOL_SIZE = 10;

/** Peer ids, in the order of the tables. */
export const PEERS = [
  'redpool',
  'redpool-autopipe',
  'redpool-no-direct',
  'redpool-node-redis',
  'ioredis',
  'ioredis-autopipe',
  'node-redis',
  'node-redis-6',
  'node-redis-pool',
  'generic-pool',
  'valkey-glide',
  'per-op',
] as const;
export type PeerId = (typeof PEERS)[number];

/** Table labels and one-line descriptions. */
export const PEER_INFO: Record<PeerId, { label: string; what: string; singleConnection: boolean }> = {
  redpool: {
    label: 'redpool',
    what: `createPool({ max: ${POOL_SIZE} }) defaults: 2 shared lanes, exclusive leases for BLPOP, ioredis driver with its direct path`,
    singleConnection: false,
  },
  'redpool-autopipe': {
    label: 'redpool (autoPipelining)',
    what: `as redpool, with autoPipelining: true on the lanes (ioredis's batching; no direct path)`,
    singleConnection: false,
  },
  'redpool-no-direct': {
    label: 'redpool (direct path off)',
    what: `as redpool, with driver: ioredisDriver({ directPath: false }) (every command through ioredis's Command)`,
    singleConnection: false,
  },
  'redpool-node-redis': {
    label: 'redpool (node-redis driver)',
    what: `as redpool, with driver: nodeRedisDriver() (redpool/node-redis)`,
    singleConnection: false,
  },
  ioredis: { label: 'ioredis', what: 'one ioredis 6 connection, defaults', singleConnection: true },
  'ioredis-autopipe': {
    label: 'ioredis (autopipelining)',
    what: 'one ioredis 6 connection, enableAutoPipelining: true',
    singleConnection: true,
  },
  'node-redis': { label: 'node-redis', what: 'one node-redis 5 client (createClient)', singleConnection: true },
  'node-redis-6': {
    label: 'node-redis 6',
    what: 'one node-redis 6 client (createClient from redis@6, the current major)',
    singleConnection: true,
  },
  'node-redis-pool': {
    label: 'node-redis createClientPool',
    what: `node-redis 5 createClientPool, maximum ${POOL_SIZE}`,
    singleConnection: false,
  },
  'generic-pool': {
    label: 'generic-pool + node-redis',
    what: `generic-pool 3, max ${POOL_SIZE}, of node-redis 5 clients, pool.use() per op`,
    singleConnection: false,
  },
  'valkey-glide': {
    label: 'valkey-glide',
    what: 'one @valkey/valkey-glide 2 GlideClient (Rust core, native binding)',
    singleConnection: true,
  },
  'per-op': { label: 'connection per op', what: 'new ioredis connection per operation, QUIT after', singleConnection: false },
};

/** Thrown for a peer that cannot run here. */
export class PeerUnavailableError extends Error {}

/** The subset of a node-redis 5 client the workloads use (its generics are too deep to name here). */
interface NodeRedisLike {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  blPop(key: string, timeout: number): Promise<unknown>;
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  on(event: 'error', listener: (err: Error) => void): unknown;
  connect(): Promise<unknown>;
  duplicate(): NodeRedisLike;
  close(): Promise<void>;
  destroy(): void;
}

async function ioredisPeer(url: string, autoPipeline: boolean, name: string): Promise<LoadClient> {
  const u = new URL(url);
  const client = new Redis({ host: u.hostname, port: Number(u.port), lazyConnect: true, enableAutoPipelining: autoPipeline });
  await client.connect();
  const subs: Redis[] = [];
  return {
    name,
    set: (k, v) => client.set(k, v),
    get: (k) => client.get(k),
    blpop: (k, t) => client.blpop(k, t),
    publish: (c, m) => client.publish(c, m),
    async subscribe(channel, onMessage) {
      const sub = client.duplicate();
      subs.push(sub);
      sub.on('message', (_c: string, m: string) => onMessage(m));
      await sub.subscribe(channel);
      return async () => void sub.disconnect();
    },
    async close() {
      for (const s of subs) s.disconnect();
      await client.quit().catch(() => client.disconnect());
    },
  };
}

type MakeClient = (options: { url: string }) => unknown;

/** node-redis 6 is installed under the alias `redis6` beside v5, so both run in one suite. */
async function nodeRedis6(): Promise<MakeClient> {
  try {
    return ((await import('redis6')) as unknown as { createClient: MakeClient }).createClient;
  } catch {
    throw new PeerUnavailableError('redis6 (npm:redis@6) is not installed');
  }
}

function nodeRedisSingle(
  url: string,
  name: string,
  make: MakeClient = createClient as MakeClient,
): LoadClient & { connect(): Promise<unknown> } {
  const client = make({ url }) as NodeRedisLike;
  client.on('error', () => undefined);
  const subs: NodeRedisLike[] = [];
  return {
    name,
    set: (k, v) => client.set(k, v),
    get: (k) => client.get(k),
    blpop: (k, t) => client.blPop(k, t),
    publish: (c, m) => client.publish(c, m),
    async subscribe(channel, onMessage) {
      const sub = client.duplicate();
      sub.on('error', () => undefined);
      subs.push(sub);
      await sub.connect();
      await sub.subscribe(channel, onMessage);
      return async () => sub.destroy();
    },
    async close() {
      for (const s of subs) s.destroy();
      await client.close().catch(() => client.destroy());
    },
    connect: () => client.connect(),
  };
}

/**
 * Creates and connects a peer. `fixedPool` opens redpool's whole budget up front (`min = max`),
 * as the "after" of the reference documents' before/after: a pool of exactly POOL_SIZE connections.
 */
export async function createPeer(id: PeerId, url: string, opts: { fixedPool?: boolean } = {}): Promise<LoadClient> {
  const name = PEER_INFO[id].label;
  switch (id) {
    case 'redpool':
    case 'redpool-autopipe':
    case 'redpool-no-direct':
    case 'redpool-node-redis': {
      const pool = createPool({
        url,
        max: POOL_SIZE,
        min: opts.fixedPool ? POOL_SIZE : 1,
        name: 'bench',
        autoPipelining: id === 'redpool-autopipe',
        maxWaiting: 100_000,
        ...(id === 'redpool-node-redis'
          ? { driver: nodeRedisDriver() }
          : id === 'redpool-no-direct'
            ? { driver: ioredisDriver({ directPath: false }) }
            : {}),
      });
      await pool.ready();
      return { ...poolClient(pool), name };
    }
    case 'ioredis':
    case 'ioredis-autopipe':
      return ioredisPeer(url, id === 'ioredis-autopipe', name);
    case 'node-redis':
    case 'node-redis-6': {
      const make = id === 'node-redis' ? createClient : await nodeRedis6();
      const c = nodeRedisSingle(url, name, make);
      await c.connect();
      return c;
    }
    case 'node-redis-pool': {
      const pool = createClientPool({ url }, { minimum: 1, maximum: POOL_SIZE, acquireTimeout: 10_000 }) as unknown as NodeRedisLike & {
        on(e: 'error', l: (err: Error) => void): unknown;
      };
      pool.on('error', () => undefined);
      await pool.connect();
      const single = nodeRedisSingle(url, name);
      let subscriberReady: Promise<unknown> | undefined;
      return {
        name,
        set: (k, v) => pool.set(k, v),
        get: (k) => pool.get(k),
        blpop: (k, t) => pool.blPop(k, t),
        publish: (c, m) => pool.publish(c, m),
        async subscribe(channel, onMessage) {
          subscriberReady ??= single.connect();
          await subscriberReady;
          return single.subscribe!(channel, onMessage);
        },
        async close() {
          await single.close().catch(() => undefined);
          await pool.close().catch(() => pool.destroy());
        },
      };
    }
    case 'generic-pool': {
      const pool = genericPool.createPool<NodeRedisLike>(
        {
          async create() {
            const c = createClient({ url }) as unknown as NodeRedisLike;
            c.on('error', () => undefined);
            await c.connect();
            return c;
          },
          async destroy(c) {
            await c.close().catch(() => c.destroy());
          },
        },
        { max: POOL_SIZE, min: 1 },
      );
      const use = <T>(fn: (c: NodeRedisLike) => Promise<T>): Promise<T> => pool.use(fn);
      await use((c) => c.get('redpool:bench:warmup'));
      const subs: NodeRedisLike[] = [];
      return {
        name,
        set: (k, v) => use((c) => c.set(k, v)),
        get: (k) => use((c) => c.get(k)),
        blpop: (k, t) => use((c) => c.blPop(k, t)),
        publish: (ch, m) => use((c) => c.publish(ch, m)),
        async subscribe(channel, onMessage) {
          const sub = createClient({ url }) as unknown as NodeRedisLike;
          sub.on('error', () => undefined);
          subs.push(sub);
          await sub.connect();
          await sub.subscribe(channel, onMessage);
          return async () => sub.destroy();
        },
        async close() {
          for (const s of subs) s.destroy();
          await pool.drain();
          await pool.clear();
        },
      };
    }
    case 'valkey-glide':
      return glidePeer(url, name);
    case 'per-op':
      return perOperationClient(url);
  }
}

/** The subset of a valkey-glide GlideClient the workloads use. */
interface GlideLike {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  blpop(keys: string[], timeoutSec: number): Promise<unknown>;
  publish(message: string, channel: string): Promise<unknown>;
  close(): void;
}

async function glidePeer(url: string, name: string): Promise<LoadClient> {
  let mod: { GlideClient: { createClient(o: unknown): Promise<GlideLike> } };
  try {
    mod = (await import('@valkey/valkey-glide')) as unknown as typeof mod;
  } catch {
    throw new PeerUnavailableError('@valkey/valkey-glide is not installed (or its native binary is missing)');
  }
  const u = new URL(url);
  // requestTimeout covers the blocking workload's BLPOP (0.1 s) with room to spare.
  const client = await mod.GlideClient.createClient({ addresses: [{ host: u.hostname, port: Number(u.port) }], requestTimeout: 5_000 });
  return {
    name,
    set: (k, v) => client.set(k, v),
    get: (k) => client.get(k),
    blpop: (k, t) => client.blpop([k], t),
    publish: (c, m) => client.publish(m, c),
    async close() {
      client.close();
    },
  };
}

/** Installed versions of the peers' packages ('not installed' when missing). */
/**
 * The installed version of `pkg`: its package.json, found by walking up from the entry point
 * when the package's `exports` does not expose `./package.json` (e.g. valkey-glide).
 */
function installedVersion(require: NodeJS.Require, pkg: string): string | undefined {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    // fall through: not exported, or not installed
  }
  try {
    let dir = path.dirname(require.resolve(pkg));
    for (let i = 0; i < 8 && dir !== path.dirname(dir); i++, dir = path.dirname(dir)) {
      const file = path.join(dir, 'package.json');
      if (!existsSync(file)) continue;
      const json = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (json.name === pkg) return json.version;
    }
  } catch {
    // not installed
  }
  return undefined;
}

export function peerVersions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const out: Record<string, string> = {};
  for (const pkg of ['ioredis', 'redis', 'redis6', '@redis/client', 'generic-pool', '@valkey/valkey-glide']) {
    out[pkg] = installedVersion(require, pkg) ?? 'not installed';
  }
  return out;
}
