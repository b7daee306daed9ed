/**
 * `redpool monitor [URL]`: the `redis-cli INFO` watch operators run by hand, refreshed every
 * interval: clients, blocked clients, rejected and received connections, ops/s, memory,
 * keyspace hits/misses with the hit ratio, evictions — with rates between samples.
 */
import { infoNumber, keyspaceKeys, openToolPool, readInfo, type InfoFields } from '../load/server-info.js';
import { fmtCount } from '../load/format.js';
import type { Pool } from '../index.js';
import { EXIT, num, parse, target } from './args.js';
import { failureMessage, print, printErr } from './output.js';
import { Session } from './session.js';

export const MONITOR_HELP = `Usage: redpool monitor [URL] [options]

Prints server figures from INFO every interval, with rates between samples:
connected_clients, blocked_clients, rejected_connections, total_connections_received,
instantaneous_ops_per_sec, used_memory_human, keyspace hits/misses (+ hit ratio), evicted_keys.
The URL defaults to $REDIS_URL, then redis://127.0.0.1:6379. Stop with Ctrl-C.

Options:
  --url URL            Redis URL (instead of the argument)
  --interval SECONDS   time between samples (default 1)
  --count N            stop after N samples
  --once               print one snapshot and exit (rates need two samples: shown as null/–)
  --timeout MS         deadline of each INFO in milliseconds (default 2000)
  --json               one JSON object per sample (one per line)
  -h, --help           show this help

Exit codes: 0 done, 1 a sample failed (e.g. the server is down), 2 bad arguments.`;

const MONITOR_OPTIONS = {
  url: { type: 'string' },
  interval: { type: 'string', short: 'i' },
  count: { type: 'string', short: 'n' },
  once: { type: 'boolean' },
  timeout: { type: 'string', short: 't' },
  json: { type: 'boolean' },
} as const;

/** One monitor sample. Rates are per second since the previous sample (null on the first). */
export interface MonitorSample {
  time: string;
  connectedClients: number | null;
  blockedClients: number | null;
  rejectedConnections: number | null;
  rejectedPerSec: number | null;
  totalConnectionsReceived: number | null;
  connectionsPerSec: number | null;
  opsPerSec: number | null;
  commandsPerSec: number | null;
  usedMemory: number | null;
  usedMemoryHuman: string | null;
  keys: number;
  keyspaceHits: number | null;
  keyspaceMisses: number | null;
  /** hits / (hits + misses) since server start, 0..1, or null with no lookups. */
  hitRatio: number | null;
  /** The same over the last interval. */
  intervalHitRatio: number | null;
  evictedKeys: number | null;
  evictedPerSec: number | null;
}

interface Raw {
  at: number;
  info: InfoFields;
}

/** Builds a sample from INFO (and the previous INFO for rates). */
export function sampleFrom(cur: Raw, prev: Raw | undefined): MonitorSample {
  const n = (f: string): number | null => infoNumber(cur.info, f);
  const secs = prev ? (cur.at - prev.at) / 1000 : 0;
  const rate = (f: string): number | null => {
    if (!prev || secs <= 0) return null;
    const a = infoNumber(cur.info, f);
    const b = infoNumber(prev.info, f);
    return a === null || b === null ? null : Math.round((Math.max(0, a - b) / secs) * 10) / 10;
  };
  const hits = n('keyspace_hits');
  const misses = n('keyspace_misses');
  const ratio = (h: number | null, m: number | null): number | null =>
    h === null || m === null || h + m === 0 ? null : Math.round((h / (h + m)) * 10_000) / 10_000;
  let interval: number | null = null;
  if (prev && hits !== null && misses !== null) {
    const ph = infoNumber(prev.info, 'keyspace_hits');
    const pm = infoNumber(prev.info, 'keyspace_misses');
    if (ph !== null && pm !== null) interval = ratio(hits - ph, misses - pm);
  }
  return {
    time: new Date(cur.at).toISOString(),
    connectedClients: n('connected_clients'),
    blockedClients: n('blocked_clients'),
    rejectedConnections: n('rejected_connections'),
    rejectedPerSec: rate('rejected_connections'),
    totalConnectionsReceived: n('total_connections_received'),
    connectionsPerSec: rate('total_connections_received'),
    opsPerSec: n('instantaneous_ops_per_sec'),
    commandsPerSec: rate('total_commands_processed'),
    usedMemory: n('used_memory'),
    usedMemoryHuman: cur.info['used_memory_human'] ?? null,
    keys: keyspaceKeys(cur.info),
    keyspaceHits: hits,
    keyspaceMisses: misses,
    hitRatio: ratio(hits, misses),
    intervalHitRatio: interval,
    evictedKeys: n('evicted_keys'),
    evictedPerSec: rate('evicted_keys'),
  };
}

const v = (x: number | null): string => (x === null ? '–' : fmtCount(x));
const r = (x: number | null): string => (x === null ? '' : `${fmtCount(x)}/s`);
const pct = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(1)} %`);

/** Multi-line block for a terminal. */
export function sampleBlock(s: MonitorSample, header: string): string {
  const row = (k: string, val: string, rate = ''): string => `  ${k.padEnd(28)}${val.padStart(12)}  ${rate}`;
  return [
    header,
    row('connected_clients', v(s.connectedClients)),
    row('blocked_clients', v(s.blockedClients)),
    row('rejected_connections', v(s.rejectedConnections), r(s.rejectedPerSec)),
    row('total_connections_received', v(s.totalConnectionsReceived), r(s.connectionsPerSec)),
    row('instantaneous_ops_per_sec', v(s.opsPerSec), s.commandsPerSec === null ? '' : `(commands ${r(s.commandsPerSec)})`),
    row('used_memory_human', s.usedMemoryHuman ?? '–'),
    row('keys', v(s.keys)),
    row(
      'keyspace hits / misses',
      `${v(s.keyspaceHits)} / ${v(s.keyspaceMisses)}`,
      `hit ratio ${pct(s.hitRatio)}${s.intervalHitRatio === null ? '' : `, last interval ${pct(s.intervalHitRatio)}`}`,
    ),
    row('evicted_keys', v(s.evictedKeys), r(s.evictedPerSec)),
  ].join('\n');
}

/** One line for logs and pipes: `key=value` pairs, rates in parentheses. */
export function sampleLine(s: MonitorSample): string {
  const rate = (x: number | null): string => (x === null ? '' : `(+${fmtCount(x)}/s)`);
  const p = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);
  return (
    `${s.time} clients=${v(s.connectedClients)} blocked=${v(s.blockedClients)} rejected=${v(s.rejectedConnections)}${rate(s.rejectedPerSec)} ` +
    `conns=${v(s.totalConnectionsReceived)}${rate(s.connectionsPerSec)} ops/s=${v(s.opsPerSec)}${s.commandsPerSec === null ? '' : ` cmds/s=${fmtCount(s.commandsPerSec)}`} ` +
    `mem=${s.usedMemoryHuman ?? '–'} keys=${v(s.keys)} hits=${v(s.keyspaceHits)} misses=${v(s.keyspaceMisses)} hit_ratio=${p(s.hitRatio)}` +
    `${s.intervalHitRatio === null ? '' : `(last ${p(s.intervalHitRatio)})`} evicted=${v(s.evictedKeys)}${rate(s.evictedPerSec)}`
  );
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Runs `redpool monitor`; resolves with the exit code. */
export async function monitorCommand(argv: string[]): Promise<number> {
  const p = parse(argv, MONITOR_OPTIONS, 1);
  if (p.values['help']) {
    print(MONITOR_HELP);
    return EXIT.ok;
  }
  const t = target(p);
  const intervalMs = Math.round(num(p, 'interval', 1, { min: 0.05, max: 3600 }) * 1000);
  const once = p.values['once'] === true;
  const count = once ? 1 : num(p, 'count', Infinity, { min: 1, max: 1e9, integer: true });
  const timeoutMs = num(p, 'timeout', 2_000, { min: 10, max: 600_000, integer: true });
  const json = p.values['json'] === true;
  const live = !json && process.stdout.isTTY === true && !once;

  const session = new Session();
  const pool: Pool = openToolPool(t.url ?? {}, timeoutMs);
  let prev: Raw | undefined;
  let failures = 0;
  let drawn = 0;
  try {
    await pool.ready();
    for (let i = 0; i < count && !session.signal.aborted; i++) {
      if (i > 0) await sleep(intervalMs, session.signal);
      if (session.signal.aborted) break;
      let cur: Raw;
      try {
        cur = { at: Date.now(), info: await readInfo(pool) };
      } catch (err) {
        failures++;
        printErr(`redpool monitor: ${t.display}: sample failed: ${failureMessage(err)}`);
        continue;
      }
      const s = sampleFrom(cur, prev);
      prev = cur;
      if (json) print(JSON.stringify({ target: t.display, ...s }));
      else if (live) {
        // Redraw in place: move up over the previous block, clear to the end of the screen.
        if (drawn > 0) process.stdout.write(`\x1b[${drawn}A\x1b[J`);
        const block = sampleBlock(s, `redpool monitor · ${t.display} · ${s.time} · every ${intervalMs / 1000}s (Ctrl-C to stop)`);
        print(block);
        drawn = block.split('\n').length;
      } else if (once) print(sampleBlock(s, `redpool monitor · ${t.display} · ${s.time}`));
      else print(sampleLine(s));
    }
    // A sample that failed is a failed run (a dead server must not look like a quiet one).
    return failures > 0 ? EXIT.failure : EXIT.ok;
  } finally {
    await pool.destroy();
    session.end();
  }
}
