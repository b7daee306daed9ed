/**
 * The Sentinel options of `redpool health`/`monitor` without a server: `--sentinel` and
 * `--name` parsing (defaults, IPv6, limits, typed usage errors that never quote an entry), where
 * credentials come from (URL for the data nodes, environment for the sentinels), and the reply
 * helpers that pick the replica list of a sentinel agreeing with the pool.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse, UsageError } from '../../src/cli/args.js';
import { fields, replicasOf, sentinelTarget, type SentinelReport } from '../../src/cli/sentinel.js';

const OPTIONS = {
  sentinel: { type: 'string' },
  name: { type: 'string' },
  cluster: { type: 'boolean' },
  'sentinel-tls': { type: 'boolean' },
} as const;
const of = (argv: string[], url?: string, env: NodeJS.ProcessEnv = {}): ReturnType<typeof sentinelTarget> =>
  sentinelTarget(parse(argv, OPTIONS, 1), url, env);

void test('sentinelTarget: addresses, default port 26379, IPv6, display without credentials', () => {
  const t = of(['--sentinel', '10.0.0.1:26380, s2 ,[::1]:5000', '--name', 'mymaster']);
  assert.ok(t);
  assert.deepEqual(t.sentinels, [
    { host: '10.0.0.1', port: 26380 },
    { host: 's2', port: 26379 },
    { host: '::1', port: 5000 },
  ]);
  assert.equal(t.display, 'redis-sentinel://10.0.0.1:26380,s2:26379,[::1]:5000/mymaster');
  assert.deepEqual(t.data, {});
  assert.deepEqual(t.sentinelAuth, {});
  assert.equal(of([]), undefined, 'no --sentinel: not Sentinel mode');
});

void test('sentinelTarget: the URL gives the data nodes credentials, the environment the sentinels', () => {
  const t = of(['--sentinel', 'h:1', '--name', 'm', '--sentinel-tls'], 'rediss://app:da%2Fta@ignored:6379/3', {
    REDPOOL_SENTINEL_USERNAME: 'watch',
    REDPOOL_SENTINEL_PASSWORD: 'sent-secret',
  });
  assert.ok(t);
  assert.deepEqual(t.data, { username: 'app', password: 'da/ta', tls: true, db: 3 });
  assert.deepEqual(t.sentinelAuth, { username: 'watch', password: 'sent-secret', tls: true });
  assert.doesNotMatch(t.display, /da\/ta|sent-secret|app|watch/);
});

void test('sentinelTarget: bad arguments are UsageErrors naming the option, never quoting the entry', () => {
  const cases: [string[], RegExp][] = [
    [['--sentinel', 'h:1'], /^--sentinel needs --name/],
    [['--name', 'm'], /^--name is the Sentinel master name/],
    [['--sentinel', 'h:1', '--name', 'my master'], /^--name must be a non-empty master name without spaces/],
    [['--sentinel', 'h:0', '--name', 'm'], /^--sentinel: port must be 1\.\.65535$/],
    [['--sentinel', 'a:1,b:70000', '--name', 'm'], /^--sentinel: port must be 1\.\.65535 \(entry 2 of 2\)$/],
    [['--sentinel', 'redis://:hunter2@h:1', '--name', 'm'], /^--sentinel: expected host:port$/],
    [['--sentinel', 'x:y:z', '--name', 'm'], /^--sentinel: expected host:port$/],
    [['--sentinel', ' , ', '--name', 'm'], /^--sentinel: expected host:port\[,host:port…\]$/],
    [['--sentinel', Array.from({ length: 17 }, (_, i) => `h:${i + 1}`).join(','), '--name', 'm'], /^--sentinel: at most 16 sentinels$/],
    [['--sentinel', 'h:1', '--name', 'm', '--cluster'], /^--sentinel and --cluster cannot be combined$/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(
      () => of(argv),
      (err: unknown) => err instanceof UsageError && message.test(err.message) && !err.message.includes('hunter2'),
      argv.join(' '),
    );
  }
  assert.throws(() => of(['--sentinel', 'h:1', '--name', 'm'], 'unix:///run/redis.sock'), /a unix:\/\/ URL cannot/);
});

void test('fields: RESP2 flat arrays, RESP3 maps and objects read the same', () => {
  const want = { ip: '127.0.0.1', port: '6380', flags: 'slave' };
  assert.deepEqual(fields(['ip', '127.0.0.1', 'port', '6380', 'flags', 'slave']), want);
  assert.deepEqual(
    fields(
      new Map<string, unknown>([
        ['ip', '127.0.0.1'],
        ['port', 6380],
        ['flags', Buffer.from('slave')],
      ]),
    ),
    want,
  );
  assert.deepEqual(fields({ ip: '127.0.0.1', port: 6380, flags: 'slave' }), want);
  assert.deepEqual(fields(null), {});
});

void test('replicasOf: the list of a sentinel that agrees with the pool wins over a stale one', () => {
  const report = (primary: string | null): SentinelReport => ({
    address: 's',
    reachable: primary !== null,
    primary,
    flags: [],
    quorum: 2,
    quorumOk: true,
    replicas: 1,
    otherSentinels: 2,
    latencyMs: 1,
    message: '',
  });
  const stale = [{ ip: '10.0.0.2', port: '6379' }];
  const fresh = [{ ip: '10.0.0.1', port: '6379', flags: 'slave' }];
  const view = { sentinels: [report(null), report('10.0.0.1:6379'), report('10.0.0.2:6379')], lists: [undefined, stale, fresh] };
  assert.deepEqual([...replicasOf(view, '10.0.0.2:6379').keys()], ['10.0.0.1:6379']);
  assert.deepEqual([...replicasOf(view, '10.0.0.9:6379').keys()], ['10.0.0.2:6379'], 'none agrees: the first that answered');
  assert.deepEqual([...replicasOf({ sentinels: [report(null)], lists: [undefined] }, null).keys()], []);
});
