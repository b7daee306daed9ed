/**
 * A reader process killed with SIGKILL mid-stream: the messages its reader had moved into its
 * in-flight backup are put back at the head of the channel, in order, by the next reader of the
 * channel in another process once the dead reader's lease lapsed. 0 lost. At-least-once across
 * the crash: the only duplicates are messages the dead process had already been handed by
 * `receive` (it may have acted on them) whose acknowledgement had not reached Redis — at most
 * two pulls' worth (the acknowledgement rides on the next pull, and one pull may be ahead).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { useRedis } from '../../helpers/redis.js';
import { CRASH_LEASE_MS } from './crash-peer.js';
import { startReaderPeer } from './crash-setup.js';
import { createChannelLayer } from '../../../src/channels/index.js';

const N = 3000;
const READ_BATCH = 50;

void describe('a reader process crashes', () => {
  const server = useRedis();

  void test(
    'SIGKILL mid-stream: its in-flight messages are reclaimed, 0 lost, duplicates only of what it was handed',
    { timeout: 60_000 },
    async () => {
      const prefix = 'crash';
      const { pool, proc } = await startReaderPeer(server().url, prefix, 'survivor', N);
      const childGot: number[] = [];
      let childId = '';
      let buf = '';
      const killed = new Promise<void>((resolve, reject) => {
        proc.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line.startsWith('ready ')) childId = line.slice(6);
            else if (line.startsWith('got ')) childGot.push(Number(line.slice(4)));
          }
          if (childGot.length >= 520 && proc.signalCode === null && proc.exitCode === null) proc.kill('SIGKILL');
        });
        proc.once('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`peer exited (${code})`))));
      });
      await killed;
      proc.stdout.destroy();

      // The crash really left messages in the dead reader's in-flight list, beyond what it printed.
      const listKey = `${prefix}:ch:{crash.q}`;
      const held = (await pool.lrangeBuffer(`${listKey}:inflight:${childId}`, 0, -1)).map((raw) => {
        // <id:16>:<ms>:<0x01 plain><target count:2><JSON>
        const env = raw.subarray(raw.indexOf(0x3a, 17) + 1);
        return (JSON.parse(env.subarray(3).toString()) as { seq: number }).seq;
      });
      const inflight = held.length;
      const neverHanded = held.filter((s) => !childGot.includes(s));
      assert.ok(
        neverHanded.length > 0,
        `the dead reader held messages in flight it never handed out (${neverHanded.length} of ${inflight})`,
      );
      const lease = Number(await pool.hget(`${listKey}:readers`, childId));
      assert.ok(lease > 0, 'the dead reader had a lease');
      // Wait out the lease (server clock), so the first pull of the survivor reclaims.
      const leaseDeadline = Date.now() + 5 * CRASH_LEASE_MS;
      for (;;) {
        assert.ok(Date.now() < leaseDeadline, 'the lease lapses within its length');
        const [sec = 0, usec = 0] = (await pool.time()).map(Number);
        if (sec * 1000 + Math.floor(usec / 1000) > lease) break;
        await new Promise((r) => setTimeout(r, 50));
      }

      const survivor = createChannelLayer(pool, { prefix, capacity: 100_000, blockMs: 200 });
      after(() => survivor.close());
      const got: number[] = [];
      const seen = new Set(childGot);
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const missing = N - new Set([...childGot, ...got]).size;
        if (missing === 0 && (await pool.llen(listKey)) === 0) break;
        try {
          got.push(((await survivor.receive('crash.q', { signal: AbortSignal.timeout(2000) })) as { seq: number }).seq);
        } catch (err) {
          if ((err as Error).name !== 'TimeoutError') throw err;
          break; // nothing more to be had: the check below says what is missing
        }
      }
      const all = new Set([...childGot, ...got]);
      const lost = Array.from({ length: N }, (_, i) => i).filter((i) => !all.has(i));
      assert.deepEqual(lost, [], '0 lost');
      assert.equal(new Set(got).size, got.length, 'the survivor got nothing twice');
      for (let i = 1; i < got.length; i++)
        assert.ok(got[i]! > got[i - 1]!, `the survivor's stream is in order (${got[i - 1]} then ${got[i]})`);
      const dups = got.filter((s) => seen.has(s));
      assert.ok(dups.length <= 2 * READ_BATCH, `duplicates (${dups.length}) are at most two pulls of what the dead process was handed`);
      assert.ok(survivor.stats().reclaimed >= inflight, `reclaimed ${survivor.stats().reclaimed} of ${inflight}`);
      assert.ok(Number(await pool.hget(`${listKey}:readers`, childId)) < 0, "the dead reader's lease is a tombstone now");
      assert.equal(await pool.exists(`${listKey}:inflight:${childId}`), 0, "the dead reader's in-flight list is gone");
    },
  );
});
