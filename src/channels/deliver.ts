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

/**
 * A group send on a cached member plan: its deliveries are stored only if, in the same script,
 * the group still has exactly these live members (no lookup round trip before the delivery).
 */
export interface Guard {
  /** The group's key. */
  readonly key: string;
  /** The planned live members, '\n'-separated (any order: compared as a set). */
  readonly members: string;
}

/** One message for one list. */
export interface Delivery {
  readonly key: string;
  readonly id: string;
  readonly capacity: number;
  /** The envelope; deliveries that share one Buffer send it once. */
  readonly payload: Buffer;
  /** Only with this guard holding (one endpoint; see {@link Deliveries.submit}). */
  readonly guard?: Guard;
}

/**
 * A guarded delivery not stored because its guard did not hold: the group's members as the
 * script found them (lapsed ones dropped there), or `checked: false` when the pool routes by slot
 * (a guard cannot share a script with lists in other slots; nothing was sent).
 */
export interface Stale {
  readonly checked: boolean;
  readonly lapsed: string[];
  readonly live: string[];
}

/** Per delivery: stored (true), full (false), or not tried because its guard did not hold. */
export type Stored = boolean | Stale;

const UNCHECKED: Stale = Object.freeze({ checked: false, lapsed: [], live: [] });

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
  resolve(stored: Stored[]): void;
  reject(err: unknown): void;
}

/** What the server reported besides the per-key results. */
export type ReplyListener = (expired: number, serverNow: number) => void;

/** The per-turn delivery queue of one layer. */
export class Deliveries {
  readonly #target: ScriptTarget;
  readonly #expiryMs: number;
  readonly #onReply: ReplyListener;
  readonly #groupExpiryMs: number;
  #queue: Pending[] = [];
  #scheduled = false;
  /** Split by slot: set once the pool refused a cross-slot script (it routes by slot). */
  bySlot = false;
  /** Script calls made (for tests and the benchmark's explanation). */
  calls = 0;

  constructor(target: ScriptTarget, expiryMs: number, onReply: ReplyListener, groupExpiryMs = 86_400_000) {
    this.#target = target;
    this.#expiryMs = expiryMs;
    this.#onReply = onReply;
    this.#groupExpiryMs = groupExpiryMs;
  }

  /**
   * Queues `items`; resolves with stored (true) or full (false) per item, in order, or a
   * {@link Stale} for a guarded item whose guard did not hold. Items of one call of at most
   * {@link MAX_BATCH} go in one script, so one guard decides for all of them.
   */
  submit(items: readonly Delivery[]): Promise<Stored[]> {
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
    let stored: Stored[];
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

  async #store(all: readonly Delivery[]): Promise<Stored[]> {
    if (!this.bySlot) {
      try {
        return await this.#call(all);
      } catch (err) {
        // Refused before sending: this pool routes by slot. Nothing was stored; split and retry.
        if (!crossSlot(err)) throw err;
        this.bySlot = true;
      }
    }
    // Guarded items are not sent on a pool that routes by slot: their senders look up the members.
    const out = new Array<Stored>(all.length);
    const sendable: number[] = [];
    all.forEach((d, i) => (d.guard ? (out[i] = UNCHECKED) : sendable.push(i)));
    const items = sendable.map((i) => all[i]!);
    const groups = groupBySlot(items.map((d) => d.key));
    await Promise.all(
      groups.map(async (idx) => {
        const got = await this.#call(idx.map((i) => items[i]!));
        idx.forEach((i, j) => (out[sendable[i]!] = got[j]!));
      }),
    );
    return out;
  }

  async #call(items: readonly Delivery[]): Promise<Stored[]> {
    const payloads = new Map<Buffer, number>();
    // One check per group and members in the call, however many sends carry it.
    const guards = new Map<string, { at: number; guard: Guard }>();
    let ids = '';
    const caps: number[] = [];
    const which: number[] = [];
    const guardOf: number[] = [];
    for (const d of items) {
      let at = payloads.get(d.payload);
      if (at === undefined) payloads.set(d.payload, (at = payloads.size + 1));
      ids += d.id;
      caps.push(d.capacity);
      which.push(at);
      if (d.guard) {
        const id = `${d.guard.key}\n${d.guard.members}`;
        let g = guards.get(id);
        if (!g) guards.set(id, (g = { at: guards.size + 1, guard: d.guard }));
        guardOf.push(g.at);
      } else guardOf.push(0);
    }
    this.calls++;
    const distinct = [...payloads.keys()];
    const keys = items.map((d) => d.key);
    const args: Array<string | number | Buffer> = [
      this.#expiryMs,
      Buffer.concat(distinct),
      distinct.map((p) => p.length).join(','),
      ids,
      caps.join(','),
      which.join(','),
    ];
    if (guards.size > 0) {
      for (const { guard } of guards.values()) keys.push(guard.key);
      args.push(guards.size, this.#groupExpiryMs, guardOf.join(','), ...[...guards.values()].map((g) => g.guard.members));
    }
    const r = (await scripts.deliver.run(this.#target, keys, args)) as [number, number, number[], Array<0 | [Buffer[], Buffer[]]>];
    this.#onReply(r[0], r[1]);
    const stale = (r[3] ?? []).map((g): Stale | undefined =>
      g === 0 ? undefined : { checked: true, lapsed: g[0].map(String), live: g[1].map(String) },
    );
    return r[2].map((v, i) => (v === 2 ? (stale[guardOf[i]! - 1] ?? UNCHECKED) : v === 1));
  }
}
