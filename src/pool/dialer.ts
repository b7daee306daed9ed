/**
 * Opens connections and keeps the pool's health: one state value (healthy → degraded →
 * unavailable and back) moved through a transition table, driven by connect outcomes.
 * After a failure the next dial waits for the reconnect backoff; after `failureThreshold`
 * consecutive failures the pool is unavailable: callers fail fast and only one background
 * probe dials (no connection storm) until one succeeds.
 *
 * Login and TLS failures back off harder ({@link credentialBackoff}). With a credentials
 * provider, a refused login is followed by cheap local checks at the ordinary cadence: the
 * provider is asked again, and only credentials that differ from the refused ones dial before
 * the hard backoff ends, so a rotated password is picked up in under a second without
 * retrying a wrong one against the server several times a second.
 */
import { createHash } from 'node:crypto';
import type { Driver, DriverConnection, ConnectSpec } from '../driver/driver.js';
import { AuthError, ConnectionError, ConnectTimeoutError, PoolClosedError, RedpoolError, TlsError } from '../errors.js';
import type { Credentials, ResolvedOptions } from '../options.js';
import { CREDENTIAL_MIN_ATTEMPT, credentialBackoff, safeDelay, type BackoffStrategy } from '../resilience/backoff.js';
import { debug } from '../internal/debug.js';
import type { Endpoint, EngineTopology } from './endpoint-source.js';
import type { Counters, HealthStatus } from './stats.js';

/** Allowed health moves. */
export const HEALTH_TRANSITIONS: { readonly [S in HealthStatus]: readonly HealthStatus[] } = {
  healthy: ['degraded', 'unavailable'],
  degraded: ['healthy', 'unavailable'],
  unavailable: ['degraded', 'healthy'],
};

/** Identifies a username/password pair without keeping another copy of the password. */
function credentialKey(username: string | undefined, password: string | undefined): string {
  return createHash('sha256')
    .update(JSON.stringify([username ?? null, password ?? null]))
    .digest('base64');
}

export interface DialerHooks {
  onHealth(from: HealthStatus, to: HealthStatus, cause: Error | undefined): void;
  /** Where to dial, the role check, hints (Sentinel); absent: `host`/`port` of the options. */
  readonly topology?: EngineTopology | undefined;
}

/** A new connection and the topology generation it was dialled for (0 for a single node). */
export interface Dialed {
  readonly conn: DriverConnection;
  readonly generation: number;
}

export class Dialer {
  readonly #o: ResolvedOptions;
  readonly #driver: Driver;
  readonly #counters: Counters;
  readonly #backoff: BackoffStrategy;
  /** Login/TLS failures: a custom `reconnectBackoff` as given, else {@link credentialBackoff}. */
  readonly #hardBackoff: BackoffStrategy;
  readonly #hooks: DialerHooks;
  readonly #topology: EngineTopology | undefined;
  /** After a refused login: credentials the server refused, not retried before `until`. */
  #refused: { key: string; until: number } | undefined;
  #health: HealthStatus = 'healthy';
  #failures = 0;
  #nextDialAt = 0;
  #dialing = 0;
  #seq = 0;
  /** Last connect error, redacted by construction (our errors never carry secrets). */
  lastError: RedpoolError | undefined;

  constructor(o: ResolvedOptions, driver: Driver, counters: Counters, backoff: BackoffStrategy, hooks: DialerHooks) {
    this.#o = o;
    this.#topology = hooks.topology;
    this.#driver = driver;
    this.#counters = counters;
    this.#backoff = backoff;
    this.#hardBackoff = o.reconnectBackoff ?? credentialBackoff();
    this.#hooks = hooks;
  }

  get health(): HealthStatus {
    return this.#health;
  }

  get consecutiveFailures(): number {
    return this.#failures;
  }

  /** Earliest time (pool clock) the next ordinary dial may start. */
  get nextDialAt(): number {
    return this.#nextDialAt;
  }

  /** Whether an ordinary dial may start now. While unavailable only the probe dials. */
  mayDial(now: number): boolean {
    return this.#health !== 'unavailable' && now >= this.#nextDialAt;
  }

  /** Dials in progress (credentials provider included). */
  get dialing(): number {
    return this.#dialing;
  }

  /**
   * Whether the background probe may dial now: unavailable, its backoff has passed, and no
   * dial is in flight (one probe at a time, even when connects hang until their timeout).
   */
  mayProbe(now: number): boolean {
    return this.#health === 'unavailable' && this.#dialing === 0 && now >= this.#nextDialAt;
  }

  /**
   * The topology moved to another node: the backoff earned against the old one says nothing
   * about the new one, so the next dial may start now (the failure count stays, so health and
   * the unavailable probe still decide as before).
   */
  retargeted(): void {
    this.#nextDialAt = 0;
    this.#refused = undefined;
  }

  setHealth(next: HealthStatus, cause?: Error): void {
    const prev = this.#health;
    if (prev === next) return;
    if (!HEALTH_TRANSITIONS[prev].includes(next)) throw new Error(`redpool invariant: health ${prev} -> ${next}`);
    this.#health = next;
    debug('health: %s -> %s', prev, next);
    this.#hooks.onHealth(prev, next, cause);
  }

  /**
   * Calls the credentials provider under the connect deadline: a provider that never settles
   * must not pin a connection slot (or keep close() waiting) forever.
   */
  #credentials(signal: AbortSignal | undefined): Promise<Credentials> {
    const o = this.#o;
    return new Promise<Credentials>((resolve, reject) => {
      const timer = o.clock.setTimeout(() => {
        reject(new ConnectTimeoutError(`${o.endpoint} (credentials provider)`, o.connectTimeoutMs));
      }, o.connectTimeoutMs);
      const onAbort = (): void => reject(new PoolClosedError('pool closed while connecting'));
      signal?.addEventListener('abort', onAbort, { once: true });
      Promise.resolve()
        .then(() => o.credentials!())
        .then((c) => {
          if (typeof c !== 'object' || c === null) throw new TypeError('credentials provider must return { username?, password? }');
          resolve(c);
        })
        .catch((err: unknown) =>
          reject(err instanceof RedpoolError ? err : new ConnectionError('credentials provider failed', 'not-sent', { cause: err })),
        )
        .finally(() => {
          o.clock.clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        });
    });
  }

  /** `p` under the connect deadline (discovery of the endpoint, the role check). */
  #timed<T>(p: Promise<T>, what: string): Promise<T> {
    const o = this.#o;
    return new Promise<T>((resolve, reject) => {
      const timer = o.clock.setTimeout(() => reject(new ConnectTimeoutError(what, o.connectTimeoutMs)), o.connectTimeoutMs);
      p.then(resolve, reject).finally(() => o.clock.clearTimeout(timer));
    });
  }

  /** Opens one connection. Settles exactly once; updates health and counters. */
  async dial(now: () => number, signal?: AbortSignal): Promise<Dialed> {
    this.#dialing++;
    try {
      return await this.#dial(now, signal);
    } finally {
      this.#dialing--;
    }
  }

  async #dial(now: () => number, signal: AbortSignal | undefined): Promise<Dialed> {
    const o = this.#o;
    const started = now();
    let username = o.username;
    let password = o.password;
    let held = false;
    let verifying = false;
    const topology = this.#topology;
    let ep: Endpoint | undefined;
    try {
      if (topology) {
        const current = topology.endpoint.current();
        ep = current instanceof Promise ? await this.#timed(current, `${o.endpoint} (primary discovery)`) : current;
      }
      if (o.credentials) {
        const c = await this.#credentials(signal);
        if (c.username !== undefined) username = c.username;
        if (c.password !== undefined) password = c.password;
        const refused = this.#refused;
        if (refused && now() < refused.until && refused.key === credentialKey(username, password) && this.lastError) {
          // The provider still returns what the server just refused: no new login yet. Not a
          // connect attempt, so neither a failure nor an error count.
          held = true;
          this.#nextDialAt = now() + safeDelay(this.#backoff, Math.max(this.#failures, CREDENTIAL_MIN_ATTEMPT), 1_000);
          throw this.lastError;
        }
      }
      const label = ep?.label ?? o.endpoint;
      const spec: ConnectSpec = {
        host: ep?.host ?? o.host,
        port: ep?.port ?? o.port,
        path: o.path,
        username,
        password,
        db: o.db,
        tls: o.tls && ep?.servername !== undefined ? { ...o.tls, servername: ep.servername } : o.tls,
        connectTimeoutMs: o.connectTimeoutMs,
        keepAliveMs: o.keepAliveMs,
        connectionName: `redpool:${o.name}:${++this.#seq}`,
        autoPipelining: o.autoPipelining,
        endpoint: label,
        signal,
      };
      const conn = await this.#driver.connect(spec);
      if (signal?.aborted) {
        // The pool closed while this connection was being made (a driver that ignores the signal).
        conn.destroy();
        throw new PoolClosedError('pool closed while connecting');
      }
      if (topology?.verify && ep) {
        verifying = true;
        try {
          await this.#timed(topology.verify(conn, ep), `${label} (role check)`);
        } catch (err) {
          conn.destroy();
          throw err;
        }
        verifying = false;
        if (signal?.aborted) {
          conn.destroy();
          throw new PoolClosedError('pool closed while connecting');
        }
      }
      this.#counters.created++;
      this.#counters.connectMsTotal += now() - started;
      this.#failures = 0;
      this.#nextDialAt = 0;
      this.#refused = undefined;
      this.lastError = undefined;
      return { conn, generation: ep?.generation ?? 0 };
    } catch (err) {
      // An aborted dial is the pool's own doing (close/destroy), not a failure of Redis.
      if (signal?.aborted) throw err instanceof RedpoolError ? err : new PoolClosedError('pool closed while connecting');
      if (held) throw err;
      const e =
        err instanceof RedpoolError ? err : new ConnectionError(`connect to ${ep?.label ?? o.endpoint} failed`, 'not-sent', { cause: err });
      // The topology hears why (a replica where the primary should be, or a dead node) and may rediscover.
      if (ep) topology?.hint?.(verifying ? 'role' : 'connect', ep.generation);
      this.#failures++;
      this.lastError = e;
      this.#counters.error(
        e instanceof AuthError ? 'auth' : e instanceof TlsError ? 'tls' : e.code === 'ERR_CONNECT_TIMEOUT' ? 'timeout' : 'connect',
      );
      const at = now();
      if (e instanceof AuthError || e instanceof TlsError) {
        // These will not fix themselves in milliseconds: back off as if five more had failed.
        const attempt = this.#failures + CREDENTIAL_MIN_ATTEMPT - 1;
        const cadence = safeDelay(this.#backoff, Math.max(this.#failures, CREDENTIAL_MIN_ATTEMPT), 1_000);
        const hold = Math.max(cadence, safeDelay(this.#hardBackoff, attempt, 1_000));
        if (e instanceof AuthError && o.credentials) {
          // The provider may have new credentials sooner: check it at the ordinary cadence.
          this.#refused = { key: credentialKey(username, password), until: at + hold };
          this.#nextDialAt = at + cadence;
        } else this.#nextDialAt = at + hold;
      } else this.#nextDialAt = at + safeDelay(this.#backoff, this.#failures, 1_000);
      const next: HealthStatus = this.#failures >= o.failureThreshold ? 'unavailable' : 'degraded';
      if (this.#health !== 'unavailable' || next === 'unavailable') this.setHealth(next, e);
      throw e;
    }
  }
}
