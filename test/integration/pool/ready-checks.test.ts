/**
 * ready() against real sockets: destroy() racing ready() always rejects it with ERR_POOL_CLOSED
 * (never the error of the PING that destroy() cut), and a server that answers +OK to every
 * command — PING included — is not reported ready or healthy.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { createPool, isRedpoolError } from '../../../src/index.js';
import { useRedis } from '../../helpers/redis.js';

void describe('ready() checks', () => {
  const server = useRedis();

  void test('destroy() during ready(): ready() resolves or rejects with ERR_POOL_CLOSED, 120 rounds', async () => {
    const seen = new Map<string, number>();
    const deadline = performance.now() + 20_000;
    for (let i = 0; i < 120 && performance.now() < deadline; i++) {
      const pool = createPool({ url: server().url, max: 3, lanes: 1, min: 2, connectTimeoutMs: 1_000 });
      const ready = pool.ready().then(
        (status) => `resolved ${status}`,
        (err: unknown) => (isRedpoolError(err) ? err.code : `untyped ${String(err)}`),
      );
      // Spread destroy() over the whole of ready(): connect, PING, CONFIG GET, warming `min`.
      await sleep(i % 6);
      await pool.destroy();
      const how = await ready;
      seen.set(how, (seen.get(how) ?? 0) + 1);
      assert.ok(how === 'ERR_POOL_CLOSED' || how.startsWith('resolved'), `round ${i}: ready() ended with ${how}`);
    }
    assert.ok((seen.get('ERR_POOL_CLOSED') ?? 0) > 0, `destroy() never overlapped ready(): ${JSON.stringify([...seen])}`);
  });

  void test('a server answering +OK to everything: ready() rejects, health() is not healthy', async (t) => {
    const sockets = new Set<net.Socket>();
    const fake = net.createServer((sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      sock.on('error', () => undefined);
      sock.on('data', (chunk) => {
        // One +OK per command: count RESP arrays (every client sends commands as arrays).
        let n = 0;
        for (let i = 0; i < chunk.length; i++) if (chunk[i] === 0x2a && (i === 0 || chunk[i - 1] === 0x0a)) n++;
        sock.write('+OK\r\n'.repeat(Math.max(1, n)));
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    t.after(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => fake.close(resolve));
    });
    const { port } = fake.address() as net.AddressInfo;
    const pool = createPool({ host: '127.0.0.1', port, max: 2, lanes: 1, min: 1, connectTimeoutMs: 500, acquireTimeoutMs: 500 });
    t.after(() => pool.destroy());
    await assert.rejects(pool.ready(), (err: unknown) => isRedpoolError(err) && /PONG/.test(err.message));
    const h = await pool.health({ timeoutMs: 300 });
    assert.notEqual(h.status, 'healthy', JSON.stringify({ status: h.status, message: h.message }));
  });
});
