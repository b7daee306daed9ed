/**
 * The fault scenarios of the reliability report. Each one names how to inject the fault, how
 * long to hold it, and how to clear it. Injections use only loopback: real redis-server processes (signals, restarts, CONFIG,
 * CLIENT KILL, DEBUG) and the in-process fault proxy.
 */
import net from 'node:net';
import type { PoolOptions } from '../../../src/options.js';
import type { Pool } from '../../../src/pool/pool.js';
import type { RedisProcess, RedisProcessOptions } from '../../support/redis-process.js';
import { encodeCommand, respCommand, respPipeline, type RespArg } from '../../support/resp-mini.js';
import type { FaultProxy } from '../../helpers/fault-proxy.js';
import { CANARY_PASSWORD } from './capture.js';
import { sleep } from './guard.js';
import { clientList } from './server.js';
import type { Workload } from './workload.js';

/** What a scenario can act on. */
export interface ScenarioContext {
  server: RedisProcess;
  proxy: FaultProxy | undefined;
  pool: Pool;
  /** Pool name: our connections are `redpool:<name>:<n>`. */
  name: string;
  workload: Workload;
  /** Password the pool's credentials provider returns for new connections. */
  password: string;
  /** Scenario-private state (a background promise, a raw socket …). */
  state: Record<string, unknown>;
}

/** One fault type. */
export interface Scenario {
  id: string;
  title: string;
  /** Part of `--quick`. */
  quick: boolean;
  server?: RedisProcessOptions;
  /** Route the pool through a fault proxy. */
  proxy?: boolean;
  pool?: PoolOptions;
  /** Before the workload starts (e.g. load a dataset). */
  prepare?(ctx: ScenarioContext): Promise<void>;
  /** Injects the fault. */
  inject(ctx: ScenarioContext): Promise<void>;
  /** How long the fault stays before `clear`, in ms. */
  holdMs: number;
  /** Clears the fault; recovery time is measured from when this resolves. */
  clear(ctx: ScenarioContext): Promise<void>;
}

/** The rotated password of the auth scenario (contains the canary, so it is scanned too). */
export const ROTATED_PASSWORD = `${CANARY_PASSWORD}-rotated`;

async function ourIds(ctx: ScenarioContext): Promise<string[]> {
  return (await clientList(ctx.server)).filter((c) => c['name']?.startsWith(`redpool:${ctx.name}:`)).map((c) => c['id']!);
}

async function killOurs(ctx: ScenarioContext): Promise<void> {
  for (const id of await ourIds(ctx)) await ctx.server.command('CLIENT', 'KILL', 'ID', id).catch(() => 0);
}

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // deliberately blocking the event loop
  }
}

/** A raw, authenticated connection that holds a server slot and can send commands. */
async function rawConnection(server: RedisProcess, password: string): Promise<{ send(args: RespArg[]): Promise<string>; close(): void }> {
  const socket = net.connect({ host: server.host, port: server.port });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const send = (args: RespArg[]): Promise<string> =>
    new Promise((resolve) => {
      socket.once('data', (d: Buffer) => resolve(d.toString('utf8')));
      socket.write(encodeCommand(args));
    });
  await send(['AUTH', password]);
  return { send, close: () => socket.destroy() };
}

const LOADING_ARGS = ['--key-load-delay', '15', '--loading-process-events-interval-bytes', '1024'];

/** Every scenario, in report order. */
export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'baseline',
    title: 'no fault (control run)',
    quick: true,
    holdMs: 800,
    inject: async () => undefined,
    clear: async () => undefined,
  },
  {
    id: 'server-frozen',
    title: 'SIGSTOP 1.5 s (longer than the deadline), then SIGCONT',
    quick: true,
    holdMs: 1_500,
    inject: async (c) => c.server.pause(),
    clear: async (c) => c.server.resume(),
  },
  {
    // Long enough for an uncapped reconnect backoff to grow past seconds: recovery must not.
    id: 'server-frozen-3s',
    title: 'SIGSTOP 3 s, then SIGCONT',
    quick: false,
    holdMs: 3_000,
    inject: async (c) => c.server.pause(),
    clear: async (c) => c.server.resume(),
  },
  {
    id: 'restart-same-port',
    title: 'SHUTDOWN SAVE, down 1 s, restart on the same port',
    quick: true,
    holdMs: 1_000,
    inject: async (c) => {
      await c.server.command('SHUTDOWN', 'SAVE').catch(() => undefined);
    },
    clear: async (c) => c.server.restart(),
  },
  {
    id: 'restart-after-4s',
    title: 'SHUTDOWN SAVE, down 4 s, restart on the same port',
    quick: false,
    holdMs: 4_000,
    inject: async (c) => {
      await c.server.command('SHUTDOWN', 'SAVE').catch(() => undefined);
    },
    clear: async (c) => c.server.restart(),
  },
  {
    id: 'crash-restart',
    title: 'SIGKILL with commands in flight (AOF fsync always), restart',
    quick: false,
    holdMs: 800,
    server: { args: ['--appendonly', 'yes', '--appendfsync', 'always'] },
    inject: async (c) => c.server.kill(),
    clear: async (c) => c.server.restart(),
  },
  {
    id: 'loading',
    title: 'restart with a dataset: -LOADING for ~1.5 s',
    quick: false,
    holdMs: 0,
    prepare: async (c) => {
      await c.server.command('DEBUG', 'POPULATE', '15000', 'pop', '10');
    },
    inject: async (c) => {
      await c.server.command('SHUTDOWN', 'SAVE').catch(() => undefined);
      await c.server.restart({ extraArgs: LOADING_ARGS, acceptLoading: true });
    },
    // The server answers commands again once the load is done: recovery is measured from there.
    clear: async (c) => {
      const until = performance.now() + 10_000;
      while (performance.now() < until && /loading:1/.test(String(await c.server.command('INFO', 'persistence').catch(() => 'loading:1'))))
        await sleep(5);
    },
  },
  {
    id: 'busy-script',
    title: 'Lua script loop (-BUSY) for 1 s, then SCRIPT KILL',
    quick: false,
    holdMs: 1_000,
    server: { args: ['--busy-reply-threshold', '100'] },
    inject: async (c) => {
      c.state['script'] = respCommand(c.server.target(), ['EVAL', 'while true do end', '0'], {
        password: c.password,
        timeoutMs: 10_000,
      }).catch(() => undefined);
      await sleep(50);
    },
    clear: async (c) => {
      await c.server.command('SCRIPT', 'KILL').catch(() => undefined);
      await c.state['script'];
    },
  },
  {
    id: 'debug-sleep',
    title: 'DEBUG SLEEP 1.5 (reply past the deadline)',
    quick: true,
    holdMs: 0,
    inject: async (c) => {
      c.state['sleep'] = respCommand(c.server.target(), ['DEBUG', 'SLEEP', '1.5'], { password: c.password, timeoutMs: 5_000 }).catch(
        () => undefined,
      );
      await sleep(20);
    },
    clear: async (c) => {
      await c.state['sleep'];
    },
  },
  {
    id: 'client-pause-write',
    title: 'CLIENT PAUSE 1500 WRITE (writes held, run late)',
    quick: false,
    holdMs: 0,
    inject: async (c) => {
      await c.server.command('CLIENT', 'PAUSE', '1500', 'WRITE');
    },
    clear: async () => sleep(1_500),
  },
  {
    id: 'event-loop-stall',
    title: 'client event loop blocked 600 ms (2x the deadline)',
    quick: false,
    holdMs: 0,
    inject: async () => busyWait(600),
    clear: async () => undefined,
  },
  {
    id: 'client-kill',
    title: 'CLIENT KILL of all pool connections, 3 times, 300 ms apart',
    quick: true,
    holdMs: 0,
    inject: async (c) => {
      for (let i = 0; i < 3; i++) {
        await killOurs(c);
        await sleep(300);
      }
    },
    clear: async () => undefined,
  },
  {
    id: 'idle-timeout',
    title: 'server timeout 1 s while the workload idles 2.5 s',
    quick: false,
    holdMs: 2_500,
    pool: { min: 3 },
    inject: async (c) => {
      c.workload.pause();
      await c.server.command('CONFIG', 'SET', 'timeout', '1');
    },
    clear: async (c) => {
      await c.server.command('CONFIG', 'SET', 'timeout', '0');
      c.workload.resume();
    },
  },
  {
    id: 'blackhole',
    title: 'proxy blackhole 1.5 s (half-open sockets, connects hang)',
    quick: true,
    holdMs: 1_500,
    proxy: true,
    inject: async (c) => c.proxy!.blackhole(),
    clear: async (c) => c.proxy!.pass(),
  },
  {
    id: 'reset-mid-reply',
    title: 'proxy resets every connection after 3000 reply bytes, 1 s',
    quick: true,
    holdMs: 1_000,
    proxy: true,
    inject: async (c) => c.proxy!.resetAfterBytes(3_000),
    clear: async (c) => c.proxy!.pass(),
  },
  {
    id: 'proxy-delay',
    title: 'proxy delays every chunk 500 ms (past the deadline), 1.5 s',
    quick: false,
    holdMs: 1_500,
    proxy: true,
    inject: async (c) => c.proxy!.delay(500),
    clear: async (c) => c.proxy!.pass(),
  },
  {
    id: 'handshake-cut',
    title: 'all connections reset; new ones reset at the first handshake byte, 1 s',
    quick: false,
    holdMs: 1_000,
    proxy: true,
    inject: async (c) => {
      await c.proxy!.truncateReplyAfter(0, 'reset');
      c.proxy!.resetAll();
    },
    clear: async (c) => c.proxy!.pass(),
  },
  {
    id: 'maxclients',
    title: 'maxclients reached, pool connections killed, 1 s',
    quick: false,
    holdMs: 1_000,
    inject: async (c) => {
      // One raw connection keeps the only slot; the rest happens in one pipeline on a connection
      // opened before the limit drops.
      const holder = await rawConnection(c.server, c.password);
      c.state['holder'] = holder;
      const ids = await ourIds(c);
      await respPipeline(c.server.target(), [['CONFIG', 'SET', 'maxclients', '1'], ...ids.map((id) => ['CLIENT', 'KILL', 'ID', id])], {
        password: c.password,
        timeoutMs: 2_000,
      });
    },
    clear: async (c) => {
      const holder = c.state['holder'] as Awaited<ReturnType<typeof rawConnection>>;
      await holder.send(['CONFIG', 'SET', 'maxclients', '10000']);
      holder.close();
    },
  },
  {
    id: 'oom',
    title: 'maxmemory reached (noeviction) for 1 s',
    quick: true,
    holdMs: 1_000,
    server: { args: ['--maxmemory-policy', 'noeviction'] },
    inject: async (c) => {
      await c.server.command('CONFIG', 'SET', 'maxmemory', '1');
    },
    clear: async (c) => {
      await c.server.command('CONFIG', 'SET', 'maxmemory', '0');
    },
  },
  {
    id: 'auth-rotation',
    title: 'password rotated on the server, connections killed; provider updated 1 s later',
    quick: false,
    holdMs: 1_000,
    inject: async (c) => {
      await c.server.setPassword(ROTATED_PASSWORD);
      await killOurs(c);
    },
    clear: async (c) => {
      c.password = ROTATED_PASSWORD;
    },
  },
];
