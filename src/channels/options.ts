/**
 * Options of the channel layer, validated the way the pool validates its own: every bad value is
 * a {@link ConfigError} (`ERR_INVALID_OPTION`) that names the option, and secrets (encryption
 * keys) never appear in a message.
 */
import { ConfigError } from '../errors.js';

/** Turns messages into bytes and back. The default is JSON (UTF-8). */
export interface Serializer {
  /** Encodes a message. */
  encode(message: unknown): Uint8Array | string;
  /** Decodes what {@link Serializer.encode} produced. Throwing drops the message (reported once). */
  decode(bytes: Buffer): unknown;
}

/** A capacity pattern: a glob (`*`, `?`, `[…]`, matched against the whole name) or a RegExp. */
export type CapacityPattern = string | RegExp;

/** Options of `createChannelLayer(pool, options)`. */
export interface ChannelLayerOptions {
  /**
   * First part of every key (`<prefix>:ch:{…}`, `<prefix>:group:{…}`). Layers sharing a Redis need
   * different prefixes; every process of one layer must use the same. Letters, digits, `._-:`.
   * @default 'channels'
   */
  prefix?: string;
  /** Messages a channel holds before `send` rejects with `ERR_CHANNEL_FULL`. @default 100 */
  capacity?: number;
  /** Message lifetime in ms; older messages are dropped, never delivered. @default 60000 */
  expiryMs?: number;
  /** Group membership lifetime in ms since the last `groupAdd`. @default 86400000 (24 h) */
  groupExpiryMs?: number;
  /**
   * Per-channel capacities, first match wins (matched against the full channel name, `!` part
   * included). An object's keys are globs; a Map or an array of pairs also takes RegExps.
   * @example { 'chat.*': 2000, 'notifications.*': 500 }
   */
  channelCapacity?: Record<string, number> | Map<CapacityPattern, number> | ReadonlyArray<readonly [CapacityPattern, number]>;
  /**
   * Secrets for AES-256-GCM (keys are derived with HKDF-SHA256). The first encrypts, every one
   * decrypts: rotate by putting the new secret first and removing the old after `expiryMs`. Each
   * must be at least 16 bytes. Omit for plain messages.
   */
  encryptionKeys?: ReadonlyArray<string | Uint8Array>;
  /** How messages become bytes. @default JSON */
  serializer?: Serializer;
  /**
   * Most exclusive leases used for blocking reads of ordinary channels at once; one more serves
   * every process-local channel, and one more is the room subscriber (taken the first time a
   * `send` waits for room). Must leave at least one lease for the application:
   * `maxReaders <= max - lanes - 3`.
   * @default min(4, floor((max - lanes) / 2) - 1), at least 1
   */
  maxReaders?: number;
  /** Longest single blocking pop in ms (also how long an idle reader keeps its lease). @default 1000 */
  blockMs?: number;
  /** Most messages a reader moves out of Redis per round trip. @default 256 */
  readBatch?: number;
  /**
   * How long a reader's claim on the messages it moved out of a channel lasts without renewal,
   * in ms (every pull renews it; a waiting reader pulls at least every `blockMs`). When a process
   * dies, the next reader of that channel in any process puts what it held back at the head of
   * the channel once this has passed. Must be at least `2 * blockMs`. @default 10000
   */
  leaseMs?: number;
  /** Called once for every message that was dropped because it could not be opened, and with every error a `consume` handler throws. */
  onError?: (err: Error) => void;
  /**
   * Process-local members of one process that one `groupSend` reaches get the same decoded value
   * (decoded once per process), instead of one value each. Only for receivers that treat messages
   * as read-only (a WebSocket fan-out that serializes them again): a receiver that mutates its
   * value changes what the other members see. Ordinary channels and `send` are not affected.
   * @default false
   */
  sharedValues?: boolean;
}

/** A compiled capacity rule. */
export interface CapacityRule {
  /** The pattern as given (glob text or RegExp source); the `pattern` label of depth metrics. */
  readonly label: string;
  /** Whether the rule applies to a full channel name. */
  readonly test: (name: string) => boolean;
  /** Messages a matching channel holds. */
  readonly capacity: number;
}

/** Options after validation (see {@link ChannelLayerOptions} for each). */
export interface ResolvedChannelOptions {
  /** Key prefix. */
  readonly prefix: string;
  /** Default capacity, in messages. */
  readonly capacity: number;
  /** Message lifetime, ms. */
  readonly expiryMs: number;
  /** Group membership lifetime, ms. */
  readonly groupExpiryMs: number;
  /** `channelCapacity`, compiled, in order. */
  readonly rules: readonly CapacityRule[];
  /** The secrets, as bytes (never printed; `layer.options` leaves them out). */
  readonly encryptionKeys: readonly Buffer[];
  /** Message codec. */
  readonly serializer: Serializer;
  /** Leases for ordinary-channel readers. */
  readonly maxReaders: number;
  /** Longest blocking pop, ms. */
  readonly blockMs: number;
  /** Most messages per read round trip. */
  readonly readBatch: number;
  /** Reader lease, ms. */
  readonly leaseMs: number;
  /** Gets each dropped message's error, once. */
  readonly onError: (err: Error) => void;
  /** One decoded value for all process-local members of one group send. */
  readonly sharedValues: boolean;
}

const KNOWN = new Set([
  'prefix',
  'capacity',
  'expiryMs',
  'groupExpiryMs',
  'channelCapacity',
  'encryptionKeys',
  'serializer',
  'maxReaders',
  'blockMs',
  'readBatch',
  'leaseMs',
  'onError',
  'sharedValues',
]);

/** JSON over UTF-8. */
export const jsonSerializer: Serializer = {
  encode: (message) => JSON.stringify(message),
  decode: (bytes) => JSON.parse(bytes.toString('utf8')) as unknown,
};

function int(name: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new ConfigError(name, `must be an integer, got ${typeof value === 'number' ? value : typeof value}`);
  if (value < min) throw new ConfigError(name, `must be >= ${min}, got ${value}`);
  if (value > max) throw new ConfigError(name, `must be <= ${max}, got ${value}`);
  return value;
}

function bool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ConfigError(name, `must be a boolean, got ${typeof value}`);
  return value;
}

/** fnmatch-style glob → anchored RegExp (`*`, `?`, `[seq]`, `[!seq]`), like Django Channels. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) out += '\\[';
      else {
        let body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        out += `[${body}]`;
        i = end;
      }
    } else out += c.replace(/[.+^${}()|\\/\]]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, 's');
}

function rules(value: ChannelLayerOptions['channelCapacity']): CapacityRule[] {
  if (value === undefined) return [];
  let pairs: Array<readonly [unknown, unknown]>;
  if (value instanceof Map) pairs = [...value.entries()];
  else if (Array.isArray(value)) pairs = value as Array<readonly [unknown, unknown]>;
  else if (typeof value === 'object' && value !== null) pairs = Object.entries(value);
  else throw new ConfigError('channelCapacity', 'must be an object, a Map or an array of [pattern, capacity] pairs');
  return pairs.map((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw new ConfigError(`channelCapacity[${i}]`, 'must be a [pattern, capacity] pair');
    const [pattern, cap] = pair as [unknown, unknown];
    const label = pattern instanceof RegExp ? pattern.source : String(pattern);
    const name = `channelCapacity["${label}"]`;
    const capacity = int(name, cap, 1, 1_000_000_000, 0);
    if (pattern instanceof RegExp) {
      // Like Python's re.match: anchored at the start. A stateful (g/y) RegExp would alternate results.
      const re = new RegExp(pattern.source.startsWith('^') ? pattern.source : `^(?:${pattern.source})`, pattern.flags.replace(/[gy]/g, ''));
      return { label, capacity, test: (n: string) => re.test(n) };
    }
    if (typeof pattern !== 'string' || pattern === '') throw new ConfigError(name, 'pattern must be a non-empty glob string or a RegExp');
    const re = globToRegExp(pattern);
    return { label, capacity, test: (n: string) => re.test(n) };
  });
}

function keys(value: unknown): Buffer[] {
  if (value === undefined) return [];
  if (typeof value === 'string' || value instanceof Uint8Array || !Array.isArray(value))
    throw new ConfigError('encryptionKeys', 'must be an array of secrets (strings or bytes), even if there is only one');
  if (value.length === 0) throw new ConfigError('encryptionKeys', 'must not be empty (omit it for plain messages)');
  return value.map((k: unknown, i) => {
    const buf = typeof k === 'string' ? Buffer.from(k, 'utf8') : k instanceof Uint8Array ? Buffer.from(k) : undefined;
    // Never echo the secret: only its position and length.
    if (buf === undefined) throw new ConfigError(`encryptionKeys[${i}]`, 'must be a string or bytes');
    if (buf.length < 16) throw new ConfigError(`encryptionKeys[${i}]`, `must be at least 16 bytes, got ${buf.length}`);
    return buf;
  });
}

/**
 * Validates `options`. `leaseBudget` is what the pool can lease (`max - lanes`): the readers must
 * leave some of it to the application.
 */
export function resolveChannelOptions(options: ChannelLayerOptions | undefined, leaseBudget: number): ResolvedChannelOptions {
  const o = (options ?? {}) as Record<string, unknown>;
  if (typeof o !== 'object' || o === null) throw new ConfigError('options', 'must be an object');
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) throw new ConfigError(k, 'is not a channel layer option');
  const prefix = o['prefix'] ?? 'channels';
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9._:-]{1,64}$/.test(prefix))
    throw new ConfigError('prefix', 'must be 1-64 characters of letters, digits, "._:-" (no glob or hash-tag characters)');
  const serializer = (o['serializer'] ?? jsonSerializer) as Serializer;
  if (typeof serializer !== 'object' || typeof serializer.encode !== 'function' || typeof serializer.decode !== 'function')
    throw new ConfigError('serializer', 'must have encode(message) and decode(bytes) functions');
  const onError = o['onError'] ?? (() => {});
  if (typeof onError !== 'function') throw new ConfigError('onError', 'must be a function');
  // One lease for the process-local reader, one for the room subscriber (pool.subscriber() is a lease).
  const room = leaseBudget - 2;
  if (room < 2)
    throw new ConfigError(
      'maxReaders',
      `the pool can lease only ${leaseBudget} connection(s); raise "max" so readers leave leases for the application`,
    );
  const blockMs = int('blockMs', o['blockMs'], 10, 60_000, 1000);
  const maxReaders = int('maxReaders', o['maxReaders'], 1, room - 1, Math.max(1, Math.min(4, Math.floor(leaseBudget / 2) - 1)));
  return {
    prefix,
    capacity: int('capacity', o['capacity'], 1, 1_000_000_000, 100),
    expiryMs: int('expiryMs', o['expiryMs'], 1, 365 * 86_400_000, 60_000),
    groupExpiryMs: int('groupExpiryMs', o['groupExpiryMs'], 1, 3650 * 86_400_000, 86_400_000),
    rules: rules(o['channelCapacity'] as ChannelLayerOptions['channelCapacity']),
    encryptionKeys: keys(o['encryptionKeys']),
    serializer,
    maxReaders,
    blockMs,
    readBatch: int('readBatch', o['readBatch'], 1, 10_000, 256),
    leaseMs: int('leaseMs', o['leaseMs'], 2 * blockMs, 3_600_000, Math.max(10_000, 2 * blockMs)),
    onError: onError as (err: Error) => void,
    sharedValues: bool('sharedValues', o['sharedValues'], false),
  };
}

/** Capacity of `channel` (full name): the first matching rule, else the default. */
export function capacityOf(o: ResolvedChannelOptions, channel: string): { capacity: number; label: string } {
  for (const r of o.rules) if (r.test(channel)) return { capacity: r.capacity, label: r.label };
  return { capacity: o.capacity, label: 'default' };
}
