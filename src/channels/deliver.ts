/**
 * Stores messages: every `send` and every group send's member deliveries go through one queue
 * that is written out once per turn of the event loop, as one DELIVER script per hash slot
 * group. Concurrent sends then cost one round trip and one script together instead of one each
 * (each message is still checked against its own list's capacity, atomically), and a group send
 * reaches all its members in one script.
 *
 * On one endpoint (standalone, Sentinel) everything of a turn goes in one script. A pool that
 * routes by slot (Cluster) refuses a script whose keys hash to different slots with
 * `CrossSlotError` before sending anything; the queue then splits by slot (`cluster-key-slot`,
 * as Redis hashes `{tags}`) for the rest of its life and retries, and merges the per-key replies
 * back in order. Messages for one list stay in one script, in the order they were queued.
 */
import calculateSlot from 'cluster-key-slot';
import { isRedpoolError } from '../errors.js';
import { scripts, type ScriptTarget } from './scripts.js';

/** One message for one list. */
export interface Delivery {
  readonly key: string;
  readonly id: string;
  readonly capacity: number;
  /** The envelope; deliveries that share one Buffer send it once. */
  readonly payload: Buffer;
}

/** Most deliveries in one script call (bounds the script's run time and the request size). */
export const MAX_BATCH = 512;

/** Indexes of `keys` grouped by hash slot, groups in order of first appearance, indexes ascending. */
export function groupBySlot(keys: readonly string[]): number[][] {
  const bySlot = new Map<number, number[]>();
  keys.forEach((key, i) => {
    const slot = calculateSlot(key);
    const g = bySlot.get(slot);
    if (g) g.push(i);
    else bySlot.set(slot, [i]);
  });
  return [...bySlot.values()];
}

/** The pool refused (`ERR_CROSS_SLOT`) or the server did (`CROSSSLOT` reply): the script did not run. */
function crossSlot(err: unknown): boolean {
  if (!isRedpoolError(err)) return false;
  return err.code === 'ERR_CROSS_SLOT' || (err.code === 'ERR_REPLY' && (err as { prefix?: string }).prefix === 'CROSSSLOT');
}

interface Pending {
  items: readonly Delivery[];
  resolve(stored: boolean[]): void;
  reject(err: unknown): void;
}

/** What the server reported besides the per-key results. */
export type ReplyListener = (expired: number, serverNow: number) => void;

/** The per-turn delivery queue of one layer. */
export class Deliveries {
  readonly #target: ScriptTarget;
  readonly #expiryMs: number;
  readonly #onReply: ReplyListener;
  #queue: Pending[] = [];
  #scheduled = false;
  /** Split by slot: set once the pool refused a cross-slot script (it routes by slot). */
  bySlot = false;
  /** Script calls made (for tests and the benchmark's explanation). */
  calls = 0;

  constructor(target: ScriptTarget, expiryMs: number, onReply: ReplyListener) {
    this.#target = target;
    this.#expiryMs = expiryMs;
    this.#onReply = onReply;
  }

  /** Queues `items`; resolves with stored (true) or full (false) per item, in order. */
  submit(items: readonly Delivery[]): Promise<boolean[]> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ items, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // After this turn's I/O callbacks and their continuations: they join the same script.
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    // Cut into calls of at most MAX_BATCH deliveries; one submit never spans two calls unless
    // it is larger than that alone.
    let batch: Pending[] = [];
    let size = 0;
    for (const p of queue) {
      if (size > 0 && size + p.items.length > MAX_BATCH) {
        void this.#run(batch);
        batch = [];
        size = 0;
      }
      batch.push(p);
      size += p.items.length;
    }
    if (batch.length > 0) void this.#run(batch);
  }

  async #run(batch: Pending[]): Promise<void> {
    const items = batch.flatMap((p) => p.items);
    let stored: boolean[];
    try {
      stored = await this.#store(items);
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    let at = 0;
    for (const p of batch) {
      p.resolve(stored.slice(at, at + p.items.length));
      at += p.items.length;
    }
  }

  async #store(items: readonly Delivery[]): Promise<boolean[]> {
    if (!this.bySlot) {
      try {
        return await this.#call(items);
      } catch (err) {
        // Refused before sending: this pool routes by slot. Nothing was stored; split and retry.
        if (!crossSlot(err)) throw err;
        this.bySlot = true;
      }
    }
    const groups = groupBySlot(items.map((d) => d.key));
    if (groups.length === 1) return this.#call(items);
    const out = new Array<boolean>(items.length);
    await Promise.all(
      groups.map(async (idx) => {
        const got = await this.#call(idx.map((i) => items[i]!));
        idx.forEach((i, j) => (out[i] = got[j]!));
      }),
    );
    return out;
  }

  async #call(items: readonly Delivery[]): Promise<boolean[]> {
    const payloads = new Map<Buffer, number>();
    let ids = '';
    const caps: number[] = [];
    const which: number[] = [];
    for (const d of items) {
      let at = payloads.get(d.payload);
      if (at === undefined) payloads.set(d.payload, (at = payloads.size + 1));
      ids += d.id;
      caps.push(d.capacity);
      which.push(at);
    }
    this.calls++;
    const distinct = [...payloads.keys()];
    const r = (await scripts.deliver.run(
      this.#target,
      items.map((d) => d.key),
      [this.#expiryMs, Buffer.concat(distinct), distinct.map((p) => p.length).join(','), ids, caps.join(','), which.join(',')],
    )) as [number, number, number[]];
    this.#onReply(r[0], r[1]);
    return r[2].map((v) => v === 1);
  }
}
