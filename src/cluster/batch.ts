/**
 * Pipelines and transactions in a cluster. A pipeline is split by node (each part one write on
 * one lane of its node, in the recorded order; a pipeline whose commands all go to one node is
 * sent as recorded, without copies), the replies are put back in the caller's order by index,
 * and each command keeps its own verdict: a `MOVED`/`ASK` answer, or a node that could not take
 * its part (`not-sent`), sends just those commands on through the router, one by one in order,
 * after every part came back (correct: each of them provably did not run where it was sent, and
 * nothing else is re-sent; a pipeline mid-migration is slower, not wrong). A part that timed out
 * or lost its connection after the write reports that error for each of its commands (outcome
 * `unknown`, never re-sent; the node is suspected for the next topology refresh). A command
 * whose own keys span slots gets its `ERR_CROSS_SLOT` in its place and is not sent.
 *
 * A transaction must stay in one slot (the server runs MULTI on one node): keys of different
 * slots are refused before anything is sent. It runs on that slot's node; a transaction the
 * server discarded because the slot moved (`EXECABORT` after `MOVED`) did not run and is sent
 * once more after a refresh, within the deadline and `maxRedirections`.
 *
 * Under `readFrom` (the call's, else the pool's) other than `'primary'`, a node's part whose
 * commands all may run on a replica (`batchRunsOnReplica`) goes to a replica of that node's
 * shard (`read-route.ts`); redirects it answers are followed from the replica. Transactions always
 * run on the primary.
 */
import { batchRunsOnReplica } from '../commands/command-table.js';
import type { BatchCommand, BatchResult } from '../driver/driver.js';
import { CrossSlotError, RedpoolError, UnavailableError } from '../errors.js';
import type { ReadFrom, ResolvedOptions } from '../options.js';
import { kBatch } from '../pool/api.js';
import type { CallOptions } from '../pool/core.js';
import { batchCommandSlot } from '../topology/cluster/keys.js';
import type { ClusterNodes, NodeEntry } from './nodes.js';
import { replicaPart, type PartOutcome } from './read-route.js';
import type { Router } from './router.js';

const baseName = (n: string): string => (n.endsWith('Buffer') ? n.slice(0, -6) : n);

/** The slot of each command (`undefined`: keyless), or the error that keeps it from being sent. */
function slotsOf(cmds: readonly BatchCommand[]): (number | undefined | Error)[] {
  const out = new Array<number | undefined | Error>(cmds.length);
  for (let i = 0; i < cmds.length; i++) {
    try {
      out[i] = batchCommandSlot(cmds[i]!);
    } catch (err) {
      out[i] = err as Error;
    }
  }
  return out;
}

/** Runs a cluster pipeline (`atomic` false) or transaction; see the module comment. */
export async function clusterBatch(
  nodes: ClusterNodes,
  router: Router,
  o: ResolvedOptions,
  cmds: BatchCommand[],
  atomic: boolean,
  call: CallOptions | undefined,
): Promise<BatchResult | null> {
  const clock = nodes.clock;
  const started = clock.now();
  const deadline = started + (call?.timeoutMs ?? o.commandTimeoutMs);
  const slots = slotsOf(cmds);
  if (atomic) return transaction(nodes, o, cmds, slots, call, deadline);
  const n = cmds.length;
  // Owner of each command, found once; `single` stays set while every command has the same one.
  const owner = new Array<NodeEntry | undefined>(n);
  let results: BatchResult | undefined;
  let single: NodeEntry | undefined;
  let mixed = false;
  let keyless: NodeEntry | undefined;
  for (let i = 0; i < n; i++) {
    const slot = slots[i];
    let target: NodeEntry | undefined;
    if (slot instanceof Error) {
      (results ??= new Array<[Error | null, unknown]>(n))[i] = [slot, undefined];
      mixed = true;
      continue;
    }
    // Keyless commands ride with the first node the pipeline uses.
    if (slot === undefined) target = keyless ??= single ?? owner.find((e) => e !== undefined) ?? nodes.any();
    else target = nodes.forSlot(slot);
    target ??= await nodes.wait(slot, deadline);
    if (!target) {
      (results ??= new Array<[Error | null, unknown]>(n))[i] = [
        new UnavailableError(`slot ${String(slot)}: no reachable primary (cluster topology)`),
        undefined,
      ];
      mixed = true;
      continue;
    }
    owner[i] = target;
    if (i === 0) single = target;
    else if (target !== single) mixed = true;
  }
  const readFrom = call?.readFrom ?? o.readFrom;
  if (!mixed && single) {
    // One node (a hash tag, or a small cluster): the recorded batch as it is, no copies.
    if (readFrom === 'primary') results = await part(single, cmds, call, deadline, clock.now());
    else {
      const done = await routedPart(nodes, router, readFrom, single, slots, cmds, call, deadline);
      results = done.results;
      if (done.entry !== single) owner.fill(done.entry);
    }
  } else {
    const out = (results ??= new Array<[Error | null, unknown]>(n));
    const groups = new Map<NodeEntry, number[]>();
    for (let i = 0; i < n; i++) {
      const entry = owner[i];
      if (!entry) continue;
      const group = groups.get(entry);
      if (group) group.push(i);
      else groups.set(entry, [i]);
    }
    const now = clock.now();
    await Promise.all(
      [...groups].map(async ([entry, indexes]) => {
        const sub = new Array<BatchCommand>(indexes.length);
        for (let k = 0; k < indexes.length; k++) sub[k] = cmds[indexes[k]!]!;
        if (readFrom === 'primary') {
          const res = await part(entry, sub, call, deadline, now);
          for (let k = 0; k < indexes.length; k++) out[indexes[k]!] = res[k]!;
          return;
        }
        const groupSlots = indexes.map((i) => slots[i]);
        const done = await routedPart(nodes, router, readFrom, entry, groupSlots, sub, call, deadline);
        for (let k = 0; k < indexes.length; k++) {
          out[indexes[k]!] = done.results[k]!;
          owner[indexes[k]!] = done.entry;
        }
      }),
    );
  }
  // Redirected or not taken: on through the router, one by one in the recorded order, after the
  // parts came back (each was one write; these few follow their redirect on their own).
  for (let i = 0; i < n; i++) {
    const err = results[i]![0];
    if (!err || slots[i] instanceof Error) continue;
    if (!router.retryable(err)) {
      router.observe(err, owner[i]);
      continue;
    }
    const [name, ...args] = cmds[i]!;
    const req = { name: baseName(name), args, buffer: name !== baseName(name), call, slot: slots[i] as number | undefined, started };
    results[i] = await router.continue(req, err, owner[i]).then(
      (v) => [null, v] as [null, unknown],
      (e: unknown) => [e as Error, undefined] as [Error, undefined],
    );
  }
  return results;
}

/**
 * A node's part under `readFrom` other than `'primary'`: on a replica when every command may run
 * there (`batchRunsOnReplica`), else on `entry`, its primary. Returns where it ran.
 */
async function routedPart(
  nodes: ClusterNodes,
  router: Router,
  readFrom: ReadFrom,
  entry: NodeEntry,
  slots: readonly (number | undefined | Error)[],
  cmds: BatchCommand[],
  call: CallOptions | undefined,
  deadline: number,
): Promise<PartOutcome> {
  const send = (e: NodeEntry, c: BatchCommand[]): Promise<BatchResult> => part(e, c, call, deadline, nodes.clock.now());
  if (!batchRunsOnReplica(cmds.map((c) => baseName(c[0])))) return { entry, results: await send(entry, cmds) };
  const slot = slots.find((s): s is number => typeof s === 'number');
  return replicaPart(nodes, router, readFrom, slot, entry, cmds, send, deadline);
}

/** One node's part of a pipeline: one write on one lane; a failure is each command's verdict. */
async function part(
  entry: NodeEntry,
  cmds: BatchCommand[],
  call: CallOptions | undefined,
  deadline: number,
  now: number,
): Promise<BatchResult> {
  const opts: CallOptions = call ? { ...call, timeoutMs: Math.max(1, deadline - now) } : { timeoutMs: Math.max(1, deadline - now) };
  let res: BatchResult | null;
  try {
    res = await entry.pool[kBatch](cmds, false, opts);
  } catch (err) {
    return cmds.map(() => [err as Error, undefined]);
  }
  if (res && res.length === cmds.length) return res;
  const out: BatchResult = new Array<[Error | null, unknown]>(cmds.length);
  for (let k = 0; k < cmds.length; k++) out[k] = res?.[k] ?? [new RedpoolError('ERR_CONNECTION', 'no reply'), undefined];
  return out;
}

async function transaction(
  nodes: ClusterNodes,
  o: ResolvedOptions,
  cmds: BatchCommand[],
  slots: (number | undefined | Error)[],
  call: CallOptions | undefined,
  deadline: number,
): Promise<BatchResult | null> {
  let slot: number | undefined;
  let first = -1;
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i];
    if (s instanceof Error) throw s;
    if (s === undefined) continue;
    if (slot === undefined) {
      slot = s;
      first = i;
    } else if (s !== slot)
      throw new CrossSlotError(
        'MULTI',
        [first, i],
        [slot, s],
        `MULTI: commands ${first} and ${i} of the transaction use keys in different slots (${slot} and ${s}); ` +
          'a transaction runs on one node, so all its keys must share a slot (use a {hash tag})',
      );
  }
  const max = o.cluster?.maxRedirections ?? 5;
  for (let attempt = 0; ; attempt++) {
    const entry = await nodes.wait(slot, deadline);
    const remaining = deadline - nodes.clock.now();
    if (!entry || remaining <= 0) throw new UnavailableError(`MULTI: slot ${String(slot)} has no reachable primary within the deadline`);
    try {
      return await entry.pool[kBatch](cmds, true, { ...call, timeoutMs: remaining });
    } catch (err) {
      // EXECABORT: the server refused the queued commands (MOVED/ASK among them): nothing ran.
      const discarded = (err as RedpoolError).code === 'ERR_REPLY' && /^EXECABORT|^MOVED|^ASK/.test((err as Error).message);
      if (!discarded || attempt >= max) throw err;
      await nodes.refreshed('moved', deadline);
    }
  }
}
