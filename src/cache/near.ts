/**
 * The near cache: an in-process LRU tier in front of Redis, kept coherent by server-assisted
 * invalidation (CLIENT TRACKING … BCAST PREFIX). It serves only while its invalidation
 * connection is up; when that connection drops (or could not start) it empties itself and goes
 * to Redis until the connection is back — so it never serves a value another process replaced.
 *
 * A read that started before an invalidation may return the old value after it: such a value is
 * not kept (the `epoch` taken before the read must still be current when it is stored).
 */
import type { Decoded } from './codec.js';

/** The invalidation connection, as the near cache needs it (see invalidation.ts). */
export interface InvalidationSource {
  /**
   * Resolves once invalidations of the cache's keys are being received; calls `onKeys` per
   * invalidation (`null`: everything, e.g. FLUSHDB or a reconnect) and `onLost` whenever the
   * connection ends. Called again after a loss (listeners registered by an earlier call stay).
   * Rejects when it cannot start. Closing it is its owner's business (the cache's subscriber).
   */
  open(onKeys: (keys: string[] | null) => void, onLost: (err: Error | undefined) => void): Promise<void>;
}

interface Entry {
  readonly hit: Decoded;
  readonly bytes: number;
  readonly expiresAt: number;
}

/** Retry delays after the invalidation connection is lost, in ms. */
const RETRY_MS = [50, 100, 250, 500, 1000, 2000, 5000];

/** The in-process tier of one cache (internal; see the module comment for its coherence rules). */
export class NearCache {
  readonly #o: { maxEntries: number; maxBytes: number; ttlMs: number };
  readonly #source: InvalidationSource;
  readonly #onFlush: () => void;
  readonly #map = new Map<string, Entry>();
  #bytes = 0;
  #epoch = 0;
  #serving = false;
  #starting: Promise<boolean> | undefined;
  #closed = false;
  #retry = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: { maxEntries: number; maxBytes: number; ttlMs: number }, source: InvalidationSource, onFlush: () => void) {
    this.#o = o;
    this.#source = source;
    this.#onFlush = onFlush;
  }

  get size(): number {
    return this.#map.size;
  }

  /** True while invalidations are being received (the near cache serves). */
  get serving(): boolean {
    return this.#serving;
  }

  /** Starts (once) the invalidation connection. Resolves true when serving. Never rejects. */
  start(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#serving) return Promise.resolve(true);
    this.#starting ??= this.#source
      .open(
        (keys) => this.#invalidate(keys),
        (err) => this.#lost(err),
      )
      .then(
        () => {
          this.#starting = undefined;
          if (this.#closed) return false;
          this.#retry = 0;
          this.#serving = true;
          return true;
        },
        (err: unknown) => {
          this.#starting = undefined;
          // A closed pool never comes back, nor does a driver that cannot track: stop trying (the near cache just stays off).
          const code = (err as { code?: string }).code;
          if (code === 'ERR_POOL_CLOSED' || code === 'ERR_INVALID_OPTION') this.#closed = true;
          else this.#schedule();
          return false;
        },
      );
    return this.#starting;
  }

  #schedule(): void {
    if (this.#closed || this.#timer) return;
    const ms = RETRY_MS[Math.min(this.#retry++, RETRY_MS.length - 1)]!;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.start();
    }, ms);
    this.#timer.unref();
  }

  #lost(_err: Error | undefined): void {
    if (this.#closed) return;
    // Invalidations may have been missed from here on: stop serving and empty before serving again.
    this.#serving = false;
    this.flush();
    this.#onFlush();
    this.#schedule();
  }

  #invalidate(keys: string[] | null): void {
    this.#epoch++;
    if (keys === null) {
      this.flush();
      return;
    }
    for (const k of keys) this.delete(k);
  }

  /** The current invalidation epoch; pass it to put() for a read started now. */
  epoch(): number {
    if (!this.#serving) void this.start();
    return this.#epoch;
  }

  get(key: string): Decoded | undefined {
    if (!this.#serving) {
      if (!this.#starting && !this.#timer) void this.start();
      return undefined;
    }
    const e = this.#map.get(key);
    if (!e) return undefined;
    if (Date.now() >= e.expiresAt) {
      this.delete(key);
      return undefined;
    }
    // LRU: re-insert to move it to the young end.
    this.#map.delete(key);
    this.#map.set(key, e);
    return e.hit;
  }

  put(key: string, hit: Decoded, bytes: number, epoch: number): void {
    if (!this.#serving || epoch !== this.#epoch || bytes > this.#o.maxBytes) return;
    this.delete(key);
    const expiresAt = Math.min(Date.now() + this.#o.ttlMs, hit.meta.expiresAt ?? Infinity);
    this.#map.set(key, { hit, bytes, expiresAt });
    this.#bytes += bytes;
    while (this.#map.size > this.#o.maxEntries || this.#bytes > this.#o.maxBytes) {
      const oldest = this.#map.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
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

  /** Stops serving and retrying (the owner closes the source's connection). */
  close(): void {
    this.#closed = true;
    this.#serving = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#map.clear();
  }
}
