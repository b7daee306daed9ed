/**
 * Same-tick coalescing of reads: every `get` issued in one synchronous run (same deadline)
 * joins one MGET sent from a microtask; two `get`s of the same key share one slot. One key
 * alone is a plain GET.
 *
 * A round is split so that one reply carries about {@link REPLY_TARGET_BYTES} (by the running
 * average of the values read): fifty 64 KiB values in one MGET reply would make the server build
 * and the client parse 3 MB in one piece, while several smaller replies overlap (server, socket
 * and decoding work in parallel, and callers whose reply came are served first). Small values
 * keep the whole round in one MGET.
 */

/** Bytes one read of a round aims at. */
const REPLY_TARGET_BYTES = 64 * 1024;

/** Sends the reads of one flush. */
export type ReadFn = (keys: string[], timeoutMs: number) => Promise<(Buffer | null)[]>;

interface Slot {
  resolve(v: Buffer | null): void;
  reject(e: unknown): void;
}

interface Round {
  readonly timeoutMs: number;
  readonly keys: Map<string, Slot[]>;
}

/** Collects same-tick reads per deadline and sends each round as one GET/MGET. */
export class ReadBatcher {
  readonly #read: ReadFn;
  readonly #onCoalesced: () => void;
  /** Rounds being collected in this tick, by deadline. */
  readonly #open = new Map<number, Round>();
  /** Running average size of the values read, in bytes. */
  #avgBytes = 0;

  constructor(read: ReadFn, onCoalesced: () => void) {
    this.#read = read;
    this.#onCoalesced = onCoalesced;
  }

  get(key: string, timeoutMs: number): Promise<Buffer | null> {
    let round = this.#open.get(timeoutMs);
    if (!round) {
      const r: Round = { timeoutMs, keys: new Map() };
      round = r;
      this.#open.set(timeoutMs, r);
      queueMicrotask(() => this.#flush(r));
    }
    return new Promise((resolve, reject) => {
      const slots = round.keys.get(key);
      if (slots) {
        this.#onCoalesced();
        slots.push({ resolve, reject });
      } else round.keys.set(key, [{ resolve, reject }]);
    });
  }

  #flush(round: Round): void {
    this.#open.delete(round.timeoutMs);
    const all = [...round.keys.keys()];
    const per = this.#avgBytes > 0 ? Math.max(1, Math.floor(REPLY_TARGET_BYTES / this.#avgBytes)) : all.length;
    for (let start = 0; start < all.length; start += per) {
      const keys = per >= all.length ? all : all.slice(start, start + per);
      this.#read(keys, round.timeoutMs).then(
        (values) => {
          let bytes = 0;
          let n = 0;
          keys.forEach((k, i) => {
            const v = values[i] ?? null;
            if (v !== null) {
              bytes += v.length;
              n++;
            }
            for (const s of round.keys.get(k)!) s.resolve(v);
          });
          if (n > 0) this.#avgBytes = this.#avgBytes === 0 ? bytes / n : this.#avgBytes * 0.9 + (bytes / n) * 0.1;
        },
        (err: unknown) => {
          for (const k of keys) for (const s of round.keys.get(k)!) s.reject(err);
        },
      );
    }
  }
}
