/**
 * Channel layer benchmark: messages between two processes, redpool/channels beside
 * @socket.io/redis-adapter broadcasting the same messages, same run, same redis-server.
 *
 *   npx tsc -p tsconfig.json && node build/bench/channels.js [--quick] [--rounds N] [--out bench/CHANNELS.md]
 *     [--only redpool|socket.io] [--scenario p2p|group|group-shared]   (one system / scenario, for profiling)
 *     [--api consume|receive]   (how the redpool receiver takes messages; default consume)
 *
 * Scenarios (the sender is this process, the receiver a child process):
 * - point-to-point: 100 recipients on the receiving process, one message to one recipient at a
 *   time (redpool: `send` to a process-local channel; socket.io: `io.to(room).emit`, one socket
 *   per room).
 * - group fan-out: 100 recipients in one group/room (redpool: `groupSend`; socket.io:
 *   `io.to('everyone').emit`); every message reaches all 100, each recipient decoding its own
 *   value (redpool: one decode per member; socket.io: the stand-in parses the packet per socket).
 * - group fan-out, one decoded value per process: the same, decoded once per message on the
 *   receiving process (redpool: the `sharedValues` option; socket.io: the stand-ins parse a
 *   broadcast's packet once — its adapter encodes it once and hands every socket the same array).
 * The redpool receiver uses `consume(channel, handler)` per recipient (what a WebSocket fan-out
 * uses: a synchronous call per message, no promise); `--api receive` runs one `receive()` loop per
 * recipient instead. Latency is send call → the recipient's handler, across processes
 * (`performance.timeOrigin + performance.now()` on one machine). Throughput is deliveries / (last
 * delivery − first send). Socket.IO recipients are socket stand-ins in the receiver's namespace
 * (`client.writeToEngine` records the packet), so neither side pays for WebSocket frames. Both
 * senders connect before the first message (redpool: `pool.ready()`; socket.io: 300 ms for its
 * subscriptions). The redpool sender has at most 100 sends (or group sends) in flight and respects
 * capacity (1000 per channel; `waitMs` for room); Socket.IO's emit has no backpressure, so its
 * sender yields to the event loop every 100 emits. Each cell also reports the Redis server's CPU
 * time (user + sys) it cost.
 */
import { spawn } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createAdapter } from '@socket.io/redis-adapter';
import { Server } from 'socket.io';
import { createPool } from '../src/index.js';
import { createChannelLayer } from '../src/channels/index.js';
import { startRedis } from '../test/support/redis-process.js';

type System = 'redpool' | 'socket.io';
type Scenario = 'p2p' | 'group' | 'group-shared';
const RECIPIENTS = 100;
const now = (): number => performance.timeOrigin + performance.now();

interface RecvResult {
  delivered: number;
  p50: number;
  p99: number;
  firstAt: number;
  lastAt: number;
  rssPeakMb: number;
}

// ---------------------------------------------------------------- receiver (child process)

/** How the redpool receiver gets its messages: `consume` handlers (the default) or `receive()` loops. */
type Api = 'consume' | 'receive';

async function receiver(system: System, scenario: Scenario, url: string, expect: number, api: Api): Promise<void> {
  const sharedValues = scenario === 'group-shared';
  const lat: number[] = [];
  let last = 0;
  let first = Infinity;
  let rssPeak = 0;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const timeout = setTimeout(done, 60_000);
  const onMessage = (m: { t: number }): void => {
    const at = now();
    lat.push(at - m.t);
    first = Math.min(first, m.t);
    last = at;
    if (lat.length >= expect) done();
  };
  let cleanup: () => Promise<void>;
  if (system === 'redpool') {
    const pool = createPool({ url, max: 10, name: 'bench-recv' });
    const layer = createChannelLayer(pool, {
      prefix: 'bench',
      capacity: 1000,
      channelCapacity: { 'specific.*': 100_000 },
      expiryMs: 60_000,
      sharedValues,
    });
    const chans = Array.from({ length: RECIPIENTS }, () => layer.newChannel());
    if (scenario !== 'p2p') for (const c of chans) await layer.groupAdd('everyone', c);
    const stop = new AbortController();
    setMaxListeners(0, stop.signal); // one signal shared by the 100 receivers
    for (const c of chans) {
      if (api === 'receive') {
        void (async () => {
          while (!stop.signal.aborted) onMessage((await layer.receive(c, { signal: stop.signal })) as { t: number });
        })().catch(() => {});
      } else void layer.consume(c, (m) => onMessage(m as { t: number }), { signal: stop.signal });
    }
    process.stdout.write(`ready ${JSON.stringify(chans)}\n`);
    cleanup = async () => {
      stop.abort();
      await layer.close();
      await pool.close();
    };
  } else {
    const pub = new Redis(url);
    const sub = pub.duplicate();
    const io = new Server();
    io.adapter(createAdapter(pub, sub));
    const nsp = io.of('/');
    const rooms = Array.from({ length: RECIPIENTS }, (_, i) => `r${i}`);
    // A broadcast encodes its packet once and hands the same array to every socket. With
    // sharedValues the stand-ins parse it once per broadcast too (as redpool decodes once per
    // process); without, once per socket (as redpool decodes once per member).
    let lastPackets: unknown[] | undefined;
    let lastValue: { t: number } | undefined;
    const parse = (packets: unknown[]): { t: number } => {
      if (sharedValues && packets === lastPackets) return lastValue!;
      const s = String(packets[0]);
      lastPackets = packets;
      return (lastValue = (JSON.parse(s.slice(s.indexOf('['))) as [string, { t: number }])[1]);
    };
    for (const room of rooms) {
      const id = `fake-${room}`;
      // A socket stand-in: the adapter's local broadcast calls client.writeToEngine per socket.
      const fake = {
        id,
        client: {
          writeToEngine(packets: unknown[]): void {
            onMessage(parse(packets));
          },
        },
      };
      (nsp.sockets as unknown as Map<string, unknown>).set(id, fake);
      void nsp.adapter.addAll(id, new Set(scenario !== 'p2p' ? ['everyone'] : [room]));
    }
    await new Promise((r) => setTimeout(r, 300)); // PSUBSCRIBE settled
    process.stdout.write(`ready ${JSON.stringify(rooms)}\n`);
    cleanup = async () => {
      await nsp.adapter.close();
      pub.disconnect();
      sub.disconnect();
    };
  }
  await finished;
  clearTimeout(timeout);
  clearInterval(sampler);
  const sorted = lat.sort((a, b) => a - b);
  const result: RecvResult = {
    delivered: lat.length,
    p50: pct(sorted, 50),
    p99: pct(sorted, 99),
    firstAt: first,
    lastAt: last,
    rssPeakMb: rssPeak / 1048576,
  };
  await new Promise((r) => process.stdout.write(`result ${JSON.stringify(result)}\n`, r));
  await cleanup();
  process.exit(0);
}

// ---------------------------------------------------------------- sender (this process)

interface Row {
  system: System;
  scenario: Scenario;
  messages: number;
  delivered: number;
  perSecond: number;
  p50: number;
  p99: number;
  rssPeakMb: number;
  redisPeakMb: number;
  /** Redis CPU time (user + sys) spent during the cell, ms. */
  redisCpuMs?: number;
}

async function send(system: System, scenario: Scenario, url: string, targets: string[], messages: number): Promise<void> {
  const payload = (s: number): { t: number; s: number; text: string } => ({ t: now(), s, text: 'hello from the other process' });
  if (system === 'redpool') {
    const pool = createPool({ url, max: 10, name: 'bench-send' });
    const layer = createChannelLayer(pool, { prefix: 'bench', capacity: 1000, channelCapacity: { 'specific.*': 100_000 } });
    await pool.ready();
    let next = 0;
    const inFlight = 100;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < messages) {
          const s = next++;
          if (scenario === 'p2p') await layer.send(targets[s % targets.length]!, payload(s), { waitMs: 30_000 });
          else await layer.groupSend('everyone', payload(s));
        }
      }),
    );
    await layer.close();
    await pool.close();
  } else {
    const pub = new Redis(url);
    const sub = pub.duplicate();
    const io = new Server();
    io.adapter(createAdapter(pub, sub));
    await new Promise((r) => setTimeout(r, 300));
    for (let s = 0; s < messages; s++) {
      io.to(scenario === 'p2p' ? targets[s % targets.length]! : 'everyone').emit('m', payload(s));
      if (s % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    await pub.ping(); // every publish written
    await io.of('/').adapter.close();
    pub.disconnect();
    sub.disconnect();
  }
}

function pct(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function cell(
  system: System,
  scenario: Scenario,
  url: string,
  messages: number,
  redisMem: () => Promise<number>,
  api: Api,
): Promise<Row> {
  const expect = scenario === 'p2p' ? messages : messages * RECIPIENTS;
  const self = fileURLToPath(import.meta.url);
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      self,
      '--role',
      'recv',
      '--system',
      system,
      '--scenario',
      scenario,
      '--url',
      url,
      '--expect',
      String(expect),
      '--api',
      api,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout });
  const it = lines[Symbol.asyncIterator]();
  const readLine = async (prefix: string): Promise<string> => {
    for (;;) {
      const { value, done } = await it.next();
      if (done) throw new Error(`receiver exited before "${prefix}"`);
      if (String(value).startsWith(prefix)) return String(value).slice(prefix.length);
    }
  };
  const targets = JSON.parse(await readLine('ready ')) as string[];
  let redisPeak = await redisMem();
  const memTimer = setInterval(
    () =>
      void redisMem().then(
        (m) => (redisPeak = Math.max(redisPeak, m)),
        () => {},
      ),
    100,
  );
  await send(system, scenario, url, targets, messages);
  const r = JSON.parse(await readLine('result ')) as RecvResult;
  clearInterval(memTimer);
  lines.close();
  await new Promise((res) => (child.exitCode !== null ? res(null) : child.once('exit', res)));
  return {
    system,
    scenario,
    messages,
    delivered: r.delivered,
    perSecond: r.delivered / ((r.lastAt - r.firstAt) / 1000),
    p50: r.p50,
    p99: r.p99,
    rssPeakMb: r.rssPeakMb,
    redisPeakMb: redisPeak,
  };
}

function fmtMs(ms: number): string {
  return ms < 1 ? `${Math.round(ms * 1000)}µs` : ms < 100 ? `${ms.toFixed(2)}ms` : `${Math.round(ms)}ms`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      role: { type: 'string' },
      system: { type: 'string' },
      scenario: { type: 'string' },
      url: { type: 'string' },
      expect: { type: 'string' },
      quick: { type: 'boolean' },
      rounds: { type: 'string' },
      out: { type: 'string' },
      only: { type: 'string' },
      api: { type: 'string' },
    },
  });
  const api: Api = values.api === 'receive' ? 'receive' : 'consume';
  if (values.role === 'recv')
    return receiver(values.system as System, values.scenario as Scenario, values.url!, Number(values.expect), api);
  const quick = values.quick ?? false;
  const rounds = Number(values.rounds ?? (quick ? 1 : 3));
  const sizes: Record<Scenario, number> = { p2p: quick ? 5000 : 20_000, group: quick ? 100 : 500, 'group-shared': quick ? 100 : 500 };
  const server = await startRedis();
  try {
    const redisMem = async (): Promise<number> =>
      Number(/used_memory:(\d+)/.exec(String(await server.command('INFO', 'memory')))?.[1] ?? NaN) / 1048576;
    const redisCpu = async (): Promise<number> => {
      const info = String(await server.command('INFO', 'cpu'));
      const f = (k: string): number => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
      return (f('used_cpu_user') + f('used_cpu_sys')) * 1000;
    };
    const rows: Row[] = [];
    const log: string[] = [];
    const scenarios = (['p2p', 'group', 'group-shared'] as const).filter((s) => values.scenario === undefined || s === values.scenario);
    for (const scenario of scenarios) {
      const byRound: Row[][] = [];
      for (let round = 0; round < rounds; round++) {
        // Alternate who goes first, so neither always runs on a warmer machine.
        const both: System[] = round % 2 === 0 ? ['redpool', 'socket.io'] : ['socket.io', 'redpool'];
        // --only redpool|socket.io: one system (profiling); the results file needs both.
        const order = values.only === undefined ? both : both.filter((s) => s === values.only);
        const got: Row[] = [];
        for (const system of order) {
          await server.command('FLUSHALL');
          const cpu0 = await redisCpu();
          const row = await cell(system, scenario, server.url, sizes[scenario], redisMem, api);
          row.redisCpuMs = (await redisCpu()) - cpu0;
          const line = `${scenario} ${system} round ${round + 1}: ${Math.round(row.perSecond)}/s p99 ${fmtMs(row.p99)} delivered ${row.delivered} redis cpu ${Math.round(row.redisCpuMs ?? NaN)}ms`;
          console.error(line);
          log.push(line);
          got.push(row);
        }
        byRound.push(got);
      }
      // Median round by throughput, per system.
      for (const system of ['redpool', 'socket.io'] as const) {
        const mine = byRound.flatMap((g) => g.filter((r) => r.system === system)).sort((a, b) => a.perSecond - b.perSecond);
        if (mine.length > 0) rows.push(mine[Math.floor(mine.length / 2)]!);
      }
    }
    const title: Record<Scenario, string> = {
      p2p: 'point-to-point (100 recipients)',
      group: `group fan-out (${RECIPIENTS} members)`,
      'group-shared': `group fan-out (${RECIPIENTS} members), one decoded value per process`,
    };
    const out = [
      '# Channel layer benchmark',
      '',
      `Produced by \`node build/bench/channels.js${quick ? ' --quick' : ''} --rounds ${rounds}${api === 'receive' ? ' --api receive' : ''}\` on ${new Date().toISOString()}: two processes (sender, receiver) on one machine and one redis-server; median round by throughput. See the header of bench/channels.ts for the method.`,
      '',
      `Machine: ${cpus().length} cores, load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' / ')} (1 / 5 / 15 min) at the end of the run (other work shares the machine).`,
      '',
      '| scenario | system | messages sent | delivered | deliveries/s | p50 | p99 | receiver RSS peak | Redis used_memory peak | Redis CPU |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows.map(
        (r) =>
          `| ${title[r.scenario]} | ${r.system === 'redpool' ? 'redpool/channels' : '@socket.io/redis-adapter 8.3'} | ${r.messages.toLocaleString('en-US')} | ${r.delivered.toLocaleString('en-US')} | ${Math.round(r.perSecond).toLocaleString('en-US')} | ${fmtMs(r.p50)} | ${fmtMs(r.p99)} | ${r.rssPeakMb.toFixed(0)} MB | ${r.redisPeakMb.toFixed(1)} MB | ${Math.round(r.redisCpuMs ?? NaN)} ms |`,
      ),
      '',
      'Every round (deliveries/s, p99):',
      '',
      ...log.map((l) => `- ${l}`),
      '',
    ].join('\n');
    console.log(out);
    if (values.out) writeFileSync(values.out, out);
  } finally {
    await server.stop();
  }
}

await main();
