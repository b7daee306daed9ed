/** The advice rules: each fires at its threshold, not below, with stable codes and numbers. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { adviseFromStats, DEFAULT_THRESHOLDS, fetchServerLimits, parseServerLimits, summarizeAdvice } from '../../../src/health/advice.js';
import { statsFixture } from './stats-fixture.js';

const codes = (a: ReturnType<typeof adviseFromStats>): string[] => a.map((x) => x.code);

void describe('adviseFromStats', () => {
  void test('a quiet pool has no advice and the reference summary', () => {
    const advice = adviseFromStats(statsFixture());
    assert.deepEqual(advice, []);
    assert.equal(summarizeAdvice(advice), 'Pool operating optimally');
  });

  void test('utilization: warning above 60 %, critical above 80 %, nothing at exactly 60 %', () => {
    assert.deepEqual(adviseFromStats(statsFixture({ utilization: 0.6, busy: 6 })), []);
    const warn = adviseFromStats(statsFixture({ utilization: 0.7, busy: 7 }));
    assert.deepEqual(codes(warn), ['UTILIZATION_HIGH']);
    assert.equal(warn[0]!.level, 'warning');
    assert.equal(warn[0]!.value, 0.7);
    assert.equal(warn[0]!.threshold, 0.6);
    assert.equal(warn[0]!.metric, 'utilization');
    const crit = adviseFromStats(statsFixture({ utilization: 0.9, busy: 9 }));
    assert.deepEqual(codes(crit), ['UTILIZATION_CRITICAL']);
    assert.equal(crit[0]!.level, 'critical');
    assert.match(crit[0]!.message, /90 %/);
  });

  void test('thresholds can be overridden', () => {
    const a = adviseFromStats(statsFixture({ utilization: 0.5 }), undefined, { thresholds: { utilizationWarning: 0.4 } });
    assert.deepEqual(codes(a), ['UTILIZATION_HIGH']);
    assert.equal(DEFAULT_THRESHOLDS.utilizationWarning, 0.6, 'defaults are not mutated');
  });

  void test('exhaustion, acquire timeouts and command timeouts', () => {
    const a = adviseFromStats(statsFixture({ exhausted: 3, acquireTimeouts: 2, commandTimeouts: 1 }));
    assert.deepEqual(codes(a), ['POOL_EXHAUSTED', 'ACQUIRE_TIMEOUTS', 'COMMAND_TIMEOUTS']);
    assert.deepEqual(
      a.map((x) => x.level),
      ['critical', 'critical', 'warning'],
    );
    assert.deepEqual(
      a.map((x) => x.value),
      [3, 2, 1],
    );
  });

  void test('with a previous snapshot, counters count only what happened since', () => {
    const prev = statsFixture({ exhausted: 3, acquireTimeouts: 2, waits: 100, waitMsTotal: 50_000 });
    assert.deepEqual(
      adviseFromStats(statsFixture({ exhausted: 3, acquireTimeouts: 2, waits: 200, waitMsTotal: 50_100 }), undefined, { previous: prev }),
      [],
    );
    const a = adviseFromStats(statsFixture({ exhausted: 5, acquireTimeouts: 2 }), undefined, { previous: prev });
    assert.deepEqual(codes(a), ['POOL_EXHAUSTED']);
    assert.equal(a[0]!.value, 2);
    assert.match(a[0]!.message, /since the previous check/);
  });

  void test('average wait: warning above 10 ms, critical above 100 ms', () => {
    assert.deepEqual(adviseFromStats(statsFixture({ waits: 40, waitMsTotal: 400 })), []);
    const w = adviseFromStats(statsFixture({ waits: 40, waitMsTotal: 800 }));
    assert.deepEqual(codes(w), ['WAIT_TIME_HIGH']);
    assert.equal(w[0]!.level, 'warning');
    assert.equal(w[0]!.value, 20);
    const c = adviseFromStats(statsFixture({ waits: 40, waitMsTotal: 20_000 }));
    assert.equal(c[0]!.level, 'critical');
    assert.equal(c[0]!.threshold, 100);
  });

  void test('average wait: no verdict below waitMinSamples (20) contention waits', () => {
    // Issue 15 item 3: two requests on a fresh pool, 20.3 ms average, reported WAIT_TIME_HIGH.
    assert.deepEqual(adviseFromStats(statsFixture({ waits: 2, waitMsTotal: 40.6 })), []);
    assert.deepEqual(adviseFromStats(statsFixture({ waits: 19, waitMsTotal: 19 * 50 })), []);
    assert.deepEqual(codes(adviseFromStats(statsFixture({ waits: 20, waitMsTotal: 20 * 50 }))), ['WAIT_TIME_HIGH']);
    assert.deepEqual(
      codes(adviseFromStats(statsFixture({ waits: 5, waitMsTotal: 250 }), undefined, { thresholds: { waitMinSamples: 5 } })),
      ['WAIT_TIME_HIGH'],
    );
  });

  void test('average wait: waits for a connection being opened are not contention', () => {
    // 100 callers queued behind a 200 ms TLS connect at start: that is the connect time.
    assert.deepEqual(adviseFromStats(statsFixture({ waits: 100, waitMsTotal: 20_000, connectWaits: 100, connectWaitMsTotal: 20_000 })), []);
    // Mixed: 40 waits in all, 10 of them behind a connect; the other 30 waited 15 ms each.
    const w = adviseFromStats(statsFixture({ waits: 40, waitMsTotal: 10 * 200 + 30 * 15, connectWaits: 10, connectWaitMsTotal: 10 * 200 }));
    assert.deepEqual(codes(w), ['WAIT_TIME_HIGH']);
    assert.equal(w[0]!.value, 15);
    assert.match(w[0]!.message, /over 30 waits/);
  });

  void test('health and state', () => {
    assert.deepEqual(codes(adviseFromStats(statsFixture({ health: 'degraded' }))), ['POOL_DEGRADED']);
    assert.deepEqual(codes(adviseFromStats(statsFixture({ health: 'unavailable' }))), ['POOL_UNAVAILABLE']);
    assert.deepEqual(codes(adviseFromStats(statsFixture({ state: 'closed', health: 'unavailable' }))), ['POOL_CLOSED']);
  });

  void test('errors: auth is critical, connection errors warn', () => {
    const s = statsFixture({ errorsBy: { connect: 2, auth: 1, tls: 0, timeout: 0, connection: 1, reply: 50, unavailable: 0 } });
    const a = adviseFromStats(s);
    assert.deepEqual(codes(a), ['AUTH_ERRORS', 'CONNECTION_ERRORS']);
    assert.equal(a[1]!.value, 3, "reply errors are the application's, not the pool's");
  });

  void test('pending callers as many as connections', () => {
    assert.deepEqual(codes(adviseFromStats(statsFixture({ pending: 10 }))), ['PENDING_HIGH']);
    assert.deepEqual(adviseFromStats(statsFixture({ pending: 9 })), []);
  });

  void test('maxclients: pool budget over all workers, and connected clients', () => {
    const a = adviseFromStats(statsFixture({ max: 40 }), { maxclients: 100, connectedClients: 10 }, { workers: 4 });
    assert.deepEqual(codes(a), ['MAX_ABOVE_MAXCLIENTS']);
    assert.equal(a[0]!.value, 160);
    assert.equal(a[0]!.threshold, 100);
    assert.match(a[0]!.message, /4 workers × max 40 = 160/);
    assert.deepEqual(adviseFromStats(statsFixture({ max: 40 }), { maxclients: 160 }, { workers: 4 }), []);
    const near = adviseFromStats(statsFixture(), { maxclients: 100, connectedClients: 85 });
    assert.deepEqual(codes(near), ['SERVER_CLIENTS_HIGH']);
    assert.equal(near[0]!.level, 'warning');
    assert.equal(adviseFromStats(statsFixture(), { maxclients: 100, connectedClients: 99 })[0]!.level, 'critical');
  });

  void test('server idle timeout vs the pool keeping connections idle', () => {
    // Health pings every 30 s keep connections alive on a server with a 60 s timeout.
    assert.deepEqual(
      adviseFromStats(statsFixture(), { timeout: 60 }, { pool: { healthCheckIntervalMs: 30_000, idleTimeoutMs: 30_000 } }),
      [],
    );
    // ... but not with a 20 s timeout.
    const a = adviseFromStats(statsFixture(), { timeout: 20 }, { pool: { healthCheckIntervalMs: 30_000, idleTimeoutMs: 30_000 } });
    assert.deepEqual(codes(a), ['SERVER_IDLE_TIMEOUT']);
    assert.equal(a[0]!.value, 30_000);
    assert.equal(a[0]!.threshold, 20_000);
    // Pings off and min > 0: min connections sit idle forever.
    assert.match(
      adviseFromStats(statsFixture(), { timeout: 300 }, { pool: { healthCheckIntervalMs: 0, idleTimeoutMs: 10_000 } })[0]!.message,
      /indefinitely/,
    );
    // Pings off, min 0: idle eviction at 10 s beats a 300 s server timeout.
    assert.deepEqual(
      adviseFromStats(statsFixture({ min: 0 }), { timeout: 300 }, { pool: { healthCheckIntervalMs: 0, idleTimeoutMs: 10_000 } }),
      [],
    );
    // timeout 0 means never.
    assert.deepEqual(adviseFromStats(statsFixture(), { timeout: 0 }, { pool: { healthCheckIntervalMs: 0 } }), []);
  });

  void test('most severe first, and the summary names the worst', () => {
    const a = adviseFromStats(statsFixture({ utilization: 0.7, commandTimeouts: 1, exhausted: 1 }));
    assert.equal(a[0]!.level, 'critical');
    assert.equal(summarizeAdvice(a), '1 critical, 2 warnings: POOL_EXHAUSTED');
  });

  void test('advice is JSON-safe (no Infinity/NaN)', () => {
    const a = adviseFromStats(
      statsFixture({ utilization: 0.95, exhausted: 1, waits: 1, waitMsTotal: 1e6, pending: 20 }),
      { maxclients: 5, connectedClients: 5, timeout: 1 },
      { pool: { healthCheckIntervalMs: 0 } },
    );
    for (const x of a) {
      assert.ok(Number.isFinite(x.value), `${x.code} value`);
      assert.ok(Number.isFinite(x.threshold), `${x.code} threshold`);
    }
    assert.deepEqual(JSON.parse(JSON.stringify(a)), a);
  });
});

void describe('server limits', () => {
  void test('parses INFO clients and CONFIG GET in RESP2 and RESP3 shapes', () => {
    const info = '# Clients\r\nconnected_clients:7\r\ncluster_connections:0\r\nmaxclients:10000\r\n';
    assert.deepEqual(parseServerLimits(info, ['timeout', '300']), { maxclients: 10000, connectedClients: 7, timeout: 300 });
    assert.deepEqual(parseServerLimits(info, { timeout: '0' }), { maxclients: 10000, connectedClients: 7, timeout: 0 });
    assert.deepEqual(parseServerLimits('', []), {});
  });

  void test('fetchServerLimits keeps what succeeded', async () => {
    const limits = await fetchServerLimits({
      info: async () => 'connected_clients:3\r\nmaxclients:50\r\n',
      config: async () => {
        throw new Error("ERR unknown command 'CONFIG'");
      },
    });
    assert.deepEqual(limits, { maxclients: 50, connectedClients: 3 });
  });
});
