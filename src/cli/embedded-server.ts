/**
 * A throwaway `redis-server` on a free loopback port: what `redpool bench` runs against when no
 * URL is given, and what `redpool/testing`'s `startRedisServer()` offers users. No persistence,
 * its own temporary directory, ready once a redpool pool's PING answers (no RESP code here).
 *
 * The server dies with its owner on every path: it is started through `embedded-watchdog.js`,
 * which holds a pipe from this process and stops the server when the pipe closes — so a normal
 * {@link RedisServer.stop}, an uncaught error, `process.exit()`, a signal and even SIGKILL of
 * this process all end it. An `'exit'` hook also SIGKILLs it directly, to not wait for the
 * watchdog when it can be helped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants, readFileSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool } from '../index.js';
import type { WatchdogConfig } from './embedded-watchdog.js';

const WATCHDOG = fileURLToPath(new URL('./embedded-watchdog.js', import.meta.url));
const HOST = '127.0.0.1';

/** Thrown when the `redis-server` executable is not found. `code` is `'ERR_REDIS_SERVER_NOT_FOUND'`. */
export class RedisServerNotFoundError extends Error {
  /** Always `'ERR_REDIS_SERVER_NOT_FOUND'`. */
  readonly code = 'ERR_REDIS_SERVER_NOT_FOUND';
  /** @param binary - The name or path that was looked for. */
  constructor(binary: string) {
    super(
      `redis-server executable ${JSON.stringify(binary)} was not found on PATH: install it (Debian/Ubuntu: apt-get install redis-server), give its path, or pass the URL of a running server`,
    );
    this.name = 'RedisServerNotFoundError';
  }
}

/** Thrown when the server exits or does not answer PING before the start deadline. `code` is `'ERR_REDIS_SERVER_START'`. */
export class RedisServerStartError extends Error {
  /** Always `'ERR_REDIS_SERVER_START'`. */
  readonly code = 'ERR_REDIS_SERVER_START';
  /** The last lines of the server's log (may be empty). */
  readonly logTail: string;
  /**
   * @param message - What went wrong.
   * @param logTail - The last lines of the server's log.
   */
  constructor(message: string, logTail: string) {
    super(logTail ? `${message}\n--- redis-server log tail ---\n${logTail}` : message);
    this.name = 'RedisServerStartError';
    this.logTail = logTail;
  }
}

/** Options of `startRedisServer()` (`redpool/testing`) and of the CLI's embedded server. */
export interface RedisServerOptions {
  /** Executable name (looked up on `PATH`) or path. Default `'redis-server'`. */
  binary?: string;
  /** Extra `redis-server` arguments appended after the defaults, e.g. `['--maxclients', '50']`. */
  args?: readonly string[];
  /** Deadline for the server to answer PING, in ms. Default `10000`. */
  startTimeoutMs?: number;
  /** Grace period between SIGTERM and SIGKILL in {@link RedisServer.stop}, in ms. Default `5000`. */
  stopTimeoutMs?: number;
}

/** A running throwaway server. Always {@link RedisServer.stop} it (idempotent). */
export interface RedisServer {
  /** Always `'127.0.0.1'`. */
  readonly host: string;
  /** TCP port the server listens on. */
  readonly port: number;
  /** `redis://127.0.0.1:PORT` (no password: the server has none). */
  readonly url: string;
  /** PID of the `redis-server` process. */
  readonly pid: number;
  /** Stops the server (SIGTERM, SIGKILL after `stopTimeoutMs`) and removes its directory. Idempotent. */
  stop(): Promise<void>;
  /** Same as {@link RedisServer.stop}: `await using server = await startRedisServer()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** PIDs to SIGKILL if this process exits with servers still running. */
const running = new Set<number>();
let exitHook = false;

/**
 * Starts a throwaway `redis-server` on a free 127.0.0.1 port (no persistence, its own temporary
 * directory) and resolves once a pool's PING answers it. Retries a few times if another process
 * takes the chosen port first.
 *
 * @throws {@link RedisServerNotFoundError} when the binary is missing.
 * @throws {@link RedisServerStartError} when the server exits or misses the start deadline.
 */
export async function startEmbeddedServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = await resolveBinary(options.binary ?? 'redis-server');
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const pid of running) killQuietly(pid, 'SIGKILL');
    });
  }
  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  for (let attempt = 1; ; attempt++) {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redpool-embedded-'));
    const port = await freePort();
    const logFile = path.join(dir, 'redis.log');
    const args = [
      '--port',
      String(port),
      '--bind',
      HOST,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--dir',
      dir,
      '--logfile',
      logFile,
      ...(options.args ?? []),
    ];
    const config: WatchdogConfig = { binary, args, dir, logFile, stopTimeoutMs: options.stopTimeoutMs ?? 5_000 };
    const watchdog = spawn(process.execPath, [WATCHDOG, JSON.stringify(config)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true, // its own process group: a terminal's Ctrl-C reaches only us, and we stop it
    });
    const server = new Handle(watchdog, port, dir);
    try {
      await server.ready(deadline, options.startTimeoutMs ?? 10_000);
      return server.api();
    } catch (err) {
      await server.stop();
      const busy = err instanceof RedisServerStartError && /Address already in use/i.test(err.logTail);
      if (!busy || attempt >= 5 || Date.now() >= deadline) throw err;
    }
  }
}

class Handle {
  readonly #watchdog: ChildProcess;
  readonly #port: number;
  readonly #dir: string;
  readonly #exited: Promise<void>;
  #alive = true;
  #pid = 0;
  #stderr = '';
  #stopping: Promise<void> | undefined;

  constructor(watchdog: ChildProcess, port: number, dir: string) {
    this.#watchdog = watchdog;
    this.#port = port;
    this.#dir = dir;
    this.#exited = new Promise((resolve) => {
      watchdog.once('close', () => resolve()); // after stderr (the log tail) is read
      watchdog.once('error', (err) => {
        this.#stderr += `${err.message}\n`;
        resolve();
      });
    });
    void this.#exited.then(() => {
      this.#alive = false;
      running.delete(this.#pid);
    });
    watchdog.stderr?.on('data', (d: Buffer) => (this.#stderr = (this.#stderr + d.toString('utf8')).slice(-4096)));
    // Unref'd: a forgotten server must not keep Node alive; the watchdog ends it when we exit.
    watchdog.unref();
    for (const s of [watchdog.stdin, watchdog.stdout, watchdog.stderr] as Array<net.Socket | null>) s?.unref();
  }

  get url(): string {
    return `redis://${HOST}:${this.#port}`;
  }

  /** Resolves once PING answers and INFO names our PID (another process may hold the port). */
  async ready(deadline: number, timeoutMs: number): Promise<void> {
    this.#pid = await this.#readPid(deadline);
    running.add(this.#pid);
    const pool = createPool({
      url: this.url,
      name: 'redpool-embedded',
      max: 1,
      min: 0,
      lanes: 1,
      connectTimeoutMs: 1_000,
      acquireTimeoutMs: 1_000,
      commandTimeoutMs: 1_000,
      retries: 0,
      onUnavailable: 'degrade',
      healthCheckIntervalMs: 0,
      logger: false, // it probes a server that is still starting: its outage line would be noise
    });
    try {
      for (;;) {
        if (!this.#alive) throw new RedisServerStartError(`redis-server exited during startup`, this.#logTail());
        if (Date.now() >= deadline)
          throw new RedisServerStartError(`redis-server did not answer PING within ${timeoutMs} ms`, this.#logTail());
        const ok = await pool.ping().then(
          async () => (await pool.info('server')).includes(`process_id:${this.#pid}\r\n`),
          () => false,
        );
        if (ok && this.#alive) return;
        await Promise.race([new Promise((resolve) => setTimeout(resolve, 25)), this.#exited]);
      }
    } finally {
      await pool.destroy();
    }
  }

  async #readPid(deadline: number): Promise<number> {
    const out = this.#watchdog.stdout;
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<number>((resolve, reject) => {
        const fail = (why: string): void => reject(new RedisServerStartError(why, `${this.#logTail()}${this.#stderr}`.trim()));
        out?.on('data', (d: Buffer) => {
          text += d.toString('utf8');
          const m = /^pid (\d+)$/m.exec(text);
          if (m) resolve(Number(m[1]));
        });
        void this.#exited.then(() => fail('redis-server could not be started'));
        timer = setTimeout(() => fail('redis-server was not started in time'), Math.max(0, deadline - Date.now()));
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** The log while the directory exists; once the watchdog removed it, the tail it printed. */
  #logTail(): string {
    try {
      const lines = readFileSync(path.join(this.#dir, 'redis.log'), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '');
      return lines.slice(-20).join('\n');
    } catch {
      return this.#stderr.trim();
    }
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#alive) {
        this.#watchdog.ref(); // wait for it even if nothing else keeps Node alive
        this.#watchdog.stdin?.end('stop\n');
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), 15_000)));
        if (await Promise.race([this.#exited.then(() => false), late])) {
          // The watchdog is stuck: end both processes ourselves.
          killQuietly(this.#pid, 'SIGKILL');
          this.#watchdog.kill('SIGKILL');
          await this.#exited;
        }
        clearTimeout(timer);
      }
      running.delete(this.#pid);
      rmSync(this.#dir, { recursive: true, force: true });
    })();
    return this.#stopping;
  }

  api(): RedisServer {
    const stop = (): Promise<void> => this.stop();
    return { host: HOST, port: this.#port, url: this.url, pid: this.#pid, stop, [Symbol.asyncDispose]: stop };
  }
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host: HOST, port: 0, exclusive: true }, () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read the bound port'))));
    });
  });
}

/**
 * Resolves `binary` (a name looked up on PATH, or a path) to an executable file.
 * @throws {@link RedisServerNotFoundError}
 */
export async function resolveBinary(binary: string): Promise<string> {
  const candidates = binary.includes('/')
    ? [path.resolve(binary)]
    : (process.env['PATH'] ?? '')
        .split(path.delimiter)
        .filter(Boolean)
        .map((dir) => path.join(dir, binary));
  for (const candidate of candidates) {
    try {
      await fs.access(candidate, fsConstants.X_OK);
      if ((await fs.stat(candidate)).isFile()) return candidate;
    } catch {
      // try the next one
    }
  }
  throw new RedisServerNotFoundError(binary);
}
