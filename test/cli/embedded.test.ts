/**
 * The embedded `redis-server` of `redpool bench` and `redpool/testing`'s `startRedisServer()`:
 * it answers a pool, stops cleanly, and dies with its owner on every path — SIGKILL of
 * `redpool bench` included, which used to leave it running under PID 1.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { createPool } from '../../src/index.js';
import { RedisServerNotFoundError, startRedisServer } from '../../src/testing/index.js';
import { waitFor } from '../helpers/redis.js';
import { runCli } from './run-cli.js';

/** Whether `pid` is a live process (a zombie counts as gone: it runs nothing). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** PIDs of every descendant of `root`, with their command lines. */
function descendants(root: number): Array<{ pid: number; cmd: string }> {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const out: Array<{ pid: number; cmd: string }> = [];
  const walk = (pid: number): void => {
    for (const [child, ppid] of parent) {
      if (ppid !== pid) continue;
      let cmd = '';
      try {
        cmd = readFileSync(`/proc/${child}/cmdline`, 'utf8').replace(/\0/g, ' ');
      } catch {
        // exited meanwhile
      }
      out.push({ pid: child, cmd });
      walk(child);
    }
  };
  walk(root);
  return out;
}

void describe('the embedded redis-server', { skip: !existsSync('/proc/self/stat') && 'needs /proc (Linux)' }, () => {
  void test('SIGKILL of `redpool bench` leaves no redis-server and no watchdog behind', async () => {
    let victims: Array<{ pid: number; cmd: string }> = [];
    const r = await runCli(['bench', '--duration', '60', '--concurrency', '5'], {
      timeoutMs: 30_000,
      onStderr: (text, child) => {
        // The first progress line means the embedded server is up and the run is under way.
        if (victims.length === 0 && /^redpool: [\d.]+s /m.test(text)) {
          victims = descendants(child.pid!);
          child.kill('SIGKILL');
        }
      },
    });
    assert.equal(r.signal, 'SIGKILL', `bench was not killed:\n${r.stderr}`);
    assert.ok(
      victims.some((v) => /redis-server/.test(v.cmd)),
      `a redis-server ran under bench: ${JSON.stringify(victims)}`,
    );
    // Bounded wait: the watchdog notices the closed pipe at once, its poll within 0.5 s.
    await waitFor(() => victims.every((v) => !alive(v.pid)), {
      timeoutMs: 5_000,
      message: `still running: ${JSON.stringify(victims.filter((v) => alive(v.pid)))}`,
    });
  });

  void test('startRedisServer(): a pool reaches it; stop() ends it and removes its directory', async () => {
    const server = await startRedisServer();
    let stopped = false;
    try {
      assert.match(server.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(alive(server.pid));
      const pool = createPool({ url: server.url, max: 2 });
      try {
        assert.equal(await pool.ping(), 'PONG');
        assert.match(await pool.info('persistence'), /rdb_changes_since_last_save/);
        assert.deepEqual(await pool.config('GET', 'save'), ['save', ''], 'no persistence');
      } finally {
        await pool.close();
      }
      const dir = descendants(process.pid)
        .find((d) => d.pid === server.pid)
        ?.cmd.match(/--dir (\S+)/)?.[1];
      await server.stop();
      stopped = true;
      assert.equal(alive(server.pid), false, 'redis-server exited');
      if (dir !== undefined) assert.equal(existsSync(dir), false, 'its directory is removed');
      await server.stop(); // idempotent
    } finally {
      if (!stopped) await server.stop();
    }
  });

  void test('a process that exits (or crashes) without stop() takes its server with it', async () => {
    const mod = fileURLToPath(new URL('../../src/testing/index.js', import.meta.url));
    for (const ending of ['process.exit(3)', "process.kill(process.pid, 'SIGKILL')", "throw new Error('boom')"]) {
      const script = `const m = await import(${JSON.stringify(mod)}); const s = await m.startRedisServer(); console.log(s.pid); ${ending};`;
      const pid = await new Promise<number>((resolve) => {
        execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 }, (_err, stdout) =>
          resolve(Number(stdout.trim())),
        );
      });
      assert.ok(pid > 0, `${ending}: the child printed the server pid`);
      await waitFor(() => !alive(pid), { timeoutMs: 5_000, message: `${ending}: redis-server ${pid} survived its owner` });
    }
  });

  void test('a missing binary: RedisServerNotFoundError with a stable code', async () => {
    await assert.rejects(startRedisServer({ binary: '/nonexistent/redis-server' }), (err: unknown) => {
      assert.ok(err instanceof RedisServerNotFoundError);
      assert.equal(err.code, 'ERR_REDIS_SERVER_NOT_FOUND');
      return true;
    });
  });
});
