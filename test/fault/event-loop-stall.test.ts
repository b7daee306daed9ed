/**
 * B5: the client's own event loop stalls (a synchronous busy loop) for longer than the deadline
 * while commands are in flight. Timers fire late, after the stall, possibly before the replies
 * already in the socket buffer are read. Expected: every command settles right after the stall,
 * typed — a reply, or ERR_COMMAND_TIMEOUT 'unknown' — never a reply for another caller; the
 * pool keeps working afterwards.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertTyped, eventually, expectOk, settle } from './lib/guard.js';
import { assertQuiet, describe, fileChecks, scope } from './lib/scope.js';

fileChecks();

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // deliberately blocking the event loop
  }
}

void test('event loop blocked for 2x the deadline: every command settles typed right after, no misdelivery', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const { pool } = s.pool('stall', { url: server.url, commandTimeoutMs: 200, lanes: 2, max: 4 }, server);
  await expectOk(pool.ready(), 2_000, 'ready');
  const ops = Array.from({ length: 40 }, (_, i) =>
    settle(
      pool.set(`stall:${i}`, `v${i}`).then(() => pool.get(`stall:${i}`)),
      200 * 2 + 400 + 600,
      `echo ${i}`,
    ),
  );
  busyWait(400);
  const unblocked = performance.now();
  let ok = 0,
    timeouts = 0;
  for (const [i, p] of ops.entries()) {
    const r = await p;
    if (r.ok) {
      ok++;
      assert.equal(r.value, `v${i}`, 'reply delivered to the wrong caller');
    } else {
      timeouts++;
      assertTyped(r.error, { code: 'ERR_COMMAND_TIMEOUT', outcome: ['unknown', 'not-sent'] });
    }
  }
  t.diagnostic(
    `after a 400 ms stall: ${ok} ok, ${timeouts} timed out, settled ${Math.round(performance.now() - unblocked)} ms after the stall; ${describe(pool)}`,
  );
  assert.ok(performance.now() - unblocked < 200 + 400, 'settled within one deadline of the stall ending');
  await eventually(() => pool.get('stall:0'), { timeoutMs: 2_000, attemptMs: 450, what: 'GET after the stall' });
  await assertQuiet(pool);
});
