/**
 * A pool's Sentinel topology: the {@link EngineTopology} the engine reads at every dial. It
 * finds the primary with {@link SentinelDiscovery} (lazily, at the first dial: `createPool`
 * opens nothing), checks `ROLE` on every new data connection, and moves the pool when the
 * primary moves: a `+switch-master` or a periodic check from {@link SentinelWatcher}, or a hint
 * from a data connection (`READONLY`, `MASTERDOWN`, a failed role check, a failed connect) that
 * triggers a rediscovery (single flight, at most one per {@link REDISCOVER_MIN_MS}). A move
 * bumps the generation and calls `retarget`, which fences every older connection.
 *
 * Sentinel connections are outside the data budget but bounded: one command connection at a
 * time (discovery is single-flight) plus one subscriber per watched sentinel (≤ 3).
 */
import type { DriverConnection } from '../../driver/driver.js';
import { ConnectionError, RedpoolError } from '../../errors.js';
import type { Clock, TimerHandle } from '../../internal/clock.js';
import type { ResolvedSentinel } from '../../options/types.js';
import type { Endpoint, EngineTopology, TopologyHint } from '../../pool/endpoint-source.js';
import type { PrimaryChangedEvent } from '../../pool/events.js';
import type { SentinelStats } from '../../pool/stats.js';
import type { NodeAddress } from '../cluster/nat-map.js';
import { parseRole, SentinelDiscovery, type ReplicaInfo } from './discovery.js';
import { ioredisSentinelConnector, type SentinelConnector } from './link.js';
import { SentinelWatcher, type PrimaryChange } from './watcher.js';

/** Shortest gap between two rediscoveries triggered by hints, ms (a dead primary fails every dial). */
export const REDISCOVER_MIN_MS = 200;

/**
 * After a promotion notice (`fenceOnPromotion`), how long discovery answers are ignored, ms:
 * the sentinels still name the old primary until `+switch-master`, and following them would
 * move the pool back to it. A failover that aborts is followed after this long.
 */
export const PROMOTION_GUARD_MS = 10_000;

/** What the topology tells its pool. */
export interface SentinelTopologyHooks {
  /** Fence connections older than `generation` (the engine's `retarget`). */
  retarget(generation: number): void;
  /** The pool moved (an event, logged once per move). */
  changed(event: PrimaryChangedEvent): void;
  /** Something worth a `warning` event (a subscription or discovery failed). */
  warning(message: string): void;
  /** Every discovery's `SENTINEL REPLICAS` listing (read routing: `replica-set.ts`). */
  replicas?(list: ReplicaInfo[]): void;
}

/** Options of {@link SentinelTopology}. */
export interface SentinelTopologyOptions {
  readonly sentinel: ResolvedSentinel;
  readonly clock: Clock;
  /** Pool name: sentinel connections are named `redpool:<name>:sentinel-…`. */
  readonly pool: string;
  /** Connect deadline of a sentinel connection, ms (each command has the same deadline). */
  readonly connectTimeoutMs: number;
  /** Credential-free label of a data node, for errors and logs. */
  label(host: string, port: number): string;
  /** Replaces the ioredis connector (tests). */
  readonly connector?: SentinelConnector;
}

const addr = (a: NodeAddress): string => `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;

/** See the module comment. */
export class SentinelTopology implements EngineTopology {
  readonly endpoint = { current: (): Endpoint | Promise<Endpoint> => this.#current ?? this.#start() };
  readonly #o: SentinelTopologyOptions;
  readonly #hooks: SentinelTopologyHooks;
  readonly #connector: SentinelConnector;
  readonly #discovery: SentinelDiscovery;
  #watcher: SentinelWatcher | undefined;
  #current: Endpoint | undefined;
  #starting: Promise<Endpoint> | undefined;
  #rediscovering = false;
  #lastRediscoveryAt = -Infinity;
  #trailing: TimerHandle | undefined;
  #pendingVia: PrimaryChangedEvent['via'] | undefined;
  #changes = 0;
  #lastChangeAt: number | null = null;
  /** Until then (pool clock) a promotion is under way: discovery answers are not followed. */
  #promotingUntil = -Infinity;
  #closed = false;
  /** A refresh was asked for while a discovery ran. */
  #again = false;

  constructor(options: SentinelTopologyOptions, hooks: SentinelTopologyHooks) {
    this.#o = options;
    this.#hooks = hooks;
    const s = options.sentinel;
    const timeout = Math.min(options.connectTimeoutMs, 2_000);
    this.#connector =
      options.connector ??
      ioredisSentinelConnector({
        username: s.username,
        password: s.password,
        tls: s.tls,
        connectTimeoutMs: timeout,
        commandTimeoutMs: timeout,
        connectionName: `redpool:${options.pool}:sentinel`,
      });
    this.#discovery = new SentinelDiscovery({
      name: s.name,
      sentinels: s.sentinels,
      connector: this.#connector,
      // One more command on the discovery connection: the replicas, for read routing.
      replicas: hooks.replicas !== undefined,
      onDiscovered: (found) => {
        if (found.replicas && !this.#closed) hooks.replicas?.(found.replicas);
      },
    });
  }

  /** Extra fields of {@link SentinelTopology.stats} (the read routing's `readFrom` and `replicas`). */
  extraStats: (() => Partial<SentinelStats>) | undefined;

  /**
   * Re-reads primary and replicas from the sentinels soon (rate-limited as hints are, single
   * flight); before the first discovery, starts it.
   */
  refresh(): void {
    if (this.#closed) return;
    if (!this.#current) {
      this.#start().catch(() => undefined); // its failure is the next dial's to report
      return;
    }
    this.#soon('poll');
  }

  /** The current primary, or undefined before the first discovery. */
  get primary(): Endpoint | undefined {
    return this.#current;
  }

  /** First discovery (shared by every dial waiting for it); then the watcher starts. */
  #start(): Promise<Endpoint> {
    this.#starting ??= this.#discovery.discover().then(
      ({ primary }) => {
        this.#starting = undefined;
        if (!this.#current) this.#current = this.#endpoint(primary, 1);
        this.#watch();
        return this.#current;
      },
      (err: unknown) => {
        this.#starting = undefined; // the next dial asks again
        throw err;
      },
    );
    return this.#starting;
  }

  #endpoint(a: NodeAddress, generation: number): Endpoint {
    return { host: a.host, port: a.port, generation, label: this.#o.label(a.host, a.port) };
  }

  #watch(): void {
    if (this.#closed || this.#watcher) return;
    const w = new SentinelWatcher({
      discovery: this.#discovery,
      connector: this.#connector,
      clock: this.#o.clock,
      pollMs: this.#o.sentinel.pollMs,
      replicaEvents: this.#hooks.replicas !== undefined,
    });
    this.#watcher = w;
    w.on('primary-changed', (c: PrimaryChange) => {
      if (c.via === 'switch-master') {
        this.#promotingUntil = -Infinity; // the move is announced: discovery agrees from now on
        this.#moveTo(c.to, c.via);
      } else if (!this.#promoting()) this.#moveTo(c.to, c.via === 'start' ? 'poll' : c.via);
    });
    w.on('promoting', (p) => {
      if (!this.#o.sentinel.fenceOnPromotion || !this.#current || addr(p.from) !== addr(this.#current)) return;
      // Fence the old primary now, not at +switch-master (about a second later): every write it
      // acknowledges from here on would be lost when it is demoted. New connections wait for
      // the promoted replica's ROLE to say master.
      this.#promotingUntil = this.#o.clock.now() + PROMOTION_GUARD_MS;
      this.#moveTo(p.to, 'promotion');
    });
    w.on('replicas-changed', () => this.refresh());
    w.on('warning', (err) => this.#hooks.warning(`sentinel: ${err.message}`));
    w.start().catch((err: unknown) => {
      // Its first discovery failed (sentinels unreachable right now): a later hint or dial starts a new one.
      if (this.#watcher === w) this.#watcher = undefined;
      w.close();
      this.#hooks.warning(`sentinel: watcher start failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  /** ROLE on a new data connection: only a master may serve. */
  async verify(conn: DriverConnection, ep: Endpoint): Promise<void> {
    let role: string;
    try {
      role = parseRole(await conn.command('role', [], false)).role;
    } catch (err) {
      if (err instanceof RedpoolError) throw err;
      throw new ConnectionError(`${ep.label ?? addr(ep)}: unexpected ROLE reply`, 'not-sent', { cause: err });
    }
    if (role !== 'master')
      throw new ConnectionError(`${ep.label ?? addr(ep)} is a ${role}, not the primary of "${this.#o.sentinel.name}" (ROLE)`, 'not-sent');
  }

  /** A data connection saw a sign the primary moved: rediscover (rate-limited, single flight). */
  hint(reason: TopologyHint, generation: number): void {
    if (this.#closed || !this.#current || generation < this.#current.generation) return; // already moved on
    this.#soon(reason);
  }

  #soon(reason: PrimaryChangedEvent['via']): void {
    if (this.#rediscovering) {
      // The discovery in flight answers a primary hint; a replica change may be newer than it.
      if (reason === 'poll') this.#again = true;
      return;
    }
    this.#pendingVia ??= reason;
    if (this.#trailing !== undefined) return;
    const wait = this.#lastRediscoveryAt + REDISCOVER_MIN_MS - this.#o.clock.now();
    if (wait > 0) {
      this.#trailing = this.#o.clock.setTimeout(
        () => {
          this.#trailing = undefined;
          this.#rediscover();
        },
        wait,
        true,
      );
    } else this.#rediscover();
  }

  #rediscover(): void {
    if (this.#closed) return;
    const via = this.#pendingVia ?? 'connect';
    this.#pendingVia = undefined;
    this.#rediscovering = true;
    this.#lastRediscoveryAt = this.#o.clock.now();
    this.#discovery.discover().then(
      ({ primary }) => {
        this.#rediscovering = false;
        if (!this.#promoting()) this.#moveTo(primary, via);
        if (!this.#watcher) this.#watch();
        this.#followUp();
      },
      (err: unknown) => {
        this.#rediscovering = false;
        this.#followUp();
        this.#hooks.warning(`sentinel: rediscovery (${via}) failed: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }

  /** A replica event arrived during the discovery: one more, rate-limited. */
  #followUp(): void {
    if (!this.#again) return;
    this.#again = false;
    this.#soon('poll');
  }

  #promoting(): boolean {
    return this.#o.clock.now() < this.#promotingUntil;
  }

  #moveTo(to: NodeAddress, via: PrimaryChangedEvent['via']): void {
    const cur = this.#current;
    if (this.#closed || !cur || addr(cur) === addr(to)) return;
    const next = this.#endpoint(to, cur.generation + 1);
    this.#current = next;
    this.#changes++;
    this.#lastChangeAt = Date.now();
    this.#hooks.retarget(next.generation);
    this.#hooks.changed({ from: addr(cur), to: addr(to), generation: next.generation, via });
  }

  /** See {@link SentinelStats}. */
  stats(): SentinelStats {
    const w = this.#watcher?.stats();
    const c = this.#connector.stats();
    return {
      name: this.#o.sentinel.name,
      primary: this.#current ? addr(this.#current) : undefined,
      generation: this.#current?.generation ?? 0,
      changes: this.#changes,
      sentinels: this.#discovery.sentinels().length,
      discoveries: this.#discovery.discoveries,
      subscriptions: w?.subscriptions ?? 0,
      subscribed: w?.subscribed ?? 0,
      reconnects: w?.reconnects ?? 0,
      switchMessages: w?.switchMessages ?? 0,
      connectionsOpen: c.open,
      connectionsOpened: c.opened,
      lastChangeAt: this.#lastChangeAt,
      ...this.extraStats?.(),
    };
  }

  /** Stops the watcher and timers; sentinel connections close. Idempotent. */
  close(): void {
    this.#closed = true;
    if (this.#trailing !== undefined) this.#o.clock.clearTimeout(this.#trailing);
    this.#trailing = undefined;
    this.#watcher?.close();
  }
}

/** `redis://[***@]host:port[/db]` (`rediss://` with TLS): a data node's label, credentials masked. */
export function dataNodeLabel(
  o: { readonly tls: unknown; readonly username: string | undefined; readonly password: string | undefined; readonly db: number },
  host: string,
  port: number,
): string {
  const cred = o.username !== undefined || o.password !== undefined ? '***@' : '';
  return `${o.tls ? 'rediss' : 'redis'}://${cred}${host.includes(':') ? `[${host}]` : host}:${port}${o.db ? `/${o.db}` : ''}`;
}
