/**
 * Bad input, rows I1–I11 and I17–I25 of research/reliability.md section 2, plus a secrets
 * check. Every error must carry its stable `code` and name the option (`err.option`) or the
 * argument (`err.command`, `err.index`) at fault; nothing invalid is ever written to a socket.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import util from 'node:util';
import { ConfigError, createPool, parseRedisUrl, resolveOptions, type Lease, type PoolOptions } from '../../src/index.js';
import { checkArgs } from '../../src/commands/arguments.js';
import { ArgumentError } from '../../src/errors.js';
import { FakeDriver, ManualClock } from '../../src/testing/index.js';
import { assertFullyClosed, connOf, fakePool, flush, opaqueDriver, QUIET, rejectsWith, track } from '../helpers/pool-fixtures.js';

const NO_ENV = {};

/** Asserts that resolving `input` throws a ConfigError naming `option`. */
function rejectsOption(input: PoolOptions | string, option: string, message?: RegExp): ConfigError {
  let caught: unknown;
  assert.throws(
    () => resolveOptions(input, NO_ENV),
    (e: unknown) => {
      caught = e;
      return true;
    },
  );
  const e = caught as ConfigError;
  assert.ok(e instanceof ConfigError, `${JSON.stringify(input)}: expected ConfigError, got ${String(e)}`);
  assert.equal(e.code, 'ERR_INVALID_OPTION');
  assert.equal(e.option, option, `${JSON.stringify(input)}: ${e.message}`);
  assert.ok(e.message.includes(option), `message names the option: ${e.message}`);
  if (message) assert.match(e.message, message);
  return e;
}

void describe('I1–I3: malformed URLs, schemes, db index', () => {
  const rows: Array<[string, string, RegExp?]> = [
    ['not a url', 'url'],
    ['redis:/h', 'url', /missing "\/\/"/],
    ['redis//h', 'url'],
    ['redis://:6379', 'url'],
    ['redis://h:99999', 'url'],
    ['redis://', 'url.host'],
    ['unix://', 'url.path'],
    ['unix:///', 'url.path'],
    ['http://h', 'url', /unsupported scheme "http:"/],
    ['https://h', 'url', /unsupported scheme/],
    ['ftp://h', 'url', /unsupported scheme/],
    ['://h', 'url'],
    ['redis-sentinel://h', 'url', /unsupported scheme/],
    ['redis://h/foo', 'url.path', /integer/],
    ['redis://h/-1', 'url.path'],
    ['redis://h/1.5', 'url.path'],
    ['redis://h/1/2/3/4', 'url.path', /at most one path segment/],
    ['redis://h?db=x', 'url.query.db'],
    ['redis://h?db=-1', 'url.query.db'],
    ['redis://h/1?db=2', 'url.query.db', /conflicts/],
  ];
  for (const [url, option, message] of rows) {
    void test(`${JSON.stringify(url)} → ConfigError(${option})`, () => {
      rejectsOption(url, option, message);
      rejectsOption({ url }, option, message);
      assert.throws(() => createPool(url), ConfigError, 'createPool validates synchronously');
    });
  }

  void test('db given as an option must be a non-negative integer', () => {
    rejectsOption({ db: -1 }, 'db');
    rejectsOption({ db: 1.5 }, 'db');
    rejectsOption({ db: '1' as unknown as number }, 'db', /expected a number, got string/);
  });

  void test('a non-string url', () => {
    rejectsOption({ url: 5 as unknown as string }, 'url', /expected a string/);
    assert.throws(
      () => parseRedisUrl(undefined as unknown as string),
      (e: ConfigError) => e.option === 'url',
    );
  });

  void test('options that are not an object', () => {
    rejectsOption([] as unknown as PoolOptions, 'options');
    rejectsOption(42 as unknown as PoolOptions, 'options');
  });

  void test('an empty url string is refused, not silently replaced by the default endpoint', () => {
    rejectsOption('', 'url');
    rejectsOption({ url: '' }, 'url');
  });

  void test('port 0 in a URL is refused like port 0 as an option', () => {
    rejectsOption({ port: 0 }, 'port');
    rejectsOption('redis://h:0', 'url.port');
  });
});

void describe('I4: percent-encoded credentials are decoded exactly once', () => {
  const nasty = ['p@ss', 'a:b', 'x/y', '100%', 'h#sh', '@:/%#', 'p%40ss', 'ü ñ', "q?&=+'"];
  for (const secret of nasty) {
    void test(`round trip of ${JSON.stringify(secret)}`, () => {
      const url = `redis://${encodeURIComponent(`u${secret}`)}:${encodeURIComponent(secret)}@h:6379/1`;
      const p = parseRedisUrl(url);
      assert.equal(p.password, secret);
      assert.equal(p.username, `u${secret}`);
      assert.equal(p.host, 'h');
      assert.equal(p.db, 1);
      const o = resolveOptions(url, NO_ENV);
      assert.equal(o.password, secret);
      assert.equal(o.username, `u${secret}`);
    });
  }

  void test('a literal %40 stays %40 when it was encoded as %2540 (no double decoding)', () => {
    assert.equal(parseRedisUrl('redis://:p%2540ss@h').password, 'p%40ss');
  });

  void test('invalid percent-encoding is a ConfigError naming the part, without the value', () => {
    const e = rejectsOption('redis://u:CANARY%ZZ@h', 'url.password');
    assert.ok(!e.message.includes('CANARY'));
    rejectsOption('redis://bad%E0%A4%A@h', 'url.username');
  });
});

void describe('I5: unknown options and typos', () => {
  void test('object options', () => {
    rejectsOption({ maxx: 3 } as PoolOptions, 'maxx', /unknown option/);
    rejectsOption({ commandTimeout: 5 } as PoolOptions, 'commandTimeout', /unknown option/);
    rejectsOption({ wrte_timout: 1 } as PoolOptions, 'wrte_timout', /unknown option/);
    rejectsOption({ tls: { rejectUnauthorized: false } as never }, 'tls.rejectUnauthorized', /unknown TLS option/);
  });

  void test('URL query options', () => {
    // Unknown keys are not quoted (text that is no option name may be a piece of a password).
    rejectsOption('redis://h?wrte_timout=1', 'url.query', /unknown option/);
    rejectsOption('redis://h?MAX=3', 'url.query');
    rejectsOption('redis://h?password=x', 'url.query', /unknown option/);
    rejectsOption('redis://h?max=abc', 'url.query.max', /expected a number/);
    rejectsOption('redis://h?max=', 'url.query.max');
    rejectsOption('redis://h?autoPipelining=yes', 'url.query.autoPipelining');
    rejectsOption('redis://h?onUnavailable=crash', 'url.query.onUnavailable');
    rejectsOption('redis://h?readFrom=nearest', 'url.query.readFrom');
    rejectsOption('redis://h?readFrom=replica', 'url.query.readFrom', /Sentinel or Cluster/);
  });

  void test('wrong types name the option', () => {
    rejectsOption({ name: 5 as unknown as string }, 'name', /expected a string, got number/);
    rejectsOption({ credentials: 'x' as never }, 'credentials', /expected a function/);
    rejectsOption({ onUnavailable: 'crash' as never }, 'onUnavailable');
    rejectsOption({ readFrom: 'slave' as never }, 'readFrom');
    rejectsOption({ readFrom: 'preferReplica' }, 'readFrom', /Sentinel or Cluster/);
    rejectsOption({ tls: 'yes' as never }, 'tls');
    rejectsOption({ tls: { minVersion: 'TLSv1.0' as never } }, 'tls.minVersion');
    rejectsOption({ backoff: null as never }, 'backoff');
  });
});

void describe('I6: TLS flag contradicting the scheme', () => {
  void test('tls: true with redis:// is refused, and the message carries the redacted URL', () => {
    const e = rejectsOption({ url: 'redis://user:CANARY-6@h:6379', tls: true }, 'tls');
    assert.ok(e.message.includes('redis://***@h:6379'), e.message);
    assert.ok(!e.message.includes('CANARY'));
  });

  void test('tls with a unix socket path is refused', () => {
    rejectsOption({ path: '/tmp/r.sock', tls: true }, 'tls');
  });

  void test('tls: false with rediss:// is refused (never a silent downgrade to plaintext)', () => {
    rejectsOption({ url: 'rediss://h', tls: false }, 'tls');
  });

  void test('tls with a unix:// URL is refused like tls with `path`', () => {
    rejectsOption({ url: 'unix:///tmp/r.sock', tls: true }, 'tls');
  });
});

void describe('I7–I9: sizes and timeouts', () => {
  const rows: Array<[Partial<PoolOptions>, string]> = [
    [{ max: 0 }, 'max'],
    [{ max: -1 }, 'max'],
    [{ max: 1.5 }, 'max'],
    [{ max: NaN }, 'max'],
    [{ max: Infinity }, 'max'],
    [{ min: -1 }, 'min'],
    [{ min: 0.5 }, 'min'],
    [{ lanes: 0 }, 'lanes'],
    [{ lanes: 1.5 }, 'lanes'],
    [{ maxWaiting: -1 }, 'maxWaiting'],
    [{ maxWaiting: 2.5 }, 'maxWaiting'],
    [{ retries: -1 }, 'retries'],
    [{ retries: 1.5 }, 'retries'],
    [{ failureThreshold: 0 }, 'failureThreshold'],
    [{ port: 0 }, 'port'],
    [{ port: 70_000 }, 'port'],
    [{ port: 1.5 }, 'port'],
    [{ min: 5, max: 2 }, 'min'],
    [{ lanes: 5, max: 2 }, 'lanes'],
    [{ connectTimeoutMs: NaN }, 'connectTimeoutMs'],
    [{ connectTimeoutMs: Infinity }, 'connectTimeoutMs'],
    [{ connectTimeoutMs: -1 }, 'connectTimeoutMs'],
    [{ connectTimeoutMs: 0 }, 'connectTimeoutMs'],
    [{ acquireTimeoutMs: NaN }, 'acquireTimeoutMs'],
    [{ acquireTimeoutMs: -5 }, 'acquireTimeoutMs'],
    [{ acquireTimeoutMs: 0 }, 'acquireTimeoutMs'],
    [{ commandTimeoutMs: NaN }, 'commandTimeoutMs'],
    [{ commandTimeoutMs: -Infinity }, 'commandTimeoutMs'],
    [{ commandTimeoutMs: -1 }, 'commandTimeoutMs'],
    [{ idleTimeoutMs: -1 }, 'idleTimeoutMs'],
    [{ idleTimeoutMs: Infinity }, 'idleTimeoutMs'],
    [{ maxLifetimeMs: NaN }, 'maxLifetimeMs'],
    [{ validateAfterIdleMs: -1 }, 'validateAfterIdleMs'],
    [{ leakDetectionMs: -1 }, 'leakDetectionMs'],
    [{ housekeepingIntervalMs: 5 }, 'housekeepingIntervalMs'],
    [{ healthCheckIntervalMs: NaN }, 'healthCheckIntervalMs'],
    [{ keepAliveMs: -1 }, 'keepAliveMs'],
    [{ max: '5' as unknown as number }, 'max'],
  ];
  for (const [input, option] of rows) {
    void test(`${util.inspect(input, { breakLength: Infinity })} → ConfigError(${option})`, () => {
      rejectsOption(input, option);
    });
  }

  void test('the same checks apply to URL query values', () => {
    rejectsOption('redis://h?max=0', 'url.query.max');
    rejectsOption('redis://h?max=1.5', 'url.query.max');
    rejectsOption('redis://h?acquireTimeoutMs=-5', 'url.query.acquireTimeoutMs');
    rejectsOption('redis://h?acquireTimeoutMs=NaN', 'url.query.acquireTimeoutMs');
    rejectsOption('redis://h?connectTimeoutMs=Infinity', 'url.query.connectTimeoutMs');
    rejectsOption('redis://h?min=5&max=2', 'min');
  });
});

void describe('I10: inconsistent timeouts warn through the pool’s "warning" event', () => {
  async function warnings(options: Partial<PoolOptions>): Promise<string[]> {
    const pool = createPool({ ...QUIET, ...options, driver: new FakeDriver(), clock: new ManualClock() });
    const got: string[] = [];
    pool.on('warning', (w) => got.push(w.message));
    await flush(1);
    await pool.destroy();
    return got;
  }

  void test('connectTimeoutMs > acquireTimeoutMs', async () => {
    const w = await warnings({ connectTimeoutMs: 6_000, acquireTimeoutMs: 1_000 });
    assert.equal(w.length, 1);
    assert.match(w[0]!, /connectTimeoutMs \(6000\) > acquireTimeoutMs \(1000\)/);
  });

  void test('idleTimeoutMs >= maxLifetimeMs', async () => {
    assert.match((await warnings({ idleTimeoutMs: 60_000, maxLifetimeMs: 60_000 }))[0]!, /idleTimeoutMs/);
  });

  void test('leakDetectionMs below 2 s', async () => {
    assert.match((await warnings({ leakDetectionMs: 500 }))[0]!, /leakDetectionMs/);
  });

  void test('tls.insecureSkipVerify', async () => {
    assert.match((await warnings({ tls: { insecureSkipVerify: true } }))[0]!, /insecureSkipVerify/);
  });

  void test('consistent settings give no warning', async () => {
    assert.deepEqual(await warnings({}), []);
  });
});

void describe('I11: non-string arguments are refused before anything is written', () => {
  const bad: Array<[string, unknown]> = [
    ['undefined', undefined],
    ['null', null],
    ['an object', { a: 1 }],
    ['a Symbol', Symbol('s')],
    ['a bigint', 10n],
    ['a boolean', true],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['a function', () => 1],
    ['a Date', new Date(0)],
    ['a nested array', [['x']]],
  ];
  for (const [label, value] of bad) {
    void test(`${label} → ArgumentError naming the command and index; nothing sent; the lane keeps working`, async (t) => {
      const fp = fakePool(t, { max: 3, lanes: 1, min: 1 });
      await fp.pool.ready();
      const before = fp.script.calls.length;
      const err = await rejectsWith(fp.pool.set('key', value as string), 'ERR_INVALID_ARGUMENT', 'ArgumentError');
      assert.equal(err.command, 'SET');
      assert.equal(err.index, 1);
      assert.equal(err.outcome, 'not-sent');
      assert.match(err.message, /^SET: argument 1 /);
      const e2 = await rejectsWith(fp.pool.call('HGET', 'key', value as string), 'ERR_INVALID_ARGUMENT');
      assert.equal(e2.command, 'HGET');
      assert.equal(e2.index, 1);
      const lease = await fp.pool.acquire();
      await rejectsWith(lease.set('key', value as string), 'ERR_INVALID_ARGUMENT');
      await rejectsWith(
        fp.pool
          .pipeline()
          .get('ok')
          .set('key', value as string)
          .exec(),
        'ERR_INVALID_ARGUMENT',
      );
      assert.equal(fp.script.calls.length, before, 'nothing was written');
      lease.release();
      await flush();
      assert.ok(
        fp.script.calls.slice(before).every((c) => c.name !== 'set' && c.name !== 'get'),
        'no SET/GET was written',
      );
      for (const conn of fp.driver.all) assert.ok(!conn.log.some(([name]) => name === 'set'));
      assert.equal(await fp.pool.set('key', 'fine'), 'OK', 'the lane keeps working');
      assert.equal(await fp.pool.get('key'), 'fine');
    });
  }

  void test('numbers, Buffers and typed arrays are accepted', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 1 });
    assert.equal(await fp.pool.set('n', 42), 'OK');
    assert.equal(await fp.pool.set('b', Buffer.from('x')), 'OK');
    assert.equal(await fp.pool.set('u', new Uint8Array([1]) as unknown as Buffer), 'OK');
  });

  void test('a typed array inside an array argument is sent as a Buffer of its bytes; the caller’s array is left alone', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 1 });
    fp.script.on('rpush', () => 2);
    fp.script.on('mset', () => 'OK');
    const bytes = new Uint8Array([1, 2, 13, 10]);
    const raw = ['a', bytes];
    // The ioredis types declare no array arguments; JavaScript callers pass them all the same.
    const list = raw as unknown as string;
    const sent = (): unknown[] => fp.script.calls.at(-1)!.args as unknown[];
    const assertSent = (inner: unknown): void => {
      assert.ok(Array.isArray(inner), 'still one array argument (the driver flattens it)');
      assert.equal(inner[0], 'a');
      assert.ok(Buffer.isBuffer(inner[1]), 'the nested Uint8Array became a Buffer');
      assert.deepEqual([...(inner[1] as Buffer)], [1, 2, 13, 10]);
      assert.notEqual(inner, raw, 'a converted copy, not the caller’s array');
      assert.equal(raw[1], bytes, 'the caller’s array still holds its Uint8Array');
    };
    assert.equal(await fp.pool.rpush('k', list), 2);
    assertSent(sent()[1]);
    assert.equal(await fp.pool.call('RPUSH', 'k', list), 2);
    assertSent(sent()[1]);
    assert.equal(await fp.pool.mset(list), 'OK');
    assertSent(sent()[0]);
    const lease = await fp.pool.acquire();
    assert.equal(await lease.rpush('k', list), 2);
    assertSent(sent()[1]);
    lease.release();
    assert.deepEqual(await fp.pool.pipeline().rpush('k', list).exec(), [[null, 2]]);
    assertSent(sent()[1]);
  });
});

void describe('I11: checkArgs on its own', () => {
  const refuse = (name: string, args: unknown[], index: number, message: RegExp): void => {
    assert.throws(
      () => checkArgs(name, args),
      (e: unknown) =>
        e instanceof ArgumentError &&
        e.code === 'ERR_INVALID_ARGUMENT' &&
        e.command === name.toUpperCase() &&
        e.index === index &&
        message.test(e.message),
    );
  };

  void test('nothing is copied or replaced when no typed array needs converting', () => {
    const inner = ['a', 1, Buffer.from('b')];
    const args: unknown[] = ['k', inner, Buffer.from('c'), 2];
    const before = [...args];
    checkArgs('rpush', args);
    assert.deepEqual(args, before);
    assert.equal(args[1], inner, 'the same array object, not a copy');
  });

  void test('typed arrays at the top level and one level down become Buffers over the same bytes', () => {
    const backing = new Uint8Array([9, 9, 7, 8, 9]);
    const offset = backing.subarray(2, 4); // a view with an offset
    const wide = new Uint16Array([0x0102]);
    const view = new DataView(new Uint8Array([5, 6]).buffer);
    const inner = [offset, 'x', wide, view];
    const args: unknown[] = ['k', inner, new Uint8Array([3])];
    checkArgs('rpush', args);
    const out = args[1] as unknown[];
    assert.notEqual(out, inner);
    assert.ok(out.every((v) => typeof v === 'string' || Buffer.isBuffer(v)));
    assert.deepEqual([...(out[0] as Buffer)], [7, 8]);
    assert.equal(out[1], 'x');
    assert.deepEqual(out[2], Buffer.from(wide.buffer));
    assert.deepEqual([...(out[3] as Buffer)], [5, 6]);
    assert.deepEqual([...(args[2] as Buffer)], [3]);
    assert.ok(inner[0] === offset && inner[2] === wide && inner[3] === view, 'the caller’s array is untouched');
    (out[0] as Buffer)[0] = 70;
    assert.equal(backing[2], 70, 'a view, not a copy of the bytes');
  });

  void test('HSET/MSET objects and Maps with a typed-array value become flat pairs with Buffers; without one they are left as they are', () => {
    const obj = { f: new Uint8Array([1, 2]), g: 'text', h: 3 };
    const args: unknown[] = ['h', obj];
    checkArgs('hset', args);
    assert.ok(Array.isArray(args[1]));
    const pairs = args[1] as unknown[];
    assert.deepEqual(pairs.slice(2), ['g', 'text', 'h', 3]);
    assert.equal(pairs[0], 'f');
    assert.ok(Buffer.isBuffer(pairs[1]) && pairs[1].equals(Buffer.from([1, 2])));
    assert.ok(obj.f instanceof Uint8Array && !Buffer.isBuffer(obj.f), 'the caller’s object is untouched');
    const map = new Map<unknown, unknown>([
      ['a', new Uint16Array([0x0102])],
      ['b', 'x'],
    ]);
    const margs: unknown[] = [map];
    checkArgs('mset', margs);
    assert.deepEqual(
      (margs[0] as unknown[]).map((v) => (Buffer.isBuffer(v) ? [...v] : v)),
      ['a', [...Buffer.from(new Uint16Array([0x0102]).buffer)], 'b', 'x'],
    );
    const plain = { a: '1', b: Buffer.from('2') };
    const pargs: unknown[] = ['h', plain];
    checkArgs('hset', pargs);
    assert.equal(pargs[1], plain, 'no typed array: the same object, not a copy');
  });

  void test('values inside an array are refused with the same code, index and wording as top-level ones', () => {
    refuse('rpush', ['k', [new Uint8Array([1]), null]], 1, /^RPUSH: argument 1 must be a string, Buffer or finite number, got null$/);
    refuse('rpush', ['k', ['a', [new Uint8Array([1])]]], 1, /got a nested array$/);
    refuse('mset', [['a', new Uint8Array([1]), 'b', {}]], 0, /got an object$/);
    refuse('rpush', ['k', [NaN]], 1, /is NaN/);
  });
});

void describe('I17: state-changing commands on the shared API', () => {
  const refused: Array<[string, (p: ReturnType<typeof fakePool>['pool']) => Promise<unknown>, string]> = [
    ['SELECT', (p) => p.call('SELECT', 1), 'SELECT'],
    ['WATCH', (p) => p.call('WATCH', 'k'), 'WATCH'],
    ['SUBSCRIBE', (p) => p.call('SUBSCRIBE', 'ch'), 'SUBSCRIBE'],
    ['PSUBSCRIBE', (p) => p.call('PSUBSCRIBE', 'ch*'), 'PSUBSCRIBE'],
    ['MONITOR', (p) => p.call('MONITOR'), 'MONITOR'],
    ['CLIENT REPLY', (p) => p.client('REPLY', 'OFF'), 'CLIENT REPLY'],
    ['CLIENT SETNAME', (p) => p.client('SETNAME', 'x'), 'CLIENT SETNAME'],
    ['CLIENT TRACKING', (p) => p.client('TRACKING', 'ON'), 'CLIENT TRACKING'],
    ['client setname via call, mixed case', (p) => p.call('Client', 'SetName', 'x'), 'CLIENT SETNAME'],
    ['EXEC', (p) => p.call('EXEC'), 'EXEC'],
    ['AUTH', (p) => p.call('AUTH', 'pw'), 'AUTH'],
    ['HELLO', (p) => p.call('HELLO', '3'), 'HELLO'],
    ['RESET', (p) => p.call('RESET'), 'RESET'],
    ['QUIT', (p) => p.call('QUIT'), 'QUIT'],
  ];
  for (const [label, run, command] of refused) {
    void test(`${label} → LeaseRequiredError, nothing sent`, async (t) => {
      const fp = fakePool(t, { max: 3, lanes: 1, min: 1 });
      await fp.pool.ready();
      const before = fp.script.calls.length;
      const err = await rejectsWith(run(fp.pool), 'ERR_LEASE_REQUIRED', 'LeaseRequiredError');
      assert.equal(err.command, command);
      assert.match(err.message, /withConnection|acquire/);
      assert.equal(fp.script.calls.length, before);
      assert.equal(await fp.pool.ping(), 'PONG');
    });
  }

  void test('typed methods for refused commands are not on the pool type, and refuse at run time too', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 1 });
    const loose = fp.pool as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    await rejectsWith(loose.select!.call(fp.pool, 1), 'ERR_LEASE_REQUIRED');
    await rejectsWith(loose.watch!.call(fp.pool, 'k'), 'ERR_LEASE_REQUIRED');
    await rejectsWith(loose.subscribe!.call(fp.pool, 'c'), 'ERR_LEASE_REQUIRED');
  });

  void test('a MULTI transaction on the shared API is fine; SELECT inside a shared pipeline or transaction is refused', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 1 });
    assert.deepEqual(await fp.pool.multi().set('a', '1').get('a').exec(), [
      [null, 'OK'],
      [null, '1'],
    ]);
    const before = fp.script.calls.length;
    const e = await rejectsWith(fp.pool.pipeline().set('a', '2').select(1).exec(), 'ERR_LEASE_REQUIRED');
    assert.equal(e.command, 'SELECT');
    await rejectsWith(fp.pool.multi().select(1).exec(), 'ERR_LEASE_REQUIRED');
    await rejectsWith(fp.pool.pipeline().watch('a').exec(), 'ERR_LEASE_REQUIRED');
    assert.equal(fp.script.calls.length, before, 'a refused batch sends none of its commands');
    assert.equal(await fp.pool.get('a'), '1');
  });

  void test('a bare MULTI on the shared API is refused (it would leave the lane queueing everyone’s commands)', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 1 });
    await fp.pool.ready();
    await rejectsWith(fp.pool.call('MULTI'), 'ERR_LEASE_REQUIRED');
    assert.equal(fp.script.count('multi'), 0);
  });

  void test('the same commands work on a lease', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    await fp.pool.withConnection(async (c) => {
      assert.equal(await c.select(1), 'OK');
      assert.equal(await c.watch('k'), 'OK');
      assert.equal(await c.client('SETNAME', 'x'), 'OK');
    });
  });
});

void describe('I18–I20: double release, foreign leases, use after release', () => {
  void test('double release: typed error, capacity is not credited twice (total ≤ max)', async (t) => {
    const fp = fakePool(t, { max: 2, lanes: 1, min: 0 });
    const a = await fp.pool.acquire();
    a.release();
    const e = (() => {
      try {
        a.release();
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    assert.equal((e as { code?: string }).code, 'ERR_LEASE_RELEASED');
    assert.throws(
      () => fp.pool.release(a),
      (err: { code?: string }) => err.code === 'ERR_LEASE_RELEASED',
    );
    a.destroy(); // no-op after release
    await flush();
    // max - lanes = 1 lease: a second concurrent lease must wait, whatever the double release did.
    const b = await fp.pool.acquire();
    const c = track(fp.pool.acquire({ timeoutMs: 100 }));
    await flush();
    assert.equal(c.settled, false);
    const s = fp.pool.stats();
    assert.ok(s.total <= 2, `total ${s.total}`);
    assert.equal(s.leased, 1);
    fp.clock.advance(100);
    await flush();
    assert.equal((c.error as { code?: string }).code, 'ERR_ACQUIRE_TIMEOUT');
    b.release();
    assert.equal(fp.pool.stats().idle, 1);
  });

  void test('release of another pool’s lease or of a non-lease → ForeignLeaseError, state unchanged', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const other = fakePool(t, { max: 3, lanes: 1, min: 0 });
    const mine = await fp.pool.acquire();
    const theirs = await other.pool.acquire();
    const before = JSON.stringify([fp.pool.stats(), other.pool.stats()]);
    for (const bogus of [theirs, {}, null, undefined, { release() {} }, 'lease']) {
      assert.throws(
        () => fp.pool.release(bogus as Lease),
        (e: { code?: string; name?: string }) => e.code === 'ERR_FOREIGN_LEASE' && e.name === 'ForeignLeaseError',
      );
    }
    assert.equal(theirs.released, false, 'the other pool’s lease is untouched');
    assert.equal(JSON.stringify([fp.pool.stats(), other.pool.stats()]), before);
    assert.equal(await theirs.ping(), 'PONG');
    fp.pool.release(mine);
    other.pool.release(theirs);
  });

  void test('use after release → LeaseReleasedError; the next borrower is unaffected', async (t) => {
    const fp = fakePool(t, { max: 2, lanes: 1, min: 0 });
    const a = await fp.pool.acquire();
    const conn = await connOf(fp, a);
    const recorded = a.pipeline().set('k', 'stale');
    a.release();
    await flush();
    const b = await fp.pool.acquire();
    assert.equal(await connOf(fp, b), conn, 'same connection, new borrower');
    const mark = conn.log.length;
    await rejectsWith(recorded.exec(), 'ERR_LEASE_RELEASED');
    await rejectsWith(a.set('k', 'stale'), 'ERR_LEASE_RELEASED', 'LeaseReleasedError');
    assert.throws(
      () => a.pipeline(),
      (e: { code?: string }) => e.code === 'ERR_LEASE_RELEASED',
    );
    assert.throws(
      () => a.multi(),
      (e: { code?: string }) => e.code === 'ERR_LEASE_RELEASED',
    );
    assert.throws(
      () => a.raw,
      (e: { code?: string }) => e.code === 'ERR_LEASE_RELEASED',
    );
    assert.equal(conn.log.length, mark, 'the stale handle wrote nothing');
    assert.equal(await b.set('k', 'mine'), 'OK');
    assert.equal(await b.get('k'), 'mine');
    b.release();
  });

  void test('`await using` releases once, even after an explicit release', async (t) => {
    const fp = fakePool(t, { max: 2, lanes: 1, min: 0 });
    {
      await using lease = await fp.pool.acquire();
      await lease.ping();
      lease.release();
    }
    {
      await using lease = await fp.pool.acquire();
      await lease.ping();
    }
    assert.equal(fp.pool.stats().leased, 0);
    assert.equal(fp.pool.stats().idle, 1);
  });
});

void describe('I21–I23: use after close, close during acquire/connect, double close', () => {
  void test('commands, acquire, pipelines and withConnection after close → PoolClosedError', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 1 });
    await fp.pool.ready();
    const recorded = fp.pool.pipeline().get('k');
    const view = fp.pool.with({ timeoutMs: 100 });
    await fp.pool.close();
    await rejectsWith(fp.pool.get('k'), 'ERR_POOL_CLOSED', 'PoolClosedError');
    await rejectsWith(view.get('k'), 'ERR_POOL_CLOSED');
    await rejectsWith(fp.pool.blpop('q', 1), 'ERR_POOL_CLOSED');
    await rejectsWith(fp.pool.acquire(), 'ERR_POOL_CLOSED');
    await rejectsWith(
      fp.pool.withConnection(() => 1),
      'ERR_POOL_CLOSED',
    );
    await rejectsWith(recorded.exec(), 'ERR_POOL_CLOSED');
    await rejectsWith(fp.pool.multi().set('a', '1').exec(), 'ERR_POOL_CLOSED');
    assert.equal((await fp.pool.health()).status, 'unavailable');
    assertFullyClosed(fp);
  });

  void test('ready() after close does not report a healthy pool', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 1 });
    await fp.pool.ready();
    await fp.pool.close();
    await rejectsWith(fp.pool.ready(), 'ERR_POOL_CLOSED');
  });

  void test('close during acquire and connect: every caller settles, 0 sockets, 0 timers', async (t) => {
    const fp = fakePool(t, { max: 4, lanes: 2, min: 0 });
    fp.driver.behaviour = 'hang';
    const calls = [
      track(fp.pool.get('a')),
      track(fp.pool.acquire()),
      track(fp.pool.acquire({ signal: new AbortController().signal })),
      track(fp.pool.blpop('q', 1)),
    ];
    await flush();
    const closed = track(fp.pool.close());
    await flush();
    for (const h of fp.driver.hanging.splice(0)) h.ok();
    await closed.promise;
    await flush();
    for (const c of calls) assert.equal((c.error as { code?: string }).code, 'ERR_POOL_CLOSED');
    assertFullyClosed(fp);
  });

  void test('double close / destroy is idempotent and resolves every time', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 1 });
    await fp.pool.ready();
    await Promise.all([fp.pool.close(), fp.pool.close({ timeoutMs: 1 }), fp.pool.destroy()]);
    await fp.pool.destroy();
    await fp.pool.close();
    assertFullyClosed(fp);
  });
});

void describe('I24: lease callbacks that throw or never settle', () => {
  void test('a synchronous throw releases the lease and rethrows the same error', async (t) => {
    const fp = fakePool(t, { max: 2, lanes: 1, min: 0 });
    const boom = new TypeError('sync');
    await assert.rejects(
      fp.pool.withConnection(() => {
        throw boom;
      }),
      (e) => e === boom,
    );
    assert.equal(fp.pool.stats().leased, 0);
    assert.equal(fp.pool.stats().idle, 1);
  });

  void test('a callback that never settles is reported by leak detection with the acquire stack', async (t) => {
    const fp = fakePool(t, { max: 2, lanes: 1, min: 0, leakDetectionMs: 2_000 });
    const leaks: string[] = [];
    fp.pool.on('lease:leak', (e) => leaks.push(e.stack));
    track(fp.pool.withConnection(() => new Promise(() => undefined)));
    await flush();
    fp.clock.advance(2_001);
    fp.pool.housekeep();
    assert.equal(leaks.length, 1);
    assert.match(leaks[0]!, /bad-input\.test/);
  });
});

void describe('I25: callbacks, missing listeners, AbortSignal', () => {
  void test('the pool never emits "error": connect failures and dropped sockets with no listener do not crash', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 1, failureThreshold: 2 });
    const emitted = new Set<string>();
    const emit = fp.pool.emit.bind(fp.pool) as (e: string, ...a: unknown[]) => boolean;
    (fp.pool as unknown as { emit: typeof emit }).emit = (e, ...a) => {
      emitted.add(e);
      return emit(e, ...a);
    };
    await fp.pool.ready();
    fp.driver.killAll();
    fp.driver.behaviour = 'fail';
    await flush();
    const r = track(fp.pool.get('k'));
    for (let i = 0; i < 5; i++) {
      fp.clock.advance(100);
      await flush();
    }
    assert.ok(r.settled);
    assert.equal(fp.pool.listenerCount('error'), 0);
    assert.ok(!emitted.has('error'), `emitted: ${[...emitted].join(', ')}`);
  });

  void test('a credentials provider that throws fails the connect with a typed error, not a crash', async (t) => {
    const fp = fakePool(t, { max: 3, lanes: 1, min: 1, failureThreshold: 1, credentials: () => Promise.reject(new Error('vault down')) });
    const err = await rejectsWith(fp.pool.ready(), 'ERR_CONNECTION');
    assert.match(String((err.cause as Error).message), /vault down/);
  });

  void test('a pre-aborted signal → AcquireAbortedError; aborting while waiting → AcquireAbortedError and the waiter leaves', async (t) => {
    const fp = fakePool(t, { max: 2, lanes: 1, min: 0 });
    await rejectsWith(fp.pool.acquire({ signal: AbortSignal.abort() }), 'ERR_ACQUIRE_ABORTED', 'AcquireAbortedError');
    await rejectsWith(
      fp.pool.withConnection(() => 1, { signal: AbortSignal.abort() }),
      'ERR_ACQUIRE_ABORTED',
    );
    const held = await fp.pool.acquire();
    const ac = new AbortController();
    const w = track(fp.pool.acquire({ signal: ac.signal }));
    await flush();
    assert.equal(fp.pool.stats().pending, 1);
    ac.abort(new Error('client went away'));
    await flush();
    const e = await rejectsWith(w.promise, 'ERR_ACQUIRE_ABORTED');
    assert.match(String((e.cause as Error).message), /client went away/);
    assert.equal(fp.pool.stats().pending, 0);
    held.release();
  });

  void test('strategy and logger objects are validated at construction', () => {
    rejectsOption({ backoff: {} as never }, 'backoff');
    rejectsOption({ reconnectBackoff: { delay: 'soon' } as never }, 'reconnectBackoff');
    rejectsOption({ logger: {} as never }, 'logger');
    rejectsOption({ driver: {} as never }, 'driver');
    rejectsOption({ clock: {} as never }, 'clock');
  });

  void test('a reconnect backoff that returns junk (NaN) does not stop the pool from reconnecting', async (t) => {
    const fp = fakePool(t, { max: 2, lanes: 1, min: 1, failureThreshold: 100, reconnectBackoff: { delay: () => NaN } });
    fp.driver.behaviour = 'fail';
    track(fp.pool.get('k'));
    await flush();
    fp.driver.behaviour = 'ok';
    for (let i = 0; i < 10 && fp.pool.stats().lanes === 0; i++) {
      fp.clock.advance(1_000);
      await flush();
    }
    assert.equal(fp.pool.stats().lanes, 1);
  });
});

void describe('secrets never leave', () => {
  const CANARY = 'CANARY-9f3e1b';

  void test('the password is not in inspect/JSON of the pool or its options, nor in health, stats, logs or events', async (t) => {
    const driver = new FakeDriver();
    const logs: string[] = [];
    const log = (obj: object, msg?: string): void => void logs.push(`${msg ?? ''} ${util.inspect(obj, { depth: 5 })}`);
    const clock = new ManualClock();
    const pool = createPool({
      ...QUIET,
      url: `redis://alice:${encodeURIComponent(CANARY)}@cache.internal:6380/2`,
      failureThreshold: 2,
      acquireTimeoutMs: 1_000,
      driver: opaqueDriver(driver),
      clock,
      logger: { info: log, warn: log, error: log, debug: log },
    });
    t.after(() => pool.destroy());
    const events: string[] = [];
    const record = (p: unknown): void => void events.push(util.inspect(p, { depth: 5 }));
    pool.on('connection:error', record);
    pool.on('connection:closed', record);
    pool.on('health', record);
    pool.on('warning', record);
    assert.equal(pool.options.password, CANARY, 'the driver can still read it');
    assert.ok(driver.all.length === 0);

    driver.behaviour = 'fail';
    const failed = track(pool.get('k'));
    for (let i = 0; i < 4; i++) {
      clock.advance(100);
      await flush();
    }
    assert.ok(failed.settled);
    const outputs = [
      util.inspect(pool),
      util.inspect(pool, { depth: 10 }),
      JSON.stringify(pool),
      util.inspect(pool.options),
      util.inspect(pool.options, { depth: 10 }),
      JSON.stringify(pool.options),
      String(pool.options.endpoint),
      JSON.stringify(await pool.health()),
      util.inspect(await pool.health(), { depth: 10 }),
      JSON.stringify(pool.stats()),
      util.inspect(failed.error, { depth: 10 }),
      String((failed.error as Error).stack),
      ...logs,
      ...events,
    ];
    for (const [i, out] of outputs.entries()) assert.ok(!out.includes(CANARY), `output ${i} leaks the password: ${out.slice(0, 300)}`);
    assert.ok(logs.length > 0 && events.length > 0, 'logs and events were produced');
  });

  void test('options given as an object (password, tls key and passphrase) are hidden too', () => {
    const o = resolveOptions({ host: 'h', password: CANARY, tls: { key: `KEY-${CANARY}`, passphrase: CANARY, ca: 'CA' } }, NO_ENV);
    for (const out of [util.inspect(o, { depth: 10 }), JSON.stringify(o)]) assert.ok(!out.includes(CANARY), out);
    assert.equal(o.password, CANARY);
    assert.equal(o.tls?.passphrase, CANARY);
  });

  void test('no ConfigError message contains the password', () => {
    const inputs: Array<PoolOptions | string> = [
      `redis://u:${CANARY}@h/notadb`,
      `redis://u:${CANARY}@h:99999`,
      `redis://u:${CANARY}@h/1/2`,
      `redis://u:${CANARY}@h?bogus=1`,
      `redis://u:${CANARY}@h?max=0`,
      `http://u:${CANARY}@h`,
      `redis:/u:${CANARY}@h`,
      `redis://u:${CANARY}%ZZ@h`,
      `unix://u:${CANARY}@`,
      `unix://u:${CANARY}@/tmp/r.sock?db=x`,
      `unix://u:${CANARY}%ZZ@/tmp/r.sock`,
      { url: `unix://u:${CANARY}@/tmp/r.sock`, tls: true },
      { url: `redis://u:${CANARY}@h`, tls: true },
      { url: `redis://u:${CANARY}@h`, max: 0 },
      { password: CANARY, min: 5, max: 1 },
      { password: CANARY, bogus: 1 } as PoolOptions,
    ];
    for (const input of inputs) {
      let err: unknown;
      try {
        resolveOptions(input, NO_ENV);
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof ConfigError, `${util.inspect(input)} should be refused`);
      for (const out of [err.message, String(err.stack), util.inspect(err)]) assert.ok(!out.includes(CANARY), `leak in ${out}`);
    }
  });

  void test('even util.inspect with showHidden does not print the password', () => {
    const o = resolveOptions({ host: 'h', password: CANARY }, NO_ENV);
    assert.ok(!util.inspect(o, { showHidden: true }).includes(CANARY));
  });
});
