/**
 * `consume(channel, handler, { signal })`: the handler runs synchronously per message, in order,
 * on ordinary and process-local channels; stopping it (abort) loses and duplicates nothing (what
 * the reader had moved goes to the next receiver); it excludes `receive` on its channel; a
 * throwing handler is reported and does not stop it; close ends it. `sharedValues`: process-local
 * members of one group send share one decoded value only when asked.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { useRedis, waitFor } from '../../helpers/redis.js';
import { layerFactory } from './layers.js';

void describe('channel layer consume()', () => {
  const server = useRedis();
  const setup = layerFactory(() => server().url, 'consume', 'cs');

  for (const kind of ['ordinary', 'process-local'] as const) {
    void test(`${kind}: in order; an abort mid-stream hands the rest to receive(): 0 lost, 0 duplicated`, { timeout: 30_000 }, async () => {
      const { layer } = setup({ capacity: 10_000, readBatch: 16 });
      const channel = kind === 'ordinary' ? 'stream' : layer.newChannel();
      const total = 600;
      const got: number[] = [];
      const ac = new AbortController();
      const done = layer.consume(
        channel,
        (m) => {
          got.push(m as number);
          // Stop from inside the handler, in the middle of a pulled batch: the rest stays buffered.
          if (got.length === 250) ac.abort();
        },
        { signal: ac.signal },
      );
      for (let i = 0; i < total; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => layer.send(channel, i + j)));
      await done;
      assert.equal(got.length, 250, 'nothing handed to the handler after its abort');
      while (got.length < total) got.push((await layer.receive(channel)) as number);
      assert.deepEqual(
        got,
        Array.from({ length: total }, (_, i) => i),
      );
      assert.equal(layer.stats().received, total);
    });
  }

  void test('one consumer per channel, no receive beside it; a throwing handler is reported and the next message comes', async () => {
    const errors: Error[] = [];
    const { layer } = setup({ onError: (e) => errors.push(e) });
    const ac = new AbortController();
    const got: unknown[] = [];
    const done = layer.consume(
      'c',
      (m) => {
        got.push(m);
        if (m === 'boom') throw new Error('handler failed');
      },
      { signal: ac.signal },
    );
    await assert.rejects(layer.receive('c'), { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(
      layer.consume('c', () => {}),
      { code: 'ERR_INVALID_ARGUMENT' },
    );
    await layer.send('c', 'boom');
    await layer.send('c', 'after');
    await waitFor(() => got.length === 2);
    assert.deepEqual(got, ['boom', 'after']);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.message, 'handler failed');
    ac.abort();
    await done;
    // Stopped: the channel is free again, for receive and for a new consumer.
    await layer.send('c', 'next');
    assert.equal(await layer.receive('c'), 'next');
    // A consume beside a pending receive is refused too (the receive would never get anything).
    const pending = layer.receive('c');
    await assert.rejects(
      layer.consume('c', () => {}),
      { code: 'ERR_INVALID_ARGUMENT' },
    );
    await layer.send('c', 'last');
    assert.equal(await pending, 'last');
  });

  for (const kind of ['ordinary', 'process-local'] as const) {
    void test(`${kind}: a handler that stops itself on a message already buffered (inside consume())`, async () => {
      const { layer } = setup();
      const channel = kind === 'ordinary' ? 'buffered' : layer.newChannel();
      for (const m of [1, 2, 3]) await layer.send(channel, m);
      assert.equal(await layer.receive(channel), 1); // the reader moved 2 and 3 in the same pull
      const ac = new AbortController();
      const got: unknown[] = [];
      await layer.consume(
        channel,
        (m) => {
          got.push(m);
          ac.abort();
        },
        { signal: ac.signal },
      );
      assert.deepEqual(got, [2]);
      assert.equal(await layer.receive(channel), 3);
    });
  }

  void test('close() ends a consumer (resolves)', async () => {
    const { layer } = setup();
    const local = layer.newChannel();
    const a = layer.consume('x', () => {});
    const b = layer.consume(local, () => {});
    await layer.close();
    await a;
    await b;
  });

  for (const sharedValues of [false, true]) {
    void test(`group send to process-local consumers: sharedValues ${sharedValues}`, async () => {
      const { layer } = setup({ sharedValues });
      const chans = Array.from({ length: 5 }, () => layer.newChannel());
      const got = new Map<string, unknown>();
      const ac = new AbortController();
      after(() => ac.abort());
      for (const c of chans) {
        await layer.groupAdd('room', c);
        void layer.consume(c, (m) => got.set(c, m), { signal: ac.signal });
      }
      const r = await layer.groupSend('room', { text: 'hi' });
      assert.equal(r.delivered, 5);
      await waitFor(() => got.size === 5);
      const values = [...got.values()];
      for (const v of values) assert.deepEqual(v, { text: 'hi' });
      // Without the option every member has its own object; with it, one object for all.
      assert.equal(new Set(values).size, sharedValues ? 1 : 5);
    });
  }
});
