/**
 * The cost of `readFrom` on a cluster pool: interleaved cells in one process on one real 3 + 3
 * cluster (test/helpers/topology.ts), 64 callers SET/GET 50/50 of 64 B values over 100 000 keys,
 * each cell a fresh pool (`max: 8`), 300 ms warm-up, then `--ms` of load. Reported per variant:
 * the median (and every round) of commands/s and of the client's CPU per command
 * (`process.cpuUsage`, the robust figure on a shared machine).
 *
 *   npx tsc -p tsconfig.json && node build/bench/cluster-readfrom.js [--rounds 6] [--ms 2000] [--base <other build>/src/index.js]
 *
 * Variants: `primary` and `preferReplica` of this build; with `--base`, also `base primary`: the
 * same cell on another build (e.g. main, compiled elsewhere) to compare the primary path before
 * and after a change. Rounds alternate the order of the variants.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import * as here from '../src/index.js';
import type { PoolOptions } from '../src/index.js';
import { startCluster, type RedisCluster } from '../test/helpers/topology.js';

type CreatePool = (o: PoolOptions) => {
  ready(): Promise<unknown>;
  set(k: string, v: string): Promise<unknown>;
  get(k: string): Promise<unknown>;
  close(): Promise<void>;
};

interface Cell {
  kops: number;
  cpuUsPerOp: number;
}

const VALUE = 'x'.repeat(64);
const KEYS = 100_000;
const CALLERS = 64;

async function cell(create: CreatePool, cluster: RedisCluster, extra: Partial<PoolOptions>, ms: number): Promise<Cell> {
  const pool = create({ cluster: { nodes: cluster.seeds() }, max: 8, logger: false, ...extra });
  await pool.ready();
  let n = 0;
  let ops = 0;
  let stop = false;
  const worker = async (): Promise<void> => {
    // Bounded by time (stop) and by count.
    while (!stop && n < 50_000_000) {
      const i = n++;
      const k = `k:${(i * 7919) % KEYS}`;
      await (i % 2 === 0 ? pool.set(k, VALUE) : pool.get(k));
      ops++;
    }
  };
  const workers = Array.from({ length: CALLERS }, worker);
  await new Promise((r) => setTimeout(r, 300));
  ops = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const done = ops;
  stop = true;
  await Promise.all(workers);
  await pool.close();
  return { kops: done / elapsed, cpuUsPerOp: (cpu.user + cpu.system) / done };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string' }, ms: { type: 'string' }, base: { type: 'string' } } });
  const rounds = Number(values.rounds ?? 6);
  const ms = Number(values.ms ?? 2000);
  const variants: [string, CreatePool, Partial<PoolOptions>][] = [
    ['primary', here.createPool as unknown as CreatePool, {}],
    ['preferReplica', here.createPool as unknown as CreatePool, { readFrom: 'preferReplica' }],
  ];
  if (values.base) {
    const base = (await import(pathToFileURL(values.base).href)) as { createPool: CreatePool };
    variants.unshift(['base primary', base.createPool, {}]);
  }
  const cluster = await startCluster();
  const out = new Map<string, Cell[]>();
  try {
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? variants : [...variants].reverse();
      for (const [name, create, extra] of order) {
        const c = await cell(create, cluster, extra, ms);
        out.set(name, [...(out.get(name) ?? []), c]);
      }
    }
  } finally {
    await cluster.stop();
  }
  for (const [name, cells] of out)
    console.log(
      `${name.padEnd(14)} ${median(cells.map((c) => c.kops)).toFixed(1)} k commands/s [${cells.map((c) => c.kops.toFixed(1)).join(' ')}]  ` +
        `client CPU ${median(cells.map((c) => c.cpuUsPerOp)).toFixed(2)} µs/command [${cells.map((c) => c.cpuUsPerOp.toFixed(2)).join(' ')}]`,
    );
}

await main();
