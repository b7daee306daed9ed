// WebSocket chat served by two processes that fan out through redpool/channels. One command:
//
//   npm run build && node examples/chat/main.mjs            # self-check: clients on both processes, exits
//   node examples/chat/main.mjs --serve                      # keep running; open the printed URLs
//   REDIS_URL=redis://127.0.0.1:6379 node examples/chat/main.mjs
//
// Without REDIS_URL a throwaway redis-server is started on a free port and stopped at the end.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';

const serve = process.argv.includes('--serve');
const here = fileURLToPath(new URL('.', import.meta.url));
const children = [];
let redis;
let redisDir;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startRedis() {
  const port = await freePort();
  redisDir = mkdtempSync(join(tmpdir(), 'chat-redis-'));
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', redisDir], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => (c.end(), resolve(true))).once('error', () => resolve(false));
    });
    if (ok) return `redis://127.0.0.1:${port}`;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('redis-server did not start');
}

function startServer(name, env) {
  const child = spawn(process.execPath, [join(here, 'server.mjs')], { env: { ...env, NAME: name }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening \S+ (ws:\S+)/.exec(out);
      if (m) resolve(m[1]);
      process.stdout.write(d);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

async function stopAll() {
  await Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => (c.once('exit', r), c.kill('SIGTERM'))))));
  if (redis) {
    await new Promise((r) => (redis.once('exit', r), redis.kill('SIGTERM')));
    rmSync(redisDir, { recursive: true, force: true });
  }
}

function connect(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const inbox = [];
    ws.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.system === 'joined') resolve({ ws, inbox });
      else inbox.push(m);
    });
    ws.once('error', reject);
  });
}

/** Bounded self-check: 3 clients on each process, each says 5 things; everyone hears all 30. */
async function selfCheck(urls) {
  const clients = [];
  for (const url of urls) for (let i = 0; i < 3; i++) clients.push(await connect(url));
  clients.forEach((c, i) => {
    for (let j = 0; j < 5; j++) c.ws.send(JSON.stringify({ text: `client${i}-msg${j}` }));
  });
  const deadline = Date.now() + 15_000;
  while (clients.some((c) => c.inbox.length < 30) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  let ok = true;
  for (const [i, c] of clients.entries()) {
    const texts = c.inbox.map((m) => m.text);
    const complete = clients.every((_, k) => [0, 1, 2, 3, 4].every((j) => texts.includes(`client${k}-msg${j}`)));
    const vias = new Set(c.inbox.map((m) => m.via));
    if (!complete || texts.length !== 30 || vias.size !== 2) {
      ok = false;
      console.log(`FAIL client ${i}: ${texts.length} messages via ${[...vias].join(',')}`);
    }
  }
  for (const c of clients) c.ws.close();
  return ok;
}

const url = process.env.REDIS_URL ?? (await startRedis());
const env = { ...process.env, REDIS_URL: url };
try {
  const urls = await Promise.all([
    startServer('chat-a', { ...env, PORT: process.env.PORT_A ?? '0' }),
    startServer('chat-b', { ...env, PORT: process.env.PORT_B ?? '0' }),
  ]);
  if (serve) {
    console.log(`open http://${urls[0].slice(5, -3)} and http://${urls[1].slice(5, -3)} (Ctrl-C to stop)`);
    await new Promise((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  } else {
    const ok = await selfCheck(urls);
    console.log(ok ? 'self-check: ok' : 'self-check: FAILED');
    process.exitCode = ok ? 0 : 1;
  }
} finally {
  await stopAll();
}
