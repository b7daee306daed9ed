/** The `cluster` and `maxTotal` options: each bad value is a ConfigError naming the exact field. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPool, Pool, type PoolOptions } from '../../src/index.js';

const nodes = [{ host: '127.0.0.1', port: 7000 }];

function refused(options: unknown): { code: string; option: string; message: string } {
  try {
    const p = createPool(options as PoolOptions & { cluster: { nodes: typeof nodes } });
    void p.destroy();
  } catch (err) {
    return err as { code: string; option: string; message: string };
  }
  return assert.fail('expected a ConfigError');
}

void test('bad cluster options name the field', () => {
  const cases: [unknown, string][] = [
    [{ cluster: { nodes: [] } }, 'cluster.nodes'],
    [{ cluster: { nodes: 'x:1' } }, 'cluster.nodes'],
    [{ cluster: { nodes: [{ host: '', port: 1 }] } }, 'cluster.nodes[0].host'],
    [{ cluster: { nodes: [nodes[0], { host: 'h', port: 70000 }] } }, 'cluster.nodes[1].port'],
    [{ cluster: { nodes, maxRedirections: -1 } }, 'cluster.maxRedirections'],
    [{ cluster: { nodes, refreshIntervalMs: 5 } }, 'cluster.refreshIntervalMs'],
    [{ cluster: { nodes, natMap: { nope: { host: 'h', port: 1 } } } }, 'cluster.natMap'],
    [{ cluster: { nodes, seeds: [] } }, 'cluster.seeds'],
    [{ cluster: 'redis://x' }, 'cluster'],
    [{ cluster: { nodes }, host: 'h' }, 'cluster'],
    [{ cluster: { nodes }, url: 'redis://h:1' }, 'cluster'],
    [{ cluster: { nodes }, db: 2 }, 'db'],
    [{ cluster: { nodes }, maxTotal: 0 }, 'maxTotal'],
    [{ cluster: { nodes }, max: 10, maxTotal: 1 }, 'maxTotal'],
    [{ maxTotal: 5 }, 'maxTotal'],
  ];
  for (const [options, option] of cases) {
    const err = refused(options);
    assert.equal(err.code, 'ERR_INVALID_OPTION', JSON.stringify(options));
    assert.equal(err.option, option, JSON.stringify(options));
  }
});

void test('new Pool({ cluster }) is refused: a Pool serves one endpoint', () => {
  assert.throws(() => new Pool({ cluster: { nodes } }), { code: 'ERR_INVALID_OPTION', option: 'cluster' });
});
