/**
 * The process-local reader: one per layer, serving every process-local channel of this process
 * (`specific.<process>!…`, one list). Everything it pulls belongs to this process at once, so it
 * acknowledges with the next pull and keeps a bounded queue per local channel; it holds no
 * reclaimable lease (a dead process's local channels die with it, their messages expire).
 */
import { capacityOf } from './options.js';
import { Reader, type Element, type ReaderHost, type Waiter } from './reader.js';

interface LocalItem {
  ts: number;
  value: unknown;
}

/** The one reader of this process's local channels (`specific.<process>!…`). */
export class LocalReader extends Reader {
  readonly waiters = new Map<string, Waiter[]>();
  readonly #queues = new Map<string, LocalItem[]>();
  protected readonly slotted = false;
  protected readonly leased = false;
  protected readonly capacity: number;

  constructor(host: ReaderHost, channelPrefix: string) {
    super(host, host.keys.channel(channelPrefix));
    this.capacity = capacityOf(host.o, channelPrefix).capacity;
  }

  wanted(): boolean {
    return this.waiters.size > 0;
  }

  get waiting(): number {
    let n = 0;
    for (const q of this.waiters.values()) n += q.length;
    return n;
  }

  protected accept(el: Element): void {
    const h = this.host;
    // Everything pulled belongs to this process at once: it is acknowledged with the next call.
    this.pendingAck.push(el.id);
    let targets: readonly string[];
    let body: Buffer;
    try {
      ({ targets, body } = h.envelope.open(this.list, el.env));
    } catch (err) {
      h.counters.rejected++;
      h.report(err as Error);
      return;
    }
    if (this.isExpired(el.ts)) {
      h.counters.expired += targets.length;
      return;
    }
    const decode = h.envelope.decoder(body, h.o.sharedValues);
    for (const target of targets) {
      let value: unknown;
      try {
        value = decode(target);
      } catch (err) {
        h.counters.rejected++;
        h.report(err as Error);
        continue;
      }
      const ws = this.waiters.get(target);
      let q = this.#queues.get(target);
      if (ws && !q) {
        // Someone waits and nothing is queued ahead: hand it over now (a consumer's handler runs here).
        const w = ws[0]!;
        h.counters.received++;
        if (!w.persistent) {
          ws.shift();
          if (ws.length === 0) this.waiters.delete(target);
          h.counters.observeWait(Date.now() - w.startedAt);
          w.cleanup();
        }
        w.resolve(value);
        continue;
      }
      if (!q) this.#queues.set(target, (q = []));
      q.push({ ts: el.ts, value });
      // Bounded like channels_redis's receive buffer, but counted: the oldest goes first.
      if (q.length > 1) {
        const cap = capacityOf(h.o, target).capacity;
        while (q.length > cap) {
          q.shift();
          h.counters.dropped++;
        }
      }
      if (ws) this.drainOne(target);
    }
  }

  /** Like {@link ChannelReader.takeNow}, for one process-local channel. */
  takeNow(channel: string): { v: unknown } | undefined {
    const q = this.#queues.get(channel);
    if (!q || this.waiters.has(channel)) return undefined;
    const h = this.host;
    let got: { v: unknown } | undefined;
    while (!got && q.length > 0) {
      const item = q.shift()!;
      if (this.isExpired(item.ts)) {
        h.counters.expired++;
        continue;
      }
      h.counters.received++;
      h.counters.observeWait(0);
      got = { v: item.value };
    }
    if (q.length === 0) this.#queues.delete(channel);
    return got;
  }

  drain(): void {
    // Only channels with queued messages can deliver; usually few (consumers keep up).
    for (const channel of this.#queues.keys()) this.drainOne(channel);
  }

  /** Hands `channel`'s queued messages to its waiters, in order. */
  drainOne(channel: string): void {
    const h = this.host;
    const q = this.#queues.get(channel);
    const ws = this.waiters.get(channel);
    while (q && q.length > 0 && ws && ws.length > 0) {
      const item = q.shift()!;
      if (this.isExpired(item.ts)) {
        h.counters.expired++;
        continue;
      }
      const w = ws[0]!;
      h.counters.received++;
      if (!w.persistent) {
        ws.shift();
        h.counters.observeWait(Date.now() - w.startedAt);
        w.cleanup();
      }
      w.resolve(item.value);
    }
    if (q && q.length === 0) this.#queues.delete(channel);
    if (ws && ws.length === 0) this.waiters.delete(channel);
  }

  failAll(err: Error): void {
    for (const ws of this.waiters.values()) {
      for (const w of ws.splice(0)) {
        w.cleanup();
        w.reject(err);
      }
    }
    this.waiters.clear();
  }

  /** Local queues hold only owned (acknowledged) messages: nothing to forget on a restore. */
  protected forget(): void {}
}
