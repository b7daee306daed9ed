/**
 * Option input that was accepted although wrong (issue 10 defects 3, 5, 6 and 9): durations a
 * Node timer cannot hold, keys `Object.prototype` answers for, URL text quoted into errors, and
 * ambiguous or malformed endpoints. Every refusal is a ConfigError with `ERR_INVALID_OPTION`
 * naming the option; a URL's text never reaches the error, its JSON or its inspection.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import util from 'node:util';
import { ConfigError, createPool, redactUrl, resolveOptions, systemClock, type PoolOptions } from '../../src/index.js';

const NO_ENV = {};
const PW = 'Zq9hunter2Xy';

function refused(input: PoolOptions | string, option: string, message?: RegExp): ConfigError {
  let caught: unknown;
  assert.throws(
    () => resolveOptions(input, NO_ENV),
    (e: unknown) => ((caught = e), true),
  );
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.code, 'ERR_INVALID_OPTION');
  assert.equal(caught.option, option);
  if (message) assert.match(caught.message, message);
  return caught;
}

/** Everything an error can be printed as: message, option, stack, JSON, inspect. */
function printed(err: Error): string {
  return [err.message, (err as ConfigError).option, err.stack, JSON.stringify(err), util.inspect(err, { showHidden: true, depth: 5 })].join(
    '\n',
  );
}

void describe('durations a Node timer cannot hold (defect 3)', () => {
  const TIMED = [
    'acquireTimeoutMs',
    'commandTimeoutMs',
    'connectTimeoutMs',
    'idleTimeoutMs',
    'maxLifetimeMs',
    'validateAfterIdleMs',
    'leakDetectionMs',
    'housekeepingIntervalMs',
    'healthCheckIntervalMs',
    'keepAliveMs',
  ] as const;

  void test('2^31 ms and above is refused for every duration, as an option and in a URL; 2^31 - 1 is accepted', () => {
    for (const k of TIMED) {
      for (const v of [2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
        refused({ [k]: v }, k, /<= 2147483647/);
        refused(`redis://h?${k}=${v}`, `url.query.${k}`, /<= 2147483647/);
      }
      assert.equal(resolveOptions({ [k]: 2 ** 31 - 1 }, NO_ENV)[k], 2 ** 31 - 1);
    }
  });

  void test('Infinity means "no limit" for acquireTimeoutMs and commandTimeoutMs; elsewhere it is refused', () => {
    for (const k of ['acquireTimeoutMs', 'commandTimeoutMs'] as const) assert.equal(resolveOptions({ [k]: Infinity }, NO_ENV)[k], Infinity);
    for (const k of TIMED.filter((k) => k !== 'acquireTimeoutMs' && k !== 'commandTimeoutMs')) {
      refused({ [k]: Infinity }, k, /finite/);
      refused(`redis://h?${k}=Infinity`, `url.query.${k}`);
    }
  });

  void test('a housekeeping period too long for one timer is refused rather than spinning at 1 ms', () => {
    assert.throws(
      () => createPool({ housekeepingIntervalMs: 2 ** 32 }),
      (e: unknown) => e instanceof ConfigError && e.option === 'housekeepingIntervalMs',
    );
  });

  void test('the system clock arms no timer Node would clamp (no TimeoutOverflowWarning)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      let fired = 0;
      const handles = [Infinity, 2 ** 31, 2 ** 40].flatMap((ms) => [
        systemClock.setTimeout(() => fired++, ms),
        systemClock.setTimeout(() => fired++, ms, true),
      ]);
      await new Promise((resolve) => setImmediate(resolve));
      for (const h of handles) systemClock.clearTimeout(h);
      assert.deepEqual(
        warnings.filter((n) => n === 'TimeoutOverflowWarning'),
        [],
      );
      assert.equal(fired, 0);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

void describe('keys that Object.prototype answers for (defect 5)', () => {
  void test('constructor, toString, hasOwnProperty, valueOf, isPrototypeOf and a JSON __proto__ key are unknown options', () => {
    for (const key of ['constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString']) {
      refused({ [key]: 1 } as PoolOptions, key, /unknown option/);
    }
    refused(JSON.parse('{"__proto__":{"max":1}}') as PoolOptions, '__proto__', /unknown option/);
    assert.throws(() => createPool({ constructor: 1 } as PoolOptions), ConfigError);
  });

  void test('the same for TLS settings and URL query keys', () => {
    refused({ tls: { constructor: 1 } as never }, 'tls.constructor', /unknown TLS option/);
    refused({ tls: JSON.parse('{"__proto__":{"ca":"x"}}') as never }, 'tls.__proto__', /unknown TLS option/);
    for (const key of ['constructor', 'toString', '__proto__', 'hasOwnProperty'])
      refused(`redis://h?${key}=1`, 'url.query', /unknown option/);
  });
});

void describe('a malformed URL is named, never quoted (defect 6)', () => {
  const rows: Array<[string, string]> = [
    [`redis://u:6380/ab${PW}cd@127.0.0.1`, 'url'],
    [`redis://u:12?${PW}@127.0.0.1`, 'url'],
    [`redis://u:12?x${PW}=1`, 'url.query'],
    [`redis://u:12#${PW}@127.0.0.1`, 'url.fragment'],
    [`redis://h/${PW}`, 'url.path'],
    [`redis://h/1/${PW}`, 'url.path'],
    [`redis://h?db=${PW}`, 'url.query.db'],
    [`redis://h?max=${PW}`, 'url.query.max'],
    [`redis://h?max=9${'8'.repeat(11)}7`, 'url.query.max'],
    [`redis://h?autoPipelining=${PW}`, 'url.query.autoPipelining'],
    [`redis://h?onUnavailable=${PW}`, 'url.query.onUnavailable'],
    [`unix://${PW}/r.sock`, 'url.host'],
    [`x${PW}://h`, 'url'],
    [`redis://[${PW}]`, 'url'],
  ];
  for (const [url, option] of rows) {
    void test(`${url.replace(PW, '<PW>')} → ConfigError(${option}), without the URL's text`, () => {
      for (const err of [refused(url, option), refused({ url }, option)]) {
        const text = printed(err);
        for (const piece of [PW, PW.slice(2, -2), '8'.repeat(11)]) assert.ok(!text.includes(piece), `leaked: ${text}`);
      }
      assert.equal(redactUrl(url).includes(PW), false);
    });
  }

  void test('REDIS_URL is held to the same rule', () => {
    let caught: unknown;
    assert.throws(
      () => resolveOptions({}, { REDIS_URL: `redis://u:6380/ab${PW}cd@127.0.0.1` }),
      (e: unknown) => ((caught = e), true),
    );
    assert.ok(caught instanceof ConfigError);
    assert.equal(printed(caught).includes(PW), false);
  });
});

void describe('ambiguous or malformed input accepted silently (defect 9)', () => {
  void test('tls must be a boolean or a plain object: an array, a Date, a boxed value or a class instance is refused', () => {
    class Settings {
      ca = 'x';
    }
    for (const tls of [
      [],
      [{ ca: 'x' }],
      new Date(),
      new Number(1),
      new String('x'),
      new Boolean(true),
      new Map(),
      new Settings(),
      () => ({}),
    ]) {
      refused({ tls: tls as never }, 'tls', /boolean or a plain object/);
    }
    assert.deepEqual(resolveOptions({ tls: Object.assign(Object.create(null) as object, { servername: 's' }) }, NO_ENV).tls, {
      servername: 's',
    });
  });

  void test('a fragment is refused: redis://u:12#pw@host is not host u, port 12', () => {
    refused('redis://u:12#pw@host', 'url.fragment');
    refused('redis://h#', 'url.fragment');
    refused('redis://h:6379/0#x', 'url.fragment');
  });

  void test('a db index beyond what SELECT accepts is refused, as an option, in the path and in the query', () => {
    for (const db of [2_147_483_647, 2 ** 40, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2]) {
      refused({ db }, 'db');
      refused(`redis://h/${BigInt(db)}`, 'url.path');
      refused(`redis://h?db=${BigInt(db)}`, 'url.query.db');
    }
    refused('redis://h/99999999999999999999999999', 'url.path');
    assert.equal(resolveOptions('redis://h/2147483646', NO_ENV).db, 2_147_483_646);
    assert.equal(resolveOptions({ db: 2_147_483_646 }, NO_ENV).db, 2_147_483_646);
  });

  void test('url with host, port or path is refused, naming both (see also options.test.ts)', () => {
    refused({ url: 'redis://a:1', host: 'b' }, 'url', /"host"/);
    refused({ url: 'redis://a:1', port: 2 }, 'url', /"port"/);
    refused({ url: 'redis://a:1', path: '/tmp/r.sock' }, 'url', /"path"/);
  });
});
