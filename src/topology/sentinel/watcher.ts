/**
 * Follows the primary of a Sentinel set without relying on the old primary closing sockets
 * (redis/ioredis#1314): subscribes to `+switch-master` (and `+failover-state-wait-promotion`, the
 * earliest sign of a move) on up to `maxSubscriptions` sentinels
 * (each with its own reconnect on a {@link BackoffStrategy}, timed by the injected clock, one
 * connection per sentinel at most), re-checks with a discovery every `pollMs`, and after each
 * resubscription (a switch may have been missed while disconnected). Emits `primary-changed`
 * once per move, whichever sentinel reports it first. Standalone: the pool wiring is described
 * in docs/scale-out.md.
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../../internal/clock.js';
import { equalJitterBackoff, safeDelay, type BackoffStrategy } from '../../resilience/backoff.js';
import type { NodeAddress } from '../cluster/nat-map.js';
import type { SentinelDiscovery } from './discovery.js';
import type { SentinelConnection, SentinelConnector } from './link.js';

/** Payload of the `primary-changed` event. */
export interface PrimaryChange {
  /** Previous primary (`undefined` for the first discovery). */
  from: NodeAddress | undefined;
  to: NodeAddress;
  /** What noticed it. */
  via: 'switch-master' | 'poll' | 'start';
}

/** Payload of the `promoting` event: a sentinel has just sent `REPLICAOF NO ONE` to `to`. */
export interface Promotion {
  from: NodeAddress;
  to: NodeAddress;
}

/** Events of {@link SentinelWatcher}. */
export interface SentinelWatcherEvents {
  'primary-changed': [PrimaryChange];
  /**
   * `+failover-state-wait-promotion` (published by the failover leader the moment it sent
   * `REPLICAOF NO ONE`): the move has begun, seconds before `+switch-master`.
   */
  promoting: [Promotion];
  /** A sentinel subscription or a poll failed; informational, the watcher keeps going. */
  warning: [Error];
  /**
   * With `replicaEvents`: a sentinel announced a change of a replica of this master (the
   * channel: `+sdown`, `-sdown`, `+slave`, `+role-change`, `+convert-to-slave`, …).
   */
  'replicas-changed': [string];
}

/**
 * Sentinel channels that announce a replica going down, coming back, appearing or changing
 * role (`+convert-to-slave`: an old primary turned into a replica; `+slave-reconf-done`: a
 * replica now follows the new primary).
 */
export const REPLICA_CHANNELS: readonly string[] = [
  '+sdown',
  '-sdown',
  '+slave',
  '+role-change',
  '+convert-to-slave',
  '+slave-reconf-done',
];

/**
 * The master name an instance event is about: `slave <ip:port> <ip> <port> @ <name> …` (a
 * replica's) or `master <name> <ip> <port>`; undefined for anything else.
 */
export function eventMasterName(message: string): string | undefined {
  const p = message.trim().split(' ');
  if (p[0] === 'slave' && p[4] === '@') return p[5];
  if (p[0] === 'master') return p[1];
  return undefined;
}

/** Options of {@link SentinelWatcher}. */
export interface SentinelWatcherOptions {
  discovery: SentinelDiscovery;
  connector: SentinelConnector;
  clock: Clock;
  /** Sentinels subscribed at once. Default `3`. */
  maxSubscriptions?: number;
  /** Reconnect delays of one subscription. Default equal jitter 100 ms → 5 s. */
  backoff?: BackoffStrategy;
  /** Periodic re-check by discovery, ms; `Infinity` disables it. Default `10000`. */
  pollMs?: number;
  /** Also subscribe to {@link REPLICA_CHANNELS} and emit `replicas-changed`. Default `false`. */
  replicaEvents?: boolean;
}

/** Counters of a {@link SentinelWatcher}. */
export interface SentinelWatcherStats {
  /** Subscriptions wanted (sentinels watched). */
  subscriptions: number;
  /** Of those, currently subscribed. */
  subscribed: number;
  /** Reconnect attempts made by all subscriptions. */
  reconnects: number;
  /** `+switch-master` messages received for this name (all sentinels, duplicates included). */
  switchMessages: number;
  /** `primary-changed` events emitted. */
  changes: number;
  /** Sentinel connections open right now (command + subscriber) and ever opened, from the connector. */
  connectionsOpen: number;
  connectionsOpened: number;
}

interface Subscription {
  address: NodeAddress;
  conn: SentinelConnection | undefined;
  subscribed: boolean;
  attempt: number;
  timer: TimerHandle | undefined;
}

/** Parses a `+switch-master` payload: `<name> <old-ip> <old-port> <new-ip> <new-port>`. */
export function parseSwitchMaster(message: string): { name: string; from: NodeAddress; to: NodeAddress } | undefined {
  const parts = message.trim().split(' ');
  if (parts.length !== 5) return undefined;
  const [name, oldHost, oldPort, newHost, newPort] = parts as [string, string, string, string, string];
  const from = Number(oldPort);
  const to = Number(newPort);
  if (!Number.isInteger(from) || !Number.isInteger(to) || to < 1 || to > 65535) return undefined;
  return { name, from: { host: oldHost, port: from }, to: { host: newHost, port: to } };
}

/**
 * Parses a `+failover-state-wait-promotion` payload:
 * `slave <ip:port> <ip> <port> @ <master-name> <master-ip> <master-port>`.
 */
export function parsePromotion(message: string): { name: string; from: NodeAddress; to: NodeAddress } | undefined {
  const p = message.trim().split(' ');
  if (p.length !== 8 || p[0] !== 'slave' || p[4] !== '@') return undefined;
  const to = Number(p[3]);
  const from = Number(p[7]);
  if (!Number.isInteger(to) || to < 1 || to > 65535 || !Number.isInteger(from)) return undefined;
  return { name: p[5]!, from: { host: p[6]!, port: from }, to: { host: p[2]!, port: to } };
}

const same = (a: NodeAddress | undefined, b: NodeAddress): boolean => a !== undefined && a.host === b.host && a.port === b.port;

/** See the module comment. `start()` first; `close()` when done. */
export class SentinelWatcher extends EventEmitter<SentinelWatcherEvents> {
  readonly #o: SentinelWatcherOptions;
  readonly #backoff: BackoffStrategy;
  #primary: NodeAddress | undefined;
  #subs: Subscription[] = [];
  #poll: TimerHandle | undefined;
  #closed = false;
  #started = false;
  #reconnects = 0;
  #switchMessages = 0;
  #changes = 0;

  constructor(options: SentinelWatcherOptions) {
    super();
    this.#o = options;
    this.#backoff = options.backoff ?? equalJitterBackoff(100, 5_000);
  }

  /** The current primary (`undefined` before {@link start} resolved). */
  get primary(): NodeAddress | undefined {
    return this.#primary;
  }

  /** Discovers the primary, subscribes to the sentinels and arms the poll. Resolves with the primary. */
  async start(): Promise<NodeAddress> {
    if (this.#started) throw new Error('SentinelWatcher.start() was already called');
    this.#started = true;
    const { primary } = await this.#o.discovery.discover();
    if (this.#closed) return primary;
    this.#set(primary, 'start');
    const watched = this.#o.discovery.sentinels().slice(0, this.#o.maxSubscriptions ?? 3);
    this.#subs = watched.map((address) => ({ address, conn: undefined, subscribed: false, attempt: 0, timer: undefined }));
    await Promise.all(this.#subs.map((s) => this.#connect(s)));
    this.#armPoll();
    return primary;
  }

  /** Runs a discovery now and emits `primary-changed` (via `poll`) if the primary moved. */
  async check(): Promise<NodeAddress | undefined> {
    try {
      const { primary } = await this.#o.discovery.discover();
      if (!this.#closed) this.#set(primary, 'poll');
      return primary;
    } catch (err) {
      this.emit('warning', err instanceof Error ? err : new Error(String(err)));
      return undefined;
    }
  }

  /** Counters; see {@link SentinelWatcherStats}. */
  stats(): SentinelWatcherStats {
    const c = this.#o.connector.stats();
    return {
      subscriptions: this.#subs.length,
      subscribed: this.#subs.filter((s) => s.subscribed).length,
      reconnects: this.#reconnects,
      switchMessages: this.#switchMessages,
      changes: this.#changes,
      connectionsOpen: c.open,
      connectionsOpened: c.opened,
    };
  }

  /** Closes every subscription and timer. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#poll !== undefined) this.#o.clock.clearTimeout(this.#poll);
    this.#poll = undefined;
    for (const s of this.#subs) {
      if (s.timer !== undefined) this.#o.clock.clearTimeout(s.timer);
      s.timer = undefined;
      const conn = s.conn;
      s.conn = undefined;
      s.subscribed = false;
      conn?.close();
    }
  }

  #set(primary: NodeAddress, via: PrimaryChange['via']): void {
    if (same(this.#primary, primary)) return;
    const from = this.#primary;
    this.#primary = primary;
    this.#changes++;
    this.emit('primary-changed', { from, to: primary, via });
  }

  #armPoll(): void {
    const ms = this.#o.pollMs ?? 10_000;
    if (this.#closed || ms === Infinity) return;
    this.#poll = this.#o.clock.setTimeout(
      () => {
        this.#poll = undefined;
        void this.check().finally(() => this.#armPoll());
      },
      ms,
      true,
    );
  }

  async #connect(sub: Subscription): Promise<void> {
    let conn: SentinelConnection | undefined;
    try {
      conn = await this.#o.connector.open(sub.address, 'subscriber');
      if (this.#closed) {
        conn.close();
        return;
      }
      const c = conn;
      // Owned before subscribing, so a close during SUBSCRIBE schedules exactly one retry.
      sub.conn = c;
      c.onClose(() => {
        if (sub.conn !== c) return;
        sub.conn = undefined;
        sub.subscribed = false;
        this.#retry(sub);
      });
      await c.subscribe('+switch-master', (message) => this.#onSwitch(message));
      await c.subscribe('+failover-state-wait-promotion', (message) => this.#onPromotion(message));
      if (this.#o.replicaEvents)
        for (const channel of REPLICA_CHANNELS) await c.subscribe(channel, (message) => this.#onReplicaEvent(channel, message));
      if (this.#closed || sub.conn !== c) return;
      sub.subscribed = true;
      const wasReconnect = sub.attempt > 0;
      sub.attempt = 0;
      // A move may have happened while this subscription was down: ask.
      if (wasReconnect) void this.check();
    } catch (err) {
      if (sub.conn === conn) sub.conn = undefined;
      conn?.close();
      this.emit('warning', new Error(`sentinel ${sub.address.host}:${sub.address.port}: subscription failed`, { cause: err }));
      this.#retry(sub);
    }
  }

  #retry(sub: Subscription): void {
    if (this.#closed || sub.timer !== undefined) return;
    sub.attempt++;
    const delay = safeDelay(this.#backoff, sub.attempt, 1000);
    sub.timer = this.#o.clock.setTimeout(
      () => {
        sub.timer = undefined;
        if (this.#closed) return;
        this.#reconnects++;
        void this.#connect(sub);
      },
      delay,
      true,
    );
  }

  #onPromotion(message: string): void {
    const parsed = parsePromotion(message);
    if (!parsed || parsed.name !== this.#o.discovery.name || this.#closed) return;
    this.emit('promoting', { from: parsed.from, to: parsed.to });
  }

  #onReplicaEvent(channel: string, message: string): void {
    if (this.#closed || eventMasterName(message) !== this.#o.discovery.name) return;
    this.emit('replicas-changed', channel);
  }

  #onSwitch(message: string): void {
    const parsed = parseSwitchMaster(message);
    if (!parsed || parsed.name !== this.#o.discovery.name || this.#closed) return;
    this.#switchMessages++;
    this.#set(parsed.to, 'switch-master');
  }
}
