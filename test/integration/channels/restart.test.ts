/**
 * A Redis crash (SIGKILL) and restart in the middle of traffic, with persistence on (AOF,
 * appendfsync always): every send that was acknowledged is delivered — on an ordinary channel
 * and on a process-local one — and every send that was not acknowledged was reported to its
 * caller with a typed error. Nothing acknowledged is silently dropped, nothing is delivered twice.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createPool, isRedpoolError } from '../../../src/index.js';
import { createChannelLayer } from '../../../src/channels/index.js';
import { FaultProxy } from '../../helpers/fault-proxy.js';
import { withRedis, waitFor } from '../../helpers/redis.js';

void describe('Redis restart mid-stream', () => {
  void test('acknowledged sends are delivered; the others were reported', { timeout: 90_000 }, async (t) => {
    const server = await withRedis(t, { args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    const pool = createPool({ url: server.url, max: 12, commandTimeoutMs: 2000 });
    after(() => pool.close());
    const layer = createChannelLayer(pool, { prefix: 'rs', capacity: 100_000, blockMs: 200 });
    after(() => layer.close());
    const local = layer.newChannel();
    const channels = ['persist', local];

    const acked = channels.map(() => new Set<number>());
    const reported = channels.map(() => new Map<number, string>());
    const got = channels.map(() => [] as number[]);
    let sending = true;
    const stopAll = new AbortController();
    after(() => stopAll.abort());

    const send = async (c: number): Promise<void> => {
      for (let seq = 0; sending && seq < 100_000; seq++) {
        try {
          await layer.send(channels[c]!, seq);
          acked[c]!.add(seq);
        } catch (err) {
          assert.ok(isRedpoolError(err), `typed error: ${String(err)}`);
          reported[c]!.set(seq, `${err.code}/${(err as { outcome?: string }).outcome}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const receive = async (c: number): Promise<void> => {
      while (!stopAll.signal.aborted) {
        try {
          got[c]!.push((await layer.receive(channels[c]!, { signal: stopAll.signal })) as number);
        } catch (err) {
          if (stopAll.signal.aborted) return;
          throw err;
        }
      }
    };
    const senders = channels.map((_, c) => send(c));
    const receivers = channels.map((_, c) => receive(c));

    await waitFor(() => acked.every((s) => s.size >= 300), { timeoutMs: 20_000 });
    await server.kill();
    await new Promise((r) => setTimeout(r, 300));
    await server.restart();
    const before = acked.map((s) => s.size);
    await waitFor(() => acked.every((s, c) => s.size >= before[c]! + 300), {
      timeoutMs: 30_000,
      message: 'sends resume after the restart',
    });
    sending = false;
    await Promise.all(senders);
    await waitFor(() => acked.every((s, c) => [...s].every((seq) => got[c]!.includes(seq))), {
      timeoutMs: 30_000,
      message: 'every acknowledged message delivered',
    });
    stopAll.abort();
    await Promise.all(receivers);

    for (let c = 0; c < channels.length; c++) {
      const g = got[c]!;
      assert.equal(new Set(g).size, g.length, `channel ${c}: no duplicates`);
      const delivered = new Set(g);
      for (const seq of acked[c]!) assert.ok(delivered.has(seq), `channel ${c}: acknowledged ${seq} delivered`);
      // Anything delivered was either acknowledged or reported with an unknown outcome (it ran, the reply was lost).
      for (const seq of g) if (!acked[c]!.has(seq)) assert.match(reported[c]!.get(seq) ?? 'silent', /unknown/, `channel ${c}: ${seq}`);
      t.diagnostic(`channel ${c}: acked=${acked[c]!.size} reported=${reported[c]!.size} delivered=${g.length}`);
    }
    assert.ok(
      reported.some((r) => r.size > 0),
      'the outage was reported to senders',
    );
  });

  void test(
    'replies cut mid-way (the pulls ran, their replies were lost): 0 lost, 0 duplicated, in order',
    { timeout: 60_000 },
    async (t) => {
      const server = await withRedis(t);
      const proxy = await FaultProxy.start({ port: server.port });
      t.after(() => proxy.close());
      const direct = createPool({ url: server.url, max: 10 });
      const viaProxy = createPool({ url: proxy.url, max: 10, commandTimeoutMs: 1000 });
      t.after(() => Promise.all([direct.close(), viaProxy.close()]));
      const sender = createChannelLayer(direct, { prefix: 'cut', capacity: 10_000 });
      const reader = createChannelLayer(viaProxy, { prefix: 'cut', capacity: 10_000, readBatch: 32, blockMs: 200 });
      t.after(() => Promise.all([sender.close(), reader.close()]));
      const N = 600;
      for (let i = 0; i < N; i++) await sender.send('cut', i);
      const got: number[] = [];
      const stop = new AbortController();
      t.after(() => stop.abort());
      // The receiver stops at `gate` until the proxy cuts replies, so each cycle's next pull runs
      // while replies are being cut (a fast machine would otherwise drain all N before the cut).
      let gate = 100;
      let open: (() => void) | undefined;
      const raise = (to: number): void => {
        gate = to;
        open?.();
      };
      const loop = (async () => {
        while (got.length < N && !stop.signal.aborted) {
          if (got.length >= gate) {
            await new Promise<void>((resolve) => (open = resolve));
            continue;
          }
          try {
            got.push((await reader.receive('cut', { signal: stop.signal })) as number);
          } catch (err) {
            if (stop.signal.aborted) return;
            throw err;
          }
        }
      })();
      for (let cycle = 0; cycle < 3; cycle++) {
        await waitFor(() => got.length >= gate, { timeoutMs: 30_000, message: `cycle ${cycle}: got ${got.length}` });
        // A pull's reply (32 messages) is far longer than 200 bytes: it is cut after the script ran.
        const cutBefore = proxy.stats.droppedDown;
        await proxy.truncateReplyAfter(200);
        raise(cycle === 2 ? N : gate + 100);
        await waitFor(() => proxy.stats.droppedDown > cutBefore, { timeoutMs: 10_000, message: `cycle ${cycle}: no reply was cut` });
        await new Promise((r) => setTimeout(r, 300));
        await proxy.pass();
      }
      await waitFor(() => got.length >= N, { timeoutMs: 30_000, message: `got ${got.length}` });
      await loop;
      assert.deepEqual(
        got,
        Array.from({ length: N }, (_, i) => i),
      );
      assert.ok(proxy.stats.droppedDown > 0, 'replies were cut');
    },
  );
});
