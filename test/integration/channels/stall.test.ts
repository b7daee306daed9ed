/**
 * A reader process that stalls (SIGSTOP) longer than its lease: another process reclaims what it
 * held and delivers it; when the stalled one resumes (SIGCONT) it must not hand out what it still
 * buffers (its lease may have lapsed: it checks before handing out, and its next pull reports the
 * lease `lost`), and it carries on with new messages. 0 lost; the only duplicates are messages it
 * had been handed before it stopped (at-least-once, as across a crash); nothing it hands out after
 * resuming was also delivered to the other process.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { useRedis, waitFor } from '../../helpers/redis.js';
import { CRASH_LEASE_MS } from './crash-peer.js';
import { startReaderPeer } from './crash-setup.js';
import { createChannelLayer } from '../../../src/channels/index.js';

const N = 3000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

void describe('a reader process stalls past its lease', () => {
  const server = useRedis();

  void test('SIGSTOP, reclaimed elsewhere, SIGCONT: it hands out nothing reclaimed; 0 lost', { timeout: 60_000 }, async () => {
    const prefix = 'stall';
    const { pool, proc } = await startReaderPeer(server().url, prefix, 'other', N);
    const childGot: number[] = [];
    let buf = '';
    proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('got ')) childGot.push(Number(line.slice(4)));
      }
      if (childGot.length >= 520 && !stopped) {
        stopped = true;
        proc.kill('SIGSTOP');
      }
    });
    let stopped = false;
    await waitFor(() => stopped, { timeoutMs: 30_000, message: 'the peer received 520' });
    await sleep(200); // what it printed before the stop is read
    const before = new Set(childGot);
    const atStop = childGot.length;

    // The other process reads on past the stalled reader's lease: its first pull after that reclaims.
    await sleep(CRASH_LEASE_MS + 300);
    const other = createChannelLayer(pool, { prefix, capacity: 100_000, blockMs: 200 });
    after(() => other.close());
    const got: number[] = [];
    while (got.length < 400) got.push(((await other.receive('crash.q')) as { seq: number }).seq);
    assert.ok(other.stats().reclaimed > 0, 'the stalled reader’s messages were reclaimed');

    proc.kill('SIGCONT');
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (new Set([...childGot, ...got]).size >= N || Date.now() > deadline) break;
      try {
        got.push(((await other.receive('crash.q', { signal: AbortSignal.timeout(1000) })) as { seq: number }).seq);
      } catch (err) {
        if ((err as Error).name !== 'TimeoutError') throw err;
      }
    }
    await sleep(300);
    proc.kill('SIGKILL');

    const all = new Set([...childGot, ...got]);
    const lost = Array.from({ length: N }, (_, i) => i).filter((i) => !all.has(i));
    assert.deepEqual(lost, [], '0 lost');
    assert.ok(childGot.length > atStop, 'the resumed reader carried on');
    const afterResume = childGot.slice(atStop);
    const theirs = new Set(got);
    assert.deepEqual(
      afterResume.filter((s) => theirs.has(s)),
      [],
      'nothing the resumed reader handed out was also delivered to the other process',
    );
    assert.equal(new Set(afterResume).size, afterResume.length, 'the resumed reader got nothing twice');
    const dups = got.filter((s) => before.has(s));
    assert.ok(dups.length <= 100, `duplicates (${dups.length}) only of what it was handed before it stopped`);
    assert.equal(new Set(got).size, got.length, 'the other process got nothing twice');
  });
});
