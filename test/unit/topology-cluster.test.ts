/**
 * Pure cluster pieces: key → slot, key extraction from the command table with the cross-slot
 * refusal, MOVED/ASK parsing, natMap, and the slot map from CLUSTER SHARDS / CLUSTER SLOTS
 * replies in RESP2 and RESP3 shape (the real-server shape is checked in
 * test/integration/topology/cluster-slot-map.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, CrossSlotError } from '../../src/errors.js';
import { commandSlot, keyIndexes, keySlot, keysSlot } from '../../src/topology/cluster/keys.js';
import { compileNatMap } from '../../src/topology/cluster/nat-map.js';
import { clusterReplyKind, parseRedirect } from '../../src/topology/cluster/redirect.js';
import { parseClusterShards, parseClusterSlots } from '../../src/topology/cluster/slot-map.js';

const ID = (c: string): string => c.repeat(40);

void describe('key slots and key extraction', () => {
  void test('slots match Redis (CLUSTER KEYSLOT values) and hash tags', () => {
    assert.equal(keySlot('foo'), 12182);
    assert.equal(keySlot('bar'), 5061);
    assert.equal(keySlot('{user1000}.following'), keySlot('{user1000}.followers'));
    assert.equal(keySlot(Buffer.from('foo')), 12182);
    assert.equal(keySlot(123), keySlot('123'));
  });

  void test('key positions come from the command table, incl. numkeys and subcommands', () => {
    assert.deepEqual(keyIndexes('SET', ['k', 'v']), [0]);
    assert.deepEqual(keyIndexes('mset', ['a', '1', 'b', '2']), [0, 2]);
    assert.deepEqual(keyIndexes('eval', ['return 1', '2', 'a', 'b', 'arg']), [2, 3]);
    assert.deepEqual(keyIndexes('ping', []), []);
    assert.deepEqual(keyIndexes('json.set', ['k', '$', '1']), [], 'unknown (module) command: keyless');
    assert.deepEqual(keyIndexes('mget', [['a', 'b']]), [0, 1], 'one level of nesting is flattened as ioredis does');
  });

  void test('commandSlot: one slot, none, or a typed refusal before anything is sent', () => {
    assert.equal(commandSlot('get', ['foo']), 12182);
    assert.equal(commandSlot('mget', ['{t}a', '{t}b']), keySlot('t'));
    assert.equal(commandSlot('info', []), undefined);
    assert.throws(
      () => commandSlot('mget', ['foo', 'bar']),
      (err: unknown) => {
        assert.ok(err instanceof CrossSlotError);
        assert.equal(err.code, 'ERR_CROSS_SLOT');
        assert.equal(err.outcome, 'not-sent');
        assert.equal(err.command, 'MGET');
        assert.deepEqual(err.keyIndexes, [0, 1]);
        assert.deepEqual(err.slots, [12182, 5061]);
        assert.doesNotMatch(err.message, /foo|bar/, 'key names are not in the message');
        return true;
      },
    );
    assert.throws(() => keysSlot('withConnection', ['foo', 'bar']), { code: 'ERR_CROSS_SLOT' });
    assert.equal(keysSlot('withConnection', []), undefined);
  });
});

void describe('redirect replies', () => {
  void test('MOVED and ASK parse into slot and address (IPv4, IPv6, empty host)', () => {
    assert.deepEqual(parseRedirect('MOVED 3999 127.0.0.1:6381'), { kind: 'moved', slot: 3999, host: '127.0.0.1', port: 6381 });
    assert.deepEqual(parseRedirect('-ASK 0 ::1:7000'), { kind: 'ask', slot: 0, host: '::1', port: 7000 });
    assert.deepEqual(parseRedirect('MOVED 1 :7000'), { kind: 'moved', slot: 1, host: '', port: 7000 });
  });

  void test('malformed or out-of-range redirects are not trusted', () => {
    for (const bad of [
      'MOVED 16384 127.0.0.1:1',
      'MOVED 1 127.0.0.1:0',
      'MOVED 1 127.0.0.1:70000',
      'MOVED x h:1',
      'MOVED __proto__ h:1',
      'ERR MOVED 1 h:1',
    ]) {
      assert.equal(parseRedirect(bad), undefined, bad);
    }
  });

  void test('cluster reply kinds (each means "did not run")', () => {
    assert.equal(clusterReplyKind('TRYAGAIN Multiple keys request during rehashing of slot'), 'tryagain');
    assert.equal(clusterReplyKind('-CLUSTERDOWN The cluster is down'), 'clusterdown');
    assert.equal(clusterReplyKind("READONLY You can't write against a read only replica."), 'readonly');
    assert.equal(clusterReplyKind('MOVED 1 h:1'), 'moved');
    assert.equal(clusterReplyKind('ERR wrong number of arguments'), undefined);
    assert.equal(clusterReplyKind('constructor x'), undefined);
  });
});

void describe('natMap', () => {
  void test('object and function forms translate announced addresses', () => {
    const obj = compileNatMap({ '10.0.0.1:7000': { host: '127.0.0.1', port: 30001 } });
    assert.deepEqual(obj({ host: '10.0.0.1', port: 7000 }), { host: '127.0.0.1', port: 30001 });
    assert.deepEqual(obj({ host: '10.0.0.2', port: 7000 }), { host: '10.0.0.2', port: 7000 });
    const fn = compileNatMap((a: { host: string; port: number }) =>
      a.host === '10.0.0.1' ? { host: 'localhost', port: a.port + 1 } : undefined,
    );
    assert.deepEqual(fn({ host: '10.0.0.1', port: 1 }), { host: 'localhost', port: 2 });
    assert.deepEqual(fn({ host: 'x', port: 1 }), { host: 'x', port: 1 });
  });

  void test('bad natMap input is a ConfigError naming the option', () => {
    const cases: [unknown, RegExp][] = [
      [[1], /cluster\.natMap/],
      ['x', /cluster\.natMap/],
      [{ nope: { host: 'h', port: 1 } }, /not "host:port"/],
      [{ 'h:1': { host: '', port: 1 } }, /cluster\.natMap\["h:1"\]/],
      [{ 'h:1': { host: 'h', port: 0 } }, /port must be/],
    ];
    for (const [value, re] of cases) {
      assert.throws(
        () => compileNatMap(value),
        (err: unknown) => err instanceof ConfigError && err.code === 'ERR_INVALID_OPTION' && re.test(err.message),
      );
    }
    const fn = compileNatMap(() => ({ host: 'h', port: -1 }));
    assert.throws(() => fn({ host: 'a', port: 1 }), ConfigError);
  });
});

function node(id: string, port: number, role: string, health = 'online', extra: unknown[] = []): unknown[] {
  return [
    'id',
    id,
    'port',
    port,
    'ip',
    '10.0.0.1',
    'endpoint',
    '10.0.0.1',
    'role',
    role,
    'replication-offset',
    42,
    'health',
    health,
    ...extra,
  ];
}

void describe('slot map', () => {
  const shardsReply = [
    ['slots', [0, 5460], 'nodes', [node(ID('a'), 7000, 'master'), node(ID('d'), 7003, 'replica')]],
    [
      'slots',
      [5461, 10922],
      'nodes',
      [node(ID('b'), 7001, 'master', 'online', ['hostname', 'b.example', 'tls-port', 7101]), node(ID('e'), 7004, 'replica', 'loading')],
    ],
    ['slots', [10923, 16000, 16001, 16383], 'nodes', [node(ID('c'), 7002, 'master', 'fail'), node(ID('f'), 7005, 'replica')]],
  ];

  void test('CLUSTER SHARDS (RESP2): primaries by slot, node ids, health, roles, offsets', () => {
    const map = parseClusterShards(shardsReply);
    assert.equal(map.source, 'shards');
    assert.equal(map.nodes.size, 6);
    assert.equal(map.primaryOf(0)?.id, ID('a'));
    assert.equal(map.primaryOf(5460)?.port, 7000);
    assert.equal(map.primaryOf(5461)?.id, ID('b'));
    assert.equal(map.nodes.get(ID('b'))?.hostname, 'b.example');
    assert.equal(map.nodes.get(ID('b'))?.tlsPort, 7101);
    assert.equal(map.nodes.get(ID('d'))?.replicationOffset, 42);
    assert.deepEqual(
      map.replicasOf(0).map((n) => n.id),
      [ID('d')],
    );
    assert.deepEqual(map.replicasOf(6000), [], 'a loading replica is not offered for reads');
    // The third shard's primary failed: its slots are uncovered, the others still served.
    assert.equal(map.primaryOf(12000), undefined);
    assert.equal(map.nodes.get(ID('c'))?.health, 'failed');
    assert.equal(map.coveredSlots(), 10923);
    assert.equal(map.shardOf(16383)?.replicas.length, 2);
    const documented = parseClusterShards([['slots', [], 'nodes', [node(ID('a'), 1, 'master', 'failed')]]]);
    assert.equal(documented.nodes.get(ID('a'))?.health, 'failed', 'the documented spelling too');
  });

  void test('CLUSTER SHARDS in RESP3 shape (maps, Buffers) gives the same map', () => {
    const toMap = (flat: unknown[]): Map<unknown, unknown> => {
      const m = new Map<unknown, unknown>();
      for (let i = 0; i < flat.length; i += 2) m.set(Buffer.from(String(flat[i])), flat[i + 1]);
      return m;
    };
    const resp3 = shardsReply.map((s) => {
      const [, slots, , nodes] = s as [string, number[], string, unknown[][]];
      return toMap(['slots', slots, 'nodes', nodes.map((n) => toMap(n.map((v) => (typeof v === 'string' ? Buffer.from(v) : v))))]);
    });
    const map = parseClusterShards(resp3);
    assert.equal(map.primaryOf(100)?.id, ID('a'));
    assert.equal(map.primaryOf(7000)?.hostname, 'b.example');
    assert.equal(map.coveredSlots(), 10923);
  });

  void test('natMap and an unknown endpoint ("?") are applied to addresses', () => {
    const reply = [
      ['slots', [0, 16383], 'nodes', [['id', ID('a'), 'port', 7000, 'ip', '', 'endpoint', '?', 'role', 'master', 'health', 'online']]],
    ];
    const map = parseClusterShards(reply, {
      sourceHost: '10.9.9.9',
      translate: compileNatMap({ '10.9.9.9:7000': { host: '127.0.0.1', port: 1 } }),
    });
    assert.deepEqual([map.primaryOf(5)?.host, map.primaryOf(5)?.port], ['127.0.0.1', 1]);
  });

  void test('malformed replies throw instead of building a wrong map', () => {
    for (const bad of [
      'x',
      [['slots', [0], 'nodes', []]],
      [['slots', [0, 16384], 'nodes', []]],
      [['slots', [0, 1], 'nodes', [['id', 'short', 'port', 1]]]],
      [['slots', [5, 1], 'nodes', []]],
    ]) {
      assert.throws(() => parseClusterShards(bad), /unexpected/);
    }
    assert.throws(() => parseClusterSlots([[0, 1]]), /unexpected/);
  });

  void test('CLUSTER SLOTS fallback: ranges grouped by primary, ids kept', () => {
    const reply = [
      [0, 100, ['127.0.0.1', 7000, ID('a')], ['127.0.0.1', 7003, ID('d')]],
      [101, 200, ['127.0.0.1', 7001, ID('b'), ['hostname', 'b.example']]],
      [201, 16383, ['127.0.0.1', 7000, ID('a')], ['127.0.0.1', 7003, ID('d')]],
    ];
    const map = parseClusterSlots(reply);
    assert.equal(map.source, 'slots');
    assert.equal(map.shards.length, 2);
    assert.equal(map.primaryOf(300)?.id, ID('a'));
    assert.equal(map.primaryOf(150)?.hostname, 'b.example');
    assert.deepEqual(
      map.replicasOf(0).map((n) => n.port),
      [7003],
    );
    assert.equal(map.coveredSlots(), 16384);
  });

  void test('withMoved patches one slot to a known node, a promoted replica, or a provisional node', () => {
    const map = parseClusterShards(shardsReply);
    const moved = map.withMoved(100, { host: '10.0.0.1', port: 7001 });
    assert.equal(moved.primaryOf(100)?.id, ID('b'));
    assert.equal(moved.primaryOf(99)?.id, ID('a'), 'neighbours unchanged');
    assert.equal(map.primaryOf(100)?.id, ID('a'), 'the original map is not mutated');
    const promoted = map.withMoved(12000, { host: '10.0.0.1', port: 7005 });
    assert.equal(promoted.primaryOf(12000)?.id, ID('f'));
    assert.equal(promoted.primaryOf(12000)?.role, 'primary');
    const unknown = map.withMoved(0, { host: '10.0.0.7', port: 7777 });
    assert.equal(unknown.primaryOf(0)?.id, '?10.0.0.7:7777');
    assert.equal(unknown.coveredSlots(), map.coveredSlots());
    assert.throws(() => map.withMoved(16384, { host: 'h', port: 1 }), RangeError);
  });
});
