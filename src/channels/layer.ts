/**
 * The channel layer: named channels with a capacity, groups with expiry, process-local channels,
 * over one redpool pool and only its public API (shared commands for sends, exclusive leases
 * for blocking reads).
 */
import { randomBytes } from 'node:crypto';
import { ArgumentError, ChannelFullError, PoolClosedError, type CommandPool } from '../index.js';
import { Envelope } from './envelope.js';
import { GroupCache, groupAdd, groupDiscard, groupMembers, groupSend, type GroupSendResult } from './groups.js';
import { checkChannel, isProcessLocal, Keys, nonLocal } from './keys.js';
import { capacityOf, resolveChannelOptions, type ChannelLayerOptions, type ResolvedChannelOptions } from './options.js';
import { Deliveries } from './deliver.js';
import { LocalReader } from './local-reader.js';
import { ChannelReader, Slots, type ReaderHost, type Waiter } from './reader.js';
import { ROOM_RECHECK_MS, RoomWaiters } from './room.js';
import { Counters, type ChannelStats } from './stats.js';

/** Options of {@link ChannelLayer.send}. */
export interface SendOptions {
  /** When the channel is full, wait up to this many ms for room before rejecting. @default 0 */
  waitMs?: number;
  /** Stops waiting for room (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** Options of {@link ChannelLayer.receive}. */
export interface ReceiveOptions {
  /** Abort the wait. A message is never lost or duplicated by an abort. */
  signal?: AbortSignal;
}

/** Options of {@link ChannelLayer.consume}. */
export interface ConsumeOptions {
  /**
   * Stops the consumer: its handler is not called after the abort, and what the reader had
   * already moved for it stays buffered for the next receiver (nothing lost or duplicated).
   */
  signal?: AbortSignal;
}

/**
 * One 'abort' listener per signal, however many receives share it: a receive loop per
 * connection often passes one signal for all, and an EventTarget's add and remove are linear in
 * its listeners.
 */
const aborters = new WeakMap<AbortSignal, Set<() => void>>();

function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let set = aborters.get(signal);
  if (!set) {
    const fns = new Set<() => void>();
    aborters.set(signal, (set = fns));
    signal.addEventListener('abort', () => {
      aborters.delete(signal);
      for (const f of fns) f();
    });
  }
  const owned = set;
  owned.add(fn);
  return () => owned.delete(fn);
}

function consumedError(op: string, channel: string): ArgumentError {
  return new ArgumentError(op, 0, `"${channel}" has a consume() handler; stop it (its signal) first`);
}

/** A channel layer. Create with {@link createChannelLayer}. */
export class ChannelLayer {
  readonly #pool: CommandPool;
  readonly #o: ResolvedChannelOptions;
  readonly #keys: Keys;
  readonly #envelope: Envelope;
  readonly #counters = new Counters();
  readonly #readers = new Map<string, ChannelReader>();
  readonly #local: LocalReader;
  readonly #host: ReaderHost;
  readonly #deliveries: Deliveries;
  readonly #groups = new GroupCache();
  readonly #room: RoomWaiters;
  /** Channels with a `consume` handler. */
  readonly #consumed = new Set<string>();
  /** Lists this process sent to or read from, by capacity label (for depth). */
  readonly #seen = new Map<string, string>();
  /** Random per layer: names process-local channels and in-flight lists. */
  readonly processId: string;
  readonly #idBase: string;
  #seq = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(pool: CommandPool, options?: ChannelLayerOptions) {
    this.#pool = pool;
    this.#o = resolveChannelOptions(options, pool.options.max - pool.options.lanes);
    this.#keys = new Keys(this.#o.prefix);
    this.#envelope = new Envelope(this.#o.encryptionKeys, this.#o.serializer);
    this.processId = randomBytes(6).toString('hex');
    this.#idBase = randomBytes(4).toString('hex');
    this.#host = {
      pool,
      o: this.#o,
      keys: this.#keys,
      processId: this.processId,
      envelope: this.#envelope,
      counters: this.#counters,
      slots: new Slots(this.#o.maxReaders),
      isClosed: () => this.#closed,
      serverOffset: 0,
      report: (err) => {
        try {
          this.#o.onError(err);
        } catch {
          // A throwing onError must not stop the reader.
        }
      },
    };
    this.#deliveries = new Deliveries(
      pool,
      this.#o.expiryMs,
      (expired, now) => {
        this.#counters.expired += expired;
        this.#host.serverOffset = now - Date.now();
      },
      this.#o.groupExpiryMs,
    );
    this.#room = new RoomWaiters(pool, this.#keys.room);
    this.#local = new LocalReader(this.#host, `specific.${this.processId}!`);
    this.#see(`specific.${this.processId}!`);
  }

  /** The validated options (encryption keys are not included). */
  get options(): Omit<ResolvedChannelOptions, 'encryptionKeys'> {
    const { encryptionKeys: _k, ...rest } = this.#o;
    return rest;
  }

  #id(): string {
    this.#seq = (this.#seq + 1) >>> 0;
    return this.#idBase + this.#seq.toString(16).padStart(8, '0');
  }

  #check(): void {
    if (this.#closed) throw new PoolClosedError('channel layer is closed');
  }

  /** The refusal of a process-local channel this layer did not create (only its creator's reader serves it). */
  #foreign(verb: 'receive' | 'consume', channel: string): ArgumentError | undefined {
    if (nonLocal(channel) === `specific.${this.processId}!`) return undefined;
    const what = verb === 'receive' ? 'receive on it' : 'consume it';
    return new ArgumentError(verb, 0, `"${channel}" is another layer's process-local channel; only its creator can ${what}`);
  }

  #see(channel: string): void {
    const key = this.#keys.channel(channel);
    if (!this.#seen.has(key)) this.#seen.set(key, capacityOf(this.#o, channel).label);
  }

  /** A new process-local channel name, `<prefix>.<process>!<id>`, served by this layer only. */
  newChannel(): string {
    return `specific.${this.processId}!${randomBytes(8).toString('hex')}`;
  }

  /**
   * Stores `message` on `channel` in one atomic script: drop expired messages, check capacity,
   * append with the server's time, refresh the key's expiry (concurrent sends share one script
   * call). Rejects with ChannelFullError (`ERR_CHANNEL_FULL`, nothing stored) when full — after
   * waiting up to `waitMs` for room, woken by the reader that makes room — and with the pool's
   * errors otherwise (`outcome` tells whether it may have been stored).
   */
  async send(channel: string, message: unknown, options: SendOptions = {}): Promise<void> {
    checkChannel('send', channel);
    this.#check();
    const { capacity } = capacityOf(this.#o, channel);
    const env = this.#envelope.seal(this.#envelope.serialize(message), isProcessLocal(channel) ? [channel] : []);
    const key = this.#keys.channel(channel);
    this.#see(channel);
    const delivery = { key, id: this.#id(), capacity, payload: env };
    const waitMs = options.waitMs ?? 0;
    const started = Date.now();
    let listening = false;
    let attempt = 0;
    for (;;) {
      const mark = this.#room.mark(key);
      const [stored] = await this.#deliveries.submit([delivery]);
      if (stored === true) {
        this.#counters.sent++;
        return;
      }
      const waited = Date.now() - started;
      if (waited >= waitMs || this.#closed) {
        this.#counters.full++;
        throw new ChannelFullError(channel, capacity, waited);
      }
      options.signal?.throwIfAborted();
      if (!listening) {
        // First time full: subscribe to room messages, then look again at once (room made
        // before the subscription was acknowledged would not be announced to this sender).
        listening = await this.#room.listen(Math.min(waitMs - waited, ROOM_RECHECK_MS));
        if (listening) continue;
      }
      await this.#room.wait(key, mark, waitMs - waited, attempt++, options.signal);
      options.signal?.throwIfAborted();
    }
  }

  /**
   * Waits for the next message on `channel`. Ordinary channels: one blocking reader (on a lease)
   * per channel, at most `maxReaders` at once. Process-local channels (from {@link newChannel}):
   * one reader for all. Rejects with the signal's reason on abort (the message it would have got
   * goes to the next receiver, in order) and with PoolClosedError on close.
   */
  receive(channel: string, options: ReceiveOptions = {}): Promise<unknown> {
    try {
      checkChannel('receive', channel);
      this.#check();
      options.signal?.throwIfAborted();
    } catch (err) {
      return Promise.reject(err);
    }
    const local = isProcessLocal(channel);
    const foreign = local ? this.#foreign('receive', channel) : undefined;
    if (foreign) return Promise.reject(foreign);
    if (this.#consumed.has(channel)) return Promise.reject(consumedError('receive', channel));
    // Already buffered and nobody ahead: no waiter, no listener (a receive loop behind a backlog).
    const ready = local ? this.#local.takeNow(channel) : this.#readers.get(channel)?.takeNow();
    if (ready) return Promise.resolve(ready.v);
    return new Promise((resolve, reject) => {
      const signal = options.signal;
      const list = this.#waitersOf(channel, local);
      const aborted = (): void => {
        const i = list.indexOf(waiter);
        if (i >= 0) list.splice(i, 1);
        reject(signal?.reason);
      };
      const off = signal ? onAbort(signal, aborted) : undefined;
      const waiter: Waiter = {
        channel,
        startedAt: Date.now(),
        resolve,
        reject,
        cleanup: () => off?.(),
      };
      this.#enqueue(channel, local, list, waiter);
    });
  }

  /**
   * Calls `handler` with each message of `channel`, in order, synchronously as the reader hands
   * it out (no promise per message: what a WebSocket fan-out wants), until `signal` aborts or
   * the layer closes. Same delivery rules as {@link receive}: a message counts as delivered
   * (acknowledged) once the handler was called; a handler that throws is reported to `onError`
   * and the next message still comes. One consumer per channel, and no `receive` beside it
   * (ArgumentError). Resolves when it stops (abort or close); rejects with PoolClosedError if the
   * pool under the layer closes.
   */
  consume(channel: string, handler: (message: unknown) => void, options: ConsumeOptions = {}): Promise<void> {
    try {
      checkChannel('consume', channel);
      this.#check();
      if (typeof handler !== 'function') throw new ArgumentError('consume', 1, 'must be a function');
      options.signal?.throwIfAborted();
    } catch (err) {
      return Promise.reject(err);
    }
    const local = isProcessLocal(channel);
    const foreign = local ? this.#foreign('consume', channel) : undefined;
    if (foreign) return Promise.reject(foreign);
    if (this.#consumed.has(channel)) return Promise.reject(consumedError('consume', channel));
    const busy = local ? this.#local.waiters.get(channel)?.length : this.#readers.get(channel)?.waiters.length;
    if (busy)
      return Promise.reject(new ArgumentError('consume', 0, `"${channel}" has pending receive() calls; consume it when they settled`));
    this.#consumed.add(channel);
    return new Promise((resolve, reject) => {
      const signal = options.signal;
      const list = this.#waitersOf(channel, local);
      const stop = (): void => {
        off?.();
        this.#consumed.delete(channel);
        const i = list.indexOf(waiter);
        if (i >= 0) list.splice(i, 1);
        if (local && list.length === 0 && this.#local.waiters.get(channel) === list) this.#local.waiters.delete(channel);
      };
      const off = signal ? onAbort(signal, () => (stop(), resolve())) : undefined;
      const waiter: Waiter = {
        channel,
        startedAt: Date.now(),
        persistent: true,
        resolve: (message) => {
          try {
            handler(message);
          } catch (err) {
            this.#host.report(err instanceof Error ? err : new Error(String(err)));
          }
        },
        // close() ends a consumer normally; a pool closed under the layer is an error.
        reject: (err) => (stop(), this.#closed ? resolve() : reject(err)),
        cleanup: () => off?.(),
      };
      this.#enqueue(channel, local, list, waiter);
    });
  }

  /** The waiter list of `channel` (creating its reader or local list). */
  #waitersOf(channel: string, local: boolean): Waiter[] {
    if (local) {
      let ws = this.#local.waiters.get(channel);
      if (!ws) this.#local.waiters.set(channel, (ws = []));
      return ws;
    }
    let reader = this.#readers.get(channel);
    if (!reader) {
      this.#readers.set(channel, (reader = new ChannelReader(this.#host, channel)));
      this.#see(channel);
    }
    return reader.waiters;
  }

  /**
   * Queues `waiter` on `list` (from {@link #waitersOf}), hands it what is buffered, starts the
   * reader. The list exists before: a consumer's handler may stop it from inside this call.
   */
  #enqueue(channel: string, local: boolean, list: Waiter[], waiter: Waiter): void {
    list.push(waiter);
    if (local) {
      this.#local.drainOne(channel);
      this.#local.kick();
    } else {
      const reader = this.#readers.get(channel)!;
      reader.drain();
      reader.kick();
    }
  }

  /** Adds `channel` to `group` (refreshing its membership); see {@link ChannelLayerOptions.groupExpiryMs}. */
  async groupAdd(group: string, channel: string): Promise<void> {
    return groupAdd(this.#ctx(), group, channel);
  }

  /** Removes `channel` from `group` (no error if absent). */
  async groupDiscard(group: string, channel: string): Promise<void> {
    return groupDiscard(this.#ctx(), group, channel);
  }

  /** Live members of `group` (lapsed ones are dropped first). */
  async groupMembers(group: string): Promise<string[]> {
    return groupMembers(this.#ctx(), group);
  }

  /**
   * Sends `message` to every live member of `group`: one script for all members (per hash slot
   * on a pool that routes by slot), never throws
   * for a full member. The result says per member `delivered`, `full` or `expired` (membership lapsed).
   */
  async groupSend(group: string, message: unknown): Promise<GroupSendResult> {
    return groupSend(this.#ctx(), group, message);
  }

  #ctx() {
    this.#check();
    return {
      pool: this.#pool,
      o: this.#o,
      keys: this.#keys,
      envelope: this.#envelope,
      counters: this.#counters,
      deliveries: this.#deliveries,
      groups: this.#groups,
      id: () => this.#id(),
      see: (c: string) => this.#see(c),
    };
  }

  /** Counters and the last sampled depth. */
  stats(): ChannelStats {
    let waiting = this.#local.waiting;
    for (const r of this.#readers.values()) waiting += r.waiters.length;
    return this.#counters.snapshot(waiting, this.#host.slots.used + (this.#local.active ? 1 : 0));
  }

  /** Calls `listener` with each receive's wait in ms (metrics hook). Returns the unsubscribe function. */
  onReceiveWait(listener: (ms: number) => void): () => void {
    this.#counters.waitListeners.add(listener);
    return () => this.#counters.waitListeners.delete(listener);
  }

  /**
   * Samples queue depth (LLEN) of every channel this process used, plus what its readers moved but
   * did not hand out yet, summed per capacity pattern.
   */
  async refreshDepth(): Promise<Record<string, number>> {
    const entries = [...this.#seen.entries()];
    const depth: Record<string, number> = {};
    for (const r of this.#o.rules) depth[r.label] = 0;
    depth['default'] = 0;
    if (entries.length > 0) {
      // The list plus this process's in-flight backup: moved out by a reader but not yet handed out.
      const cmds = entries.flatMap(([key]) => [
        ['llen', key],
        ['llen', this.#keys.inflight(key, this.processId)],
      ]);
      const res = await this.#pool.pipeline(cmds).exec();
      entries.forEach(([, label], i) => {
        let n = 0;
        for (const r of [res?.[2 * i]?.[1], res?.[2 * i + 1]?.[1]]) if (typeof r === 'number') n += r;
        depth[label] = (depth[label] ?? 0) + n;
      });
    }
    this.#counters.depth = depth;
    return depth;
  }

  /**
   * Deletes every key of this layer's prefix (SCAN + UNLINK, never KEYS) and returns how many.
   * On a cluster pool it scans every primary (`pool.primaries()`) and unlinks key by key in one
   * pipeline per batch (routed by key: one UNLINK of several slots would be refused).
   */
  async flush(): Promise<number> {
    const nodes = this.#pool.primaries?.();
    if (!nodes) return this.#flushNode(this.#pool, (keys) => this.#pool.unlink(...keys));
    const counts = await Promise.all(
      nodes.map((node) =>
        this.#flushNode(node.commands, async (keys) => {
          const res = await this.#pool.pipeline(keys.map((k) => ['unlink', k])).exec();
          let n = 0;
          for (const [err, v] of res ?? []) {
            if (err) throw err;
            n += Number(v);
          }
          return n;
        }),
      ),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  async #flushNode(node: Pick<CommandPool, 'scan'>, unlink: (keys: string[]) => Promise<number>): Promise<number> {
    let cursor = '0';
    let n = 0;
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', this.#keys.all, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) n += await unlink(keys);
    } while (cursor !== '0');
    return n;
  }

  /**
   * Ends the readers (a blocked pop is interrupted by closing its connection), rejects pending
   * receives with PoolClosedError, acknowledges what was handed out and puts what was not back
   * at the head of its channel, then releases the leases. Does not close the pool. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const err = new PoolClosedError('channel layer is closed');
    const all = [...this.#readers.values(), this.#local];
    const waiters = [...this.#readers.values()].flatMap((r) => r.waiters.splice(0));
    for (const ws of this.#local.waiters.values()) waiters.push(...ws.splice(0));
    for (const w of waiters) {
      w.cleanup();
      w.reject(err);
    }
    this.#local.waiters.clear();
    this.#host.slots.flush();
    const room = this.#room.close();
    await Promise.all(all.map((r) => r.interrupt()));
    await Promise.allSettled([...all.map((r) => r.settle()), room]);
  }
}

/**
 * Creates a channel layer over `pool`. Throws ConfigError (`ERR_INVALID_OPTION`, naming the
 * option) for bad options.
 *
 * @example
 * const layer = createChannelLayer(pool, { capacity: 1500, expiryMs: 10_000, channelCapacity: { 'chat.*': 2000 } });
 * await layer.groupAdd('room', layer.newChannel());
 */
export function createChannelLayer(pool: CommandPool, options?: ChannelLayerOptions): ChannelLayer {
  return new ChannelLayer(pool, options);
}
