/**
 * Aborted receives under load: receivers that give up at random moments (before the pop, while
 * a blocking pop is in flight, right after the reader moved a batch) never lose or duplicate a
 * message; within one layer the per-channel order is kept; across layers (other processes'
 * in-flight lists) and a layer closed mid-stream, nothing is lost either.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createPool } from '../../../src/index.js';
import { createChannelLayer, type ChannelLayer } from '../../../src/channels/index.js';
import { useRedis } from '../../helpers/redis.js';

const CHANNELS = 10;
const PER_CHANNEL = 400;

/** Ends every consumer's last wait once everything arrived. */
let finished = new AbortController();

/** Receives on `channel` until `stop()`, aborting about half the attempts after 0–3 ms. */
async function flakyConsumer(layer: ChannelLayer, channel: string, got: string[], stop: () => boolean, rnd: () => number): Promise<number> {
  let aborts = 0;
  while (!stop() && !finished.signal.aborted) {
    const ac = new AbortController();
    const end = (): void => ac.abort();
    finished.signal.addEventListener('abort', end, { once: true });
    const timer = rnd() < 0.5 ? setTimeout(() => ac.abort(), Math.floor(rnd() * 4)) : undefined;
    try {
      got.push(String(await layer.receive(channel, { signal: ac.signal })));
    } catch (err) {
      if (!ac.signal.aborted) throw err;
      aborts++;
    } finally {
      clearTimeout(timer);
      finished.signal.removeEventListener('abort', end);
    }
  }
  return aborts;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

void describe('aborted receives under load', () => {
  const server = useRedis();

  void test(
    `one layer: ${CHANNELS * PER_CHANNEL} messages, random aborts: 0 lost, 0 duplicated, order kept`,
    { timeout: 60_000 },
    async () => {
      const pool = createPool({ url: server().url, max: 12 });
      after(() => pool.close());
      const layer = createChannelLayer(pool, { prefix: 'ab1', capacity: 10_000, maxReaders: 4, blockMs: 100, readBatch: 16 });
      after(() => layer.close());
      finished = new AbortController();
      const rnd = lcg(42);
      const got: string[][] = Array.from({ length: CHANNELS }, () => []);
      const total = () => got.reduce((n, g) => n + g.length, 0);
      const deadline = Date.now() + 45_000;
      const stop = () => {
        const end = total() >= CHANNELS * PER_CHANNEL || Date.now() > deadline;
        if (end) finished.abort();
        return end;
      };
      // Two concurrent flaky consumers per channel: aborts race with deliveries to the other.
      const consumers = got.flatMap((g, c) => [0, 1].map(() => flakyConsumer(layer, `load${c}`, g, stop, rnd)));
      for (let i = 0; i < PER_CHANNEL; i++) await Promise.all(got.map((_, c) => layer.send(`load${c}`, `${c}:${i}`)));
      const aborts = (await Promise.all(consumers)).reduce((a, b) => a + b, 0);
      assert.ok(aborts > 100, `aborts happened (${aborts})`);
      got.forEach((g, c) => {
        assert.deepEqual(
          g,
          Array.from({ length: PER_CHANNEL }, (_, i) => `${c}:${i}`),
          `channel ${c}: complete, no duplicates, in order`,
        );
      });
      assert.equal(layer.stats().received, CHANNELS * PER_CHANNEL);
    },
  );

  void test('two layers on the same channels, one closed mid-stream: 0 lost, 0 duplicated', { timeout: 60_000 }, async () => {
    const pool = createPool({ url: server().url, max: 16 });
    after(() => pool.close());
    const opts = { prefix: 'ab2', capacity: 10_000, maxReaders: 3, blockMs: 100, readBatch: 16 };
    const a = createChannelLayer(pool, opts);
    const b = createChannelLayer(pool, opts);
    const sender = createChannelLayer(pool, opts);
    after(() => Promise.all([a.close(), b.close(), sender.close()]));
    finished = new AbortController();
    const rnd = lcg(7);
    const seen = new Map<string, number>();
    const record: string[] = [];
    const deadline = Date.now() + 45_000;
    const N = CHANNELS * PER_CHANNEL;
    let aClosed = false;
    const stop = () => seen.size >= N || Date.now() > deadline;
    const consume = async (layer: ChannelLayer, ch: string): Promise<void> => {
      const got: string[] = [];
      try {
        await flakyConsumer(layer, ch, got, () => stop() || (layer === a && aClosed), rnd);
      } catch (err) {
        if ((err as { code?: string }).code !== 'ERR_POOL_CLOSED') throw err;
      } finally {
        for (const m of got) {
          record.push(m);
          seen.set(m, (seen.get(m) ?? 0) + 1);
        }
      }
    };
    // flakyConsumer pushes into `got` as it goes; record at the end keeps it simple.
    const consumers = Array.from({ length: CHANNELS }, (_, c) => [consume(a, `mix${c}`), consume(b, `mix${c}`)]).flat();
    for (let i = 0; i < PER_CHANNEL; i++) {
      await Promise.all(Array.from({ length: CHANNELS }, (_, c) => sender.send(`mix${c}`, `${c}:${i}`)));
      if (i === PER_CHANNEL / 2) {
        // A burst a's readers pull in batches (readBatch 16) faster than its consumers take it,
        // then close a: what it moved but did not hand out goes back to the channels, for b.
        for (let j = 0; j < 20; j++) {
          i++;
          await Promise.all(Array.from({ length: CHANNELS }, (_, c) => sender.send(`mix${c}`, `${c}:${i}`)));
        }
        await new Promise((r) => setTimeout(r, 5));
        aClosed = true;
        await a.close();
      }
    }
    // b keeps consuming until everything arrived (or the deadline).
    while (!stop()) {
      await new Promise((r) => setTimeout(r, 20));
      const partial = a.stats().received + b.stats().received;
      if (partial >= N) break;
    }
    finished.abort();
    await Promise.all(consumers);
    const dups = [...seen.entries()].filter(([, n]) => n > 1);
    assert.deepEqual(dups, [], 'no message delivered twice');
    assert.equal(seen.size, N, 'every message reached a consumer');
    assert.equal(record.length, N, 'exactly once');
    assert.equal(a.stats().received + b.stats().received, N);
    assert.ok(a.stats().received > 0 && b.stats().received > 0);
  });
});
