/**
 * Hang guards and typed-error assertions for fault tests. Every operation a fault test awaits
 * goes through {@link settle} (or a helper built on it), so a hang fails the test at
 * "deadline + slack" with a clear message instead of stalling the whole suite.
 */
import assert from 'node:assert/strict';

/** Extra time allowed past a deadline before an operation counts as hung, in ms. */
export const DEFAULT_SLACK_MS = 250;

/** How an awaited operation ended. `elapsedMs` is wall time from the call to settlement. */
export type Settled<T> = { ok: true; value: T; elapsedMs: number } | { ok: false; error: unknown; elapsedMs: number };

/**
 * Awaits `p`, but fails (throws) if it has not settled within `limitMs`: the hang guard of
 * research/reliability.md §4.1. Never rejects with `p`'s own error: that is returned.
 */
export async function settle<T>(p: Promise<T>, limitMs: number, what = 'operation'): Promise<Settled<T>> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), limitMs);
  });
  try {
    const r = await Promise.race([
      p.then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
      guard,
    ]);
    if (r === 'hung') throw new assert.AssertionError({ message: `${what} did not settle within ${limitMs} ms (hang)` });
    return { ...r, elapsedMs: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** What a typed failure must look like. */
export interface ExpectedError {
  /** Stable `code`, e.g. `ERR_COMMAND_TIMEOUT`. */
  code: string | readonly string[];
  /** `outcome` property, when it matters. */
  outcome?: string | readonly string[];
  /** For `ERR_REPLY`: the reply prefix (`OOM`, `LOADING`, …). */
  prefix?: string;
  /** Message must match. */
  message?: RegExp;
  /** Class name (`err.name`). */
  name?: string;
}

function oneOf(v: unknown, allowed: string | readonly string[]): boolean {
  return typeof allowed === 'string' ? v === allowed : allowed.includes(v as string);
}

/** Asserts `err` is a redpool error matching `exp`; returns it typed for further checks. */
export function assertTyped(err: unknown, exp: ExpectedError): Error & { code: string; outcome?: string; prefix?: string } {
  const e = err as Error & { code?: string; outcome?: string; prefix?: string };
  assert.ok(e instanceof Error, `expected an Error, got ${String(err)}`);
  const desc = `${e.name} ${e.code ?? '?'} outcome=${e.outcome ?? '-'}: ${e.message}`;
  assert.ok(oneOf(e.code, exp.code), `expected code ${String(exp.code)}, got ${desc}`);
  if (exp.outcome !== undefined) assert.ok(oneOf(e.outcome, exp.outcome), `expected outcome ${String(exp.outcome)}, got ${desc}`);
  if (exp.prefix !== undefined) assert.equal(e.prefix, exp.prefix, `expected reply prefix ${exp.prefix}, got ${desc}`);
  if (exp.message) assert.match(e.message, exp.message, `message of ${desc}`);
  if (exp.name) assert.equal(e.name, exp.name, `class of ${desc}`);
  return e as Error & { code: string; outcome?: string; prefix?: string };
}

/**
 * Awaits `p` under a hang guard of `limitMs` and asserts it rejects with a typed error
 * matching `exp`. Returns the error and how long it took.
 */
export async function expectTyped(
  p: Promise<unknown>,
  exp: ExpectedError,
  limitMs: number,
  what?: string,
): Promise<{ error: Error & { code: string; outcome?: string }; elapsedMs: number }> {
  const r = await settle(p, limitMs, what);
  if (r.ok) assert.fail(`${what ?? 'operation'} resolved (${JSON.stringify(r.value)}) but a ${String(exp.code)} error was expected`);
  return { error: assertTyped(r.error, exp), elapsedMs: r.elapsedMs };
}

/** Awaits `p` under a hang guard and asserts it resolves; returns the value. */
export async function expectOk<T>(p: Promise<T>, limitMs: number, what = 'operation'): Promise<T> {
  const r = await settle(p, limitMs, what);
  if (!r.ok) {
    const e = r.error as Error & { code?: string };
    assert.fail(`${what} failed: ${e?.name} ${e?.code ?? ''}: ${e?.message ?? String(e)}`);
  }
  return r.value;
}

/**
 * Polls `fn` until it resolves without throwing (the pool recovered by itself), with a hang
 * guard per attempt. Returns the value and the time from the call to the first success.
 */
export async function eventually<T>(
  fn: () => Promise<T>,
  opts: { timeoutMs: number; intervalMs?: number; attemptMs?: number; what?: string },
): Promise<{ value: T; elapsedMs: number }> {
  const started = performance.now();
  const deadline = started + opts.timeoutMs;
  let last: unknown;
  for (;;) {
    const r = await settle(fn(), opts.attemptMs ?? opts.timeoutMs, opts.what);
    if (r.ok) return { value: r.value, elapsedMs: performance.now() - started };
    last = r.error;
    if (performance.now() >= deadline) {
      const e = last as Error & { code?: string };
      assert.fail(
        `${opts.what ?? 'operation'} did not recover within ${opts.timeoutMs} ms; last error: ${e?.code ?? ''} ${e?.message ?? String(e)}`,
      );
    }
    await sleep(opts.intervalMs ?? 20);
  }
}

/** Real-time sleep (fault tests run against real servers; unit tests never sleep). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
