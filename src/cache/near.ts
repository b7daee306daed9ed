/**
 * The near cache: an in-process tier in front of Redis, kept coherent by server-assisted
 * invalidation (CLIENT TRACKING … BCAST PREFIX). It serves only while its invalidation
 * connection is up; when that connection drops (or was declared dead by its liveness PING) it
 * empties itself and goes to Redis until the connection is back — so it never serves a value
 * another process replaced. It never reconnects anything itself: the connection's owner (the
 * pool's subscriber, with its backoff) does, and the near cache only reacts to its events.
 *
 * A read that started before an invalidation may return the old value after it: such a value is
 * not kept (the `epoch` taken before the read must still be current when it is stored).
 *
 * Absence is kept too: with BCAST tracking the server reports a write of *any* key under the
 * prefix, so a "not there" answer is invalidated exactly like a value.
 *
 * Entries are keyed by the cache key (without the prefix), so a hit builds no string. Eviction
 * is CLOCK (second chance): a hit sets a flag instead of reordering the map.
 */
import type { Meta } from './codec.js';

/** What the near cache hears from its invalidation connection. */
export interface InvalidationListener {
  /** Redis keys another client changed; `null`: every key (FLUSHDB/FLUSHALL). */
  keys(keys: string[] | null): void;
  /** The connection is (again) up with tracking applied: invalidations flow from now on. */
  up(): void;
  /** The connection is gone (closed, killed, or its liveness PING went unanswered). */
  down(err: Error | undefined): void;
}

/** The invalidation connection, as the near cache needs it (see invalidation.ts). */
export interface InvalidationSource {
  /** Registers the listener (called once, before {@link open}). */
  listen(l: InvalidationListener): void;
  /**
   * Brings the connection up the first time; resolves once it is up. Rejects with the attempt's
   * error (a `ConfigError` is final: this connection can never carry invalidations). Retrying
   * after a failure or a loss is the source's business, never the near cache's.
   */
  open(): Promise<void>;
  /** Resolves true at the next 'up', false at the next failed attempt or when it closes. */
  next(): Promise<boolean>;
}

/** A near-cache entry: a value (`present`) or a tracked absence. */
export interface NearEntry {
  readonly present: boolean;
  readonly value: unknown;
  readonly meta: Meta;
  /** `Promise.resolve(value)`, made on the first hit and handed to every later one. */
  promise: Promise<unknown> | undefined;
  readonly bytes: number;
  readonly expiresAt: number;
  /** CLOCK reference bit: set by a hit, cleared when eviction passes it over. */
  ref: boolean;
}

const NO_META: Meta = Object.freeze({});
/** Bytes charged for a tracked absence (its key and the entry). */
const ABSENT_BYTES = 64;

/** The in-process tier of one cache (internal; see the module comment for its coherence rules). */
export class NearCache {
  readonly #o: { maxEntries: number; maxBytes: number; ttlMs: number };
  readonly #source: InvalidationSource;
  readonly #onFlush: () => void;
  /** Length of `prefix:` in the Redis keys invalidations name (0 without a prefix). */
  readonly #strip: number;
  readonly #prefix: string;
  readonly #map = new Map<string, NearEntry>();
  #bytes = 0;
  #epoch = 0;
  #serving = false;
  #opened = false;
  #closed = false;
  #refused: Error | undefined;

  constructor(o: { maxEntries: number; maxBytes: number; ttlMs: number }, source: InvalidationSource, onFlush: () => void, prefix = '') {
    this.#o = o;
    this.#source = source;
    this.#onFlush = onFlush;
    this.#prefix = prefix ? `${prefix}:` : '';
    this.#strip = this.#prefix.length;
  }

  get size(): number {
    return this.#map.size;
  }

  /** True while invalidations are being received (the near cache serves). */
  get serving(): boolean {
    return this.#serving;
  }

  /** The final reason the near cache cannot run (e.g. a RESP2 connection), if any. */
  get refused(): Error | undefined {
    return this.#refused;
  }

  /**
   * Opens the invalidation connection on first use; later, waits for the connection's next
   * outcome (it reconnects by itself). Resolves true when serving. Rejects only with a final
   * refusal ({@link refused}).
   */
  start(): Promise<boolean> {
    if (this.#refused) return Promise.reject(this.#refused);
    if (this.#closed) return Promise.resolve(false);
    if (this.#serving) return Promise.resolve(true);
    if (this.#opened) return this.#source.next().then((up) => up && this.#serving);
    this.#opened = true;
    this.#source.listen({
      keys: (keys) => this.#invalidate(keys),
      up: () => this.#up(),
      down: () => this.#down(),
    });
    return this.#source.open().then(
      () => this.#serving,
      (err: unknown) => {
        const code = (err as { code?: string }).code;
        // A closed pool never comes back; a connection that cannot track never will.
        if (code === 'ERR_POOL_CLOSED') this.#closed = true;
        if (code === 'ERR_INVALID_OPTION') {
          this.#refused = err as Error;
          throw err;
        }
        return false;
      },
    );
  }

  #up(): void {
    if (this.#closed) return;
    // Reads that started while the connection was away may carry values whose invalidation was never sent.
    this.flush();
    this.#serving = true;
  }

  #down(): void {
    if (this.#closed) return;
    // Invalidations may be missed from here on: stop serving and empty before serving again.
    this.#serving = false;
    this.flush();
    this.#onFlush();
  }

  #invalidate(keys: string[] | null): void {
    this.#epoch++;
    if (keys === null) {
      this.flush();
      return;
    }
    const strip = this.#strip;
    for (const k of keys) {
      if (strip === 0) this.delete(k);
      else if (k.startsWith(this.#prefix)) this.delete(k.slice(strip));
    }
  }

  /** The current invalidation epoch; pass it to put() for a read started now. */
  epoch(): number {
    return this.#epoch;
  }

  /** The live entry of `key` (a cache key, no prefix), or undefined. The hot path: no allocation. */
  lookup(key: string): NearEntry | undefined {
    if (!this.#serving) {
      if (!this.#opened) this.start().catch(() => undefined);
      return undefined;
    }
    const e = this.#map.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= Date.now()) {
      this.delete(key);
      return undefined;
    }
    e.ref = true;
    return e;
  }

  /** Keeps `value` (or, `present` false, the absence) of a read that started at `epoch`. */
  put(key: string, present: boolean, value: unknown, meta: Meta | undefined, bytes: number, epoch: number): void {
    if (!present) bytes = ABSENT_BYTES + key.length;
    if (!this.#serving || epoch !== this.#epoch || bytes > this.#o.maxBytes) return;
    this.delete(key);
    const m = meta ?? NO_META;
    const expiresAt = Math.min(Date.now() + this.#o.ttlMs, m.expiresAt ?? Infinity);
    this.#map.set(key, { present, value, meta: m, promise: undefined, bytes, expiresAt, ref: false });
    this.#bytes += bytes;
    if (this.#map.size > this.#o.maxEntries || this.#bytes > this.#o.maxBytes) this.#evict(key);
  }

  /** CLOCK: from the oldest end, a referenced entry gets a second chance (moved young, bit cleared), an unreferenced one goes. */
  #evict(young: string): void {
    let passes = this.#map.size * 2;
    while ((this.#map.size > this.#o.maxEntries || this.#bytes > this.#o.maxBytes) && passes-- > 0) {
      const oldest = this.#map.entries().next();
      if (oldest.done) break;
      const [k, e] = oldest.value;
      this.#map.delete(k);
      // The entry just stored is passed over too (it would otherwise go first when every other was hit).
      if (e.ref || k === young) {
        e.ref = false;
        this.#map.set(k, e);
      } else this.#bytes -= e.bytes;
    }
  }

  /** A local write of `key`: evicts it and voids reads in flight (their reply may predate the write). */
  forget(key: string): void {
    this.#epoch++;
    this.delete(key);
  }

  delete(key: string): void {
    const e = this.#map.get(key);
    if (!e) return;
    this.#map.delete(key);
    this.#bytes -= e.bytes;
  }

  flush(): void {
    this.#epoch++;
    this.#map.clear();
    this.#bytes = 0;
  }

  /** Stops serving (the owner closes the source's connection). */
  close(): void {
    this.#closed = true;
    this.#serving = false;
    this.#map.clear();
    this.#bytes = 0;
  }
}
