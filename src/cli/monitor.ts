/**
 * `redpool monitor [URL]`: the `redis-cli INFO` watch operators run by hand, refreshed every
 * interval: clients, blocked clients, rejected and received connections, ops/s, memory,
 * keyspace hits/misses with the hit ratio, evictions — with rates between samples.
 */
import { openToolPool, readInfo } from '../load/server-info.js';
import type { Pool } from '../index.js';
import { EXIT, num, parse, target } from './args.js';
import { monitorCluster } from './monitor-cluster.js';
import { monitorSentinel } from './monitor-sentinel.js';
import { sampleBlock, sampleFrom, sampleLine, type Raw } from './monitor-sample.js';
import { failureMessage, print, printErr } from './output.js';
import { sentinelTarget } from './sentinel.js';
import { Session } from './session.js';

export { sampleBlock, sampleFrom, sampleLine, type MonitorSample } from './monitor-sample.js';

export const MONITOR_HELP = `Usage: redpool monitor [URL] [options]

Prints server figures from INFO every interval, with rates between samples:
connected_clients, blocked_clients, rejected_connections, total_connections_received,
instantaneous_ops_per_sec, used_memory_human, keyspace hits/misses (+ hit ratio), evicted_keys.
The URL defaults to $REDIS_URL, then redis://127.0.0.1:6379. Stop with Ctrl-C.

A Redis Cluster node (INFO cluster_enabled:1, or --cluster) is a seed: every node of the
cluster is sampled (primaries and replicas, from CLUSTER NODES, re-read each sample), one row
or line per node, rates per node; --json prints { target, cluster: true, time, nodes: [...] }.

A Sentinel deployment (--sentinel host:port[,host:port] --name MASTER): the primary the pool
follows and every replica the sentinels list (re-read each sample, so a failover shows as
swapped roles), with replication offset and lag, under a line with the pool's
stats().sentinel; --json prints { target, sentinel: true, time, primary, stats, nodes: [...] }.
The URL, if given, only supplies the data nodes' credentials and TLS.

Options:
  --url URL            Redis URL (instead of the argument)
  --cluster            treat the URL as a cluster seed (without it: when the server says so)
  --sentinel LIST      sentinels as host:port[,host:port…] (port default 26379)
  --name MASTER        the master name the sentinels monitor (required with --sentinel)
  --sentinel-tls       TLS to the sentinels
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
  cluster: { type: 'boolean' },
  sentinel: { type: 'string' },
  name: { type: 'string' },
  'sentinel-tls': { type: 'boolean' },
} as const;

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
  const sentinel = sentinelTarget(p, t.url);
  const intervalMs = Math.round(num(p, 'interval', 1, { min: 0.05, max: 3600 }) * 1000);
  const once = p.values['once'] === true;
  const count = once ? 1 : num(p, 'count', Infinity, { min: 1, max: 1e9, integer: true });
  const timeoutMs = num(p, 'timeout', 2_000, { min: 10, max: 600_000, integer: true });
  const json = p.values['json'] === true;
  const live = !json && process.stdout.isTTY === true && !once;

  const session = new Session();
  const cluster = (): Promise<number> =>
    monitorCluster({ url: t.url, display: t.display, intervalMs, count, timeoutMs, json, once, live, signal: session.signal, sleep });
  if (sentinel) {
    try {
      return await monitorSentinel(sentinel, { intervalMs, count, timeoutMs, json, once, live, signal: session.signal, sleep });
    } finally {
      session.end();
    }
  }
  if (p.values['cluster'] === true) {
    try {
      return await cluster();
    } finally {
      session.end();
    }
  }
  const pool: Pool = openToolPool(t.url ?? {}, timeoutMs);
  let prev: Raw | undefined;
  let failures = 0;
  let drawn = 0;
  let clusterEnabled = false;
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
      // A cluster node: monitor the whole cluster instead (this pool is closed first).
      if (i === 0 && cur.info['cluster_enabled'] === '1') {
        clusterEnabled = true;
        break;
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
    if (!clusterEnabled) return failures > 0 ? EXIT.failure : EXIT.ok;
  } finally {
    await pool.destroy();
    if (!clusterEnabled) session.end();
  }
  try {
    return await cluster();
  } finally {
    session.end();
  }
}
