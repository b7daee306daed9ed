/**
 * One pool plus one channel layer per call, on the suite's Redis, each with its own pool name
 * and key prefix, all closed (layers first) after the suite: the setup the channel suites share.
 */
import { after } from 'node:test';
import { createPool, type Pool } from '../../../src/index.js';
import { createChannelLayer, type ChannelLayer } from '../../../src/channels/index.js';

/** Layer options as `createChannelLayer` takes them. */
export type LayerOptions = Parameters<typeof createChannelLayer>[1];

/**
 * Returns a `setup(options)` that opens a pool (`max` 10, named `<name>-<n>`) on `url()` and a
 * layer on it (prefix `<prefix><n>`). Call inside a `describe`: it registers the `after` hook.
 */
export function layerFactory(
  url: () => string,
  name: string,
  prefix: string,
): (options?: LayerOptions) => { pool: Pool; layer: ChannelLayer } {
  const pools: Pool[] = [];
  const layers: ChannelLayer[] = [];
  let n = 0;
  after(async () => {
    for (const l of layers) await l.close();
    for (const p of pools) await p.close();
  });
  return (options = {}) => {
    const pool = createPool({ url: url(), max: 10, name: `${name}-${n}` });
    const layer = createChannelLayer(pool, { prefix: `${prefix}${n++}`, ...options });
    pools.push(pool);
    layers.push(layer);
    return { pool, layer };
  };
}
