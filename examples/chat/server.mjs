// One chat server process: a WebSocket endpoint (ws) whose clients all join the group "lobby"
// of a redpool channel layer. A message from any client, on any process, reaches every client
// of every process through the layer. Run two of these (see main.mjs) on one Redis.
//
//   REDIS_URL=redis://127.0.0.1:6379 PORT=8001 node examples/chat/server.mjs
/* global AbortController, setInterval, clearInterval */
import http from 'node:http';
import { createPool } from 'redpool';
import { createChannelLayer } from 'redpool/channels';
import { WebSocketServer } from 'ws';

const NAME = process.env.NAME ?? `chat-${process.pid}`;
const pool = createPool({ url: process.env.REDIS_URL, name: NAME, max: 10 });
await pool.ready();
// The reference settings (channels_redis: capacity 1500, expiry 10 s, group expiry 24 h,
// chat.* 2000, notifications.* 500). Heartbeats below keep live memberships fresh.
const layer = createChannelLayer(pool, {
  prefix: process.env.CHAT_PREFIX ?? 'example:chat',
  capacity: 1500,
  expiryMs: 10_000,
  groupExpiryMs: 86_400_000,
  channelCapacity: { 'chat.*': 2000, 'notifications.*': 500, 'specific.*': 20_000 },
  ...(process.env.CHAT_SECRET ? { encryptionKeys: [process.env.CHAT_SECRET] } : {}),
});

const PAGE = `<!doctype html><meta charset="utf-8"><title>redpool chat</title>
<ul id="log"></ul><form id="f"><input id="t" autofocus><button>send</button></form>
<script>const ws = new WebSocket('ws://' + location.host + '/ws');
ws.onmessage = (e) => { const li = document.createElement('li'); li.textContent = e.data; log.append(li); };
f.onsubmit = (e) => { e.preventDefault(); ws.send(JSON.stringify({ text: t.value })); t.value = ''; };</script>`;

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
});
const wss = new WebSocketServer({ server, path: '/ws' });
const clients = new Set();

wss.on('connection', (ws) => {
  const channel = layer.newChannel();
  const stop = new AbortController();
  clients.add(ws);
  const heartbeat = setInterval(() => layer.groupAdd('lobby', channel).catch(() => {}), 60_000);
  // Deliver: a handler per client on its process-local channel (one reader per process serves
  // them all), called synchronously per message, in order; it ends on disconnect (abort).
  const pump = layer
    .consume(
      channel,
      (msg) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
      },
      { signal: stop.signal },
    )
    .catch(() => {}); // the pool closed under the layer
  layer.groupAdd('lobby', channel).then(
    () => ws.send(JSON.stringify({ system: 'joined', via: NAME })),
    () => ws.close(1011),
  );
  // One client's messages are sent one after another: concurrent sends may be stored in any order.
  let sending = Promise.resolve();
  ws.on('message', (data) => {
    let text;
    try {
      text = String(JSON.parse(String(data)).text ?? '').slice(0, 1000);
    } catch {
      return;
    }
    sending = sending
      .then(() => layer.groupSend('lobby', { text, via: NAME }))
      .catch((err) => console.error(`${NAME}: send failed: ${err.code}`));
  });
  ws.on('close', () => {
    clients.delete(ws);
    clearInterval(heartbeat);
    stop.abort();
    layer.groupDiscard('lobby', channel).catch(() => {});
    void pump;
  });
});

await new Promise((resolve) => server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve));
console.log(`listening ${NAME} ws://127.0.0.1:${server.address().port}/ws`);

async function shutdown() {
  for (const ws of clients) ws.close(1001);
  wss.close();
  await new Promise((resolve) => server.close(resolve));
  await layer.close();
  await pool.close();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());
