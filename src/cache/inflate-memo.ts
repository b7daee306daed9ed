/**
 * Decompressed payloads of recently read values, keyed by cache key and checked against the
 * exact stored bytes: re-reading an unchanged hot value skips the decompression (on Node's zlib
 * each call builds and tears down a stream object, ~6 µs even for a few hundred bytes, more than
 * the JSON parse of a 1 KiB value). Coherence needs no invalidation: a payload is reused only
 * when Redis returned byte-for-byte the compressed form it came from. The payload is parsed anew
 * on every read, so callers never share an object.
 */

interface MemoEntry {
  readonly packed: Buffer;
  readonly payload: Buffer;
}

/** A bounded FIFO of (stored bytes → decompressed payload) per key (internal). */
export class InflateMemo {
  readonly #map = new Map<string, MemoEntry>();
  readonly #maxBytes: number;
  readonly #maxEntryBytes: number;
  #bytes = 0;

  /** `maxBytes`: compressed plus decompressed bytes kept. An entry above 1/8 of it is never kept. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
    this.#maxEntryBytes = Math.floor(maxBytes / 8);
  }

  /** The payload `packed` decompressed to when it was last seen for `key`, or undefined. */
  get(key: string, packed: Buffer): Buffer | undefined {
    const e = this.#map.get(key);
    return e !== undefined && e.packed.length === packed.length && e.packed.equals(packed) ? e.payload : undefined;
  }

  put(key: string, packed: Buffer, payload: Buffer): void {
    const bytes = packed.length + payload.length;
    const old = this.#map.get(key);
    if (old !== undefined) {
      this.#map.delete(key);
      this.#bytes -= old.packed.length + old.payload.length;
    }
    if (bytes > this.#maxEntryBytes) return;
    // A copy: the reply buffer may be a slice of a socket chunk many times its size.
    this.#map.set(key, { packed: Buffer.from(packed), payload });
    this.#bytes += bytes;
    while (this.#bytes > this.#maxBytes) {
      const oldest = this.#map.entries().next();
      if (oldest.done) break;
      this.#map.delete(oldest.value[0]);
      this.#bytes -= oldest.value[1].packed.length + oldest.value[1].payload.length;
    }
  }

  get size(): number {
    return this.#map.size;
  }
}
