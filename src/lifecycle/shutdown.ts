/**
 * Graceful shutdown on SIGTERM/SIGINT: close every pool within one deadline (in-flight work
 * finishes, new work is refused), destroy whatever is left, then exit. A second signal while
 * shutting down destroys at once. Listening for a signal replaces Node's default "exit now",
 * which is why the helper exits by itself unless told not to.
 */
import type { Logger } from '../options.js';

/** What {@link installShutdown} needs of a pool: a `Pool` and a `ClusterPool` (every node pool) both fit. */
export interface Closable {
  /** Graceful close, bounded by `timeoutMs` (ms). */
  close(opts?: { timeoutMs?: number }): Promise<void>;
  /** Immediate close, used when the graceful one misses its deadline. */
  destroy(): Promise<void>;
  /** Used in log lines when present. */
  readonly options?: { readonly name?: string };
}

/** Options of {@link installShutdown}. */
export interface ShutdownOptions {
  /** Signals to handle. @default ['SIGTERM', 'SIGINT'] */
  signals?: readonly NodeJS.Signals[];
  /** Deadline for closing every pool, in ms; then they are destroyed. @default 10000 */
  timeoutMs?: number;
  /**
   * Exit the process when done: `true` calls `process.exit(code)`, a function is called with
   * the code instead (0 when every pool closed in time, 1 otherwise). @default true
   */
  exit?: boolean | ((code: number) => void);
  /** Runs first, e.g. to stop accepting HTTP requests (`server.close()`). Bounded by `timeoutMs`. */
  beforeClose?: () => void | Promise<void>;
  /** Pino-style logger for `redis_shutdown*` lines. */
  logger?: Logger;
}

/** Removes the signal handlers installed by {@link installShutdown}. Idempotent. */
export type UninstallShutdown = () => void;

/**
 * Installs SIGTERM/SIGINT handlers that close `pools` with a deadline, then destroy them, then
 * exit. Returns a function that removes the handlers.
 *
 * @example
 * const pool = createPool(process.env.REDIS_URL);
 * installShutdown(pool, { timeoutMs: 5000, beforeClose: () => new Promise((r) => server.close(() => r())) });
 */
export function installShutdown(pools: Closable | readonly Closable[], options: ShutdownOptions = {}): UninstallShutdown {
  const list = Array.isArray(pools) ? [...(pools as readonly Closable[])] : [pools as Closable];
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const timeoutMs = options.timeoutMs ?? 10_000;
  const log = options.logger;
  const exit = (code: number): void => {
    if (options.exit === false) return;
    if (typeof options.exit === 'function') options.exit(code);
    else process.exit(code);
  };
  let running: Promise<void> | undefined;

  const destroyAll = async (): Promise<void> => {
    await Promise.allSettled(list.map((p) => p.destroy()));
  };

  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    const started = Date.now();
    log?.info({ signal, pools: list.map((p) => p.options?.name ?? 'default'), timeoutMs }, 'redis_shutdown');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    let code = 0;
    const warn = (err: unknown): void => {
      code = 1;
      log?.warn({ error: err instanceof Error ? err.message : String(err) }, 'redis_shutdown_error');
    };
    // Never rejects: a throwing beforeClose must not skip closing the pools.
    const work = async (): Promise<'done'> => {
      try {
        await options.beforeClose?.();
      } catch (err) {
        warn(err);
      }
      const results = await Promise.allSettled(list.map((p) => p.close({ timeoutMs })));
      for (const r of results) if (r.status === 'rejected') warn(r.reason);
      return 'done';
    };
    try {
      if ((await Promise.race([work(), deadline])) === 'timeout') {
        code = 1;
        log?.warn({ timeoutMs }, 'redis_shutdown_timeout');
      }
    } finally {
      clearTimeout(timer);
      await destroyAll();
    }
    log?.info({ signal, ms: Date.now() - started, code }, 'redis_shutdown_done');
    exit(code);
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (running) {
      // Second signal: the operator wants out now.
      log?.warn({ signal }, 'redis_shutdown_forced');
      void destroyAll().then(() => exit(1));
      return;
    }
    running = shutdown(signal);
    running.catch(() => exit(1));
  };

  for (const s of signals) process.on(s, onSignal);
  let installed = true;
  return () => {
    if (!installed) return;
    installed = false;
    for (const s of signals) process.off(s, onSignal);
  };
}
