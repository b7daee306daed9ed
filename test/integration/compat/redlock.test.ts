/**
 * redlock 5 (promise API, EVALSHA with array arguments) and redlock 4 (callback-style
 * evalsha/eval with NOSCRIPT fallback) through asIoredis(pool): mutual exclusion, release,
 * extension, and after a SIGKILL + restart (empty script cache) locking works again by itself.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Redlock from 'redlock';
import Redlock4 from 'redlock4';
import { asIoredis } from '../../../src/compat/index.js';
import { createPool } from '../../../src/index.js';
import { waitFor, withRedis } from '../../helpers/redis.js';
import { crashAndRestart, sampleConnections, serverConnections } from './support.js';

void test('redlock 5 and redlock 4 on one pool: exclusion, release, extend; working again after a restart', async (t) => {
  const server = await withRedis(t);
  const pool = createPool({ url: server.url, name: 'lock-it', max: 3, connectTimeoutMs: 500, commandTimeoutMs: 1_000 });
  t.after(() => pool.destroy());
  await pool.ready();
  const sampler = sampleConnections(server);

  const r5 = new Redlock([asIoredis(pool)], { retryCount: 0 });
  const r4 = new Redlock4([asIoredis(pool)], { retryCount: 0 });
  const round = async (tag: string): Promise<void> => {
    const lock = await r5.acquire([`res5:${tag}`], 5_000);
    await assert.rejects(r5.acquire([`res5:${tag}`], 5_000), 'a held lock is refused');
    assert.ok((await pool.pttl(`res5:${tag}`)) > 0);
    const longer = await lock.extend(10_000);
    assert.ok((await pool.pttl(`res5:${tag}`)) > 5_000);
    await longer.release();
    assert.equal(await pool.exists(`res5:${tag}`), 0);

    const l4 = await r4.lock(`res4:${tag}`, 5_000);
    await assert.rejects(r4.lock(`res4:${tag}`, 5_000), 'redlock 4: a held lock is refused');
    const l4b = await l4.extend(8_000);
    assert.ok((await pool.pttl(`res4:${tag}`)) > 5_000);
    await l4b.unlock();
    assert.equal(await pool.exists(`res4:${tag}`), 0);
  };
  await round('a');
  await crashAndRestart(server);
  await waitFor(
    async () => {
      try {
        await round('b');
        return true;
      } catch {
        return false;
      }
    },
    { timeoutMs: 10_000, intervalMs: 100, message: 'locks after the restart' },
  );
  await round('c');

  const { max, samples } = await sampler.stop();
  t.diagnostic(`CLIENT LIST max ${max} over ${samples} samples (pool max 3)`);
  assert.ok(max <= 3, `server saw ${max} connections`);
  await r5.quit(); // ends the views only
  assert.equal(pool.state, 'open');
  await pool.close();
  assert.equal(await serverConnections(server), 0);
});
