/**
 * The figures `redpool monitor` shows for one server: a sample built from INFO (and the previous
 * INFO, for rates), as a terminal block or one log line. Shared by the single-node and the
 * cluster monitor.
 */
import { infoNumber, keyspaceKeys, type InfoFields } from '../load/server-info.js';
import { fmtCount } from '../load/format.js';

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

/** One INFO read and when it was taken (ms since the epoch). */
export interface Raw {
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
