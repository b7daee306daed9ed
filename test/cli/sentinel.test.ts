/**
 * `redpool health` and `redpool monitor` on a real Sentinel set (1 primary, 1 replica, 3
 * sentinels): `--sentinel host:port,… --name mymaster` lists every sentinel with its view of
 * the primary, the primary and its replica with role, offset and lag, and the pool's
 * `stats().sentinel`; a killed replica or sentinel makes the command degraded (exit 1), after a
 * `SENTINEL FAILOVER` the roles are shown swapped, and bad arguments are usage errors (exit 2).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '../helpers/redis.js';
import { useSentinelSet } from '../helpers/topology.js';
import { runCli, type CliResult } from './run-cli.js';

interface NodeJson {
  address: string;
  role: 'primary' | 'replica';
  reportedRole: string | null;
  status: string;
  replicaLink: string | null;
  offset: number | null;
  lagBytes: number | null;
  flags: string[];
}

interface HealthJson {
  target: string;
  status: string;
  problems: string[];
  server: unknown;
  sentinel: {
    name: string;
    primary: string | null;
    sentinels: Array<{
      address: string;
      reachable: boolean;
      primary: string | null;
      flags: string[];
      quorum: number | null;
      quorumOk: boolean | null;
    }>;
    nodes: NodeJson[];
    stats: { name: string; primary: string | undefined; generation: number; sentinels: number } | null;
  };
}

interface MonitorJson {
  target: string;
  sentinel: true;
  primary: string | null;
  sentinelsReachable: number;
  stats: { name: string; primary: string } | null;
  nodes: Array<{ address: string; role: string; offset: number | null; connectedClients: number | null; commandsPerSec: number | null }>;
}

const health = (list: string, ...extra: string[]): Promise<CliResult> =>
  runCli(['health', '--sentinel', list, '--name', 'mymaster', '--timeout', '1000', ...extra]);

void describe('redpool health / monitor --sentinel on a healthy set', () => {
  const set = useSentinelSet();
  const list = (): string =>
    set()
      .sentinelAddresses()
      .map((a) => `${a.host}:${a.port}`)
      .join(',');

  void test('health: sentinels, primary and replica listed, healthy, exit 0', async () => {
    const r = await health(list());
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const { primary, replica } = set();
    assert.match(r.stdout, /^redis-sentinel:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+\/mymaster {2}healthy {2}primary /);
    assert.match(r.stdout, /1\/1 replicas healthy, 3\/3 sentinels reachable/);
    for (const s of set().sentinels)
      assert.match(
        r.stdout,
        new RegExp(
          `\\n  sentinel 127\\.0\\.0\\.1:${s.port} +primary 127\\.0\\.0\\.1:${primary.port} \\[master\\], quorum 2 \\(CKQUORUM ok\\)`,
        ),
      );
    assert.match(r.stdout, new RegExp(`\\n  primary  127\\.0\\.0\\.1:${primary.port} +healthy .* role master, offset \\d+`));
    assert.match(
      r.stdout,
      new RegExp(`\\n  replica  127\\.0\\.0\\.1:${replica.port} +healthy .* role slave, link up, offset \\d+, lag \\d+ B`),
    );
    assert.match(r.stdout, /\n {2}pool {5}sentinel "mymaster": generation 1, 0 moves, 3 sentinels known/);
    assert.equal(r.stderr, '');
  });

  void test('health --json: the sentinel section adds up', async () => {
    const r = await health(list(), '--json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const j = JSON.parse(r.stdout) as HealthJson;
    const { primary, replica } = set();
    assert.equal(j.status, 'healthy');
    assert.deepEqual(j.problems, []);
    assert.equal(j.server, null);
    assert.equal(j.sentinel.name, 'mymaster');
    assert.equal(j.sentinel.primary, `127.0.0.1:${primary.port}`);
    assert.equal(j.sentinel.sentinels.length, 3);
    for (const s of j.sentinel.sentinels) {
      assert.equal(s.reachable, true);
      assert.equal(s.primary, `127.0.0.1:${primary.port}`);
      assert.deepEqual(s.flags, ['master']);
      assert.equal(s.quorum, 2);
      assert.equal(s.quorumOk, true);
    }
    assert.deepEqual(
      j.sentinel.nodes.map((n) => [n.role, n.address, n.reportedRole, n.status]),
      [
        ['primary', `127.0.0.1:${primary.port}`, 'master', 'healthy'],
        ['replica', `127.0.0.1:${replica.port}`, 'slave', 'healthy'],
      ],
    );
    const [p, rep] = j.sentinel.nodes as [NodeJson, NodeJson];
    assert.ok(p.offset !== null && p.offset > 0, 'primary offset');
    assert.equal(rep.replicaLink, 'up');
    assert.ok(rep.offset !== null && rep.lagBytes !== null && rep.lagBytes >= 0 && rep.lagBytes <= p.offset!, 'lag from offsets');
    assert.equal(j.sentinel.stats?.name, 'mymaster');
    assert.equal(j.sentinel.stats?.primary, `127.0.0.1:${primary.port}`);
    assert.equal(j.sentinel.stats?.generation, 1);
    assert.equal(j.sentinel.stats?.sentinels, 3);
  });

  void test('monitor --json: every node per sample, with the pool’s Sentinel figures', async () => {
    const r = await runCli(['monitor', '--sentinel', list(), '--name', 'mymaster', '--json', '--count', '2', '--interval', '0.1']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const samples = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as MonitorJson);
    assert.equal(samples.length, 2);
    const { primary, replica } = set();
    for (const s of samples) {
      assert.equal(s.sentinel, true);
      assert.equal(s.primary, `127.0.0.1:${primary.port}`);
      assert.equal(s.sentinelsReachable, 3);
      assert.equal(s.stats?.name, 'mymaster');
      assert.deepEqual(
        s.nodes.map((n) => [n.role, n.address]),
        [
          ['primary', `127.0.0.1:${primary.port}`],
          ['replica', `127.0.0.1:${replica.port}`],
        ],
      );
      for (const n of s.nodes) assert.ok((n.connectedClients ?? 0) >= 1 && n.offset !== null);
    }
    assert.equal(samples[0]!.nodes[0]!.commandsPerSec, null, 'no rate on the first sample');
    assert.ok(samples[1]!.nodes[0]!.commandsPerSec !== null, 'rates on the second');
  });

  void test('monitor --once: a block with a row per node and the summary line', async () => {
    const r = await runCli(['monitor', '--sentinel', list(), '--name', 'mymaster', '--once']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /· sentinel, 2 nodes ·/);
    assert.match(r.stdout, /\n {2}primary 127\.0\.0\.1:\d+, generation 1, 0 moves, sentinels 3\/3 answering/);
    assert.match(r.stdout, /\n {2}node +role +offset +lag +clients/);
    assert.match(r.stdout, new RegExp(`\\n  127\\.0\\.0\\.1:${set().replica.port}  replica +\\d+ +\\d+ B`));
  });
});

void describe('redpool health --sentinel: bad arguments and no sentinel', () => {
  const usage = async (args: string[], message: RegExp): Promise<void> => {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /hunter2/);
  };

  void test('usage errors: exit 2, one line naming the option, never a password', async () => {
    await usage(['health', '--sentinel', '127.0.0.1:26379'], /--sentinel needs --name/);
    await usage(['monitor', '--name', 'mymaster'], /--name is the Sentinel master name: give the sentinels with --sentinel/);
    await usage(['health', '--sentinel', '127.0.0.1:99999', '--name', 'm'], /--sentinel: port must be 1\.\.65535/);
    await usage(['health', '--sentinel', 'a:b:c', '--name', 'm'], /--sentinel: expected host:port/);
    await usage(['health', '--sentinel', ',', '--name', 'm'], /--sentinel: expected host:port\[,host:port…\]/);
    await usage(['health', '--sentinel', '127.0.0.1:1', '--name', 'm', '--cluster'], /--sentinel and --cluster cannot be combined/);
    await usage(
      ['monitor', '--sentinel', '127.0.0.1:1', '--name', 'm', 'redis://:hunter2@127.0.0.1:6379', '--count', 'x'],
      /--count must be a number/,
    );
    await usage(['health', '--sentinel', 'redis://:hunter2@h:1', '--name', 'm'], /--sentinel: expected host:port/);
  });

  void test('no sentinel answers: unavailable, exit 2, quickly; the URL password is not printed', async () => {
    const r = await runCli([
      'health',
      '--sentinel',
      '127.0.0.1:1,127.0.0.1:2',
      '--name',
      'm',
      '--timeout',
      '300',
      '--json',
      'redis://:hunter2@127.0.0.1:6379',
    ]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    const j = JSON.parse(r.stdout) as HealthJson;
    assert.equal(j.status, 'unavailable');
    assert.deepEqual(
      j.sentinel.sentinels.map((s) => s.reachable),
      [false, false],
    );
    assert.equal(j.sentinel.primary, null);
    assert.doesNotMatch(r.stdout + r.stderr, /hunter2/);
    assert.ok(r.ms < 8_000, `answered in ${r.ms} ms`);
  });
});

void describe('redpool health / monitor --sentinel through a failover and failures', () => {
  const set = useSentinelSet();
  const list = (): string =>
    set()
      .sentinelAddresses()
      .map((a) => `${a.host}:${a.port}`)
      .join(',');

  void test('after SENTINEL FAILOVER the roles are shown swapped', async () => {
    const { primary, replica, sentinels } = set();
    await sentinels[0]!.command('SENTINEL', 'FAILOVER', 'mymaster');
    await waitFor(async () => (await set().currentPrimary()).port === replica.port, { timeoutMs: 20_000, intervalMs: 100 });
    // The old primary is reconfigured as a replica by the sentinels a moment later; healthy again then.
    const r = await waitFor(
      async () => {
        const out = await health(list(), '--json');
        if (out.code !== 0) throw new Error(out.stdout + out.stderr); // kept as waitFor's cause
        return out;
      },
      { timeoutMs: 20_000, intervalMs: 250, message: 'health healthy after the failover' },
    );
    const j = JSON.parse(r.stdout) as HealthJson;
    assert.equal(j.sentinel.primary, `127.0.0.1:${replica.port}`);
    assert.deepEqual(
      j.sentinel.nodes.map((n) => [n.role, n.address, n.reportedRole]),
      [
        ['primary', `127.0.0.1:${replica.port}`, 'master'],
        ['replica', `127.0.0.1:${primary.port}`, 'slave'],
      ],
    );
  });

  void test('a killed replica: degraded, exit 1, the replica unavailable; monitor exits 1', async () => {
    const current = await set().currentPrimary();
    const victim = current.port === set().primary.port ? set().replica : set().primary;
    await victim.kill();
    const r = await health(list(), '--json');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const j = JSON.parse(r.stdout) as HealthJson;
    assert.equal(j.status, 'degraded');
    const node = j.sentinel.nodes.find((n) => n.address === `127.0.0.1:${victim.port}`);
    assert.equal(node?.role, 'replica', 'still listed: the sentinels know it');
    assert.equal(node?.status, 'unavailable');
    assert.ok(
      j.problems.some((p) => p.startsWith(`replica 127.0.0.1:${victim.port}: unavailable`)),
      j.problems.join('\n'),
    );
    const text = await health(list());
    assert.equal(text.code, 1);
    assert.match(text.stdout, new RegExp(`\\n  problem  replica 127\\.0\\.0\\.1:${victim.port}: unavailable`));
    const m = await runCli(['monitor', '--sentinel', list(), '--name', 'mymaster', '--count', '1']);
    assert.equal(m.code, 1, m.stdout + m.stderr);
    assert.match(m.stderr, new RegExp(`sample of replica 127\\.0\\.0\\.1:${victim.port} failed`));
    assert.match(m.stdout, new RegExp(`node=127\\.0\\.0\\.1:${current.port} role=primary`), 'the primary is still sampled');
  });

  void test('a killed sentinel: reported unreachable, degraded, exit 1', async () => {
    const dead = set().sentinels[2]!;
    await dead.kill();
    const r = await health(list(), '--json');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const j = JSON.parse(r.stdout) as HealthJson;
    assert.equal(j.sentinel.sentinels.find((s) => s.address === `127.0.0.1:${dead.port}`)?.reachable, false);
    assert.ok(j.problems.includes(`sentinel 127.0.0.1:${dead.port}: unreachable`), j.problems.join('\n'));
    assert.equal(j.sentinel.sentinels.filter((s) => s.reachable).length, 2);
  });
});
