/**
 * Targeted checks of the reliability report: promises from the docs that a mixed workload does
 * not reach, each against a real redis-server (and the fault proxy where the fault is on the
 * wire). A check makes its own pools (canary password, named, logged into the transcript) and
 * returns what it measured plus its violations; the runner closes the pools and checks for
 * leaked connections and canary hits as for every scenario.
 */
import type { PoolOptions } from '../../../src/options.js';
import type { Pool } from '../../../src/pool/pool.js';
import type { RedisProcess, RedisProcessOptions } from '../../helpers/redis.js';
import type { FaultProxy } from '../../helpers/fault-proxy.js';
import { settle, sleep } from './guard.js';

/** What a check can act on. */
export interface CheckContext {
  server: RedisProcess;
  proxy: FaultProxy | undefined;
  /** A pool on the server (or the proxy, when the check asks for one), options over the report's. */
  pool(options?: PoolOptions): Pool;
  /** Records an error or value for the canary scan. */
  capture(value: unknown): void;
}

/** What one check run measured. */
export interface CheckOutcome {
  /** The figures, one short line. */
  measured: string;
  /** Broken promises (empty when it held). */
  violations: string[];
}

/** One targeted check. */
export interface Check {
  id: string;
  /** Where the promise comes from (issue defect, doc). */
  row: string;
  title: string;
  /** What must hold. */
  expected: string;
  quick: boolean;
  server?: RedisProcessOptions;
  proxy?: boolean;
  run(ctx: CheckContext): Promise<CheckOutcome>;
}

interface Failure {
  code?: string;
  outcome?: string;
  name?: string;
  message?: string;
}

function describeFailure(r: { ok: boolean; value?: unknown; error?: unknown }): string {
  if (r.ok) return `resolved ${JSON.stringify(r.value)}`;
  const e = r.error as Failure;
  return `${e.name ?? typeof r.error}${e.code ? ` ${e.code}` : ''}${e.outcome ? `/${e.outcome}` : ''}`;
}

/** Waits (bounded) until `probe` resolves true. */
async function until(probe: () => Promise<boolean>, limitMs: number): Promise<boolean> {
  const end = performance.now() + limitMs;
  while (performance.now() < end) {
    if (await probe().catch(() => false)) return true;
    await sleep(5);
  }
  return false;
}

/**
 * One retried call whose first attempt ran: the proxy swallows the reply, then refuses new
 * connections and resets the open ones, so the retries fail before they are sent.
 */
async function swallowedThenRefused(
  ctx: CheckContext,
  key: string,
  call: (pool: Pool) => Promise<unknown>,
  ran: () => Promise<boolean>,
): Promise<{ result: string; outcome: string | undefined; ran: boolean; settledMs: number }> {
  const proxy = ctx.proxy!;
  const pool = ctx.pool({ min: 1, max: 2, lanes: 1, commandTimeoutMs: 2_000, acquireTimeoutMs: 2_000 });
  await pool.ready();
  await pool.del(key);
  await proxy.truncateReplyAfter(0, 'hang');
  const started = performance.now();
  const pending = settle(call(pool), 5_000, `${key} call`);
  const executed = await until(ran, 1_000);
  await proxy.refuse();
  proxy.resetAll();
  const r = await pending;
  ctx.capture(r.ok ? r.value : r.error);
  await proxy.pass();
  return {
    result: describeFailure(r),
    outcome: r.ok ? 'ok' : (r.error as Failure).outcome,
    ran: executed,
    settledMs: performance.now() - started,
  };
}

/** Every check, in report order. */
export const CHECKS: readonly Check[] = [
  {
    id: 'swallowed-reply-rpush',
    row: '#10.1',
    quick: true,
    proxy: true,
    title: 'idempotent RPUSH: reply swallowed, connection reset, reconnects refused',
    expected: "outcome 'unknown' (never 'not-sent': the write ran)",
    run: async (ctx) => {
      const key = 'chk:l2';
      const r = await swallowedThenRefused(
        ctx,
        key,
        (pool) => pool.with({ idempotent: true }).rpush(key, 'x'),
        async () => Number(await ctx.server.command('LLEN', key)) === 1,
      );
      const len = Number(await ctx.server.command('LLEN', key));
      const v: string[] = [];
      if (!r.ran) v.push('the write did not reach the server (the check did not exercise the fault)');
      if (r.outcome === 'not-sent' && len > 0) v.push(`${r.result} although LLEN = ${len}: the write ran`);
      return { measured: `${r.result}, LLEN ${len}, settled in ${Math.round(r.settledMs)} ms`, violations: v };
    },
  },
  {
    id: 'swallowed-reply-get',
    row: '#10.1',
    quick: true,
    proxy: true,
    title: 'GET (read-only, retried): reply swallowed, connection reset, reconnects refused',
    expected: "outcome 'unknown' (never 'not-sent': the GET was sent)",
    run: async (ctx) => {
      const key = 'chk:g';
      // The server counts the GET in INFO commandstats: that is how the check knows it ran.
      const gets = async (): Promise<number> =>
        Number(/cmdstat_get:calls=(\d+)/.exec(String(await ctx.server.command('INFO', 'commandstats')))?.[1] ?? 0);
      const before = await gets();
      const r = await swallowedThenRefused(
        ctx,
        key,
        (pool) => pool.get(key),
        async () => (await gets()) > before,
      );
      const v: string[] = [];
      if (!r.ran) v.push('the GET did not reach the server (the check did not exercise the fault)');
      if (r.outcome === 'not-sent') v.push(`${r.result} although the GET was sent and ran`);
      return { measured: `${r.result}, settled in ${Math.round(r.settledMs)} ms`, violations: v };
    },
  },
  {
    id: 'blocking-after-lease-wait',
    row: '#10.2',
    quick: true,
    title: 'commandTimeoutMs 1000, the only lease held 900 ms, then BLPOP 0.5 s against a frozen server',
    expected: 'settles ≤ 1500 ms after the call (one deadline: wait + write + reply + block time), + 150 ms slack',
    run: async (ctx) => {
      const pool = ctx.pool({ max: 2, min: 0, lanes: 1, commandTimeoutMs: 1_000, acquireTimeoutMs: 5_000 });
      await pool.ready();
      const lease = await pool.acquire();
      const started = performance.now();
      const pending = settle(pool.blpop('chk:empty', 0.5), 6_000, 'blpop');
      await sleep(880);
      ctx.server.pause();
      await sleep(20);
      lease.release();
      const r = await pending;
      const settledMs = performance.now() - started;
      ctx.capture(r.ok ? r.value : r.error);
      ctx.server.resume();
      const v: string[] = [];
      if (settledMs > 1_650) v.push(`settled ${Math.round(settledMs)} ms after the call (> 1500 ms + slack)`);
      if (r.ok) v.push(`resolved ${JSON.stringify(r.value)} although the server was frozen`);
      return { measured: `${describeFailure(r)} after ${Math.round(settledMs)} ms`, violations: v };
    },
  },
  {
    id: 'huge-durations',
    row: '#10.3',
    quick: true,
    title: 'acquireTimeoutMs 2^31 and Infinity, connectTimeoutMs 2^31: refused typed, or honoured without a clamped timer',
    expected: "ERR_INVALID_OPTION naming the option, or a waiter that still waits after 300 ms; never Node's TimeoutOverflowWarning",
    run: async (ctx) => {
      const v: string[] = [];
      const seen: string[] = [];
      const overflow: string[] = [];
      const onWarning = (w: Error): void => {
        if (w.name === 'TimeoutOverflowWarning') overflow.push(w.message);
      };
      process.on('warning', onWarning);
      try {
        for (const [option, value] of [
          ['acquireTimeoutMs', 2 ** 31],
          ['acquireTimeoutMs', Infinity],
          ['connectTimeoutMs', 2 ** 31],
        ] as const) {
          const label = `${option}=${value === Infinity ? 'Infinity' : '2^31'}`;
          let pool: Pool;
          try {
            pool = ctx.pool({ max: 2, min: 1, lanes: 1, [option]: value });
          } catch (err) {
            ctx.capture(err);
            const e = err as Failure & { option?: string };
            if (e.code === 'ERR_INVALID_OPTION') seen.push(`${label}: refused (${e.code})`);
            else {
              seen.push(`${label}: threw ${describeFailure({ ok: false, error: err })}`);
              v.push(`${label}: threw ${describeFailure({ ok: false, error: err })}, not a typed ERR_INVALID_OPTION`);
            }
            continue;
          }
          const ready = await settle(pool.ready(), 3_000, `${label} ready()`);
          if (!ready.ok) {
            ctx.capture(ready.error);
            v.push(`${label}: ready() failed: ${describeFailure(ready)}`);
            seen.push(`${label}: ready() failed`);
            continue;
          }
          // One lease holds the only lease slot; a second acquire must wait, not time out at once.
          const held = await settle(pool.acquire(), 2_000, `${label} first acquire`);
          if (!held.ok) {
            ctx.capture(held.error);
            v.push(`${label}: the first acquire failed: ${describeFailure(held)}`);
            seen.push(`${label}: accepted, but acquire failed (${describeFailure(held)})`);
            continue;
          }
          const waiter = pool.acquire();
          const early = await settle(
            Promise.race([
              waiter.then(
                () => 'granted',
                (e: unknown) => e,
              ),
              sleep(300).then(() => 'waiting'),
            ]),
            1_000,
            `${label} acquire`,
          );
          held.value.release();
          const got = await settle(waiter, 2_000, `${label} waiter`);
          if (got.ok) got.value.release();
          else ctx.capture(got.error);
          if (early.ok && early.value !== 'waiting') {
            v.push(`${label}: a waiter ended after < 300 ms (${describeFailure({ ok: false, error: early.value })})`);
            seen.push(`${label}: accepted, waiter ended at once`);
          } else if (!got.ok) {
            v.push(`${label}: the waiter was not served after the release (${describeFailure(got)})`);
            seen.push(`${label}: accepted, waiter not served`);
          } else seen.push(`${label}: accepted, waiter waited and was served`);
        }
      } finally {
        process.off('warning', onWarning);
      }
      // Warnings are emitted on the next tick.
      await sleep(20);
      if (overflow.length) v.push(`TimeoutOverflowWarning ×${overflow.length}`);
      return { measured: seen.join('; '), violations: v };
    },
  },
  {
    id: 'batch-module-command',
    row: '#10.4',
    quick: true,
    title: 'pipeline and MULTI with JSON.SET on a server without the module (pool and lease)',
    expected: 'an ERR_REPLY (unknown command) for that entry, the other entries run; never a TypeError or ERR_CONNECTION',
    run: async (ctx) => {
      const pool = ctx.pool({ max: 3, min: 1, lanes: 1 });
      await pool.ready();
      const v: string[] = [];
      const seen: string[] = [];
      const lease = await pool.acquire();
      try {
        const batches: Array<[string, () => Promise<unknown>]> = [
          ['pool pipeline', () => pool.pipeline().set('chk:a', '1').call('JSON.SET', 'chk:j', '$', '{}').get('chk:a').exec()],
          ['pool multi', () => pool.multi().set('chk:a', '2').call('JSON.SET', 'chk:j', '$', '{}').exec()],
          ['lease pipeline', () => lease.pipeline().set('chk:a', '3').call('JSON.SET', 'chk:j', '$', '{}').get('chk:a').exec()],
        ];
        for (const [label, run] of batches) {
          const r = await settle(run(), 3_000, label);
          ctx.capture(r.ok ? r.value : r.error);
          if (r.ok) {
            const entries = (r.value ?? []) as Array<[Error | null, unknown]>;
            const json = entries.find(([e]) => e !== null)?.[0] as (Error & Failure) | undefined;
            if (!json) v.push(`${label}: no error entry for JSON.SET`);
            else if (entries.filter(([e]) => e !== null).length !== 1)
              v.push(`${label}: ${entries.filter(([e]) => e !== null).length} error entries, only JSON.SET should fail`);
            else if (json.code !== 'ERR_REPLY' || json instanceof TypeError)
              v.push(`${label}: JSON.SET entry ${json.name} ${json.code ?? ''}`);
            seen.push(`${label}: ${json ? `${json.name} ${json.code ?? ''}` : 'no error'}`);
          } else {
            // An EXECABORT for MULTI is a typed reply error too (Redis refuses the whole transaction).
            const e = r.error as Failure & Error;
            seen.push(`${label}: rejected ${describeFailure(r)}`);
            if (e.code !== 'ERR_REPLY' || e instanceof TypeError)
              v.push(`${label}: rejected with ${describeFailure(r)}: ${e.message ?? ''}`.slice(0, 200));
          }
        }
      } finally {
        lease.release();
      }
      return { measured: seen.join('; '), violations: v };
    },
  },
];
