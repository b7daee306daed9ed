/**
 * A small incremental RESP2/RESP3 frame reader for the invalidation connection's socket: it
 * splits the byte stream into complete frames and hands each to `onFrame`. Bulk strings come
 * out as Buffers, simple strings/numbers as strings, nulls as null, aggregates as arrays (maps
 * flattened). Throws on bytes that are not RESP (the caller then treats the stream as lost).
 */

/** A decoded frame. */
export type RespValue = string | Buffer | null | RespValue[];

const CRLF = 0x0d;
const INCOMPLETE = Symbol('incomplete');
type Parsed = { value: RespValue; end: number } | typeof INCOMPLETE;

function line(buf: Buffer, at: number): { text: string; end: number } | typeof INCOMPLETE {
  const i = buf.indexOf(CRLF, at);
  if (i < 0 || i + 1 >= buf.length) return INCOMPLETE;
  return { text: buf.toString('latin1', at, i), end: i + 2 };
}

function parse(buf: Buffer, at: number, depth: number): Parsed {
  if (at >= buf.length) return INCOMPLETE;
  if (depth > 16) throw new Error('RESP nesting too deep');
  const type = String.fromCharCode(buf[at]!);
  const l = line(buf, at + 1);
  if (l === INCOMPLETE) return INCOMPLETE;
  switch (type) {
    case '+': case '-': case ':': case ',': case '#': case '(':
      return { value: l.text, end: l.end };
    case '_':
      return { value: null, end: l.end };
    case '$': case '=': case '!': {
      const n = Number(l.text);
      if (n === -1) return { value: null, end: l.end };
      if (!Number.isInteger(n) || n < 0) throw new Error(`bad RESP length ${JSON.stringify(l.text)}`);
      if (l.end + n + 2 > buf.length) return INCOMPLETE;
      return { value: buf.subarray(l.end, l.end + n), end: l.end + n + 2 };
    }
    case '*': case '>': case '~': case '%': case '|': {
      let n = Number(l.text);
      if (n === -1) return { value: null, end: l.end };
      if (!Number.isInteger(n) || n < 0) throw new Error(`bad RESP count ${JSON.stringify(l.text)}`);
      if (type === '%' || type === '|') n *= 2;
      const out: RespValue[] = [];
      let end = l.end;
      for (let i = 0; i < n; i++) {
        const p = parse(buf, end, depth + 1);
        if (p === INCOMPLETE) return INCOMPLETE;
        out.push(p.value);
        end = p.end;
      }
      // An attribute (|) precedes the frame it annotates: skip it.
      if (type === '|') return parse(buf, end, depth);
      return { value: out, end };
    }
    default:
      throw new Error(`not RESP: type byte 0x${buf[at]!.toString(16)}`);
  }
}

/** Splits a RESP byte stream into frames; `push` every chunk, `onFrame` gets each complete frame. */
export class RespFrames {
  readonly #onFrame: (v: RespValue) => void;
  #buf: Buffer = Buffer.alloc(0);

  constructor(onFrame: (v: RespValue) => void) {
    this.#onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let at = 0;
    for (;;) {
      const p = parse(this.#buf, at, 0);
      if (p === INCOMPLETE) break;
      at = p.end;
      this.#onFrame(p.value);
    }
    this.#buf = at >= this.#buf.length ? Buffer.alloc(0) : Buffer.from(this.#buf.subarray(at));
    if (this.#buf.length > 64 * 2 ** 20) throw new Error('RESP frame larger than 64 MiB');
  }
}
