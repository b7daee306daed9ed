/**
 * Pipelines and transactions in a cluster. A pipeline is split by node (each part one write on
 * one lane of its node, in the recorded order), the replies are put back in the caller's order,
 * and each command keeps its own verdict: a `MOVED`/`ASK` answer, or a node that could not take
 * its part (`not-sent`), sends just those commands on through the router, one by one in order;
 * a part that timed out or lost its connection after the write reports that error for each of
 * its commands (outcome `unknown`, never re-sent). A command whose own keys span slots gets its
 * `ERR_CROSS_SLOT` in its place and is not sent.
 *
 * A transaction must stay in one slot (the server runs MULTI on one node): keys of different
 * slots are refused before anything is sent. It runs on that slot's node; a transaction the
 * server discarded because the slot moved (`EXECABORT` after `MOVED`) did not run and is sent
 * once more after a refresh, within the deadline and `maxRedirections`.
 */
import type { BatchCommand, BatchResult } from '../driver/driver.js';
import { CrossSlotError, RedpoolError, UnavailableError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import { kBatch } from '../pool/api.js';
import type { CallOptions } from '../pool/core.js';
import { commandSlot } from '../topology/cluster/keys.js';
import type { ClusterNodes, NodeEntry } from './nodes.js';
import type { Router } from './router.js';

const baseName = (n: string): string => (n.endsWith('Buffer') ? n.slice(0, -6) : n);

/** The slot of each command (`undefined`: keyless), or the error that keeps it from being sent. */
function slotsOf(cmds: readonly BatchCommand[]): (number | undefined | Error)[] {
  return cmds.map(([name, ...args]) => {
    try {
      return commandSlot(baseName(name), args);
    } catch (err) {
      return err as Error;
    }
  });
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
  const results: BatchResult = new Array<[Error | null, unknown]>(cmds.length);
  const groups = new Map<NodeEntry, number[]>();
  const owner = new Array<NodeEntry | undefined>(cmds.length);
  let keyless: NodeEntry | undefined;
  for (let i = 0; i < cmds.length; i++) {
    const slot = slots[i];
    if (slot instanceof Error) {
      results[i] = [slot, undefined];
      continue;
    }
    // Keyless commands ride with the first node the pipeline uses.
    const entry = slot === undefined ? (keyless ??= groups.keys().next().value ?? nodes.any()) : nodes.forSlot(slot);
    const target = entry ?? (await nodes.wait(slot, deadline));
    if (!target) {
      results[i] = [new UnavailableError(`slot ${String(slot)}: no reachable primary (cluster topology)`), undefined];
      continue;
    }
    owner[i] = target;
    const group = groups.get(target);
    if (group) group.push(i);
    else groups.set(target, [i]);
  }
  await Promise.all(
    [...groups].map(async ([entry, indexes]) => {
      const part: CallOptions = { ...call, timeoutMs: Math.max(1, deadline - clock.now()) };
      try {
        const res = await entry.pool[kBatch](
          indexes.map((i) => cmds[i]!),
          false,
          part,
        );
        indexes.forEach((i, k) => (results[i] = res?.[k] ?? [new RedpoolError('ERR_CONNECTION', 'no reply'), undefined]));
      } catch (err) {
        for (const i of indexes) results[i] = [err as Error, undefined];
      }
    }),
  );
  // Redirected or not taken: on through the router, in the recorded order.
  for (let i = 0; i < cmds.length; i++) {
    const err = results[i]![0];
    if (!err || slots[i] instanceof Error || !router.retryable(err)) continue;
    const from = owner[i];
    const [name, ...args] = cmds[i]!;
    const req = { name: baseName(name), args, buffer: name !== baseName(name), call, slot: slots[i] as number | undefined, started };
    results[i] = await router.continue(req, err, from).then(
      (v) => [null, v] as [null, unknown],
      (e: unknown) => [e as Error, undefined] as [Error, undefined],
    );
  }
  return results;
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
