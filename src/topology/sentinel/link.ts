/**
 * Connections to the sentinels themselves (never to data nodes). They sit outside the pool's
 * data budget, as the issue asks, but are bounded and counted: discovery uses one short-lived
 * command connection at a time, the watcher one subscriber connection per watched sentinel, and
 * {@link SentinelConnector.stats} reports how many are open. The ioredis implementation turns
 * off everything that could resend a command or reconnect behind our back: reconnects belong
 * to the watcher's own backoff.
 */
import { Redis } from 'ioredis';
import { tlsConnectionOptions } from '../../driver/common.js';
import type { TlsOptions } from '../../options/endpoint.js';
import type { NodeAddress } from '../cluster/nat-map.js';

/** One connection to one sentinel. */
export interface SentinelConnection {
  /** Runs one command; rejects on an error reply, a lost connection or the command timeout. */
  call(...args: string[]): Promise<unknown>;
  /** Subscribes to `channel`; `onMessage` gets each message payload as text. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  /** Registers `fn` for the end of the connection (once, whatever the cause, also after {@link close}). */
  onClose(fn: () => void): void;
  /** Closes at once (no QUIT round trip). Idempotent. */
  close(): void;
}

/** Opens connections to sentinels and counts them. */
export interface SentinelConnector {
  /** Opens (connects) a connection; rejects when the sentinel cannot be reached in time. */
  open(address: NodeAddress, purpose: 'command' | 'subscriber'): Promise<SentinelConnection>;
  /** Connections opened so far and currently open. */
  stats(): { opened: number; open: number };
}

/** How to reach the sentinels (may differ from the data nodes' credentials). */
export interface SentinelAuthOptions {
  /** ACL user for the sentinels. */
  username?: string;
  /** Password for the sentinels. Never printed. */
  password?: string;
  /** TLS to the sentinels. */
  tls?: TlsOptions;
  /** Connect deadline, ms. Default `1000`. */
  connectTimeoutMs?: number;
  /** Deadline of one sentinel command, ms. Default `1000`. */
  commandTimeoutMs?: number;
  /** `CLIENT SETNAME` of these connections, so `CLIENT LIST` on a sentinel shows them. Default `'redpool-sentinel'`. */
  connectionName?: string;
}

/** The default connector: plain ioredis clients with retries, offline queue and resends off. */
export function ioredisSentinelConnector(options: SentinelAuthOptions = {}): SentinelConnector {
  let opened = 0;
  let open = 0;
  return {
    stats: () => ({ opened, open }),
    async open(address, purpose) {
      const redis = new Redis({
        host: address.host,
        port: address.port,
        ...(options.username !== undefined ? { username: options.username } : {}),
        ...(options.password !== undefined ? { password: options.password } : {}),
        ...(options.tls ? { tls: tlsConnectionOptions({ host: address.host }, options.tls) } : {}),
        connectionName: `${options.connectionName ?? 'redpool-sentinel'}-${purpose}`,
        lazyConnect: true,
        connectTimeout: options.connectTimeoutMs ?? 1000,
        commandTimeout: options.commandTimeoutMs ?? 1000,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        enableReadyCheck: false,
        autoResubscribe: false,
        autoResendUnfulfilledCommands: false,
      });
      redis.on('error', () => undefined); // surfaced through call()/onClose, never as an unhandled 'error'
      opened++;
      open++;
      let ended = false;
      const closeFns: (() => void)[] = [];
      redis.once('end', () => {
        ended = true;
        open--;
        for (const fn of closeFns.splice(0)) fn();
      });
      try {
        await redis.connect();
      } catch (err) {
        redis.disconnect();
        throw err;
      }
      return {
        call: (...args) => redis.call(args[0] ?? '', ...args.slice(1)),
        async subscribe(channel, onMessage) {
          redis.on('message', (ch: string, message: string) => {
            if (ch === channel) onMessage(message);
          });
          await redis.subscribe(channel);
        },
        onClose(fn) {
          if (ended) fn();
          else closeFns.push(fn);
        },
        close: () => redis.disconnect(),
      };
    },
  };
}
