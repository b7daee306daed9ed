/**
 * The compat views emulate one ioredis / node-redis client: one database (`SELECT`), one
 * keyspace to `SCAN`/`KEYS`, `MULTI`/`WATCH` on any keys, `duplicate()`, one subscriber
 * connection. A cluster has none of these as one thing (sixteen thousand slots on several
 * nodes, db 0 only), so a view over a `ClusterPool` would answer some calls for one node and
 * fail others deep inside: it is refused up front instead.
 */
import { ConfigError } from '../errors.js';

/** Throws `ConfigError` (option `pool`) when `pool` is a cluster pool. */
export function requireSingleNode(pool: { readonly options: { readonly cluster?: unknown } }, view: string): void {
  if (pool.options.cluster !== undefined)
    throw new ConfigError(
      'pool',
      `${view}() wraps a single-node Pool and was given a cluster pool: a client view needs one keyspace and one database ` +
        '(SCAN, KEYS, SELECT, MULTI on any keys, one subscriber); use the cluster pool directly (same commands, routed by slot), ' +
        'clusterPool.subscriber() for pub/sub, or a view per node pool',
    );
}
