/**
 * The CLI's per-node connections: one tool pool (`openToolPool`: one connection, short
 * deadlines, no retries) per `host:port`, opened on first use and destroyed together, and the
 * "answer in time or undefined" wrapper every per-node probe uses. Shared by the cluster and
 * Sentinel views of `health` and `monitor`.
 */
import type { Pool, PoolOptions } from '../index.js';
import { openToolPool, readInfo, type InfoFields } from '../load/server-info.js';

/** Resolves `p`, or undefined after `ms` (never rejects: a failure is undefined too). */
export function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.catch(() => undefined),
    new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** Tool pools per address (`host:port`, IPv6 as `[::1]:port`), with `base` (credentials, TLS), destroyed together. */
export class AddressPools {
  readonly #pools = new Map<string, Pool>();
  readonly #base: PoolOptions;
  readonly #timeoutMs: number;
  constructor(base: PoolOptions, timeoutMs: number) {
    this.#base = base;
    this.#timeoutMs = timeoutMs;
  }

  /** The tool pool of `address`, opened on first use. */
  get(address: string): Pool {
    let pool = this.#pools.get(address);
    if (!pool) {
      const i = address.lastIndexOf(':');
      const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
      pool = openToolPool({ ...this.#base, host, port: Number(address.slice(i + 1)) }, this.#timeoutMs);
      this.#pools.set(address, pool);
    }
    return pool;
  }

  /** INFO of `address`, or undefined when it does not answer in time. */
  info(address: string): Promise<InfoFields | undefined> {
    return within(readInfo(this.get(address)), this.#timeoutMs * 2);
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.destroy()));
    this.#pools.clear();
  }
}
