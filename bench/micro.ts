/**
 * Engine overhead without sockets: the CPU an acquire/release pair and a routed shared command
 * cost in redpool itself, measured with `process.cpuUsage()` over many iterations on the fake
 * driver (whose handler answers at once), minus a baseline loop that does the same awaits
 * without the pool (calling the fake connection directly, or awaiting a resolved promise).
 *
 * Each case runs with its baseline in its own child process (as the suite's cells do),
 * alternating case and baseline, so both see the same heap and JIT state and no other case's.
 *
 *   node --expose-gc build/bench/micro.js [--quick] [--pair shared|sharedPar|lease]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createPool, type ConnectSpec, type Pool } from '../src/index.js';
import { FakeDriver } from '../src/testing/index.js';
import { RESULT_MARK, type MicroCase, type MicroResult } from './protocol.js';

const gc = (globalThis as { gc?: () => void }).gc;

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

async function measure(iterations: number, repeats: number, body: (n: number) => Promise<void>): Promise<number> {
  await body(Math.min(iterations, 50_000)); // warm-up: JIT tiers, inline caches
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    gc?.();
    const t0 = cpuNs();
    await body(iterations);
    samples.push((cpuNs() - t0) / iterations);
  }
  // Noise (other processes, frequency changes) only ever adds CPU time: the minimum is the
  // best estimate of the intrinsic cost, for the case and for its baseline alike.
  return Math.min(...samples);
}

/** `callers` concurrent loops sharing `n` iterations. */
function parallel(callers: number, n: number, op: () => Promise<unknown>): Promise<void> {
  let left = n;
  const loop = async (): Promise<void> => {
    while (left-- > 0) await op();
  };
  return Promise.all(Array.from({ length: callers }, loop)).then(() => undefined);
}

const PAIRS = {
  shared: ['direct', 'shared'],
  sharedPar: ['directPar', 'sharedPar'],
  lease: ['bare', 'lease'],
} as const;
type PairId = keyof typeof PAIRS;
type Body = 'direct' | 'shared' | 'directPar' | 'sharedPar' | 'bare' | 'lease';

/**
 * Measures a baseline and its case in this process, alternating them `repeats` times after a
 * warm-up of both, and returns the minimum ns/op of each: both see the same heap and JIT state.
 */
async function runPair(id: PairId, iterations: number, repeats: number): Promise<[number, number]> {
  const driver = new FakeDriver();
  driver.handler = (name) => (name === 'ping' ? 'PONG' : 'OK'); // ready() accepts only PONG
  const spec = {
    host: '127.0.0.1',
    port: 6379,
    path: undefined,
    username: undefined,
    password: undefined,
    db: 0,
    tls: undefined,
    connectTimeoutMs: 1000,
    keepAliveMs: 0,
    connectionName: 'micro',
    autoPipelining: false,
    endpoint: 'fake',
  } satisfies ConnectSpec;
  const conn = await driver.connect(spec);
  const pool: Pool = createPool({ driver, max: 4, min: 1, lanes: 1, healthCheckIntervalMs: 0, validateAfterIdleMs: 60_000 });
  await pool.ready();
  const key = ['k'];
  const resolved = Promise.resolve(1);
  const bodies: Record<Body, (n: number) => Promise<void>> = {
    direct: async (n) => {
      for (let i = 0; i < n; i++) await conn.command('get', key, false);
    },
    shared: async (n) => {
      for (let i = 0; i < n; i++) await pool.get('k');
    },
    directPar: (n) => parallel(100, n, () => conn.command('get', key, false)),
    sharedPar: (n) => parallel(100, n, () => pool.get('k')),
    bare: async (n) => {
      for (let i = 0; i < n; i++) await resolved;
    },
    lease: async (n) => {
      for (let i = 0; i < n; i++) (await pool.acquire()).release();
    },
  };
  const [base, test] = PAIRS[id];
  try {
    const b: number[] = [];
    const t: number[] = [];
    for (let r = 0; r < repeats; r++) {
      b.push(await measure(iterations, 1, bodies[base]));
      t.push(await measure(iterations, 1, bodies[test]));
    }
    return [Math.min(...b), Math.min(...t)];
  } finally {
    await pool.close({ timeoutMs: 1000 });
  }
}

/** Runs a pair in a fresh child process (like the cells: no JIT or heap state shared with other pairs). */
function inChild(id: PairId, quick: boolean): [number, number] {
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--pair', id, ...(quick ? ['--quick'] : [])], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith(RESULT_MARK));
  if (!line) throw new Error(`micro pair ${id} failed: ${r.stderr.trim().split('\n').pop() ?? ''}`);
  return JSON.parse(line.slice(RESULT_MARK.length)) as [number, number];
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const N = quick ? 200_000 : 500_000;
  const repeats = quick ? 3 : 5;
  const only = process.argv.indexOf('--pair');
  if (only >= 0) {
    const id = process.argv[only + 1] as PairId;
    if (!Object.hasOwn(PAIRS, id)) throw new Error(`unknown pair ${id}`);
    process.stdout.write(`${RESULT_MARK}${JSON.stringify(await runPair(id, N, repeats))}\n`);
    return;
  }
  const [direct, shared] = inChild('shared', quick);
  const [directPar, sharedPar] = inChild('sharedPar', quick);
  const [bare, lease] = inChild('lease', quick);
  const c = (name: string, nsPerOp: number, baseline: string, baselineNsPerOp: number): MicroCase => ({
    name,
    iterations: N,
    nsPerOp: Math.round(nsPerOp),
    baseline,
    baselineNsPerOp: Math.round(baselineNsPerOp),
    overheadNs: Math.round(nsPerOp - baselineNsPerOp),
  });
  const result: MicroResult = {
    repeats,
    cases: [
      c('shared command (pool.get), sequential', shared, 'fake connection .command() directly', direct),
      c('shared command (pool.get), 100 concurrent callers', sharedPar, 'fake connection .command() directly, 100 callers', directPar),
      c('acquire + release (no contention)', lease, 'await of a resolved promise', bare),
    ],
  };
  process.stdout.write(`${RESULT_MARK}${JSON.stringify(result)}\n`);
}

await main();
