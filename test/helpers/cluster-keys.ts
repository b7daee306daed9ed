/**
 * Keys by hash slot for cluster tests: one pass over a counter finds a key for every slot
 * (about 160 k hashes, once per process), so tests can address any slot or node directly.
 */
import { keySlot } from '../../src/topology/cluster/keys.js';
import type { ClusterNode, RedisCluster } from './topology.js';

let table: string[] | undefined;

/** A key (`k<n>`) whose slot is `slot`; with `prefix`, `{k<n>}<prefix>` (same slot, hash tag). */
export function keyInSlot(slot: number, prefix?: string): string {
  if (!table) {
    const t = new Array<string>(16384);
    let missing = 16384;
    for (let i = 0; missing > 0; i++) {
      const key = `k${i}`;
      const s = keySlot(key);
      if (t[s] === undefined) {
        t[s] = key;
        missing--;
      }
    }
    table = t;
  }
  const base = table[slot]!;
  return prefix === undefined ? base : `{${base}}${prefix}`;
}

/** The primary that owned `slot` when the cluster was created. */
export function ownerAt(c: RedisCluster, slot: number): ClusterNode {
  const owner = c.primaries.find((p) => p.initialSlots.some(([a, b]) => a <= slot && slot <= b));
  if (!owner) throw new Error(`no primary owns slot ${slot}`);
  return owner;
}
