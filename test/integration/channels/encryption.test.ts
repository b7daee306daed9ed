/**
 * Encryption end to end: a process with rotated keys reads what the old key sealed; a message
 * sealed under a key the reader lacks, and one tampered with in Redis, are reported once each
 * through onError, counted, never delivered, and the reader keeps serving the next message.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createPool } from '../../../src/index.js';
import { ChannelMessageError, createChannelLayer } from '../../../src/channels/index.js';
import { useRedis } from '../../helpers/redis.js';

const OLD = 'old-secret-0123456789-abcdefghijkl';
const NEW = 'new-secret-0123456789-abcdefghijkl';
const OTHER = 'unrelated-secret-0123456789-abcdef';

void describe('channel layer encryption', () => {
  const server = useRedis();
  const pool = () => createPool({ url: server().url, max: 10 });

  void test('rotation, unknown key, tampered message', async () => {
    const p = pool();
    after(() => p.close());
    const errors: ChannelMessageError[] = [];
    const sender = createChannelLayer(p, { prefix: 'enc', encryptionKeys: [OLD] });
    const stranger = createChannelLayer(p, { prefix: 'enc', encryptionKeys: [OTHER] });
    const reader = createChannelLayer(p, {
      prefix: 'enc',
      encryptionKeys: [NEW, OLD],
      onError: (e) => errors.push(e as ChannelMessageError),
    });
    after(() => Promise.all([sender.close(), stranger.close(), reader.close()]));

    await sender.send('secure', { n: 1, text: 'under the old key' });
    const raw = await p.lindexBuffer('enc:ch:{secure}', 0);
    assert.ok(raw && !raw.includes(Buffer.from('under the old key')), 'stored encrypted');
    assert.deepEqual(await reader.receive('secure'), { n: 1, text: 'under the old key' });

    await stranger.send('secure', { n: 2 }); // unknown key for the reader
    await sender.send('secure', { n: 3 }); // tampered below
    await reader.send('secure', { n: 4 }); // new key: fine
    const third = (await p.lindexBuffer('enc:ch:{secure}', 1))!;
    third.writeUInt8(third.readUInt8(third.length - 20) ^ 0xff, third.length - 20); // inside the ciphertext
    assert.equal(await p.lset('enc:ch:{secure}', 1, third), 'OK');

    assert.deepEqual(await reader.receive('secure'), { n: 4 }, 'the bad ones are skipped, the reader goes on');
    assert.deepEqual(
      errors.map((e) => [e.code, e.reason, e.channel]),
      [
        ['ERR_CHANNEL_MESSAGE', 'unknown-key', 'secure'],
        ['ERR_CHANNEL_MESSAGE', 'tampered', 'secure'],
      ],
    );
    assert.equal(reader.stats().rejected, 2);
    assert.equal(reader.stats().received, 2);
    // Reported once: the dropped messages are gone, not redelivered.
    await reader.send('secure', { n: 5 });
    assert.deepEqual(await reader.receive('secure'), { n: 5 });
    assert.equal(errors.length, 2);
    assert.equal(await p.llen('enc:ch:{secure}'), 0);
    // Old processes (old key only) cannot read the new key: reported, not crashed.
    const oldErrors: Error[] = [];
    const oldReader = createChannelLayer(p, { prefix: 'enc', encryptionKeys: [OLD], onError: (e) => oldErrors.push(e) });
    after(() => oldReader.close());
    await reader.send('secure', 'new-key');
    await sender.send('secure', 'old-key');
    assert.equal(await oldReader.receive('secure'), 'old-key');
    assert.equal((oldErrors[0] as ChannelMessageError).reason, 'unknown-key');
  });

  void test('process-local channels and groups are encrypted too', async () => {
    const p = pool();
    after(() => p.close());
    const a = createChannelLayer(p, { prefix: 'enc2', encryptionKeys: [NEW] });
    const b = createChannelLayer(p, { prefix: 'enc2', encryptionKeys: [NEW] });
    after(() => Promise.all([a.close(), b.close()]));
    const ch = a.newChannel();
    await a.groupAdd('room', ch);
    await b.groupSend('room', { secret: 'group-plaintext' });
    const raw = await p.lindexBuffer(`enc2:ch:{specific.${a.processId}!}`, 0);
    assert.ok(raw && !raw.includes(Buffer.from('group-plaintext')) && !raw.includes(Buffer.from(ch)), 'body and target names sealed');
    assert.deepEqual(await a.receive(ch), { secret: 'group-plaintext' });
  });
});
