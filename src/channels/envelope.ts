/**
 * The message envelope: what is stored after the element header.
 *
 *   plain:     0x01 | body
 *   encrypted: 0x02 | key id (4) | IV (12) | AES-256-GCM(body) | tag (16)
 *   body:      target count (2, BE) | per target: length (2, BE) + UTF-8 name | serialized message
 *
 * Targets name the process-local channels a message is for (several when one group send reaches
 * several channels of one process); ordinary channels have none. Keys come from HKDF-SHA256 over
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
  targets: string[];
  body: Buffer;
}

/** Seals and opens envelopes for one layer. */
export class Envelope {
  readonly #keys: Key[];
  readonly #byId = new Map<string, Key>();
  readonly #serializer: Serializer;

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
   * receivers). With the JSON serializer the bytes become text once, not once per target.
   */
  decoder(body: Buffer): (channel: string) => unknown {
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
