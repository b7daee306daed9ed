/**
 * The message envelope: what is stored after the element header.
 *
 *   plain:     0x01 | body
 *   encrypted: 0x02 | key id (4) | IV (12) | AES-256-GCM(body) | tag (16)
 *   body:      targets | serialized message
 *   targets:   count (2, BE) | per target: length (2, BE) + UTF-8 name
 *          or  0x8000 | count (2, BE) | prefix length (1) + UTF-8 prefix | per target: suffix
 *   suffix:    length (1) + UTF-8 text, or 0x80 | n (1) + n bytes written as lowercase hex
 *
 * Targets name the process-local channels a message is for (several when one group send reaches
 * several channels of one process); ordinary channels have none. Process-local names share
 * their process's prefix (`specific.<process>!`), so the compact form (high bit of the count)
 * writes it once and each name's part after `!` — as raw bytes when it is hex, as
 * `newChannel()` makes it: 9 bytes per member of a group send instead of ~40. Keys come from HKDF-SHA256 over
 * each secret; the key id (also HKDF-derived, so it reveals nothing about the key) says which key
 * opens a message, so rotation needs no trial decryption. The header is authenticated (AAD).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { ChannelMessageError } from '../errors.js';
import { jsonSerializer, type Serializer } from './options.js';

const PLAIN = 0x01;
const SEALED = 0x02;
const SALT = Buffer.from('redpool/channels/v1');
const IV_LEN = 12;
const TAG_LEN = 16;
const HEAD_LEN = 1 + 4 + IV_LEN;
const NO_TARGETS = Buffer.alloc(2);

/** High bit of the target count: the compact form (one prefix, then suffixes). */
const COMPACT = 0x8000;
/** High bit of a suffix length: the suffix is that many bytes, written as lowercase hex. */
const HEX = 0x80;
const HEX_TEXT = /^(?:[0-9a-f]{2}){1,127}$/;

/** The compact target header, when every target is process-local with one prefix (else undefined). */
function compactHeader(targets: readonly string[]): Buffer | undefined {
  if (targets.length === 0 || targets.length >= COMPACT) return undefined;
  const first = targets[0]!;
  const bang = first.indexOf('!');
  if (bang < 0) return undefined;
  const prefix = first.slice(0, bang + 1);
  const parts: Buffer[] = [];
  for (const t of targets) {
    if (!t.startsWith(prefix)) return undefined;
    const suffix = t.slice(prefix.length);
    if (HEX_TEXT.test(suffix)) parts.push(Buffer.from([HEX | (suffix.length / 2)]), Buffer.from(suffix, 'hex'));
    else {
      const bytes = Buffer.from(suffix, 'utf8');
      if (bytes.length >= HEX) return undefined;
      parts.push(Buffer.from([bytes.length]), bytes);
    }
  }
  const p = Buffer.from(prefix, 'utf8');
  if (p.length > 255) return undefined;
  const head = Buffer.alloc(3);
  head.writeUInt16BE(COMPACT | targets.length);
  head[2] = p.length;
  return Buffer.concat([head, p, ...parts]);
}

/** The last compact header opened and its names: a group's messages repeat one header. */
interface HeaderCache {
  bytes: Buffer;
  targets: readonly string[];
}

function openCompact(channel: string, body: Buffer, n: number, cache: HeaderCache): Opened {
  const malformed = (): ChannelMessageError => new ChannelMessageError(channel, 'malformed');
  if (body.length < 3) throw malformed();
  const start = 3 + body[2]!;
  let at = start;
  for (let i = 0; i < n; i++) {
    if (at >= body.length) throw malformed();
    at += 1 + (body[at]! & ~HEX);
  }
  if (at > body.length) throw malformed();
  const bytes = body.subarray(0, at);
  // Same names as the previous message (one group's sends): the same strings, not 100 new ones.
  if (bytes.equals(cache.bytes)) return { targets: cache.targets, body: body.subarray(at) };
  const prefix = body.toString('utf8', 3, start);
  const targets: string[] = [];
  for (let i = 0, p = start; i < n; i++) {
    const l = body[p]!;
    const len = l & ~HEX;
    targets.push(prefix + body.toString(l & HEX ? 'hex' : 'utf8', p + 1, p + 1 + len));
    p += 1 + len;
  }
  cache.bytes = Buffer.from(bytes);
  cache.targets = Object.freeze(targets);
  return { targets: cache.targets, body: body.subarray(at) };
}

interface Key {
  id: Buffer;
  key: Buffer;
}

function derive(secret: Buffer): Key {
  return {
    key: Buffer.from(hkdfSync('sha256', secret, SALT, 'aes-256-gcm key', 32)),
    id: Buffer.from(hkdfSync('sha256', secret, SALT, 'key id', 4)),
  };
}

/** An opened message: its targets (process-local channels) and the decoded value. */
export interface Opened {
  /** Shared between messages with the same targets: never modified. */
  targets: readonly string[];
  body: Buffer;
}

/** Seals and opens envelopes for one layer. */
export class Envelope {
  readonly #keys: Key[];
  readonly #byId = new Map<string, Key>();
  readonly #serializer: Serializer;
  readonly #headers: HeaderCache = { bytes: Buffer.alloc(0), targets: [] };

  constructor(secrets: readonly Buffer[], serializer: Serializer) {
    this.#keys = secrets.map(derive);
    for (const k of this.#keys) if (!this.#byId.has(k.id.toString('hex'))) this.#byId.set(k.id.toString('hex'), k);
    this.#serializer = serializer;
  }

  get encrypted(): boolean {
    return this.#keys.length > 0;
  }

  /** Serializes `message` (once; the result can be shared by many targets). */
  serialize(message: unknown): Buffer {
    const out = this.#serializer.encode(message);
    return typeof out === 'string' ? Buffer.from(out, 'utf8') : Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  }

  /** The target part of a body (count, then each name); precomputed for a group's members. */
  header(targets: readonly string[]): Buffer {
    const compact = compactHeader(targets);
    if (compact) return compact;
    const count = Buffer.alloc(2);
    count.writeUInt16BE(targets.length);
    const parts: Buffer[] = [count];
    for (const t of targets) {
      const name = Buffer.from(t, 'utf8');
      const len = Buffer.alloc(2);
      len.writeUInt16BE(name.length);
      parts.push(len, name);
    }
    return Buffer.concat(parts);
  }

  /** Builds the stored envelope of a serialized message for `targets` (names or a {@link header}). */
  seal(serialized: Buffer, targets: readonly string[] | Buffer = NO_TARGETS): Buffer {
    const body = Buffer.concat([Buffer.isBuffer(targets) ? targets : this.header(targets), serialized]);
    const key = this.#keys[0];
    if (!key) return Buffer.concat([Buffer.from([PLAIN]), body]);
    const head = Buffer.concat([Buffer.from([SEALED]), key.id, randomBytes(IV_LEN)]);
    const cipher = createCipheriv('aes-256-gcm', key.key, head.subarray(5), { authTagLength: TAG_LEN });
    cipher.setAAD(head);
    return Buffer.concat([head, cipher.update(body), cipher.final(), cipher.getAuthTag()]);
  }

  /** Opens an envelope read from `channel`; throws {@link ChannelMessageError}. */
  open(channel: string, env: Buffer): Opened {
    let body: Buffer;
    if (env[0] === SEALED) {
      if (env.length < HEAD_LEN + TAG_LEN) throw new ChannelMessageError(channel, 'malformed');
      const key = this.#byId.get(env.toString('hex', 1, 5));
      if (!key) throw new ChannelMessageError(channel, 'unknown-key');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key.key, env.subarray(5, HEAD_LEN), { authTagLength: TAG_LEN });
        decipher.setAAD(env.subarray(0, HEAD_LEN));
        decipher.setAuthTag(env.subarray(env.length - TAG_LEN));
        body = Buffer.concat([decipher.update(env.subarray(HEAD_LEN, env.length - TAG_LEN)), decipher.final()]);
      } catch (err) {
        throw new ChannelMessageError(channel, 'tampered', { cause: err });
      }
    } else if (env[0] === PLAIN) {
      // A layer with keys refuses plain text: otherwise anyone who can write to Redis could inject.
      if (this.encrypted) throw new ChannelMessageError(channel, 'unencrypted');
      body = env.subarray(1);
    } else {
      throw new ChannelMessageError(channel, 'malformed');
    }
    if (body.length < 2) throw new ChannelMessageError(channel, 'malformed');
    const n = body.readUInt16BE(0);
    if (n & COMPACT) return openCompact(channel, body, n & ~COMPACT, this.#headers);
    const targets: string[] = [];
    let at = 2;
    for (let i = 0; i < n; i++) {
      if (at + 2 > body.length) throw new ChannelMessageError(channel, 'malformed');
      const len = body.readUInt16BE(at);
      if (at + 2 + len > body.length) throw new ChannelMessageError(channel, 'malformed');
      targets.push(body.toString('utf8', at + 2, at + 2 + len));
      at += 2 + len;
    }
    return { targets, body: body.subarray(at) };
  }

  /**
   * Decodes one body for several targets: each gets its own value (no object is shared between
   * receivers) unless `shared` (the `sharedValues` option): then the first target's value is
   * every target's. With the JSON serializer the bytes become text once, not once per target.
   */
  decoder(body: Buffer, shared = false): (channel: string) => unknown {
    if (shared) {
      let got: { v: unknown } | undefined;
      // A failed decode is not cached: every target reports its own (as without sharing).
      return (channel) => (got ??= { v: this.decode(channel, body) }).v;
    }
    if (this.#serializer !== jsonSerializer) return (channel) => this.decode(channel, body);
    let text: string | undefined;
    return (channel) => {
      try {
        return JSON.parse((text ??= body.toString('utf8'))) as unknown;
      } catch (err) {
        throw new ChannelMessageError(channel, 'malformed', { cause: err });
      }
    };
  }

  /** Decodes a serialized message; a throwing serializer is a malformed message. */
  decode(channel: string, body: Buffer): unknown {
    try {
      return this.#serializer.decode(body);
    } catch (err) {
      throw new ChannelMessageError(channel, 'malformed', { cause: err });
    }
  }
}
