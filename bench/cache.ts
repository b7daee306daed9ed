/**
 * Cache benchmark: redpool/cache against Keyv + @keyv/redis, cache-manager 7 (over Keyv) and
 * bentocache, same harness, same run, one process per cell, on a read-heavy workload: 1,000 keys
 * of which 900 exist (90 % hits), JSON values of 1 KiB and 64 KiB, 50 concurrent callers.
 * Reports ops/s, p50/p99 latency, client CPU per operation and the bytes stored in Redis.
 * Rows are grouped like for like by their tiers: Redis only (redpool/cache's default, Keyv,
 * cache-manager, bentocache without L1) and in-process tier + Redis (redpool/cache with its near
 * cache, bentocache with its L1). Also: redpool's plain GET through the pool (the near cache's
 * baseline) and redpool/cache without compression (the bytes baseline).
 *
 * The harness is the same for every row and kept light so a sub-microsecond near hit is not
 * dominated by it: keys are precomputed, the deadline is checked every 16 operations, and the
 * latency of every 4th operation is recorded (p50/p99 from those samples).
 *
 *   npx tsc -p tsconfig.json && node build/bench/cache.js [--duration S (4)] [--sizes 1024,65536] [--peers a,b] [--out FILE]
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedis } from '../test/support/redis-process.js';
import { createPool, type Pool } from '../src/index.js';
import { createCache } from '../src/cache/index.js';

const PEERS = [
  'redpool-get',
  'redpool-cache',
  'redpool-cache-raw',
  'keyv-redis',
  'cache-manager',
  'bentocache-l2',
  'redpool-cache-near',
  'bentocache-l1',
] as const;
type Peer = (typeof PEERS)[number];
const LABEL: Record<Peer, string> = {
  'redpool-cache': 'redpool/cache (defaults: JSON + deflate ≥ 100 B)',
  'redpool-cache-near': 'redpool/cache + near cache (tracking-invalidated)',
  'redpool-cache-raw': 'redpool/cache, compression off',
  'redpool-get': 'redpool pool GET + JSON.parse (baseline: a Redis GET through the pool)',
  'keyv-redis': 'Keyv 5 + @keyv/redis',
  'cache-manager': 'cache-manager 7 (Keyv + @keyv/redis)',
  'bentocache-l2': 'bentocache, Redis L2 only (no L1)',
  'bentocache-l1': 'bentocache, memory L1 + Redis L2 + bus',
};
const TIERS: Record<Peer, string> = {
  'redpool-get': 'Redis',
  'redpool-cache': 'Redis',
  'redpool-cache-raw': 'Redis',
  'keyv-redis': 'Redis',
  'cache-manager': 'Redis',
  'bentocache-l2': 'Redis',
  'redpool-cache-near': 'in-process + Redis',
  'bentocache-l1': 'in-process + Redis',
};
const KEYS = 1000;
const PRESENT = 900;
const CONCURRENCY = 50;
const TTL_MS = 600_000;

interface Client {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<unknown>;
  close(): Promise<void>;
}

/** Deterministic JSON-ish records (repeated field names, varied values: compresses like real data). */
export function makeValue(bytes: number, seed: number): Record<string, unknown> {
  let x = (seed * 2654435761) % 2 ** 32;
  const rnd = (): number => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const words = ['alpha', 'kitchen', 'remodel', 'invoice', 'crew', 'site', 'permit', 'tile', 'budget', 'schedule', 'client', 'paint'];
  const items: Record<string, unknown>[] = [];
  const out = { id: seed, kind: 'project', items };
  while (JSON.stringify(out).length < bytes) {
    items.push({
      id: Math.floor(rnd() * 1e6),
      name: `${words[Math.floor(rnd() * 12)]} ${words[Math.floor(rnd() * 12)]}`,
      qty: Math.floor(rnd() * 100),
      price: Math.round(rnd() * 1e5) / 100,
      done: rnd() > 0.5,
    });
  }
  return out;
}

async function makeClient(peer: Peer, url: string, pool: Pool): Promise<Client> {
  const { hostname, port } = new URL(url);
  switch (peer) {
    case 'redpool-cache':
    case 'redpool-cache-raw':
    case 'redpool-cache-near': {
      const cache = createCache(pool, {
        prefix: 'bench',
        defaultTtlMs: TTL_MS,
        ...(peer === 'redpool-cache-raw' ? { compression: false as const } : {}),
        ...(peer === 'redpool-cache-near' ? { local: { maxEntries: 10_000, maxBytes: 512 * 2 ** 20 } } : {}),
      });
      await cache.ready();
      return { get: (k) => cache.get(k), set: (k, v) => cache.set(k, v), close: () => cache.close() };
    }
    case 'redpool-get':
      return {
        get: async (k) => {
          const s = await pool.get(`bench:${k}`);
          return s === null ? undefined : (JSON.parse(s) as unknown);
        },
        set: (k, v) => pool.set(`bench:${k}`, JSON.stringify(v), 'PX', TTL_MS),
        close: async () => undefined,
      };
    case 'keyv-redis':
    case 'cache-manager': {
      const { Keyv } = await import('keyv');
      const KeyvRedis = (await import('@keyv/redis')).default;
      const keyv = new Keyv({ store: new KeyvRedis(url), namespace: 'bench' });
      if (peer === 'keyv-redis') return { get: (k) => keyv.get(k), set: (k, v) => keyv.set(k, v, TTL_MS), close: () => keyv.disconnect() };
      const { createCache: createManager } = await import('cache-manager');
      const m = createManager({ stores: [keyv] });
      return {
        get: (k) => m.get(k),
        set: (k, v) => m.set(k, v, TTL_MS),
        close: async () => {
          await m.disconnect();
        },
      };
    }
    case 'bentocache-l1':
    case 'bentocache-l2': {
      const { BentoCache, bentostore } = await import('bentocache');
      const { memoryDriver } = await import('bentocache/drivers/memory');
      const { redisDriver, redisBusDriver } = await import('bentocache/drivers/redis');
      const connection = { host: hostname, port: Number(port) };
      const store =
        peer === 'bentocache-l1'
          ? bentostore()
              .useL1Layer(memoryDriver({ maxSize: '512mb' }))
              .useL2Layer(redisDriver({ connection }))
              .useBus(redisBusDriver({ connection }))
          : bentostore().useL2Layer(redisDriver({ connection }));
      const bento = new BentoCache({ default: 'cache', stores: { cache: store } });
      return {
        get: (k) => bento.get({ key: k }),
        set: (k, v) => bento.set({ key: k, value: v, ttl: TTL_MS }),
        close: () => bento.disconnect(),
      };
    }
  }
}

interface CellResult {
  peer: Peer;
  size: number;
  ops: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerOp: number;
  hitRatio: number;
  bytesStored: number;
  valueJsonBytes: number;
}

async function storedBytes(pool: Pool): Promise<number> {
  let cursor = '0';
  let total = 0;
  do {
    const [next, keys] = await pool.scan(cursor, 'COUNT', 1000);
    cursor = next;
    const p = pool.pipeline();
    for (const k of keys) p.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
    for (const [err, n] of (await p.exec()) ?? []) if (!err) total += Number(n);
  } while (cursor !== '0');
  return total;
}

async function cell(peer: Peer, size: number, url: string, durationMs: number): Promise<CellResult> {
  const admin = createPool({ url, name: 'bench-admin', max: 2, lanes: 1 });
  await admin.call('FLUSHALL'); // the bench's own throwaway server
  const pool = createPool({
    url,
    name: 'bench-cache',
    max: 12,
    ...(process.env.BENCH_LANES ? { lanes: Number(process.env.BENCH_LANES) } : {}),
  });
  await pool.ready();
  const client = await makeClient(peer, url, pool);
  const values = Array.from({ length: 16 }, (_, i) => makeValue(size, i + 1));
  for (let i = 0; i < PRESENT; i++) await client.set(`k${i}`, values[i % values.length]);
  const bytesStored = await storedBytes(admin);
  // The key sequence is precomputed (same pseudo-random order for every row): the loop builds no strings.
  const names = Array.from({ length: KEYS }, (_, i) => `k${i}`);
  const SEQ = 1 << 16;
  const seq: string[] = [];
  for (let i = 0, x = 0; i < SEQ; i++) seq.push(names[(x = (x * 1103515245 + 12345) % 2 ** 31) % KEYS]!);
  let next = 0;
  const runFor = async (ms: number, record: boolean, lat: number[]): Promise<{ ops: number; hits: number }> => {
    const end = performance.now() + ms;
    let ops = 0;
    let hits = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        let mine = 0;
        for (;;) {
          if ((mine & 15) === 0 && performance.now() >= end) break;
          const k = seq[next++ & (SEQ - 1)]!;
          let v: unknown;
          if (record && (mine & 3) === 0) {
            const t0 = performance.now();
            v = await client.get(k);
            lat.push(performance.now() - t0);
          } else v = await client.get(k);
          mine++;
          ops++;
          if (v !== undefined && v !== null) hits++;
        }
      }),
    );
    return { ops, hits };
  };
  await runFor(Math.min(1000, durationMs / 4), false, []); // warm-up (JIT, near caches, L1)
  const lat: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { ops, hits } = await runFor(durationMs, true, lat);
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  lat.sort((a, b) => a - b);
  await client.close();
  await pool.close();
  await admin.close();
  return {
    peer,
    size,
    ops,
    opsPerSec: (ops / elapsed) * 1000,
    p50Ms: lat[Math.floor(lat.length * 0.5)] ?? NaN,
    p99Ms: lat[Math.floor(lat.length * 0.99)] ?? NaN,
    cpuUsPerOp: (cpu.user + cpu.system) / ops,
    hitRatio: hits / ops,
    bytesStored,
    valueJsonBytes: JSON.stringify(values[0]).length,
  };
}

function table(results: CellResult[]): string {
  const rows = [
    '| value | tiers | client | ops/s | p50 ms | p99 ms | client CPU µs/op | hit ratio | bytes stored (MEMORY USAGE, all keys) |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    rows.push(
      `| ${r.size >= 1024 ? `${r.size / 1024} KiB` : `${r.size} B`} JSON (${r.valueJsonBytes} B) | ${TIERS[r.peer]} | ${LABEL[r.peer]} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.cpuUsPerOp.toFixed(1)} | ${(r.hitRatio * 100).toFixed(1)} % | ${r.bytesStored.toLocaleString('en-US')} |`,
    );
  }
  return rows.join('\n');
}

/** The targets of the issue, computed from the rows of this run. */
function summary(results: CellResult[]): string[] {
  const out: string[] = [];
  const find = (peer: Peer, size: number): CellResult | undefined => results.find((r) => r.peer === peer && r.size === size);
  for (const size of [...new Set(results.map((r) => r.size))]) {
    const label = size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
    const near = find('redpool-cache-near', size);
    const get = find('redpool-get', size);
    if (near && get)
      out.push(`- ${label}: near cache ${(near.opsPerSec / get.opsPerSec).toFixed(1)}× the ops/s of a Redis GET through the pool.`);
    const def = find('redpool-cache', size);
    const raw = find('redpool-cache-raw', size);
    if (def && raw)
      out.push(
        `- ${label}: compression stores ${((1 - def.bytesStored / raw.bytesStored) * 100).toFixed(0)} % fewer bytes than uncompressed.`,
      );
    for (const [ours, tier] of [
      [def, 'Redis'],
      [near, 'in-process + Redis'],
    ] as const) {
      if (!ours) continue;
      const peers = results.filter((r) => r.size === size && TIERS[r.peer] === tier && !r.peer.startsWith('redpool'));
      if (peers.length === 0) continue;
      const best = peers.reduce((a, b) => (b.opsPerSec > a.opsPerSec ? b : a));
      const worstP99 = peers.reduce((a, b) => (b.p99Ms < a.p99Ms ? b : a));
      out.push(
        `- ${label}, ${tier}: ${LABEL[ours.peer]} ${Math.round(ours.opsPerSec).toLocaleString('en-US')} ops/s vs best peer ${LABEL[best.peer]} ${Math.round(best.opsPerSec).toLocaleString('en-US')} (${(ours.opsPerSec / best.opsPerSec).toFixed(2)}×); p99 ${ours.p99Ms.toFixed(2)} ms vs lowest peer p99 ${worstP99.p99Ms.toFixed(2)} ms.`,
      );
    }
  }
  return out;
}

const args = parseArgs({
  options: {
    cell: { type: 'string' },
    size: { type: 'string' },
    url: { type: 'string' },
    duration: { type: 'string' },
    sizes: { type: 'string' },
    peers: { type: 'string' },
    out: { type: 'string' },
  },
}).values;
if (args.cell) {
  const r = await cell(args.cell as Peer, Number(args.size), args.url!, Number(args.duration) * 1000);
  process.stdout.write(`CACHE-RESULT ${JSON.stringify(r)}\n`);
  process.exit(0); // some peers keep sockets (bus subscribers) open after disconnect
} else {
  const duration = Number(args.duration ?? 4);
  const sizes = (args.sizes ?? '1024,65536').split(',').map(Number);
  const peers = (args.peers ? args.peers.split(',') : PEERS) as Peer[];
  const server = await startRedis();
  const results: CellResult[] = [];
  const loadBefore = os.loadavg()[0]!;
  try {
    for (const size of sizes) {
      for (const peer of peers) {
        const out = await new Promise<string>((resolve) => {
          const child = spawn(
            process.execPath,
            [fileURLToPath(import.meta.url), '--cell', peer, '--size', String(size), '--url', server.url, '--duration', String(duration)],
            { stdio: ['ignore', 'pipe', 'inherit'] },
          );
          let s = '';
          child.stdout.on('data', (d: Buffer) => (s += d.toString()));
          const timer = setTimeout(() => child.kill('SIGKILL'), (duration + 60) * 1000);
          child.on('close', () => {
            clearTimeout(timer);
            resolve(s);
          });
        });
        const line = out.split('\n').find((l) => l.startsWith('CACHE-RESULT '));
        if (!line) {
          console.error(`${peer} ${size}: no result`);
          continue;
        }
        const r = JSON.parse(line.slice('CACHE-RESULT '.length)) as CellResult;
        results.push(r);
        console.log(
          `${peer.padEnd(20)} ${String(size).padStart(6)} B  ${Math.round(r.opsPerSec).toString().padStart(8)} ops/s  p99 ${r.p99Ms.toFixed(2)} ms  cpu ${r.cpuUsPerOp.toFixed(1)} µs/op  stored ${r.bytesStored}`,
        );
      }
    }
  } finally {
    await server.stop();
  }
  const md = [
    '# Cache benchmark',
    '',
    `Run ${new Date().toISOString()} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, redis-server on loopback (shared with the clients).`,
    `Load average (1 min) ${loadBefore.toFixed(2)} at the start, ${os.loadavg()[0]!.toFixed(2)} at the end: on a shared machine other processes compete for the same cores, so compare rows of one run only.`,
    `Workload: ${KEYS} keys, ${PRESENT} present (90 % hits), ${CONCURRENCY} concurrent callers, ${duration} s per cell after a warm-up, one process per cell. Command: \`node build/bench/cache.js --duration ${duration}\`.`,
    '',
    table(results),
    '',
    'Targets, from the rows above (like for like: tiers against the same tiers):',
    '',
    ...summary(results),
    '',
  ].join('\n');
  writeFileSync(args.out ?? 'bench/CACHE-RESULTS.md', md);
  console.log(`\nwritten ${args.out ?? 'bench/CACHE-RESULTS.md'}`);
}
