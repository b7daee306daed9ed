/**
 * Blocking readers. A reader owns one channel list while someone in this process waits on it:
 * it holds an exclusive lease (never a shared lane) and moves messages from the list into this
 * process's in-flight backup (in the pull script, or `BLMOVE`: a message is never only in a socket buffer),
 * hands them out in order, and acknowledges them by id once handed out. What it moved but did not
 * hand out (its receiver aborted) stays buffered for the next receiver; when the reader stops, a
 * script puts it back at the head of the list, in order, for any process. After a connection
 * error the same script (with the pending acknowledgements, which are idempotent) restores the
 * state, so a message is neither lost nor handed out twice.
 *
 * Ordinary channels share `maxReaders` leases (a FIFO of slots; a reader yields its slot when
 * others wait and its channel is empty). All process-local channels share one list and one
 * `LocalReader` (local-reader.ts), outside that budget.
 */
import { PoolClosedError, type CommandPool, type Lease } from '../index.js';
import type { Envelope } from './envelope.js';
import type { Keys } from './keys.js';
import { capacityOf, type ResolvedChannelOptions } from './options.js';
import { scripts } from './scripts.js';
import type { Counters } from './stats.js';

/** A stored element: `<id:16>:<server ms>:<envelope>`. */
export interface Element {
  id: string;
  ts: number;
  env: Buffer;
}

export function parseElement(raw: Buffer): Element {
  const colon = raw.indexOf(0x3a, 17);
  return { id: raw.toString('latin1', 0, 16), ts: Number(raw.toString('latin1', 17, colon)), env: raw.subarray(colon + 1) };
}

/** What readers share with their layer. */
export interface ReaderHost {
  readonly pool: CommandPool;
  readonly o: ResolvedChannelOptions;
  readonly keys: Keys;
  readonly processId: string;
  readonly envelope: Envelope;
  readonly counters: Counters;
  readonly slots: Slots;
  isClosed(): boolean;
  /** Server clock minus local clock, in ms (learnt from script replies). */
  serverOffset: number;
  report(err: Error): void;
}

/**
 * A pending `receive()`, or a `consume()` handler: a persistent waiter that stays at the head of
 * its channel's list and takes every message (`resolve` calls the handler) until it is removed.
 */
export interface Waiter {
  readonly channel: string;
  readonly startedAt: number;
  /** A consumer: not removed when it takes a message; no receive-wait is observed for it. */
  readonly persistent?: boolean;
  resolve(value: unknown): void;
  reject(err: unknown): void;
  cleanup(): void;
}

/** FIFO semaphore over the ordinary-channel reader leases. */
export class Slots {
  readonly #max: number;
  #used = 0;
  readonly #queue: Array<() => void> = [];
  constructor(max: number) {
    this.#max = max;
  }
  get used(): number {
    return this.#used;
  }
  /** Someone waits for a slot. */
  get contended(): boolean {
    return this.#queue.length > 0;
  }
  acquire(): Promise<void> {
    if (this.#used < this.#max) {
      this.#used++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#queue.push(resolve));
  }
  release(): void {
    const next = this.#queue.shift();
    if (next) next();
    else this.#used--;
  }
  /** Wakes every queued acquirer (close): they find the layer closed and release again. */
  flush(): void {
    while (this.#queue.length > 0) {
      this.#used++;
      this.#queue.shift()!();
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A pull script's reply. */
interface Pulled {
  expired: number;
  now: number;
  elements: Buffer[];
  reclaimed: number;
  lost: boolean;
}

/** The protocol shared by both reader kinds; subclasses decide what a pulled element becomes. */
export abstract class Reader {
  readonly host: ReaderHost;
  readonly list: string;
  readonly inflight: string;
  readonly readers: string;
  /** Ids handed out (or dropped) and not yet acknowledged, in in-flight order. */
  protected pendingAck: string[] = [];
  #lease: Lease<unknown> | undefined;
  #running: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  /** The next pull is a session's first: it creates this reader's lease entry. */
  #fresh = true;
  /** Local monotonic time (ms) until which the server-side lease is surely ours. */
  #validUntil = 0;
  /** True once this reader moved anything: close() then restores its in-flight list. */
  touched = false;

  constructor(host: ReaderHost, list: string) {
    this.host = host;
    this.list = list;
    this.inflight = host.keys.inflight(list, host.processId);
    this.readers = host.keys.readers(list);
  }

  /** Someone waits here. */
  abstract wanted(): boolean;
  /** Takes pulled elements, in order. */
  protected abstract accept(el: Element): void;
  /** Hands buffered messages to waiters. */
  abstract drain(): void;
  /** Forgets messages buffered but not handed out (they are still in the in-flight list). */
  protected abstract forget(): void;
  /** Rejects every waiter (the pool is gone). */
  abstract failAll(err: Error): void;
  /** Ordinary readers take a slot; the process-local one does not. */
  protected abstract readonly slotted: boolean;
  /** Ordinary readers hold a lease another process can reclaim after a crash; the process-local one does not. */
  protected abstract readonly leased: boolean;
  /** Capacity of the list (a pop from a full list announces room). */
  protected abstract readonly capacity: number;

  get active(): boolean {
    return this.#running !== undefined;
  }

  /**
   * Whether buffered messages may be handed out: only while this reader's lease surely holds
   * (counted from when the pull that renewed it was sent). After a stall longer than the lease
   * another process may have reclaimed them; the next pull tells.
   */
  protected leaseHolds(): boolean {
    return !this.leased || performance.now() < this.#validUntil;
  }

  /** Starts the reader if it is not running. */
  kick(): void {
    this.#wake?.();
    if (this.#running || this.host.isClosed()) return;
    this.#running = this.#run().finally(() => {
      this.#running = undefined;
      if (this.wanted() && !this.host.isClosed()) this.kick();
    });
  }

  /** close(): interrupt a blocked pop (its outcome is settled by {@link settle}). */
  interrupt(): Promise<void> {
    this.#wake?.();
    this.#lease?.destroy();
    return this.#running ?? Promise.resolve();
  }

  /** After close: acknowledge what was handed out and put the rest back, on a shared lane. */
  async settle(): Promise<void> {
    if (!this.touched) return;
    const acks = this.pendingAck;
    this.pendingAck = [];
    this.forget();
    await scripts.restore.run(
      this.host.pool,
      [this.list, this.inflight, this.readers],
      [this.host.o.expiryMs, this.host.processId, acks.join('')],
    );
  }

  protected serverNow(): number {
    return Date.now() + this.host.serverOffset;
  }

  protected isExpired(ts: number): boolean {
    return ts <= this.serverNow() - this.host.o.expiryMs;
  }

  async #run(): Promise<void> {
    const h = this.host;
    if (this.slotted) await h.slots.acquire();
    let backoff = 50;
    try {
      while (!h.isClosed() && this.wanted()) {
        let lease: Lease<unknown> | undefined;
        try {
          // Pinned to the list's slot on a pool that routes by slot (ignored on one endpoint).
          lease = await h.pool.acquire({ key: this.list });
          this.#lease = lease;
          const why = await this.#session(lease);
          await this.#restore(lease);
          this.#lease = undefined;
          lease.release();
          if (why === 'yield') return;
          backoff = 50;
        } catch {
          // Connection lost, server restarting, lease destroyed by close(): what was moved is in
          // the in-flight list; the next session's restore (or settle) puts it back.
          this.#lease = undefined;
          if (lease && !lease.released) lease.destroy();
          this.forget();
          this.#validUntil = 0;
          if (h.isClosed()) return;
          // The pool was closed under the layer: nothing will ever be read; do not wait forever.
          if (h.pool.state !== 'open') {
            this.failAll(new PoolClosedError('the pool under this channel layer is closed'));
            return;
          }
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 1000);
        }
      }
    } finally {
      if (this.slotted) h.slots.release();
    }
  }

  async #restore(lease: Lease<unknown>): Promise<void> {
    const acks = this.pendingAck;
    this.pendingAck = [];
    try {
      await scripts.restore.run(
        lease,
        [this.list, this.inflight, this.readers],
        [this.host.o.expiryMs, this.host.processId, acks.join('')],
      );
    } catch (err) {
      this.pendingAck = acks.concat(this.pendingAck);
      throw err;
    }
    this.forget();
    this.#fresh = true;
    this.#validUntil = 0;
  }

  /** Waits up to `ms` for a new waiter; true if one came. */
  #linger(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve(false);
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve(true);
      };
    });
  }

  /** One pull round trip, carrying the acknowledgements collected so far. */
  async #pull(lease: Lease<unknown>): Promise<Pulled> {
    const h = this.host;
    const acks = this.pendingAck;
    this.pendingAck = [];
    const leaseMs = this.leased ? h.o.leaseMs : 0;
    const sentAt = performance.now();
    const fresh = this.#fresh;
    this.#fresh = false;
    let r: [number, number, Buffer[], number, number];
    try {
      r = (await scripts.pull.run(
        lease,
        [this.list, this.inflight, this.readers],
        [h.o.readBatch, h.o.expiryMs, this.capacity, leaseMs, fresh ? 1 : 0, h.processId, h.keys.room, acks.join('')],
      )) as typeof r;
    } catch (err) {
      this.pendingAck = acks.concat(this.pendingAck);
      throw err;
    }
    // A lease is renewed at the server no earlier than the request was sent.
    if (leaseMs > 0) this.#validUntil = Math.max(this.#validUntil, sentAt + leaseMs);
    return { expired: r[0], now: r[1], elements: r[2], reclaimed: r[3], lost: r[4] === 1 };
  }

  async #session(lease: Lease<unknown>): Promise<'idle' | 'yield'> {
    const h = this.host;
    this.touched = true;
    await this.#restore(lease); // a previous session's leftovers go back first, in order
    // A pull sent before the previous batch was handed out (the list had more): replies overlap
    // with handing out. Its messages are in the in-flight list, so a failure loses nothing.
    let ahead: Promise<Pulled> | undefined;
    try {
      for (;;) {
        if (h.isClosed()) return 'idle';
        this.drain();
        if (!this.wanted() && !ahead) {
          // A receive loop asks again right after each message: keep the lease a moment.
          if (await this.#linger(Math.min(200, h.o.blockMs))) continue;
          return 'idle';
        }
        const reply = await (ahead ?? this.#pull(lease));
        ahead = undefined;
        h.serverOffset = reply.now - Date.now();
        h.counters.expired += reply.expired;
        h.counters.reclaimed += reply.reclaimed;
        // Another reader took back what this one held (it stalled past its lease): never hand it out.
        if (reply.lost) this.forget();
        if (reply.elements.length > 0) {
          if (reply.elements.length >= h.o.readBatch && this.wanted()) {
            ahead = this.#pull(lease);
            ahead.catch(() => undefined); // awaited next round; a failure surfaces there
          }
          for (const raw of reply.elements) this.accept(parseElement(raw));
          continue;
        }
        const contended = this.slotted && h.slots.contended;
        const seconds = contended ? 0.05 : h.o.blockMs / 1000;
        const raw = await lease.blmoveBuffer(this.list, this.inflight, 'LEFT', 'RIGHT', seconds);
        if (raw) this.accept(parseElement(raw));
        else if (contended) return 'yield';
      }
    } finally {
      // Leaving with a pull in flight: let it finish, so the restore after it sees its moves.
      if (ahead) await ahead.catch(() => undefined);
    }
  }
}

interface Buffered {
  id: string;
  ts: number;
  /** undefined: dropped (rejected or expired); acknowledged when it reaches the head. */
  value?: { v: unknown };
}

/** Reader of one ordinary channel. */
export class ChannelReader extends Reader {
  readonly channel: string;
  readonly waiters: Waiter[] = [];
  readonly #buffer: Buffered[] = [];
  protected readonly slotted = true;
  protected readonly leased = true;
  protected readonly capacity: number;

  constructor(host: ReaderHost, channel: string) {
    super(host, host.keys.channel(channel));
    this.channel = channel;
    this.capacity = capacityOf(host.o, channel).capacity;
  }

  wanted(): boolean {
    return this.waiters.length > 0;
  }

  get idle(): boolean {
    return !this.active && this.waiters.length === 0 && this.#buffer.length === 0 && this.pendingAck.length === 0;
  }

  protected accept(el: Element): void {
    const h = this.host;
    try {
      const opened = h.envelope.open(this.channel, el.env);
      this.#buffer.push({ id: el.id, ts: el.ts, value: { v: h.envelope.decode(this.channel, opened.body) } });
    } catch (err) {
      h.counters.rejected++;
      h.report(err as Error);
      this.#buffer.push({ id: el.id, ts: el.ts });
    }
  }

  drain(): void {
    const h = this.host;
    if (this.#buffer.length === 0 || !this.leaseHolds()) return;
    while (this.#buffer.length > 0) {
      const head = this.#buffer[0]!;
      if (head.value === undefined || this.isExpired(head.ts)) {
        if (head.value !== undefined) h.counters.expired++;
        this.#buffer.shift();
        this.pendingAck.push(head.id);
        continue;
      }
      const w = this.waiters[0];
      if (!w) return;
      this.#buffer.shift();
      this.pendingAck.push(head.id);
      h.counters.received++;
      if (!w.persistent) {
        this.waiters.shift();
        h.counters.observeWait(Date.now() - w.startedAt);
        w.cleanup();
      }
      w.resolve(head.value.v);
    }
  }

  /**
   * A receive that finds a message already buffered (and nobody ahead of it) takes it without
   * queueing a waiter: the common case of a receive loop behind a backlog.
   */
  takeNow(): { v: unknown } | undefined {
    if (this.waiters.length > 0 || this.#buffer.length === 0 || !this.leaseHolds()) return undefined;
    const h = this.host;
    while (this.#buffer.length > 0) {
      const head = this.#buffer.shift()!;
      this.pendingAck.push(head.id);
      if (head.value === undefined) continue;
      if (this.isExpired(head.ts)) {
        h.counters.expired++;
        continue;
      }
      h.counters.received++;
      h.counters.observeWait(0);
      return head.value;
    }
    return undefined;
  }

  protected forget(): void {
    this.#buffer.length = 0;
  }

  failAll(err: Error): void {
    for (const w of this.waiters.splice(0)) {
      w.cleanup();
      w.reject(err);
    }
  }
}
