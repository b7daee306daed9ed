/**
 * Finds the current primary of a Sentinel-monitored set: asks the known sentinels in random
 * order `SENTINEL GET-MASTER-ADDR-BY-NAME`, refreshes the sentinel list from `SENTINEL SENTINELS`
 * of the sentinel that answered, and (when the caller gives a `verify` hook, normally a `ROLE`
 * on a data connection the pool opens anyway) refuses an address that is not a primary, moving
 * on to the next sentinel. Single-flight: concurrent calls share one discovery.
 */
import { UnavailableError } from '../../errors.js';
import type { Random } from '../../resilience/backoff.js';
import type { NodeAddress } from '../cluster/nat-map.js';
import { shuffle } from '../cluster/refresher.js';
import type { SentinelConnector } from './link.js';

/** Result of a discovery. */
export interface DiscoveredPrimary {
  primary: NodeAddress;
  /** The sentinel that answered. */
  sentinel: NodeAddress;
  /** With `replicas: true`: that sentinel's `SENTINEL REPLICAS` (undefined when it failed). */
  replicas?: ReplicaInfo[] | undefined;
}

/** One entry of `SENTINEL REPLICAS <name>`. */
export interface ReplicaInfo {
  address: NodeAddress;
  /** Not flagged `s_down`/`o_down`/`disconnected` and `master-link-status` is `ok`. */
  usable: boolean;
  /** The sentinel's `flags` field, e.g. `slave` or `s_down,slave`. */
  flags: string;
}

/** Options of {@link SentinelDiscovery}. */
export interface SentinelDiscoveryOptions {
  /** Master name as configured in the sentinels (`sentinel monitor <name> …`). */
  name: string;
  /** Seed sentinels. Kept even if a sentinel stops listing them. */
  sentinels: readonly NodeAddress[];
  connector: SentinelConnector;
  /**
   * Checks that an address is a writable primary (e.g. `ROLE` says `master`). Resolving `false`
   * or rejecting makes discovery try the next sentinel (that one may be stale).
   */
  verify?: (primary: NodeAddress) => Promise<boolean>;
  /** Randomness for the sentinel order. Default `Math.random`. */
  random?: Random;
  /** Upper bound on the sentinel list (seeds + discovered). Default `16`. */
  maxSentinels?: number;
  /** Also read `SENTINEL REPLICAS` from the sentinel that answered (read routing). Default `false`. */
  replicas?: boolean;
  /** Called with every successful discovery (before the callers of `discover()` hear it). */
  onDiscovered?: (found: DiscoveredPrimary) => void;
}

/** The role a `ROLE` reply reports. */
export interface RoleInfo {
  role: 'master' | 'replica' | 'sentinel';
  /** For a replica: the primary it follows. */
  primary?: NodeAddress;
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'number' ? String(v) : '';
}

/** Parses a `ROLE` reply (`['master', …]`, `['slave', ip, port, …]`, `['sentinel', …]`); throws on anything else. */
export function parseRole(reply: unknown): RoleInfo {
  if (!Array.isArray(reply)) throw new Error('unexpected ROLE reply shape');
  const role = text(reply[0]);
  if (role === 'master') return { role: 'master' };
  if (role === 'sentinel') return { role: 'sentinel' };
  if (role === 'slave' || role === 'replica') {
    const port = Number(text(reply[2]));
    return { role: 'replica', ...(Number.isInteger(port) && port > 0 ? { primary: { host: text(reply[1]), port } } : {}) };
  }
  throw new Error('unexpected ROLE reply shape');
}

/** Parses a `GET-MASTER-ADDR-BY-NAME` reply: `[ip, port]`, or `undefined` for a nil (unknown name). */
export function parseMasterAddr(reply: unknown): NodeAddress | undefined {
  if (reply === null || reply === undefined) return undefined;
  if (!Array.isArray(reply) || reply.length !== 2) throw new Error('unexpected SENTINEL GET-MASTER-ADDR-BY-NAME reply shape');
  const port = Number(text(reply[1]));
  const host = text(reply[0]);
  if (host === '' || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error('unexpected SENTINEL GET-MASTER-ADDR-BY-NAME reply shape');
  return { host, port };
}

/** One entry of a `SENTINEL SENTINELS|REPLICAS` reply (a flat field array on RESP2, a map on RESP3) as a map. */
function fieldsOf(entry: unknown): Map<string, unknown> {
  const f = new Map<string, unknown>();
  if (Array.isArray(entry)) for (let i = 0; i + 1 < entry.length; i += 2) f.set(text(entry[i]), entry[i + 1]);
  else if (entry instanceof Map) for (const [k, v] of entry) f.set(text(k), v);
  return f;
}

/** Parses `SENTINEL SENTINELS <name>` (a list of flat field arrays or maps) into addresses. */
export function parseSentinels(reply: unknown): NodeAddress[] {
  if (!Array.isArray(reply)) return [];
  const out: NodeAddress[] = [];
  for (const entry of reply) {
    const f = fieldsOf(entry);
    const host = text(f.get('ip'));
    const port = Number(text(f.get('port')));
    const flags = text(f.get('flags'));
    if (host !== '' && Number.isInteger(port) && port > 0 && !/s_down|o_down|disconnected/.test(flags)) out.push({ host, port });
  }
  return out;
}

/** Parses `SENTINEL REPLICAS <name>` (flat field arrays or maps); entries without an address are dropped. */
export function parseReplicas(reply: unknown): ReplicaInfo[] {
  if (!Array.isArray(reply)) return [];
  const out: ReplicaInfo[] = [];
  for (const entry of reply) {
    const f = fieldsOf(entry);
    const host = text(f.get('ip'));
    const port = Number(text(f.get('port')));
    if (host === '' || !Number.isInteger(port) || port < 1 || port > 65535) continue;
    const flags = text(f.get('flags'));
    const link = text(f.get('master-link-status'));
    out.push({ address: { host, port }, flags, usable: !/s_down|o_down|disconnected/.test(flags) && link !== 'err' });
  }
  return out;
}

const key = (a: NodeAddress): string => `${a.host}:${a.port}`;

/** See the module comment. */
export class SentinelDiscovery {
  readonly name: string;
  readonly #o: SentinelDiscoveryOptions;
  readonly #seeds: NodeAddress[];
  #discovered: NodeAddress[] = [];
  #inFlight: Promise<DiscoveredPrimary> | undefined;
  #count = 0;

  constructor(options: SentinelDiscoveryOptions) {
    this.name = options.name;
    this.#o = options;
    this.#seeds = [...options.sentinels];
  }

  /** Seeds + discovered sentinels, deduplicated, at most `maxSentinels`. */
  sentinels(): NodeAddress[] {
    const seen = new Map<string, NodeAddress>();
    for (const a of [...this.#seeds, ...this.#discovered]) if (!seen.has(key(a))) seen.set(key(a), a);
    return [...seen.values()].slice(0, this.#o.maxSentinels ?? 16);
  }

  /** Number of discoveries run (not counting calls that joined one in flight). */
  get discoveries(): number {
    return this.#count;
  }

  /**
   * Discovers the primary. Rejects with {@link UnavailableError} (`ERR_UNAVAILABLE`, `cause`:
   * the last sentinel's error) when no sentinel gives a verified primary.
   */
  discover(): Promise<DiscoveredPrimary> {
    this.#inFlight ??= this.#run().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #run(): Promise<DiscoveredPrimary> {
    this.#count++;
    let lastError: unknown;
    const order = shuffle(this.sentinels(), this.#o.random ?? Math.random);
    for (const sentinel of order) {
      let primary: NodeAddress | undefined;
      let replicas: ReplicaInfo[] | undefined;
      try {
        const conn = await this.#o.connector.open(sentinel, 'command');
        try {
          primary = parseMasterAddr(await conn.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name));
          if (primary) this.#discovered = parseSentinels(await conn.call('SENTINEL', 'SENTINELS', this.name));
          // Same connection, same sentinel: primary and replicas are one consistent view.
          if (primary && this.#o.replicas)
            replicas = await conn.call('SENTINEL', 'REPLICAS', this.name).then(parseReplicas, () => undefined);
        } finally {
          conn.close();
        }
      } catch (err) {
        lastError = err;
        continue;
      }
      if (!primary) {
        lastError = new Error(`sentinel ${key(sentinel)} does not monitor "${this.name}"`);
        continue;
      }
      if (this.#o.verify) {
        let ok = false;
        let verifyError: unknown;
        try {
          ok = await this.#o.verify(primary);
        } catch (err) {
          verifyError = err;
        }
        if (!ok) {
          lastError = verifyError ?? new Error(`${key(primary)} (from sentinel ${key(sentinel)}) is not a primary`);
          continue;
        }
      }
      const found: DiscoveredPrimary = replicas ? { primary, sentinel, replicas } : { primary, sentinel };
      this.#o.onDiscovered?.(found);
      return found;
    }
    throw new UnavailableError(`sentinel: no primary found for "${this.name}" from ${order.length} sentinel(s)`, { cause: lastError });
  }
}
