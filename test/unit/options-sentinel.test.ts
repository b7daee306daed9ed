/**
 * The `sentinel` option: accepted shapes and their resolved form (defaults, secrets hidden,
 * REDIS_URL ignored), and every refusal a ConfigError (`ERR_INVALID_OPTION`) naming the field —
 * `sentinel.sentinels[1].port` and the like — with no password in the error, the options' JSON
 * or their inspection. `sentinel` with `url`/`host`/`port`/`path` is refused.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import util from 'node:util';
import { ConfigError, resolveOptions, type PoolOptions } from '../../src/index.js';

const PW = 'Zq9sentinelSecret';
const S = { name: 'mymaster', sentinels: [{ host: '127.0.0.1', port: 26379 }] };

function refused(input: PoolOptions, option: string): ConfigError {
  let caught: unknown;
  assert.throws(
    () => resolveOptions(input, {}),
    (e: unknown) => ((caught = e), true),
  );
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.code, 'ERR_INVALID_OPTION');
  assert.equal(caught.option, option);
  const printed = [caught.message, caught.stack, JSON.stringify(caught), util.inspect(caught, { showHidden: true, depth: 5 })].join('\n');
  assert.equal(printed.includes(PW), false, 'the password is never printed');
  return caught;
}

void describe('sentinel option', () => {
  void test('resolved: defaults, endpoint label, REDIS_URL ignored, secrets non-enumerable', () => {
    const o = resolveOptions(
      { sentinel: { ...S, password: PW, tls: { passphrase: PW } }, password: 'data-pw' },
      { REDIS_URL: 'redis://10.0.0.1:6390' },
    );
    assert.equal(o.sentinel?.name, 'mymaster');
    assert.equal(o.sentinel?.pollMs, 10_000);
    assert.equal(o.sentinel?.password, PW, 'readable by the code that needs it');
    assert.equal(o.sentinel?.tls?.passphrase, PW);
    assert.equal(o.endpoint, 'redis-sentinel://127.0.0.1:26379/mymaster');
    assert.notEqual(o.host, '10.0.0.1', 'REDIS_URL does not apply to a Sentinel pool');
    const shown = JSON.stringify(o) + util.inspect(o, { depth: 6 }) + util.inspect(o, { depth: 6, showHidden: true });
    assert.equal(shown.includes(PW), false);
    assert.equal(Object.isFrozen(o.sentinel), true);
  });

  void test('refusals name the field', () => {
    refused({ sentinel: 'x' as never }, 'sentinel');
    refused({ sentinel: { ...S, name: '' } }, 'sentinel.name');
    refused({ sentinel: { ...S, name: 'my master' } }, 'sentinel.name');
    refused({ sentinel: { ...S, sentinels: [] } }, 'sentinel.sentinels');
    refused(
      {
        sentinel: {
          ...S,
          sentinels: [
            { host: 'a', port: 1 },
            { host: 'b', port: 70000 },
          ],
        },
      },
      'sentinel.sentinels[1].port',
    );
    refused({ sentinel: { ...S, sentinels: [{ host: '', port: 1 }] } }, 'sentinel.sentinels[0].host');
    refused({ sentinel: { ...S, sentinels: [{ host: 'a', port: 1.5 }] } }, 'sentinel.sentinels[0].port');
    refused({ sentinel: { ...S, sentinels: [{ host: 'a', port: 1, pw: PW } as never] } }, 'sentinel.sentinels[0].pw');
    refused({ sentinel: { ...S, sentinels: Array.from({ length: 17 }, (_, i) => ({ host: 'a', port: i + 1 })) } }, 'sentinel.sentinels');
    refused({ sentinel: { ...S, password: 42 as never } }, 'sentinel.password');
    refused({ sentinel: { ...S, tls: { ca: 1 as never, passphrase: PW } } }, 'sentinel.tls.ca');
    refused({ sentinel: { ...S, tls: 'yes' as never } }, 'sentinel.tls');
    refused({ sentinel: { ...S, pollMs: 5 } }, 'sentinel.pollMs');
    refused({ sentinel: { ...S, secret: PW } as never }, 'sentinel.secret');
  });

  void test('one endpoint: sentinel with url, host, port or path is refused', () => {
    for (const extra of [{ url: `redis://:${PW}@h:1` }, { host: 'h' }, { port: 6380 }, { path: '/tmp/r.sock' }] as PoolOptions[]) {
      const err = refused({ sentinel: S, ...extra }, 'sentinel');
      assert.match(err.message, /cannot be combined/);
    }
    assert.equal(resolveOptions({ sentinel: { ...S, pollMs: Infinity } }, {}).sentinel?.pollMs, Infinity);
  });
});
