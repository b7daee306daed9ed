/**
 * The parent of an embedded `redis-server` (see `embedded-server.ts`). Run as
 * `node embedded-watchdog.js '<json config>'` with stdin a pipe from the process that wants the
 * server. It spawns `redis-server`, prints `pid <n>` on stdout, and ties the server's life to
 * that pipe: when stdin ends — after `stop` (a normal stop: SIGTERM, SIGKILL after the grace
 * period), or because the owner died in any way, SIGKILL included (the kernel closes the
 * owner's end of the pipe: SIGKILL at once) — it stops the server, removes the server's
 * directory and exits with the server. A second guard polls `process.ppid` in case the pipe is
 * inherited by someone else. Node built-ins only: this file must start fast and never depend
 * on the pool it serves.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

/** What the owner passes as the single argument (JSON). */
export interface WatchdogConfig {
  /** Absolute path of the `redis-server` executable. */
  binary: string;
  /** Arguments for `redis-server`. */
  args: string[];
  /** Directory to remove once the server is gone. */
  dir: string;
  /** The server's log file; its tail goes to stderr when the server exits unasked. */
  logFile: string;
  /** Grace period between SIGTERM and SIGKILL on a normal stop, ms. */
  stopTimeoutMs: number;
}

function main(config: WatchdogConfig): void {
  const ownerPid = process.ppid;
  const server = spawn(config.binary, config.args, { cwd: config.dir, stdio: 'ignore' });
  let exited = false;
  let stopping = false;
  let escalation: NodeJS.Timeout | undefined;

  const finish = (code: number): void => {
    clearTimeout(escalation);
    // Exited by itself (e.g. "Address already in use"): the owner needs the reason, and the
    // directory holding the log is about to go.
    if (!stopping) {
      try {
        const lines = readFileSync(config.logFile, 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== '');
        process.stderr.write(`${lines.slice(-20).join('\n')}\n`);
      } catch {
        // no log, or nobody reads stderr any more
      }
    }
    rmSync(config.dir, { recursive: true, force: true });
    process.exit(code);
  };
  server.once('error', (err) => {
    process.stderr.write(`spawn ${config.binary}: ${err.message}\n`);
    exited = true;
    finish(127);
  });
  server.once('exit', (code, signal) => {
    exited = true;
    finish(code ?? (signal ? 128 : 1));
  });
  if (server.pid !== undefined) process.stdout.write(`pid ${server.pid}\n`);

  // `graceful`: the owner asked (SIGTERM, then SIGKILL after the grace period). Otherwise the
  // owner is gone and nobody waits for a clean shutdown of a throwaway server: SIGKILL at once.
  const stop = (graceful: boolean): void => {
    if (exited) return;
    stopping = true;
    server.kill(graceful ? 'SIGTERM' : 'SIGKILL');
    if (graceful && escalation === undefined) {
      escalation = setTimeout(() => server.kill('SIGKILL'), config.stopTimeoutMs);
    }
  };
  // The owner writes `stop` before closing the pipe; a bare end of the pipe means it died.
  let asked = false;
  process.stdin.on('data', (chunk: Buffer) => {
    if (chunk.toString('utf8').includes('stop')) asked = true;
  });
  process.stdin.once('end', () => stop(asked));
  process.stdin.once('error', () => stop(false));
  process.on('SIGTERM', () => stop(true));
  process.on('SIGINT', () => stop(true));
  process.on('SIGHUP', () => stop(false));
  const poll = setInterval(() => {
    if (process.ppid !== ownerPid) stop(false);
  }, 500);
  poll.unref();
}

const raw = process.argv[2];
if (raw === undefined) {
  process.stderr.write('usage: embedded-watchdog <json config>\n');
  process.exit(2);
}
main(JSON.parse(raw) as WatchdogConfig);
