/**
 * Checks of the `cluster` option's contents and of the options that only make sense with (or
 * without) it. Every error is a {@link ConfigError} naming the exact field (`cluster.nodes[1].port`).
 */
import { ConfigError } from '../errors.js';
import { compileNatMap } from '../topology/cluster/nat-map.js';
import { MAX_TIMER_MS } from './table.js';
import type { ClusterOptions, PoolOptions } from './types.js';
import { isPlainObject, typeName } from './validate.js';

const KEYS = new Set(['nodes', 'natMap', 'maxRedirections', 'refreshIntervalMs', 'minRefreshIntervalMs']);

function checkMs(name: string, v: unknown, min: number, infinite: boolean): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || Number.isNaN(v)) throw new ConfigError(name, `expected a number, got ${typeName(v)}`);
  if (v === Infinity && infinite) return;
  if (!Number.isFinite(v) || v < min || v > MAX_TIMER_MS)
    throw new ConfigError(name, `must be ${min}..${MAX_TIMER_MS}${infinite ? ' or Infinity' : ''}, got ${String(v)}`);
}

/** Validates `given.cluster` (when set) and the options around it; throws ConfigError naming the field. */
export function checkClusterOptions(given: PoolOptions): void {
  const c = given.cluster as unknown;
  if (c === undefined) {
    // A Sentinel pool that reads from replicas has one engine per node too: the same total.
    const replicaReads = given.sentinel !== undefined && given.readFrom !== undefined && given.readFrom !== 'primary';
    if (given.maxTotal !== undefined && !replicaReads)
      throw new ConfigError('maxTotal', 'applies to a cluster, or a Sentinel pool with readFrom other than "primary" (else use `max`)');
    if (given.maxTotal !== undefined && given.maxTotal < (given.lanes ?? ((given.max ?? 10) < 4 ? 1 : 2)))
      throw new ConfigError('maxTotal', 'must be >= lanes: the primary needs its lanes');
    return;
  }
  if (!isPlainObject(c)) throw new ConfigError('cluster', `expected a plain object { nodes, … }, got ${typeName(c)}`);
  for (const k of Object.keys(c)) if (!KEYS.has(k)) throw new ConfigError(`cluster.${k}`, 'unknown option');
  for (const k of ['url', 'host', 'port', 'path'] as const) {
    if (given[k] !== undefined)
      throw new ConfigError('cluster', `cannot be combined with "${k}": the cluster's seeds are \`cluster.nodes\``);
  }
  if (given.db !== undefined && given.db !== 0) throw new ConfigError('db', 'a cluster has only database 0');
  const nodes = (c as unknown as Partial<ClusterOptions>).nodes as unknown;
  if (!Array.isArray(nodes) || nodes.length === 0)
    throw new ConfigError('cluster.nodes', 'expected a non-empty array of { host, port } seed nodes');
  nodes.forEach((n: unknown, i) => {
    const name = `cluster.nodes[${i}]`;
    if (!isPlainObject(n)) throw new ConfigError(name, `expected { host, port }, got ${typeName(n)}`);
    if (typeof n.host !== 'string' || n.host === '') throw new ConfigError(`${name}.host`, 'expected a non-empty string');
    if (typeof n.port !== 'number' || !Number.isInteger(n.port) || n.port < 1 || n.port > 65535)
      throw new ConfigError(`${name}.port`, `expected an integer 1..65535, got ${String(n.port as unknown)}`);
  });
  compileNatMap((c as unknown as ClusterOptions).natMap);
  const r = (c as unknown as ClusterOptions).maxRedirections as unknown;
  if (r !== undefined && (typeof r !== 'number' || !Number.isInteger(r) || r < 0 || r > 100))
    throw new ConfigError('cluster.maxRedirections', `expected an integer 0..100, got ${String(r)}`);
  checkMs('cluster.refreshIntervalMs', (c as unknown as ClusterOptions).refreshIntervalMs, 100, true);
  checkMs('cluster.minRefreshIntervalMs', (c as unknown as ClusterOptions).minRefreshIntervalMs, 0, false);
  const lanes = given.lanes ?? ((given.max ?? 10) < 4 ? 1 : 2);
  if (given.maxTotal !== undefined && given.maxTotal < lanes)
    throw new ConfigError('maxTotal', `must be >= lanes (maxTotal=${given.maxTotal}, lanes=${lanes}): each node needs its lanes`);
}
