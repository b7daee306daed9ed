/**
 * Throwaway `redis-server` processes on loopback for the integration and fault tests and the
 * benchmarks (test support: not shipped; the CLI's embedded server is `src/cli/embedded-server.ts`).
 * Beyond start/stop it has the fault controls the tests need: SIGSTOP/SIGCONT, kill, restart on
 * the same port, requirepass changes, TLS and unix-socket modes, raw commands via `resp-mini.ts`. Each server gets a free 127.0.0.1 port, its own temporary
 * directory, no persistence, and a hard start deadline. Every live process is tracked so a
 * `process.on('exit')` hook can SIGKILL anything a crashed caller left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type net from 'node:net';
import { findFreePort } from './free-port.js';
import { respCommand, respPipeline, RespReplyError, type RespArg, type RespTarget, type RespValue } from './resp-mini.js';
import { AddrInUse, confQuote, installExitHook, leftoverDirs, live, RedisStartError, resolveBinary, sleep } from './server-support.js';

export { cleanupOnSignals, RedisServerNotFoundError, RedisStartError } from './server-support.js';

/** TLS mode: the server listens with TLS only (`--port 0 --tls-port P`). Paths are PEM files. */
export interface RedisTlsOptions {
  /** Server certificate (`--tls-cert-file`). */
  certFile: string;
  /** Server private key (`--tls-key-file`). */
  keyFile: string;
  /** CA bundle that verifies clients and that the harness uses to verify the server. */
  caFile: string;
  /** `--tls-auth-clients yes|no`: require a client certificate. Default `false`. */
  authClients?: boolean;
  /** Client certificate the harness presents when `authClients` is set. Default `certFile`. */
  clientCertFile?: string;
  /** Client key the harness presents when `authClients` is set. Default `keyFile`. */
  clientKeyFile?: string;
}

/** Options of {@link startRedis} / {@link RedisProcess.start}. */
export interface RedisProcessOptions {
  /** Executable name (looked up on PATH) or path. Default `'redis-server'`. */
  binary?: string;
  /** Extra command-line arguments appended after the defaults, e.g. `['--maxclients', '10']`. */
  args?: readonly string[];
  /** Password (`requirepass`). Written to a 0600 config file, never put on the command line. */
  requirepass?: string;
  /** TLS-only mode; see {@link RedisTlsOptions}. */
  tls?: RedisTlsOptions;
  /** Also listen on `<dir>/redis.sock` (`--unixsocketperm 700`); see {@link RedisProcess.socketPath}. */
  unixSocket?: boolean;
  /** Fixed port instead of a free one. `EADDRINUSE` is then retried for `portRetryMs`. */
  port?: number;
  /** Deadline for the server to answer PING after spawn, in ms. Default `10000`. */
  startTimeoutMs?: number;
  /** Deadline of one {@link RedisProcess.command} call, in ms. Default `5000`. */
  commandTimeoutMs?: number;
  /** Grace period between SIGTERM and SIGKILL in {@link RedisProcess.stop}, in ms. Default `5000`. */
  stopTimeoutMs?: number;
  /** How long a restart (or a fixed `port`) retries a busy port, in ms. Default `5000`. */
  portRetryMs?: number;
  /** Keep the Node event loop alive while the child runs. Default `false` (child is unref'd). */
  keepAlive?: boolean;
}

/** Options of {@link RedisProcess.restart}. */
export interface RedisRestartOptions {
  /** Arguments appended for this incarnation only (e.g. `['--key-load-delay', '50']`). */
  extraArgs?: readonly string[];
  /** Treat a `-LOADING` reply to PING as ready (the server is up but loading its RDB). Default `false`. */
  acceptLoading?: boolean;
}

interface Incarnation {
  child: ChildProcess;
  exited: Promise<void>;
  alive: boolean;
  output: string;
  logFile: string;
}

/**
 * One throwaway `redis-server`. Create with {@link startRedis} or {@link RedisProcess.start};
 * always {@link RedisProcess.stop} it (idempotent) — the exit hook is only a safety net.
 */
export class RedisProcess {
  /** Loopback host the server binds. Always `'127.0.0.1'`. */
  readonly host = '127.0.0.1';
  /** Temporary directory (working dir, logs, config, unix socket). Removed by {@link stop}. */
  readonly dir: string;
  readonly #binary: string;
  readonly #options: RedisProcessOptions;
  #port = 0;
  #runningPassword: string | undefined;
  #nextPassword: string | undefined;
  #current: Incarnation | undefined;
  #lastPid = 0;
  #generation = 0;
  #paused = false;
  #stopped: Promise<void> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #tlsTarget: RespTarget['tls'];

  /** Number of `redis-server` processes started by this module that are still running. */
  static running(): number {
    return live.size;
  }

  /** Starts a server and resolves once it answers PING. See {@link RedisProcessOptions}. */
  static async start(options: RedisProcessOptions = {}): Promise<RedisProcess> {
    const binary = await resolveBinary(options.binary ?? 'redis-server');
    // Unix socket paths are limited to ~107 bytes; fall back to /tmp when TMPDIR is long.
    const base = options.unixSocket && os.tmpdir().length > 60 ? '/tmp' : os.tmpdir();
    const dir = await fs.mkdtemp(path.join(base, 'redpool-redis-'));
    leftoverDirs.add(dir);
    installExitHook();
    const server = new RedisProcess(binary, dir, options);
    try {
      await server.#init();
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  private constructor(binary: string, dir: string, options: RedisProcessOptions) {
    this.#binary = binary;
    this.dir = dir;
    this.#options = options;
    this.#nextPassword = options.requirepass || undefined;
  }

  /** TCP port the server listens on (the TLS port in TLS mode). Stable across restarts. */
  get port(): number {
    return this.#port;
  }

  /** `redis://127.0.0.1:PORT` (`rediss://` in TLS mode). Never contains the password. */
  get url(): string {
    return `${this.#options.tls ? 'rediss' : 'redis'}://${this.host}:${this.#port}`;
  }

  /** Like {@link url} but with `:password@` when a password is set. Keep out of logs. */
  urlWithPassword(): string {
    const pw = this.#runningPassword ?? this.#nextPassword;
    if (pw === undefined) return this.url;
    return `${this.#options.tls ? 'rediss' : 'redis'}://:${encodeURIComponent(pw)}@${this.host}:${this.#port}`;
  }

  /** Unix socket path when started with `unixSocket: true`, else `undefined`. */
  get socketPath(): string | undefined {
    return this.#options.unixSocket ? path.join(this.dir, 'redis.sock') : undefined;
  }

  /** PID of the current (or last) server process. */
  get pid(): number {
    return this.#lastPid;
  }

  /** Log file of the current incarnation. */
  get logFile(): string | undefined {
    return this.#current?.logFile;
  }

  /** Whether the server process is currently running (paused counts as running). */
  get alive(): boolean {
    return this.#current?.alive ?? false;
  }

  /** Whether the process is currently stopped with SIGSTOP. */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * TLS options the harness uses to reach this server: the CA, the client certificate when
   * `authClients` is set, and NO host-name check (so servers with deliberately wrong
   * certificates can still be driven). `undefined` without TLS.
   */
  get tlsOptions(): RespTarget['tls'] {
    return this.#tlsTarget;
  }

  /** Freezes the process with SIGSTOP: connections stay open, nothing is answered. */
  pause(): void {
    this.#signal('SIGSTOP');
    this.#paused = true;
  }

  /** Thaws a {@link pause}d process with SIGCONT. */
  resume(): void {
    this.#signal('SIGCONT');
    this.#paused = false;
  }

  /** SIGKILLs the process (a crash) and waits for it to exit. Keeps the directory for {@link restart}. */
  kill(): Promise<void> {
    return this.#serialize(async () => {
      const cur = this.#current;
      if (!cur?.alive) return;
      cur.child.ref(); // an unref'd child would let Node exit before the 'exit' event
      cur.child.kill('SIGKILL');
      await cur.exited;
      this.#paused = false;
    });
  }

  /**
   * Graceful stop: SIGCONT if paused, SIGTERM (no save: persistence is off), SIGKILL after
   * `stopTimeoutMs` (default 5000 ms), then removes {@link dir}. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#serialize(async () => {
      await this.#terminate();
      leftoverDirs.delete(this.dir);
      await fs.rm(this.dir, { recursive: true, force: true });
    });
    return this.#stopped;
  }

  /**
   * Stops the current process (gracefully; fine if paused or already killed) and starts a new one
   * on the same port with the same arguments and the password from {@link setPassword}. Retries a
   * busy port for `portRetryMs` (default 5000 ms). Data is lost unless a `SAVE` wrote `dump.rdb`.
   */
  restart(options: RedisRestartOptions = {}): Promise<void> {
    if (this.#stopped) return Promise.reject(new Error('RedisProcess.restart: server was stopped'));
    return this.#serialize(async () => {
      await this.#terminate();
      await this.#spawnReady(this.#port, options, true);
    });
  }

  /**
   * Changes the password (`undefined` or `''` removes it). By default it is also applied to the
   * running server with `CONFIG SET requirepass`; with `applyNow: false` only the next
   * {@link restart} uses it. {@link command} always authenticates as the running server expects.
   */
  async setPassword(password: string | undefined, options: { applyNow?: boolean } = {}): Promise<void> {
    const next = password || undefined;
    if ((options.applyNow ?? true) && this.alive) {
      await this.command('CONFIG', 'SET', 'requirepass', next ?? '');
      this.#runningPassword = next;
    }
    this.#nextPassword = next;
  }

  /** Target for {@link respCommand}/{@link respPipeline} (TCP or TLS, with the CA). */
  target(): RespTarget {
    return { host: this.host, port: this.#port, ...(this.#tlsTarget ? { tls: this.#tlsTarget } : {}) };
  }

  /**
   * Runs one command on a fresh connection (AUTH first when a password is set) and resolves with
   * the decoded reply; an error reply rejects with an Error whose message is the error line.
   * Times out after `commandTimeoutMs` (default 5000 ms), e.g. while {@link pause}d.
   */
  command(...args: RespArg[]): Promise<RespValue> {
    return this.commandWith({}, ...args);
  }

  /**
   * {@link command} with per-call options: `timeoutMs`, and `password` (`null` sends no AUTH,
   * a string overrides the known password).
   */
  commandWith(options: { timeoutMs?: number; password?: string | null }, ...args: RespArg[]): Promise<RespValue> {
    const password = options.password === null ? undefined : (options.password ?? this.#runningPassword);
    return respCommand(this.target(), args, {
      timeoutMs: options.timeoutMs ?? this.#options.commandTimeoutMs,
      ...(password !== undefined ? { password } : {}),
    });
  }

  /** Same as {@link stop}; enables `await using server = await startRedis()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  async #init(): Promise<void> {
    const tlsOpt = this.#options.tls;
    if (tlsOpt) {
      const ca = await fs.readFile(tlsOpt.caFile);
      this.#tlsTarget = { ca, checkServerIdentity: () => undefined };
      if (tlsOpt.authClients) {
        this.#tlsTarget.cert = await fs.readFile(tlsOpt.clientCertFile ?? tlsOpt.certFile);
        this.#tlsTarget.key = await fs.readFile(tlsOpt.clientKeyFile ?? tlsOpt.keyFile);
      }
    }
    if (this.#options.port !== undefined) {
      await this.#spawnReady(this.#options.port, {}, true);
      return;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#spawnReady(await findFreePort(this.host), {}, false);
        return;
      } catch (err) {
        if (!(err instanceof AddrInUse) || attempt >= 5) throw err instanceof AddrInUse ? err.startError : err;
      }
    }
  }

  #serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #signal(signal: NodeJS.Signals): void {
    const cur = this.#current;
    if (!cur?.alive) throw new Error(`RedisProcess: cannot send ${signal}, server is not running`);
    cur.child.kill(signal);
  }

  async #terminate(): Promise<void> {
    const cur = this.#current;
    if (!cur?.alive) return;
    cur.child.ref(); // an unref'd child would let Node exit before the 'exit' event
    if (this.#paused) cur.child.kill('SIGCONT');
    this.#paused = false;
    cur.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      cur.exited.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.#options.stopTimeoutMs ?? 5000))),
    ]);
    clearTimeout(timer);
    if (timedOut && cur.alive) cur.child.kill('SIGKILL');
    await cur.exited;
  }

  #buildArgs(port: number, logFile: string, extra: readonly string[]): string[] {
    const args = [path.join(this.dir, 'redis.conf')];
    const tlsOpt = this.#options.tls;
    if (tlsOpt) {
      args.push('--port', '0', '--tls-port', String(port), '--tls-cert-file', tlsOpt.certFile, '--tls-key-file', tlsOpt.keyFile);
      args.push('--tls-ca-cert-file', tlsOpt.caFile, '--tls-auth-clients', tlsOpt.authClients ? 'yes' : 'no');
    } else {
      args.push('--port', String(port));
    }
    args.push('--bind', this.host, '--save', '', '--appendonly', 'no', '--daemonize', 'no');
    args.push('--dir', this.dir, '--logfile', logFile, '--enable-debug-command', 'local');
    const socketPath = this.socketPath;
    if (socketPath) args.push('--unixsocket', socketPath, '--unixsocketperm', '700');
    args.push(...(this.#options.args ?? []), ...extra);
    return args;
  }

  /** Spawns on `port` and waits for PING; on a busy port retries (`retryBusy`) or throws AddrInUse. */
  async #spawnReady(port: number, options: RedisRestartOptions, retryBusy: boolean): Promise<void> {
    const retryUntil = Date.now() + (this.#options.portRetryMs ?? 5000);
    for (;;) {
      try {
        await this.#spawnOnce(port, options);
        return;
      } catch (err) {
        if (!(err instanceof AddrInUse)) throw err;
        if (!retryBusy || Date.now() >= retryUntil) throw retryBusy ? err.startError : err;
        await sleep(100);
      }
    }
  }

  async #spawnOnce(port: number, options: RedisRestartOptions): Promise<void> {
    const password = this.#nextPassword;
    const conf = password !== undefined ? `requirepass ${confQuote(password)}\n` : '';
    await fs.writeFile(path.join(this.dir, 'redis.conf'), conf, { mode: 0o600 });
    const logFile = path.join(this.dir, `redis.${++this.#generation}.log`);
    const child = spawn(this.#binary, this.#buildArgs(port, logFile, options.extraArgs ?? []), {
      cwd: this.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let markExited!: () => void;
    const inc: Incarnation = { child, alive: true, output: '', logFile, exited: new Promise((r) => (markExited = r)) };
    const onOutput = (chunk: Buffer): void => {
      inc.output = (inc.output + chunk.toString('utf8')).slice(-4096);
    };
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', onOutput);
    const onGone = (): void => {
      if (!inc.alive) return;
      inc.alive = false;
      live.delete(child);
      markExited();
    };
    child.once('exit', onGone);
    child.once('error', (err) => {
      inc.output += `\nspawn error: ${err.message}`;
      onGone();
    });
    if (child.pid !== undefined) live.add(child);
    if (!this.#options.keepAlive) {
      child.unref();
      (child.stdout as net.Socket | null)?.unref();
      (child.stderr as net.Socket | null)?.unref();
    }
    this.#current = inc;
    this.#lastPid = child.pid ?? 0;
    this.#port = port;
    this.#paused = false;
    this.#runningPassword = password;
    await this.#waitReady(inc, options.acceptLoading ?? false);
  }

  async #waitReady(inc: Incarnation, acceptLoading: boolean): Promise<void> {
    const deadline = Date.now() + (this.#options.startTimeoutMs ?? 10_000);
    const password = this.#runningPassword;
    for (;;) {
      if (!inc.alive) {
        const tail = await this.#logTail(inc);
        if (/Address already in use/i.test(tail)) throw new AddrInUse(new RedisStartError(`port ${this.#port} is in use`, tail));
        throw new RedisStartError(`redis-server exited during startup (exit code ${inc.child.exitCode ?? inc.child.signalCode})`, tail);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        inc.child.ref();
        inc.child.kill('SIGKILL');
        await inc.exited;
        throw new RedisStartError(
          `redis-server did not answer PING within ${this.#options.startTimeoutMs ?? 10_000} ms`,
          await this.#logTail(inc),
        );
      }
      const probe = respPipeline(this.target(), [['PING'], ['INFO', 'server']], {
        timeoutMs: Math.min(1000, remaining),
        ...(password !== undefined ? { password } : {}),
      }).catch(() => undefined); // not listening yet
      // Stop waiting as soon as the child dies (e.g. another process holds the port and answers).
      const replies = await Promise.race([probe, inc.exited.then(() => undefined)]);
      if (replies) {
        const [pong, info] = replies;
        const loading = pong instanceof RespReplyError && pong.prefix === 'LOADING';
        const ours = typeof info === 'string' && info.includes(`process_id:${inc.child.pid}\r\n`);
        // `ours` guards against a concurrent server that grabbed the same free port first.
        if (ours && inc.alive && (pong === 'PONG' || (acceptLoading && loading))) return;
      }
      await sleep(25);
    }
  }

  async #logTail(inc: Incarnation): Promise<string> {
    let log = '';
    try {
      log = await fs.readFile(inc.logFile, 'utf8');
    } catch {
      // no log yet
    }
    const lines = `${log}\n${inc.output}`.split('\n').filter((l) => l.trim() !== '');
    return lines.slice(-20).join('\n');
  }
}

/**
 * Starts a throwaway `redis-server` on a free 127.0.0.1 port and resolves once it answers PING.
 * Throws {@link RedisServerNotFoundError} (`code: 'ERR_REDIS_SERVER_NOT_FOUND'`) when the binary
 * is missing and {@link RedisStartError} when it exits or misses the start deadline.
 */
export function startRedis(options: RedisProcessOptions = {}): Promise<RedisProcess> {
  return RedisProcess.start(options);
}
