/**
 * The pool's logger hook with a pino-style fake: lifecycle lines `redis_connected` /
 * `redis_disconnected` arrive with structured fields, and no line (object or message) ever
 * contains the password — neither from options nor from the URL.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import type { Logger } from '../../../src/options.js';
import { createPool } from '../../../src/pool/pool.js';
import { FakeDriver, ManualClock } from '../../../src/testing/index.js';

const CANARY = 'canary-Pw-3141592653';

interface Line {
  level: string;
  obj: Record<string, unknown>;
  msg: string | undefined;
}

function fakeLogger(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

void describe('logger hook', () => {
  for (const how of ['password option', 'URL'] as const) {
    void test(`redis_connected / redis_disconnected, never the password (${how})`, async (t) => {
      const logger = fakeLogger();
      const driver = new FakeDriver();
      const creds =
        how === 'URL' ? { url: `redis://app:${encodeURIComponent(CANARY)}@127.0.0.1:6399/0` } : { password: CANARY, username: 'app' };
      const pool = createPool({ ...creds, driver, clock: new ManualClock(), name: 'logged', max: 4, logger });
      t.after(() => pool.destroy());
      await pool.ready();
      await pool.set('k', 'v');
      // The server goes away, then comes back refusing connections for a while.
      driver.behaviour = 'fail';
      driver.killAll();
      await new Promise((r) => setImmediate(r));
      await pool.close();

      const connected = logger.lines.filter((l) => l.obj.event === 'redis_connected');
      const disconnected = logger.lines.filter((l) => l.obj.event === 'redis_disconnected');
      assert.ok(connected.length >= 1, 'redis_connected logged');
      assert.ok(disconnected.length >= 1, 'redis_disconnected logged');
      const c = connected[0]!;
      assert.equal(c.level, 'info');
      assert.equal(c.obj.pool, 'logged');
      assert.equal(typeof c.obj.endpoint, 'string');
      assert.equal(typeof c.obj.connectMs, 'number');
      assert.match(String(c.obj.endpoint), /^redis:\/\/\*\*\*@127\.0\.0\.1:\d+$/);
      const d = disconnected[0]!;
      assert.equal(d.obj.pool, 'logged');
      assert.equal(typeof d.obj.reason, 'string');

      for (const l of logger.lines) {
        const text = `${inspect(l.obj, { depth: 10, showHidden: true })} ${JSON.stringify(l.obj)} ${l.msg ?? ''}`;
        assert.ok(!text.includes(CANARY), `log line ${l.msg} leaks the password`);
        assert.ok(!text.includes(encodeURIComponent(CANARY)), `log line ${l.msg} leaks the encoded password`);
      }
      // Every line is structured and named; the message is one line for humans.
      for (const l of logger.lines) {
        assert.match(String(l.obj.event), /^redis_[a-z_]+$/);
        assert.ok(l.msg !== undefined && !l.msg.includes('\n'), String(l.msg));
      }
    });
  }
});
