/**
 * One side of the two-process exchange (the test runs one side, `node peer.js` the other):
 * sends `perChannel` messages on each of its outgoing channels and `groupMessages` to a shared
 * group, receives on its incoming channels and its process-local group members, and checks
 * every stream: complete, no duplicates, in order per sender.
 */
import { createInterface } from 'node:readline';
import { createPool } from '../../../src/index.js';
import { createChannelLayer, type ChannelLayer } from '../../../src/channels/index.js';

export interface ExchangeSpec {
  /** 'a' or 'b': a sends on a2b.*, receives b2a.*, and the reverse. */
  side: 'a' | 'b';
  channels: number;
  perChannel: number;
  locals: number;
  groupMessages: number;
}

export interface ExchangeResult {
  received: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  groupReceived: number;
}

interface Msg {
  from: string;
  seq: number;
}

/** Checks one stream of messages from one or more senders: seq 0..expected-1 per sender, in order. */
function check(msgs: Msg[], senders: string[], expected: number, r: ExchangeResult): void {
  for (const from of senders) {
    const seqs = msgs.filter((m) => m.from === from).map((m) => m.seq);
    const uniq = new Set(seqs);
    r.duplicated += seqs.length - uniq.size;
    for (let i = 0; i < expected; i++) if (!uniq.has(i)) r.lost++;
    for (let i = 1; i < seqs.length; i++) if (seqs[i]! < seqs[i - 1]!) r.outOfOrder++;
  }
}

/** Joins the group with `locals` process-local channels; returns them. */
export async function join(layer: ChannelLayer, locals: number): Promise<string[]> {
  const mine = Array.from({ length: locals }, () => layer.newChannel());
  for (const ch of mine) await layer.groupAdd('everyone', ch);
  return mine;
}

/** Runs one side after both joined; resolves once everything it expects arrived (or the deadline). */
export async function exchange(layer: ChannelLayer, spec: ExchangeSpec, mine: string[], deadlineMs: number): Promise<ExchangeResult> {
  const other = spec.side === 'a' ? 'b' : 'a';
  const r: ExchangeResult = { received: 0, lost: 0, duplicated: 0, outOfOrder: 0, groupReceived: 0 };
  const stop = AbortSignal.timeout(deadlineMs);
  const collect = async (channel: string, want: number, into: Msg[]): Promise<void> => {
    while (into.length < want && !stop.aborted) {
      try {
        into.push((await layer.receive(channel, { signal: stop })) as Msg);
      } catch (err) {
        if (!stop.aborted) throw err;
      }
    }
  };
  const incoming = Array.from({ length: spec.channels }, () => [] as Msg[]);
  const local = mine.map(() => [] as Msg[]);
  const receiving = [
    ...incoming.map((into, c) => collect(`${other}2${spec.side}.${c}`, spec.perChannel, into)),
    ...local.map((into, i) => collect(mine[i]!, spec.groupMessages * 2, into)),
  ];
  const sending = (async () => {
    for (let seq = 0; seq < spec.perChannel; seq++) {
      await Promise.all(incoming.map((_, c) => layer.send(`${spec.side}2${other}.${c}`, { from: spec.side, seq }, { waitMs: deadlineMs })));
      if (seq < spec.groupMessages) await layer.groupSend('everyone', { from: spec.side, seq });
    }
    for (let seq = spec.perChannel; seq < spec.groupMessages; seq++) await layer.groupSend('everyone', { from: spec.side, seq });
  })();
  await Promise.all([sending, ...receiving]);
  incoming.forEach((msgs) => check(msgs, [other], spec.perChannel, r));
  local.forEach((msgs) => check(msgs, ['a', 'b'], spec.groupMessages, r));
  r.received = incoming.reduce((n, m) => n + m.length, 0);
  r.groupReceived = local.reduce((n, m) => n + m.length, 0);
  return r;
}

/** Child process: `REDIS_URL=… SPEC=… node peer.js`; prints `joined`, waits for `go`, prints `result {json}`. */
async function child(): Promise<void> {
  const spec = JSON.parse(process.env['SPEC'] ?? '{}') as ExchangeSpec & { prefix: string };
  const pool = createPool({ url: process.env['REDIS_URL'], max: 20, name: 'peer' });
  const layer = createChannelLayer(pool, { prefix: spec.prefix, capacity: 1000, blockMs: 200 });
  const mine = await join(layer, spec.locals);
  const lines = createInterface({ input: process.stdin });
  process.stdout.write('joined\n');
  for await (const line of lines) if (line.trim() === 'go') break;
  const result = await exchange(layer, spec, mine, 60_000);
  process.stdout.write(`result ${JSON.stringify(result)}\n`);
  lines.close();
  await layer.close();
  await pool.close();
}

if (process.argv[1]?.endsWith('peer.js')) await child();
