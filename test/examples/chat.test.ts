/**
 * The WebSocket chat example (examples/chat): two server processes fanning out through
 * redpool/channels, imported by package name (so it runs on the built dist/). The test starts it
 * with one command, connects its own ws clients to both processes, and checks every client hears
 * every message exactly once, whichever process it came through.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { withRedis, waitFor } from '../helpers/redis.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const main = `${root}examples/chat/main.mjs`;

/** The example imports 'redpool/channels' by name: make sure dist/ has the current code. */
function ensureDist(): void {
  const built = `${root}dist/channels/layer.js`;
  const fresh = `${root}build/src/channels/layer.js`;
  if (!existsSync(built) || statSync(built).mtimeMs < statSync(fresh).mtimeMs)
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
}

interface Client {
  ws: WebSocket;
  inbox: Array<{ text?: string; via?: string }>;
}

function connect(url: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const inbox: Client['inbox'] = [];
    ws.on('message', (d: Buffer) => {
      const m = JSON.parse(d.toString()) as { system?: string; text?: string; via?: string };
      if (m.system === 'joined') resolve({ ws, inbox });
      else inbox.push(m);
    });
    ws.once('error', reject);
  });
}

void describe('examples/chat', () => {
  void test('one command; clients on both processes hear every message once', { timeout: 120_000 }, async (t) => {
    ensureDist();
    const server = await withRedis(t);
    const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: server.url };
    delete env['NODE_TEST_CONTEXT'];
    const proc = spawn(process.execPath, [main, '--serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const clients: Client[] = [];
    t.after(async () => {
      for (const c of clients) c.ws.terminate();
      if (proc.exitCode !== null) return;
      // SIGTERM: main stops both server processes (and they close their layers and pools).
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    });
    const urls = await waitFor(
      () => {
        const m = [...out.matchAll(/listening (chat-[ab]) (ws:\S+)/g)];
        return m.length === 2 ? m.map((x) => x[2]!) : undefined;
      },
      { timeoutMs: 30_000, message: out },
    );

    for (const url of urls ?? []) for (let i = 0; i < 4; i++) clients.push(await connect(url));
    clients.forEach((c, i) => {
      for (let j = 0; j < 10; j++) c.ws.send(JSON.stringify({ text: `c${i}-m${j}` }));
    });
    const expected = clients.length * 10;
    await waitFor(() => clients.every((c) => c.inbox.length >= expected), { timeoutMs: 20_000, message: 'every client got every message' });
    await new Promise((r) => setTimeout(r, 200)); // a duplicate would show up here
    for (const [i, c] of clients.entries()) {
      const texts = c.inbox.map((m) => m.text);
      assert.equal(texts.length, expected, `client ${i}: exactly once each`);
      assert.equal(new Set(texts).size, expected, `client ${i}: no duplicates`);
      assert.deepEqual(new Set(c.inbox.map((m) => m.via)), new Set(['chat-a', 'chat-b']), `client ${i}: heard both processes`);
      // One sender's messages arrive in the order it sent them.
      for (let k = 0; k < clients.length; k++) {
        const mine = texts.filter((x) => x?.startsWith(`c${k}-`));
        assert.deepEqual(
          mine,
          Array.from({ length: 10 }, (_, j) => `c${k}-m${j}`),
        );
      }
    }
    for (const c of clients) c.ws.close();
    proc.kill('SIGTERM');
    const code = await new Promise((r) => (proc.exitCode !== null ? r(proc.exitCode) : proc.once('exit', r)));
    assert.equal(code, 0, out);
  });

  void test('the default run is a bounded self-check with its own redis-server', { timeout: 120_000 }, async () => {
    ensureDist();
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env['REDIS_URL'];
    delete env['NODE_TEST_CONTEXT'];
    const out = execFileSync(process.execPath, [main], { env, timeout: 60_000, encoding: 'utf8' });
    assert.match(out, /^self-check: ok$/m);
  });
});
