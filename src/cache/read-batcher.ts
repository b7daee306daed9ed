/**
 * Same-tick coalescing of reads: every `get` issued in one synchronous run (same deadline)
 * joins one MGET sent from a microtask; two `get`s of the same key share one slot. One key
 * alone is a plain GET.
 */

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
    const keys = [...round.keys.keys()];
    this.#read(keys, round.timeoutMs).then(
      (values) => {
        keys.forEach((k, i) => {
          for (const s of round.keys.get(k)!) s.resolve(values[i] ?? null);
        });
      },
      (err: unknown) => {
        for (const slots of round.keys.values()) for (const s of slots) s.reject(err);
      },
    );
  }
}
