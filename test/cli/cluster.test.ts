/**
 * `redpool health` and `redpool monitor` on a real 3 + 3 cluster: given any node's URL they
 * detect the cluster (INFO cluster_enabled:1) and show every node — primaries with their slots
 * and the CLI pool's per-node figures, replicas with their primary and link — with the exit code
 * of the worst problem; `--cluster` forces the mode (a standalone server is then unavailable).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useRedis } from '../helpers/redis.js';
import { useCluster, withCluster } from '../helpers/topology.js';
import { runCli } from './run-cli.js';

interface NodeJson {
  id: string;
  address: string;
  role: 'primary' | 'replica';
  primary: string | null;
  slots: number;
  status: string;
  latencyMs: number | null;
  server: { connectedClients: number | null; replicaLink: string | null } | null;
  pool: { total: number } | null;
}

interface HealthJson {
  status: string;
  problems: string[];
  server: unknown;
  cluster?: { state: string | null; coveredSlots: number; knownNodes: number; nodes: NodeJson[] };
}

interface MonitorJson {
  target: string;
  cluster: true;
  time: string;
  nodes: Array<{ address: string; role: string; connectedClients: number | null; commandsPerSec: number | null }>;
}

void describe('redpool health / monitor on a cluster', () => {
  const cluster = useCluster();
  const seed = (): string => `redis://127.0.0.1:${cluster().primaries[1]!.port}`;

  void test('health: any node of a healthy cluster → every node listed, healthy, exit 0', async () => {
    const r = await runCli(['health', seed()]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /healthy {2}6\/6 nodes healthy \(3 primaries, 3 replicas\), 16384\/16384 slots covered/);
    assert.match(r.stdout, /\n {2}cluster {2}state ok, 16384\/16384 slots covered, 6 nodes/);
    for (const n of cluster().nodes) {
      const role = n.initialRole === 'primary' ? 'primary' : 'replica';
      assert.match(r.stdout, new RegExp(`\\n  ${role} +127\\.0\\.0\\.1:${n.port} +healthy`), `${role} ${n.port} listed`);
    }
    assert.equal((r.stdout.match(/ slots, clients /g) ?? []).length, 3, 'three primaries with their slots');
    assert.equal((r.stdout.match(/, link up, clients /g) ?? []).length, 3, 'three replicas with their link');
    assert.equal(r.stderr, '');
  });

  void test('health --json: per-node reports (role, slots, primary, pool per primary) that add up', async () => {
    const r = await runCli(['health', seed(), '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const j = JSON.parse(r.stdout) as HealthJson;
    assert.equal(j.status, 'healthy');
    assert.deepEqual(j.problems, []);
    assert.equal(j.server, null);
    const c = j.cluster;
    assert.ok(c, 'cluster section');
    assert.equal(c.state, 'ok');
    assert.equal(c.coveredSlots, 16384);
    assert.equal(c.nodes.length, 6);
    const primaries = c.nodes.filter((n) => n.role === 'primary');
    const replicas = c.nodes.filter((n) => n.role === 'replica');
    assert.equal(primaries.length, 3);
    assert.equal(
      primaries.reduce((a, n) => a + n.slots, 0),
      16384,
    );
    for (const n of c.nodes) {
      assert.equal(n.status, 'healthy', `${n.address}: ${n.status}`);
      assert.ok(n.latencyMs !== null && n.latencyMs >= 0);
      assert.ok((n.server?.connectedClients ?? 0) >= 1);
    }
    for (const p of primaries) {
      assert.equal(p.id, cluster().node(Number(p.address.split(':')[1])).id, 'node ids from the cluster');
      assert.equal(p.pool?.total, 1, 'the CLI pool holds one connection per primary');
    }
    for (const rep of replicas) {
      const node = cluster().node(Number(rep.address.split(':')[1]));
      assert.equal(rep.primary, `127.0.0.1:${cluster().node(node.initialPrimaryId!).port}`);
      assert.equal(rep.server?.replicaLink, 'up');
      assert.equal(rep.pool, null);
    }
  });

  void test('monitor --once: one row per node; --json --count 2: every node, with rates in the second sample', async () => {
    const once = await runCli(['monitor', seed(), '--once']);
    assert.equal(once.code, 0, once.stdout + once.stderr);
    assert.match(once.stdout, /cluster, 6 nodes/);
    assert.match(once.stdout, /\n {2}node +role +slots +clients/);
    for (const n of cluster().nodes) assert.match(once.stdout, new RegExp(`\\n  127\\.0\\.0\\.1:${n.port} +(primary|replica) `));
    const r = await runCli(['monitor', seed(), '--json', '--count', '2', '--interval', '0.2']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    const samples = lines.map((l) => JSON.parse(l) as MonitorJson);
    for (const s of samples) {
      assert.equal(s.cluster, true);
      assert.deepEqual(
        s.nodes.map((n) => n.address).sort(),
        cluster()
          .nodes.map((n) => `127.0.0.1:${n.port}`)
          .sort(),
      );
    }
    assert.equal(samples[0]!.nodes[0]!.commandsPerSec, null, 'no rate from one sample');
    for (const n of samples[1]!.nodes) assert.ok(n.commandsPerSec !== null && n.commandsPerSec >= 0, `${n.address} rate`);
    const plain = await runCli(['monitor', seed(), '--count', '1']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout.trim().split('\n').length, 6, 'one line per node');
    assert.match(plain.stdout, / node=127\.0\.0\.1:\d+ role=(primary|replica) clients=/);
  });
});

void describe('redpool health on a cluster with a node down', () => {
  void test('a killed replica: degraded, exit 1, the replica named; monitor reports the failed sample (exit 1)', async (t) => {
    const c = await withCluster(t);
    const victim = c.replicas[0]!;
    await victim.server.kill();
    const seedUrl = `redis://127.0.0.1:${c.primaries[0]!.port}`;
    const r = await runCli(['health', seedUrl, '--json', '--timeout', '500']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const j = JSON.parse(r.stdout) as HealthJson;
    assert.equal(j.status, 'degraded');
    const row = j.cluster?.nodes.find((n) => n.address === `127.0.0.1:${victim.port}`);
    assert.ok(row, 'the killed replica is still listed (CLUSTER NODES)');
    assert.equal(row.status, 'unavailable');
    assert.ok(
      j.problems.some((p) => p.startsWith(`replica 127.0.0.1:${victim.port}: unavailable`)),
      j.problems.join('\n'),
    );
    for (const p of j.cluster!.nodes.filter((n) => n.role === 'primary')) assert.equal(p.status, 'healthy');
    const m = await runCli(['monitor', seedUrl, '--once', '--timeout', '500']);
    assert.equal(m.code, 1, m.stdout + m.stderr);
    assert.match(m.stderr, new RegExp(`sample of replica 127\\.0\\.0\\.1:${victim.port} failed`));
    assert.match(m.stdout, /cluster, 5 nodes/);
  });
});

void describe('redpool health --cluster on a standalone server', () => {
  const redis = useRedis();
  void test('unavailable, exit 2: it is not a cluster', async () => {
    const r = await runCli(['health', redis().url, '--cluster', '--timeout', '500']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /unavailable/);
    // Without --cluster the same server is checked as one node.
    const single = await runCli(['health', redis().url]);
    assert.equal(single.code, 0, single.stdout + single.stderr);
    assert.doesNotMatch(single.stdout, /cluster/);
  });
});
