/**
 * Channel layer metrics through redpool/prometheus: counters from stats(), depth per capacity
 * pattern sampled from Redis at scrape time, the receive-wait histogram; no channel names in
 * labels; unregister removes everything.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { createPool } from '../../../src/index.js';
import { createChannelLayer } from '../../../src/channels/index.js';
import { registerChannelMetrics } from '../../../src/prometheus/index.js';
import { useRedis, waitFor } from '../../helpers/redis.js';

void describe('channel metrics', () => {
  const server = useRedis();

  void test('sent, received, full, depth per pattern, receive wait', async () => {
    const pool = createPool({ url: server().url, max: 10 });
    after(() => pool.close());
    const layer = createChannelLayer(pool, { prefix: 'm', capacity: 2, channelCapacity: { 'chat.*': 3 } });
    after(() => layer.close());
    const registry = new Registry();
    const metrics = registerChannelMetrics(layer, registry);
    for (let i = 0; i < 3; i++) await layer.send('chat.secret-room-name', i);
    await assert.rejects(layer.send('chat.secret-room-name', 4), { code: 'ERR_CHANNEL_FULL' });
    await layer.send('plain', 'x');
    assert.equal(await layer.receive('chat.secret-room-name'), 0);
    await waitFor(() => layer.stats().readers === 0); // idle reader acknowledged and put back the rest
    const text = await registry.metrics();
    assert.match(text, /^redpool_channel_sent_total\{layer="m"\} 4$/m);
    assert.match(text, /^redpool_channel_received_total\{layer="m"\} 1$/m);
    assert.match(text, /^redpool_channel_full_total\{layer="m"\} 1$/m);
    assert.match(text, /^redpool_channel_depth\{layer="m",pattern="chat\.\*"\} 2$/m);
    assert.match(text, /^redpool_channel_depth\{layer="m",pattern="default"\} 1$/m);
    assert.match(text, /^redpool_channel_receive_wait_seconds_count\{layer="m"\} 1$/m);
    assert.ok(!text.includes('secret-room-name'), 'channel names never become labels');
    assert.throws(() => registerChannelMetrics(layer, registry), { code: 'ERR_INVALID_OPTION' });
    metrics.unregister();
    assert.equal(await registry.metrics(), '\n');
  });
});
