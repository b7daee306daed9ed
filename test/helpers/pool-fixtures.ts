/**
 * Shared fixtures for unit and property tests of pools on the fake driver: a pool factory with
 * a manual clock and quiet defaults, a scriptable command handler (hang, park, fail per
 * connection or command), a microtask `flush()`, promise trackers and the post-close checks.
 * No sockets, no real timers, no sleeps.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { constantBackoff, createPool, type Lease, type Pool, type PoolOptions } from '../../src/index.js';
import type { Driver } from '../../src/driver/driver.js';
import { FakeConnection, FakeDriver, ManualClock, type FakeHandler } from '../../src/testing/index.js';

/** Lets queued microtasks and immediates run: the fake driver answers within a few turns. */
export async function flush(rounds = 8): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Defaults that keep unit tests deterministic: housekeeping only when the test calls
 * `pool.housekeep()`, no background health pings, no lifetime retirement, fixed backoffs.
 * Tests opt back in to what they exercise.
 */
export const QUIET: Readonly<Partial<PoolOptions>> = Object.freeze({
  housekeepingIntervalMs: 3_600_000,
  healthCheckIntervalMs: 0,
  maxLifetimeMs: 0,
  idleTimeoutMs: 0,
  backoff: constantBackoff(5),
  reconnectBackoff: constantBackoff(100),
});

/** A command waiting for the test to answer it (see {@link Script.park}). */
export interface Parked {
  readonly name: string;
  readonly args: readonly unknown[];
  readonly conn: FakeConnection;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

type Match = string | ((name: string, args: readonly unknown[], conn: FakeConnection) => boolean);

interface Rule {
  match: Match;
  respond: FakeHandler;
  times: number;
}

function matches(m: Match, name: string, args: readonly unknown[], conn: FakeConnection): boolean {
  return typeof m === 'string' ? m === name : m(name, args, conn);
}

/**
 * Wraps `driver.handler` with rules the test adds. Rules are checked newest first; a rule
 * with `times` runs that many times, then falls away. Unmatched commands go to the driver's
 * default handler, extended with `client id` (the FakeConnection id), `echo`, and 'OK' for the
 * connection-state commands a lease may send.
 */
export class Script {
  readonly calls: Array<{ name: string; args: readonly unknown[]; conn: FakeConnection }> = [];
  readonly parked: Parked[] = [];
  readonly #rules: Rule[] = [];
  readonly #frozen = new Set<FakeConnection>();

  constructor(driver: FakeDriver) {
    const base = driver.handler;
    driver.handler = (name, args, conn) => {
      this.calls.push({ name, args, conn });
      if (this.#frozen.has(conn)) return new Promise(() => undefined);
      for (let i = this.#rules.length - 1; i >= 0; i--) {
        const rule = this.#rules[i]!;
        if (!matches(rule.match, name, args, conn)) continue;
        if (--rule.times <= 0) this.#rules.splice(i, 1);
        return rule.respond(name, args, conn);
      }
      switch (name) {
        case 'client':
          if (String(args[0]).toLowerCase() === 'id') return conn.id;
          return 'OK';
        case 'echo':
          return args[0];
        case 'config': {
          // ready() asks for maxclients and timeout; answer like a default server.
          const key = String(args[1]).toLowerCase();
          return [key, key === 'maxclients' ? '10000' : key === 'timeout' ? '0' : ''];
        }
        case 'subscribe':
        case 'psubscribe':
        case 'monitor':
        case 'exec':
        case 'hello':
        case 'auth':
        case 'reset':
        case 'readonly':
          return 'OK';
        default:
          return base(name, args, conn);
      }
    };
  }

  /** Matching commands are answered by `respond` (return a value, a promise, or throw). */
  on(match: Match, respond: FakeHandler, times = Infinity): void {
    this.#rules.push({ match, respond, times });
  }

  /** Matching commands never answer (until their connection is killed). */
  hang(match: Match, times = Infinity): void {
    this.on(match, () => new Promise(() => undefined), times);
  }

  /** Matching commands wait in {@link parked} until the test resolves or rejects them. */
  park(match: Match, times = Infinity): void {
    this.on(match, (name, args, conn) => new Promise((resolve, reject) => this.parked.push({ name, args, conn, resolve, reject })), times);
  }

  /** Every command on `conn` hangs from now on (a frozen server as seen by one socket). */
  freeze(conn: FakeConnection): void {
    this.#frozen.add(conn);
  }

  /** Commands named `name` received so far (all connections). */
  count(name: string): number {
    return this.calls.filter((c) => c.name === name).length;
  }
}

/** Everything a fake-driver pool test needs. */
export interface FakePool {
  readonly pool: Pool;
  readonly driver: FakeDriver;
  readonly clock: ManualClock;
  readonly script: Script;
}

/**
 * A pool on a {@link FakeDriver} and a {@link ManualClock} with {@link QUIET} defaults. When `t`
 * is given, the pool is destroyed after the test (hanging connects released first).
 * `fixture.sendPath: false` makes the driver offer `command()` only (no `send` fast path).
 */
export function fakePool(t: TestContext | undefined, options: Partial<PoolOptions> = {}, fixture: { sendPath?: boolean } = {}): FakePool {
  const driver = new FakeDriver();
  if (fixture.sendPath !== undefined) driver.sendPath = fixture.sendPath;
  const clock = new ManualClock();
  const script = new Script(driver);
  const pool = createPool({ ...QUIET, ...options, cluster: undefined, driver, clock });
  const fp = { pool, driver, clock, script };
  t?.after(() => shutdown(fp));
  return fp;
}

/** Destroys the pool, releasing hanging connects so that destroy() can finish. */
export async function shutdown(fp: FakePool): Promise<void> {
  fp.driver.behaviour = 'ok';
  const done = fp.pool.destroy();
  for (let i = 0; i < 20 && fp.driver.hanging.length > 0; i++) {
    for (const h of fp.driver.hanging.splice(0)) h.fail(new Error('test finished'));
    await flush(2);
  }
  await done;
}

/**
 * A driver object that holds no reference to its connections, so `util.inspect(pool.options)`
 * shows nothing but the function (the fake driver keeps every ConnectSpec, password included).
 */
export function opaqueDriver(driver: FakeDriver): Driver {
  return { name: 'opaque', connect: (spec) => driver.connect(spec) };
}

/** Observes a promise without letting a rejection go unhandled. */
export interface Tracked<T> {
  readonly promise: Promise<T>;
  settled: boolean;
  value: T | undefined;
  error: unknown;
}

export function track<T>(promise: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { promise, settled: false, value: undefined, error: undefined };
  promise.then(
    (v) => {
      t.settled = true;
      t.value = v;
    },
    (e: unknown) => {
      t.settled = true;
      t.error = e;
    },
  );
  return t;
}

/** Asserts `err` is a redpool error with `code` (and, when given, the class name). */
export function assertCode(err: unknown, code: string, name?: string): void {
  assert.ok(err instanceof Error, `expected an Error, got ${String(err)}`);
  assert.equal((err as { code?: string }).code, code, `expected ${code}, got ${(err as { code?: string }).code}: ${err.message}`);
  if (name) assert.equal(err.name, name);
}

/** `assert.rejects` on a redpool error code; returns the error for further checks. */
export async function rejectsWith(p: Promise<unknown>, code: string, name?: string): Promise<Error & Record<string, unknown>> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => {
    caught = err;
    assertCode(err, code, name);
    return true;
  });
  return caught as Error & Record<string, unknown>;
}

/** The FakeConnection behind a lease (asks it with `CLIENT ID`, which the {@link Script} answers). */
export async function connOf(fp: FakePool, lease: Lease): Promise<FakeConnection> {
  const id = (await lease.client('ID')) as unknown as number;
  const conn = fp.driver.all.find((c) => c.id === id);
  assert.ok(conn, `no FakeConnection with id ${id}`);
  return conn;
}

/** The FakeConnection that received the most recent command named `name`. */
export function lastConn(fp: FakePool, name: string): FakeConnection {
  for (let i = fp.script.calls.length - 1; i >= 0; i--) {
    const c = fp.script.calls[i]!;
    if (c.name === name) return c.conn;
  }
  throw new Error(`no ${name} command was sent`);
}

/** After close()/destroy() resolved: nothing busy, pending, connecting or open; no timers. */
export function assertFullyClosed(fp: FakePool): void {
  const s = fp.pool.stats();
  assert.equal(s.state, 'closed', 'pool state');
  assert.deepEqual(
    { total: s.total, busy: s.busy, pending: s.pending, connecting: s.connecting, leased: s.leased, idle: s.idle, lanes: s.lanes },
    { total: 0, busy: 0, pending: 0, connecting: 0, leased: 0, idle: 0, lanes: 0 },
  );
  assert.equal(fp.driver.open.size, 0, 'driver sockets still open');
  assert.equal(fp.clock.pendingTimers, 0, 'timers left on the clock');
}
