/**
 * Issue 15 item 4: logs that fit pino, winston and console. One structured record per event
 * (`{ event, pool, endpoint, code, … }`) with a one-line message; `console` prints each on one
 * line; the real error on a disconnect and no `error: undefined` field; without a logger, one
 * stderr line per outage and per recovery (and none with `logger: false`); "1 consecutive
 * connect failure"; an idle pool's housekeeper prints nothing under NODE_DEBUG=redpool.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { UnavailableError, type Logger } from '../../../src/index.js';
import { logPoolEvent, outageLogger } from '../../../src/pool/log.js';
import { fakePool, flush } from '../../helpers/pool-fixtures.js';

interface Line {
  level: string;
  obj: Record<string, unknown>;
  msg: string | undefined;
}

function capture(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

/** Captures what the process writes to stderr during the test. */
function stderrLines(t: TestContext): string[] {
  const lines: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(
      ...String(chunk)
        .split('\n')
        .filter((l) => l !== ''),
    );
    return true;
  }) as typeof process.stderr.write;
  t.after(() => {
    process.stderr.write = original;
  });
  return lines;
}

void describe('log lines', () => {
  void test('records: event, pool, endpoint, code; one-line messages; console prints one line each', async (t) => {
    const logger = capture();
    const fp = fakePool(t, { name: 'api', logger, max: 4, lanes: 1, failureThreshold: 1 });
    await fp.pool.ready();
    fp.driver.behaviour = 'fail';
    fp.driver.killAll();
    await flush();
    await fp.pool.get('k').catch(() => undefined);
    await flush();
    const events = logger.lines.map((l) => `${l.level} ${String(l.obj['event'])}`);
    assert.ok(events.includes('info redis_connected'), events.join(', '));
    assert.ok(events.includes('warn redis_disconnected'), events.join(', '));
    assert.ok(events.includes('warn redis_connect_failed'), events.join(', '));
    assert.ok(events.includes('error redis_health'), `unavailable is an error line: ${events.join(', ')}`);
    for (const l of logger.lines) {
      assert.deepEqual(Object.keys(l.obj).slice(0, 3), ['event', 'pool', 'endpoint']);
      assert.equal(l.obj['pool'], 'api');
      assert.ok(l.msg && !l.msg.includes('\n'), `one-line message: ${String(l.msg)}`);
      assert.ok(!Object.values(l.obj).includes(undefined), `no undefined field in ${JSON.stringify(l.obj)}`);
      // console.warn(obj, msg) formats obj with util.inspect: one line, the JSON of the record.
      const printed = inspect(l.obj);
      assert.ok(!printed.includes('\n'), printed);
      assert.deepEqual(JSON.parse(printed), JSON.parse(JSON.stringify(l.obj)));
    }
    const failed = logger.lines.find((l) => l.obj['event'] === 'redis_connect_failed')!;
    assert.equal(failed.obj['code'], 'ERR_CONNECTION');
    const lost = logger.lines.find((l) => l.obj['event'] === 'redis_disconnected')!;
    assert.equal(lost.obj['reason'], 'error');
    assert.equal(lost.obj['error'], 'server closed the connection');
  });

  void test('a close the pool asked for has no error field at all', async (t) => {
    const logger = capture();
    const fp = fakePool(t, { logger, max: 2, lanes: 1 });
    await fp.pool.ready();
    await fp.pool.close();
    const closed = logger.lines.filter((l) => l.obj['event'] === 'redis_disconnected');
    assert.ok(closed.length > 0);
    for (const l of closed) {
      assert.equal(l.level, 'info');
      assert.equal(l.obj['reason'], 'close');
      assert.ok(!('error' in l.obj), JSON.stringify(l.obj));
    }
  });

  void test('no logger: one stderr line when unavailable, one on recovery; nothing for connects or retries', async (t) => {
    const lines = stderrLines(t);
    const fp = fakePool(t, { name: 'quiet', max: 2, lanes: 1, failureThreshold: 2 });
    await fp.pool.ready();
    fp.driver.behaviour = 'fail';
    fp.driver.killAll();
    for (let i = 0; i < 5; i++) {
      fp.clock.advance(100); // reconnect attempts, all failing
      await flush();
    }
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(
      lines[0]!,
      /^redpool: pool quiet \(redis:\/\/127\.0\.0\.1:6379\/?0?\) is unavailable: failing fast, reconnecting in the background: connect to .* failed: ECONNREFUSED \[ERR_CONNECTION\]$/,
    );
    fp.driver.behaviour = 'ok';
    fp.clock.advance(100);
    await flush();
    assert.equal(fp.pool.stats().health, 'healthy');
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[1]!, /^redpool: pool quiet \(.*\) recovered: connected again after \d+\.\d s unavailable$/);
  });

  void test('logger: false writes nothing', async (t) => {
    const lines = stderrLines(t);
    const fp = fakePool(t, { logger: false, max: 2, lanes: 1, failureThreshold: 1 });
    fp.driver.behaviour = 'fail';
    await fp.pool.ready().catch(() => undefined);
    await flush();
    assert.equal(fp.pool.stats().health, 'unavailable');
    assert.deepEqual(lines, []);
  });

  void test('outageLogger: once per outage, not per failure', () => {
    const out: string[] = [];
    let now = 0;
    const log = outageLogger(
      { pool: 'p', endpoint: 'redis://h:1/0' },
      () => now,
      (l) => out.push(l),
    );
    log('health', { from: 'healthy', to: 'degraded', error: new Error('x') });
    log('health', { from: 'degraded', to: 'unavailable', error: new Error('refused') });
    log('health', { from: 'unavailable', to: 'unavailable' });
    now = 2_500;
    log('health', { from: 'unavailable', to: 'healthy' });
    log('health', { from: 'healthy', to: 'degraded' });
    log('health', { from: 'degraded', to: 'healthy' });
    assert.deepEqual(out, [
      'redpool: pool p (redis://h:1/0) is unavailable: failing fast, reconnecting in the background: refused',
      'redpool: pool p (redis://h:1/0) recovered: connected again after 2.5 s unavailable',
    ]);
  });

  void test('a Sentinel move: one line without a logger, one warn record with a logger', () => {
    const out: string[] = [];
    const log = outageLogger(
      { pool: 'p', endpoint: 'redis-sentinel://s:26379/m' },
      () => 0,
      (l) => out.push(l),
    );
    const move = { from: '10.0.0.1:6379', to: '10.0.0.2:6379', generation: 2, via: 'promotion' };
    log('topology:primary-changed', move);
    assert.deepEqual(out, ['redpool: pool p (redis-sentinel://s:26379/m): primary moved 10.0.0.1:6379 -> 10.0.0.2:6379 (promotion)']);
    const records: Array<[string, object, string | undefined]> = [];
    const logger: Logger = {
      info: (o, m) => records.push(['info', o, m]),
      warn: (o, m) => records.push(['warn', o, m]),
      error: (o, m) => records.push(['error', o, m]),
    };
    logPoolEvent(logger, { pool: 'p', endpoint: 'redis-sentinel://s:26379/m' }, 'topology:primary-changed', move);
    assert.equal(records.length, 1);
    assert.equal(records[0]![0], 'warn');
    assert.deepEqual({ ...records[0]![1] }, { event: 'redis_primary_changed', pool: 'p', endpoint: 'redis-sentinel://s:26379/m', ...move });
    assert.match(records[0]![2]!, /primary moved 10\.0\.0\.1:6379 -> 10\.0\.0\.2:6379 \(promotion, generation 2\): old connections fenced/);
  });

  void test('"1 consecutive connect failure", not "failures"', async (t) => {
    const fp = fakePool(t, { logger: false, max: 2, lanes: 1, failureThreshold: 1 });
    fp.driver.behaviour = 'fail';
    await fp.pool.ready().catch(() => undefined);
    const err = await fp.pool.get('k').catch((e: unknown) => e);
    assert.ok(err instanceof UnavailableError, String(err));
    assert.match(err.message, /\(1 consecutive connect failure\); failing fast$/);
  });

  void test("NODE_DEBUG=redpool: an idle pool's housekeeping passes print nothing", () => {
    const index = fileURLToPath(new URL('../../../src/index.js', import.meta.url));
    const testing = fileURLToPath(new URL('../../../src/testing/index.js', import.meta.url));
    const script = `
      import { createPool } from ${JSON.stringify(index)};
      import { FakeDriver, ManualClock } from ${JSON.stringify(testing)};
      const clock = new ManualClock();
      const pool = createPool({ driver: new FakeDriver(), clock, max: 4, lanes: 1, min: 2, idleTimeoutMs: 5000, healthCheckIntervalMs: 0, maxLifetimeMs: 0, logger: false });
      await pool.ready();
      await new Promise((r) => setTimeout(r, 0));
      console.error('--- idle');
      for (let i = 0; i < 10; i++) { clock.advance(100); pool.housekeep(); }
      console.error('--- done');
      await pool.destroy();
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, NODE_DEBUG: 'redpool' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const [before = '', idle = ''] = r.stderr.split('--- idle');
    assert.match(before, /^REDPOOL \d+: conn \d+ \(lane\): connecting -> lane$/m, 'the debug log is on');
    const idleLines = idle
      .split('--- done')[0]!
      .split('\n')
      .filter((l) => l.trim() !== '');
    assert.deepEqual(idleLines, [], 'ten idle passes printed nothing');
  });
});
