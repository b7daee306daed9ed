/**
 * Server-side figures for load runs, health and monitoring: INFO parsing, a small dedicated
 * pool for reading them, and a sampler that turns INFO into per-run deltas (connections
 * opened, peak `connected_clients`). The sampler's own connection is opened before the first
 * sample, so it never counts as "opened" and is subtracted from the client counts.
 */
import { createPool, type Pool, type PoolOptions } from '../index.js';

/** INFO as a flat `field → value` map (section headers dropped; `db0` → `keys=…,expires=…`). */
export type InfoFields = Record<string, string>;

/** Parses the text of an INFO reply. Unknown and malformed lines are ignored. */
export function parseInfo(text: string): InfoFields {
  const out: InfoFields = {};
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i <= 0) continue;
    out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** A numeric INFO field, or `null` when absent or not a number. */
export function infoNumber(info: InfoFields, field: string): number | null {
  const raw = info[field];
  if (raw === undefined || raw === '') return null;
  const n = Number(raw);
  return Number.isFinite(n) ? n : null;
}

/** Total keys over every `dbN` line of the keyspace section. */
export function keyspaceKeys(info: InfoFields): number {
  let keys = 0;
  for (const [field, value] of Object.entries(info)) {
    if (!/^db\d+$/.test(field)) continue;
    const m = /(?:^|,)keys=(\d+)/.exec(value);
    if (m) keys += Number(m[1]);
  }
  return keys;
}

/**
 * The options of a tool's one-connection pool: one connection, every timeout `timeoutMs`
 * (default 2000 ms), no retries, degraded at the first failure, no stderr outage line (tools
 * report failures themselves, in their own words).
 */
export function toolPoolOptions(timeoutMs = 2_000) {
  return {
    name: 'redpool-cli',
    max: 1,
    min: 1,
    lanes: 1,
    connectTimeoutMs: timeoutMs,
    acquireTimeoutMs: timeoutMs,
    commandTimeoutMs: timeoutMs,
    retries: 0,
    failureThreshold: 1,
    onUnavailable: 'degrade',
    healthCheckIntervalMs: 0,
    logger: false,
  } as const satisfies Omit<PoolOptions, 'cluster'>;
}

/**
 * Opens a one-connection pool meant for tools (INFO, CONFIG GET, PING) with short deadlines and
 * no retries, that resolves degraded instead of throwing when Redis cannot be reached.
 *
 * @param target - URL or pool options of the server.
 * @param timeoutMs - Connect, acquire and command deadline in ms. @default 2000
 */
export function openToolPool(target: string | Omit<PoolOptions, 'cluster'>, timeoutMs = 2_000): Pool {
  const base: Omit<PoolOptions, 'cluster'> = typeof target === 'string' ? { url: target } : { ...target };
  return createPool({ ...base, ...toolPoolOptions(timeoutMs) });
}

/** Reads and parses INFO (default sections) through `pool`. */
export async function readInfo(pool: Pool): Promise<InfoFields> {
  return parseInfo(await pool.info());
}

/** What happened on the server during a run, from INFO before, during and after. */
export interface ServerDelta {
  /** `total_connections_received` after minus before: connections the run opened. */
  connectionsOpened: number;
  /** Highest `connected_clients` sampled during the run, not counting the sampler itself. */
  peakConnectedClients: number;
  /** `rejected_connections` after minus before (maxclients reached). */
  rejectedConnections: number;
  /** `total_commands_processed` after minus before (includes the sampler's INFO calls). */
  commandsProcessed: number;
  /** INFO samples taken. */
  samples: number;
}

/**
 * Samples INFO every `intervalMs` while a run is going on. Sampling failures are skipped (a
 * frozen server must not stall the run); `stop()` reports what it saw.
 */
export class ServerSampler {
  readonly #pool: Pool;
  readonly #intervalMs: number;
  #before: InfoFields | undefined;
  #peak = 0;
  #samples = 0;
  #timer: NodeJS.Timeout | undefined;
  #inflight: Promise<void> | undefined;

  /**
   * @param pool - A pool used only for sampling (see {@link openToolPool}).
   * @param intervalMs - Sampling period in ms. @default 100
   */
  constructor(pool: Pool, intervalMs = 100) {
    this.#pool = pool;
    this.#intervalMs = intervalMs;
  }

  /** Whether {@link start} has run. */
  get started(): boolean {
    return this.#before !== undefined;
  }

  /** Takes the baseline sample and starts periodic sampling. Rejects if INFO fails. */
  async start(): Promise<void> {
    if (this.#before) return;
    this.#before = await readInfo(this.#pool);
    this.#timer = setInterval(() => {
      this.#inflight ??= this.#sample().finally(() => (this.#inflight = undefined));
    }, this.#intervalMs);
  }

  async #sample(): Promise<void> {
    try {
      this.#observe(await readInfo(this.#pool));
    } catch {
      // skipped sample
    }
  }

  #observe(info: InfoFields): void {
    this.#samples++;
    const clients = (infoNumber(info, 'connected_clients') ?? 0) - 1;
    if (clients > this.#peak) this.#peak = clients;
  }

  /** Stops sampling and returns the deltas (zeros when the final INFO fails). */
  async stop(): Promise<ServerDelta> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#inflight;
    const before = this.#before ?? {};
    let after: InfoFields = before;
    try {
      after = await readInfo(this.#pool);
      this.#observe(after);
    } catch {
      // report what we have
    }
    const delta = (f: string): number => Math.max(0, (infoNumber(after, f) ?? 0) - (infoNumber(before, f) ?? 0));
    return {
      connectionsOpened: delta('total_connections_received'),
      peakConnectedClients: this.#peak,
      rejectedConnections: delta('rejected_connections'),
      commandsProcessed: delta('total_commands_processed'),
      samples: this.#samples,
    };
  }
}
