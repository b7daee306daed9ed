/**
 * The cluster workload with a ledger: N workers issue, one at a time each, either a unique-id
 * write (`RPUSH {tag}:ledger <opId>`: duplicates = LLEN − distinct ids, and every acknowledged id
 * must be in the list) or a unique-key echo pair (`SET {tag}:e:<opId> v`, `GET` must return `v`:
 * anything else is a reply delivered to the wrong caller). Tags are hash tags spread over every
 * slot range, so the load reaches every primary. Each operation is recorded with its slot,
 * start, end and verdict, so a run reports, for the slots a fault hit and for the others:
 * settled within the deadline, duplicates, lost acknowledged writes, writes reported "not
 * executed" that ran, and the time from the fault to the first acknowledged write.
 *
 * The client is any cluster client behind {@link LedgerClient} (redpool in test/fault, the peers
 * in bench/cluster.ts), and every call has a hang guard, so a client that never settles a call
 * (a peer without a command deadline on a frozen node) is counted as `unsettled`, not waited for.
 */
import { keySlot } from '../../../src/topology/cluster/keys.js';
import { respCommand } from '../../support/resp-mini.js';
import { sleep } from './guard.js';

/** Acknowledged writes this close before a fault may be lost by the server (see {@link LedgerGroup.lostAckedNearFault}), ms. */
export const REPLICATION_WINDOW_MS = 200;

/** What the workload needs from a cluster client. */
export interface LedgerClient {
  rpush(key: string, value: string): Promise<unknown>;
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
}

/**
 * How a failed call is classified: `'not-executed'` when the client proves the command did not
 * run (redpool's `outcome` `'not-sent'`/`'rejected'`), `'unknown'` otherwise. Peers' errors carry
 * no such verdict, so they are all `'unknown'` (the default).
 */
export type FailureVerdict = (err: unknown) => 'not-executed' | 'unknown';

/** redpool's verdict: the typed error's `outcome`. */
export const redpoolVerdict: FailureVerdict = (err) => {
  const outcome = (err as { outcome?: string } | undefined)?.outcome;
  return outcome === 'not-sent' || outcome === 'rejected' ? 'not-executed' : 'unknown';
};

/** Options of {@link ClusterLedger}. */
export interface ClusterLedgerOptions {
  workers: number;
  /** The client's own per-call deadline, in ms: a call settling later overshot it. */
  deadlineMs: number;
  /** Hang guard per call, in ms (> deadlineMs): a call still pending then is `unsettled`. */
  guardMs: number;
  /** Hard cap on operations (every load loop is bounded). */
  maxOps: number;
  /** Pause after each operation of a worker, in ms (0: as fast as the client answers). */
  paceMs: number;
  /** Unique per run. */
  prefix: string;
  /** Hash tags the workers pick from (see {@link tagsCovering}). */
  tags: readonly string[];
  /** Share of ledger writes (the rest are echo pairs). Default 0.5. */
  ledgerShare?: number;
  verdict?: FailureVerdict;
}

type Outcome = 'acked' | 'not-executed' | 'unknown' | 'misdelivered' | 'unsettled';

interface Op {
  kind: 'ledger' | 'echo';
  id: string;
  tag: string;
  slot: number;
  start: number;
  end: number;
  outcome: Outcome;
  code: string | undefined;
}

/** Figures of one slot group (the slots a fault hit, or the others). */
export interface LedgerGroup {
  issued: number;
  acked: number;
  notExecuted: number;
  unknown: number;
  unsettled: number;
  misdelivered: number;
  /** Worst settle time past the client's deadline, ms (0 when none overshot). */
  worstOvershootMs: number;
  /** Ids the server holds more than once (LLEN − distinct). */
  duplicates: number;
  /** Acknowledged ledger writes missing on the server. */
  lostAcked: number;
  /**
   * Of {@link lostAcked}, those acknowledged in the {@link REPLICATION_WINDOW_MS} before the
   * fault: a primary killed (or frozen and replaced) right after acknowledging a write may not
   * have sent it to its replica yet (replication is asynchronous); the server loses those, not
   * the client. Any other lost write is the client's.
   */
  lostAckedNearFault: number;
  /** Ledger writes reported "not executed" that the server holds. */
  falseNotExecuted: number;
  /**
   * Ledger writes whose call failed (any verdict, or never settled) that the server holds: the
   * caller was told it failed (or never heard back) and the write ran anyway — a caller's retry
   * would run it twice. Normal for a timeout whose command was written (redpool says `unknown`);
   * a library resend after the call settled shows up here too.
   */
  failedButHeld: number;
  /** From the fault to the acknowledgement of the first write started after it, ms (null: none / no fault). */
  recoveryMs: number | null;
  /** Longest time without an acknowledgement after the fault, ms (null: no fault). */
  longestGapMs: number | null;
  /** Error codes (or peer error messages, shortened) with counts. */
  codes: Record<string, number>;
}

/** Result of {@link ClusterLedger.audit}. */
export interface LedgerResult {
  affected: LedgerGroup;
  others: LedgerGroup;
  total: LedgerGroup;
}

/**
 * `count` hash tags whose slots are spread evenly over 0…16383 (so every primary gets its share),
 * optionally only those for which `keep(slot)` holds.
 */
export function tagsCovering(count: number, keep: (slot: number) => boolean = () => true): string[] {
  const tags: string[] = [];
  const step = 16384 / count;
  const want = new Set<number>();
  for (let i = 0; i < count; i++) want.add(Math.floor(i * step));
  // Walk candidate tags until one lands in each wanted bucket (bounded: at most 2 M candidates).
  const buckets = new Map<number, string>();
  for (let n = 0; n < 2_000_000 && buckets.size < count; n++) {
    const tag = `t${n}`;
    const slot = keySlot(`{${tag}}`);
    if (!keep(slot)) continue;
    const bucket = Math.floor(slot / step);
    if (!buckets.has(bucket)) buckets.set(bucket, tag);
  }
  for (const tag of buckets.values()) tags.push(tag);
  return tags;
}

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; prefix?: unknown; message?: unknown } | undefined;
  if (typeof e?.code === 'string') return e.code === 'ERR_REPLY' && typeof e.prefix === 'string' ? `ERR_REPLY:${e.prefix}` : e.code;
  // Peers: the first words of the message, without numbers (ports, slots) so messages group.
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  return msg.replace(/\d+/g, '#').split(/[.:]/)[0]!.slice(0, 60);
}

/** See the module comment. */
export class ClusterLedger {
  readonly #client: LedgerClient;
  readonly #o: Required<ClusterLedgerOptions>;
  readonly #ops: Op[] = [];
  readonly #workers: Promise<void>[] = [];
  #stop = false;
  #seq = 0;
  #faultAt: number | undefined;

  constructor(client: LedgerClient, options: ClusterLedgerOptions) {
    this.#client = client;
    this.#o = { ledgerShare: 0.5, verdict: () => 'unknown', ...options };
  }

  /** The list key of a tag. */
  listKey(tag: string): string {
    return `{${tag}}:${this.#o.prefix}:ledger`;
  }

  /** Operations issued so far. */
  get issued(): number {
    return this.#ops.length;
  }

  start(): void {
    for (let w = 0; w < this.#o.workers; w++) this.#workers.push(this.#worker(w));
  }

  /** Marks the moment the fault was injected (recovery and gaps are measured from here). */
  markFault(at = performance.now()): void {
    this.#faultAt = at;
  }

  /** Stops issuing and waits for in-flight calls (each is bounded by its guard). */
  async stop(): Promise<void> {
    this.#stop = true;
    await Promise.all(this.#workers);
  }

  async #worker(w: number): Promise<void> {
    const tags = this.#o.tags;
    // Round robin over every tag, the workers spread out over the list.
    let i = Math.floor((w * tags.length) / this.#o.workers);
    while (!this.#stop && this.#ops.length < this.#o.maxOps) {
      const tag = tags[i++ % tags.length]!;
      const ledger = (this.#seq % 100) / 100 < this.#o.ledgerShare;
      const ok = ledger ? await this.#ledger(tag) : await this.#echo(tag);
      if (this.#o.paceMs > 0) await sleep(this.#o.paceMs);
      else if (!ok) await sleep(5); // a failing client answers at once: no busy loop
    }
  }

  /** Runs `call` under the hang guard; records and returns the verdict. */
  async #run(op: Op, call: () => Promise<Outcome>): Promise<boolean> {
    this.#ops.push(op);
    let timer: NodeJS.Timeout | undefined;
    const guard = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), this.#o.guardMs)));
    const r = await Promise.race([
      call().then(
        (outcome) => ({ outcome }),
        (err: unknown) => ({ outcome: this.#o.verdict(err) as Outcome, code: errorCode(err) }),
      ),
      guard,
    ]);
    clearTimeout(timer);
    op.end = performance.now();
    if (r === 'hung') op.outcome = 'unsettled';
    else {
      op.outcome = r.outcome;
      op.code = 'code' in r ? r.code : undefined;
    }
    return op.outcome === 'acked';
  }

  #op(kind: Op['kind'], tag: string): Op {
    const id = `${this.#o.prefix}:${++this.#seq}`;
    return { kind, id, tag, slot: keySlot(`{${tag}}`), start: performance.now(), end: NaN, outcome: 'unsettled', code: undefined };
  }

  #ledger(tag: string): Promise<boolean> {
    const op = this.#op('ledger', tag);
    return this.#run(op, async () => {
      const n = await this.#client.rpush(this.listKey(tag), op.id);
      return typeof n === 'number' && n > 0 ? 'acked' : 'misdelivered';
    });
  }

  #echo(tag: string): Promise<boolean> {
    const op = this.#op('echo', tag);
    const key = `{${tag}}:${op.id}`;
    return this.#run(op, async () => {
      const set = await this.#client.set(key, op.id);
      if (set !== 'OK') return 'misdelivered';
      return (await this.#client.get(key)) === op.id ? 'acked' : 'misdelivered';
    });
  }

  /**
   * Reads every tag's list through `read` (the harness's own client, never the one under test)
   * and computes the figures, split by `affected(slot)`.
   */
  async audit(read: (key: string) => Promise<string[]>, affected: (slot: number) => boolean = () => false): Promise<LedgerResult> {
    const lists = new Map<string, string[]>();
    for (const tag of new Set(this.#ops.filter((o) => o.kind === 'ledger').map((o) => o.tag)))
      lists.set(tag, await read(this.listKey(tag)));
    const group = (pick: (op: Op) => boolean): LedgerGroup => {
      const ops = this.#ops.filter(pick);
      const g: LedgerGroup = {
        issued: ops.length,
        acked: 0,
        notExecuted: 0,
        unknown: 0,
        unsettled: 0,
        misdelivered: 0,
        worstOvershootMs: 0,
        duplicates: 0,
        lostAcked: 0,
        lostAckedNearFault: 0,
        falseNotExecuted: 0,
        failedButHeld: 0,
        recoveryMs: null,
        longestGapMs: null,
        codes: {},
      };
      const tags = new Set(ops.filter((o) => o.kind === 'ledger').map((o) => o.tag));
      const held = new Set<string>();
      for (const tag of tags) {
        const ids = lists.get(tag) ?? [];
        const distinct = new Set(ids);
        g.duplicates += ids.length - distinct.size;
        for (const id of distinct) held.add(id);
      }
      const acks: number[] = [];
      for (const op of ops) {
        // An echo pair is two calls, each with its own deadline.
        if (op.outcome !== 'unsettled')
          g.worstOvershootMs = Math.max(g.worstOvershootMs, op.end - op.start - this.#o.deadlineMs * (op.kind === 'echo' ? 2 : 1));
        if (op.code) g.codes[op.code] = (g.codes[op.code] ?? 0) + 1;
        if (op.kind === 'ledger' && op.outcome !== 'acked' && held.has(op.id)) g.failedButHeld++;
        switch (op.outcome) {
          case 'acked':
            g.acked++;
            acks.push(op.end);
            if (op.kind === 'ledger' && !held.has(op.id)) {
              g.lostAcked++;
              const f = this.#faultAt;
              if (f !== undefined && op.end <= f && op.end >= f - REPLICATION_WINDOW_MS) g.lostAckedNearFault++;
            }
            if (this.#faultAt !== undefined && op.start >= this.#faultAt)
              g.recoveryMs = Math.min(g.recoveryMs ?? Infinity, op.end - this.#faultAt);
            break;
          case 'not-executed':
            g.notExecuted++;
            if (op.kind === 'ledger' && held.has(op.id)) g.falseNotExecuted++;
            break;
          case 'unknown':
            g.unknown++;
            break;
          case 'misdelivered':
            g.misdelivered++;
            break;
          case 'unsettled':
            g.unsettled++;
            break;
        }
      }
      if (this.#faultAt !== undefined) {
        const after = [this.#faultAt, ...acks.filter((t) => t > this.#faultAt!).sort((a, b) => a - b)];
        const last = Math.max(...this.#ops.map((o) => (Number.isNaN(o.end) ? o.start : o.end)));
        after.push(last);
        let gap = 0;
        for (let i = 1; i < after.length; i++) gap = Math.max(gap, after[i]! - after[i - 1]!);
        g.longestGapMs = gap;
      }
      g.recoveryMs = g.recoveryMs === null ? null : Math.round(g.recoveryMs);
      g.longestGapMs = g.longestGapMs === null ? null : Math.round(g.longestGapMs);
      g.worstOvershootMs = Math.round(g.worstOvershootMs);
      return g;
    };
    return { affected: group((op) => affected(op.slot)), others: group((op) => !affected(op.slot)), total: group(() => true) };
  }
}

/**
 * Reads a list from the cluster with the harness's one-shot RESP client (never the client under
 * test): asks each node in turn (a dead or frozen one fails within `timeoutMs`) and follows one
 * `MOVED`. Usable from a child process: it needs only the ports.
 */
export async function readClusterList(ports: readonly number[], key: string, timeoutMs = 1_000): Promise<string[]> {
  let lastError: unknown;
  const lrange = async (port: number): Promise<string[]> =>
    (await respCommand({ host: '127.0.0.1', port }, ['LRANGE', key, '0', '-1'], { timeoutMs })) as string[];
  for (const port of ports) {
    try {
      return await lrange(port);
    } catch (err) {
      lastError = err;
      const moved = /^MOVED \d+ [^:]*:(\d+)/.exec((err as Error).message);
      if (!moved) continue;
      try {
        return await lrange(Number(moved[1]));
      } catch (again) {
        lastError = again;
      }
    }
  }
  throw new Error(`readClusterList: no node answered for ${key}`, { cause: lastError });
}
