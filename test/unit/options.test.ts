/**
 * Options: defaults, URL parsing (`redis://`, `rediss://`, `unix://`, IPv6, db, query options),
 * the `REDIS_URL` fallback (through the `env` parameter, never the real environment) and the
 * rule that explicit options win over URL parts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import util from 'node:util';
import { ConfigError, parseRedisUrl, redactUrl, resolveOptions } from '../../src/index.js';

const NO_ENV = {};

void describe('defaults', () => {
  void test('an empty options object resolves to the documented defaults', () => {
    const o = resolveOptions({}, NO_ENV);
    assert.deepEqual(
      {
        host: o.host,
        port: o.port,
        path: o.path,
        db: o.db,
        tls: o.tls,
        name: o.name,
        max: o.max,
        min: o.min,
        lanes: o.lanes,
        acquireTimeoutMs: o.acquireTimeoutMs,
        maxWaiting: o.maxWaiting,
        commandTimeoutMs: o.commandTimeoutMs,
        connectTimeoutMs: o.connectTimeoutMs,
        idleTimeoutMs: o.idleTimeoutMs,
        maxLifetimeMs: o.maxLifetimeMs,
        validateAfterIdleMs: o.validateAfterIdleMs,
        leakDetectionMs: o.leakDetectionMs,
        housekeepingIntervalMs: o.housekeepingIntervalMs,
        healthCheckIntervalMs: o.healthCheckIntervalMs,
        keepAliveMs: o.keepAliveMs,
        autoPipelining: o.autoPipelining,
        retries: o.retries,
        failureThreshold: o.failureThreshold,
        onUnavailable: o.onUnavailable,
        validateWrites: o.validateWrites,
      },
      {
        host: '127.0.0.1',
        port: 6379,
        path: undefined,
        db: 0,
        tls: undefined,
        name: 'default',
        max: 10,
        min: 1,
        lanes: 2,
        acquireTimeoutMs: 5_000,
        maxWaiting: 10_000,
        commandTimeoutMs: 5_000,
        connectTimeoutMs: 5_000,
        idleTimeoutMs: 30_000,
        maxLifetimeMs: 1_800_000,
        validateAfterIdleMs: 500,
        leakDetectionMs: 0,
        housekeepingIntervalMs: 1_000,
        healthCheckIntervalMs: 30_000,
        keepAliveMs: 30_000,
        autoPipelining: false,
        retries: 3,
        failureThreshold: 3,
        onUnavailable: 'fail',
        validateWrites: false,
      },
    );
    assert.equal(o.username, undefined);
    assert.equal(o.password, undefined);
    assert.equal(o.endpoint, 'redis://127.0.0.1:6379');
  });

  void test('undefined input and no REDIS_URL give the same defaults', () => {
    assert.deepEqual(resolveOptions(undefined, NO_ENV), resolveOptions({}, NO_ENV));
  });

  void test('lanes default: 1 below max 4, else 2', () => {
    assert.equal(resolveOptions({ max: 1, min: 0 }, NO_ENV).lanes, 1);
    assert.equal(resolveOptions({ max: 3 }, NO_ENV).lanes, 1);
    assert.equal(resolveOptions({ max: 4 }, NO_ENV).lanes, 2);
    assert.equal(resolveOptions({ max: 100 }, NO_ENV).lanes, 2);
  });

  void test('resolved options are frozen', () => {
    const o = resolveOptions({}, NO_ENV);
    assert.ok(Object.isFrozen(o));
  });

  void test('Infinity is accepted where documented (acquireTimeoutMs, commandTimeoutMs, maxWaiting)', () => {
    const o = resolveOptions({ acquireTimeoutMs: Infinity, commandTimeoutMs: Infinity, maxWaiting: Infinity }, NO_ENV);
    assert.equal(o.acquireTimeoutMs, Infinity);
    assert.equal(o.commandTimeoutMs, Infinity);
    assert.equal(o.maxWaiting, Infinity);
  });
});

void describe('URLs', () => {
  void test('redis:// with user, password, port and db', () => {
    const o = resolveOptions('redis://alice:s3cret@cache.internal:6380/4', NO_ENV);
    assert.equal(o.host, 'cache.internal');
    assert.equal(o.port, 6380);
    assert.equal(o.username, 'alice');
    assert.equal(o.password, 's3cret');
    assert.equal(o.db, 4);
    assert.equal(o.tls, undefined);
    assert.equal(o.endpoint, 'redis://***@cache.internal:6380/4');
  });

  void test('redis:// with only a password (the default user)', () => {
    const p = parseRedisUrl('redis://:pw@h');
    assert.equal(p.username, undefined);
    assert.equal(p.password, 'pw');
    assert.equal(p.port, undefined);
  });

  void test('rediss:// turns TLS on with verification', () => {
    const o = resolveOptions('rediss://h.example:6390', NO_ENV);
    assert.deepEqual(o.tls, {});
    assert.equal(o.endpoint, 'rediss://h.example:6390');
  });

  void test('rediss:// with explicit TLS settings keeps them', () => {
    const o = resolveOptions({ url: 'rediss://h', tls: { servername: 'x.example', minVersion: 'TLSv1.3' } }, NO_ENV);
    assert.equal(o.tls?.servername, 'x.example');
    assert.equal(o.tls?.minVersion, 'TLSv1.3');
  });

  void test('unix:// socket path with ?db', () => {
    const o = resolveOptions('unix:///var/run/redis/redis.sock?db=2', NO_ENV);
    assert.equal(o.path, '/var/run/redis/redis.sock');
    assert.equal(o.db, 2);
    assert.equal(o.endpoint, 'unix:///var/run/redis/redis.sock?db=2');
  });

  void test('unix:// with user and password before an empty host, and ?db', () => {
    const o = resolveOptions('unix://alice:s3cret@/var/run/redis/redis.sock?db=2', NO_ENV);
    assert.equal(o.path, '/var/run/redis/redis.sock');
    assert.equal(o.username, 'alice');
    assert.equal(o.password, 's3cret');
    assert.equal(o.db, 2);
    assert.equal(o.endpoint, 'unix://***@/var/run/redis/redis.sock?db=2');
    assert.equal(redactUrl('unix://alice:s3cret@/var/run/redis/redis.sock?db=2'), 'unix://***@/var/run/redis/redis.sock');
  });

  void test('unix:// with only a password, or only a user', () => {
    const p = parseRedisUrl('unix://:pw@/tmp/r.sock');
    assert.equal(p.username, undefined);
    assert.equal(p.password, 'pw');
    assert.equal(p.path, '/tmp/r.sock');
    assert.equal(p.db, undefined);
    const u = parseRedisUrl('unix://alice@/tmp/r.sock?db=0');
    assert.equal(u.username, 'alice');
    assert.equal(u.password, undefined);
    assert.equal(u.db, 0);
    assert.equal(parseRedisUrl('UNIX://:pw@/tmp/r.sock').password, 'pw', 'scheme is case-insensitive here too');
  });

  void test('unix:// credentials are percent-decoded exactly once, like redis:// ones', () => {
    for (const secret of ['p@ss', 'a:b', 'x/y', '100%', 'h#sh', '@:/%#', 'p%40ss', 'ü ñ', "q?&=+'"]) {
      const userinfo = `${encodeURIComponent(`u${secret}`)}:${encodeURIComponent(secret)}`;
      const p = parseRedisUrl(`unix://${userinfo}@/tmp/r%20s.sock?db=3`);
      const tcp = parseRedisUrl(`redis://${userinfo}@h/3`);
      assert.equal(p.password, secret);
      assert.equal(p.username, `u${secret}`);
      assert.deepEqual([p.username, p.password], [tcp.username, tcp.password]);
      assert.equal(p.path, '/tmp/r s.sock');
      assert.equal(p.db, 3);
    }
    assert.equal(parseRedisUrl('unix://:p%2540ss@/tmp/r.sock').password, 'p%40ss');
  });

  void test('a unix:// password is a non-enumerable secret, as from redis://', () => {
    const secret = 'CANARY-unix-5d1a';
    const o = resolveOptions(`unix://alice:${secret}@/tmp/r.sock`, NO_ENV);
    const tcp = resolveOptions(`redis://alice:${secret}@h`, NO_ENV);
    const shape = (d: PropertyDescriptor | undefined): unknown =>
      d && { get: typeof d.get, set: d.set, enumerable: d.enumerable, configurable: d.configurable };
    assert.deepEqual(shape(Object.getOwnPropertyDescriptor(o, 'password')), shape(Object.getOwnPropertyDescriptor(tcp, 'password')));
    assert.equal(Object.getOwnPropertyDescriptor(o, 'password')?.enumerable, false);
    assert.equal(o.password, secret);
    assert.ok(!Object.keys(o).includes('password'));
    for (const out of [
      JSON.stringify(o),
      String(o),
      util.inspect(o, { depth: 10, showHidden: true }),
      o.endpoint,
      JSON.stringify({ ...o }),
    ])
      assert.ok(!out.includes(secret), `leaks the password: ${out.slice(0, 200)}`);
  });

  void test('a unix:// URL may spell its unused host "localhost"; any other host is refused with the three-slash form', () => {
    const p = parseRedisUrl('unix://u:p@localhost/tmp/r.sock?db=1');
    assert.deepEqual([p.path, p.username, p.password, p.db], ['/tmp/r.sock', 'u', 'p', 1]);
    // The classic slip: two slashes make "tmp" a host and the socket /redis.sock.
    for (const url of ['unix://tmp/redis.sock', 'unix://u:p@var/run/redis.sock', 'unix://h:12/tmp/r.sock']) {
      assert.throws(
        () => parseRedisUrl(url),
        (e: unknown) => {
          const err = e as { code?: string; option?: string; message: string };
          return (
            err.code === 'ERR_INVALID_OPTION' &&
            err.option === 'url.host' &&
            err.message.includes('unix:///path/to.sock') &&
            !err.message.includes(':p@')
          );
        },
        url,
      );
    }
    assert.equal(parseRedisUrl('unix:///tmp/redis.sock').path, '/tmp/redis.sock');
  });

  void test('malformed unix:// URLs with credentials are refused, and no message carries the password', () => {
    const secret = 'CANARY-unix-77c0';
    const rows: Array<[string, string]> = [
      [`unix://u:${secret}@`, 'url.path'],
      [`unix://u:${secret}@/`, 'url.path'],
      [`unix://u:${secret}@?db=1`, 'url.path'],
      [`unix://u:${secret}%ZZ@/tmp/r.sock`, 'url.password'],
      [`unix://u%E0%A4%A:${secret}@/tmp/r.sock`, 'url.username'],
      [`unix://u:${secret}@/tmp/r.sock?db=x`, 'url.query.db'],
      [`unix://u:${secret}@/tmp/r.sock?db=1&db=2`, 'url.query.db'],
      [`unix://u:${secret}@/tmp/r.sock?bogus=1`, 'url.query'],
      [`unix://u:${secret.replace('-', '/')}@/tmp/r.sock`, 'url'], // an unencoded "/" ends the authority early
      [`unix:/u:${secret}@/tmp/r.sock`, 'url'],
    ];
    for (const [url, option] of rows) {
      for (const input of [url, { url }, { url, tls: true as const }]) {
        let err: unknown;
        try {
          resolveOptions(input, NO_ENV);
        } catch (e) {
          err = e;
        }
        assert.ok(err instanceof ConfigError, `${option}: should be refused`);
        if (typeof input === 'string') assert.equal(err.option, option, err.message);
        for (const out of [err.message, String(err.stack), util.inspect(err, { depth: 10 }), JSON.stringify(err)])
          assert.ok(!out.includes(secret) && !out.includes(secret.replace('-', '/')), `leak in ${out}`);
      }
    }
  });

  void test('IPv6 hosts', () => {
    const o = resolveOptions('redis://[::1]:6381', NO_ENV);
    assert.equal(o.host, '::1');
    assert.equal(o.port, 6381);
    assert.equal(o.endpoint, 'redis://[::1]:6381');
  });

  void test('scheme is case-insensitive', () => {
    assert.equal(parseRedisUrl('REDIS://h:1').host, 'h');
  });

  void test('db in the path or in the query (agreeing)', () => {
    assert.equal(parseRedisUrl('redis://h/3').db, 3);
    assert.equal(parseRedisUrl('redis://h?db=5').db, 5);
    assert.equal(parseRedisUrl('redis://h/5?db=5').db, 5);
  });

  void test('query options are typed and applied', () => {
    const o = resolveOptions(
      'redis://h?max=7&min=2&lanes=3&acquireTimeoutMs=250&commandTimeoutMs=900&autoPipelining=true&onUnavailable=degrade&name=api&validateWrites=0',
      NO_ENV,
    );
    assert.equal(o.max, 7);
    assert.equal(o.min, 2);
    assert.equal(o.lanes, 3);
    assert.equal(o.acquireTimeoutMs, 250);
    assert.equal(o.commandTimeoutMs, 900);
    assert.equal(o.autoPipelining, true);
    assert.equal(o.onUnavailable, 'degrade');
    assert.equal(o.name, 'api');
    assert.equal(o.validateWrites, false);
  });

  void test('query options accept Infinity where the object form does', () => {
    const o = resolveOptions('redis://h?commandTimeoutMs=Infinity&acquireTimeoutMs=Infinity&maxWaiting=Infinity', NO_ENV);
    assert.equal(o.commandTimeoutMs, Infinity);
    assert.equal(o.acquireTimeoutMs, Infinity);
    assert.equal(o.maxWaiting, Infinity);
  });

  void test('the endpoint never carries the query string', () => {
    const o = resolveOptions('redis://u:p@h:1/2?name=x', NO_ENV);
    assert.equal(o.endpoint, 'redis://***@h:1/2');
    assert.equal(redactUrl('redis://u:p@h:1/2?password=x'), 'redis://***@h:1/2');
  });
});

void describe('REDIS_URL fallback', () => {
  void test('is used when neither url, host nor path is given', () => {
    const o = resolveOptions({ max: 5 }, { REDIS_URL: 'redis://from-env:6400/1' });
    assert.equal(o.host, 'from-env');
    assert.equal(o.port, 6400);
    assert.equal(o.db, 1);
    assert.equal(o.max, 5);
  });

  void test('is ignored when url, host or path is given', () => {
    const env = { REDIS_URL: 'redis://from-env:6400/1' };
    assert.equal(resolveOptions({ url: 'redis://explicit' }, env).host, 'explicit');
    assert.equal(resolveOptions({ host: 'h2' }, env).host, 'h2');
    assert.equal(resolveOptions({ host: 'h2' }, env).port, 6379);
    const p = resolveOptions({ path: '/tmp/s.sock' }, env);
    assert.equal(p.path, '/tmp/s.sock');
    assert.equal(p.db, 0);
  });

  void test('an invalid REDIS_URL is a ConfigError naming the url', () => {
    assert.throws(
      () => resolveOptions({}, { REDIS_URL: 'http://h' }),
      (e: Error & { option?: string }) => e.option === 'url',
    );
  });
});

void describe('explicit options win over the URL', () => {
  void test('db, credentials, sizes', () => {
    const o = resolveOptions(
      { url: 'redis://u:p@urlhost:1111/3?max=5&name=fromurl', db: 4, username: 'ou', password: 'op', max: 9, name: 'fromopt' },
      NO_ENV,
    );
    assert.equal(o.host, 'urlhost');
    assert.equal(o.port, 1111);
    assert.equal(o.db, 4);
    assert.equal(o.username, 'ou');
    assert.equal(o.password, 'op');
    assert.equal(o.max, 9);
    assert.equal(o.name, 'fromopt');
  });

  void test('URL parts fill in what the options leave out', () => {
    const o = resolveOptions({ url: 'redis://u:p@urlhost:1111/3?max=5', max: 8 }, NO_ENV);
    assert.equal(o.host, 'urlhost');
    assert.equal(o.port, 1111);
    assert.equal(o.db, 3);
    assert.equal(o.password, 'p');
    assert.equal(o.max, 8);
  });

  void test('the endpoint is given once: url with host, port or path is refused, naming both', () => {
    for (const extra of [{ host: 'h' }, { port: 2222 }, { path: '/tmp/r.sock' }]) {
      for (const url of ['redis://urlhost:1111', 'unix:///tmp/r.sock']) {
        assert.throws(
          () => resolveOptions({ url, ...extra }, NO_ENV),
          (e: Error & { option?: string }) =>
            e instanceof ConfigError && e.option === 'url' && e.message.includes(`"${Object.keys(extra)[0]!}"`),
        );
      }
    }
  });

  void test('tls: true with a rediss:// URL is consistent', () => {
    assert.deepEqual(resolveOptions({ url: 'rediss://h', tls: true }, NO_ENV).tls, {});
  });
});
