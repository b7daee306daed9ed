/**
 * Tests of the real-server harness itself: RedisProcess, the mini RESP client, the fault proxy,
 * the TLS certificate generator and the test helpers. Every server/socket is cleaned up by
 * `t.after` even when an assertion fails.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findFreePort } from '../support/free-port.js';
import { RedisProcess, RedisStartError, startRedis } from '../support/redis-process.js';
import { encodeCommand, parseReply, respCommand, respPipeline, RespReplyError } from '../support/resp-mini.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { clientNames, useRedis, waitFor, withRedis } from '../helpers/redis.js';
import { generateCerts } from '../helpers/tls-certs.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped by init) still answers kill(0); it is not running.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: NodeJS.ErrnoException) => {
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return true;
  });
}

/** A raw client socket that records everything; destroyed by t.after. */
interface Raw {
  socket: net.Socket;
  data: () => Buffer;
  error: () => NodeJS.ErrnoException | undefined;
  ended: () => boolean;
  closed: () => boolean;
}

async function raw(t: TestContext, port: number): Promise<Raw> {
  const socket = net.connect({ host: '127.0.0.1', port });
  t.after(() => {
    socket.destroy();
  });
  const chunks: Buffer[] = [];
  let error: NodeJS.ErrnoException | undefined;
  let ended = false;
  let closed = false;
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', (e) => (error = e));
  socket.on('end', () => (ended = true));
  socket.on('close', () => (closed = true));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, data: () => Buffer.concat(chunks), error: () => error, ended: () => ended, closed: () => closed };
}

void describe('resp-mini', () => {
  void test('encodes commands as arrays of bulk strings', () => {
    assert.equal(encodeCommand(['SET', 'k', 12, Buffer.from('é')]).toString(), '*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n$2\r\né\r\n');
  });

  void test('parses every RESP2 type, nested, and reports incomplete input at every split point', () => {
    const wire = Buffer.from(
      '*7\r\n+OK\r\n-ERR bad thing\r\n:-42\r\n$5\r\nhe\r\nl\r\n*2\r\n$-1\r\n*1\r\n:1\r\n*-1\r\n:12345678901234567890\r\n',
    );
    for (let cut = 0; cut < wire.length; cut++) assert.equal(parseReply(wire.subarray(0, cut)), undefined, `cut ${cut}`);
    const parsed = parseReply(Buffer.concat([wire, Buffer.from('+next\r\n')]));
    assert.ok(parsed);
    assert.equal(parsed.offset, wire.length);
    const [ok, err, int, bulk, nested, nullArr, big] = parsed.value as unknown[];
    assert.equal(ok, 'OK');
    assert.ok(err instanceof RespReplyError);
    assert.equal(err.message, 'ERR bad thing');
    assert.equal(err.prefix, 'ERR');
    assert.equal(int, -42);
    assert.equal(bulk, 'he\r\nl');
    assert.deepEqual(nested, [null, [1]]);
    assert.equal(nullArr, null);
    assert.equal(big, 12345678901234567890n);
  });

  void test('rejects malformed input with ERR_RESP_PROTOCOL', () => {
    for (const bad of ['?x\r\n', ':12a\r\n', '$-5\r\n', '$2\r\nabcd\r\n']) {
      assert.throws(() => parseReply(Buffer.from(bad)), { code: 'ERR_RESP_PROTOCOL' }, bad);
    }
  });
});

void describe('RedisProcess', () => {
  void test('start/stop leaves no process, no directory, and stop is idempotent', async (t) => {
    const before = RedisProcess.running();
    const server = await startRedis();
    t.after(() => server.stop());
    assert.equal(RedisProcess.running(), before + 1);
    assert.equal(server.host, '127.0.0.1');
    assert.equal(server.url, `redis://127.0.0.1:${server.port}`);
    assert.ok(server.alive && pidAlive(server.pid));
    assert.ok(existsSync(server.dir));
    assert.equal(await server.command('PING'), 'PONG');
    assert.equal(await server.command('CONFIG', 'GET', 'save').then((r) => (r as string[])[1]), '');
    assert.equal(await server.command('CONFIG', 'GET', 'appendonly').then((r) => (r as string[])[1]), 'no');
    assert.equal(await server.command('CONFIG', 'GET', 'bind').then((r) => (r as string[])[1]), '127.0.0.1');
    await Promise.all([server.stop(), server.stop()]);
    await server.stop();
    assert.equal(RedisProcess.running(), before);
    assert.equal(server.alive, false);
    assert.equal(pidAlive(server.pid), false);
    assert.equal(existsSync(server.dir), false);
    await assert.rejects(server.restart(), /stopped/);
  });

  void test('stop works while paused, after kill, and SIGKILLs a server that ignores SIGTERM', async (t) => {
    const paused = await withRedis(t);
    paused.pause();
    await paused.stop();
    assert.equal(pidAlive(paused.pid), false);

    const killed = await withRedis(t);
    await killed.kill();
    await killed.stop();
    assert.equal(existsSync(killed.dir), false);

    const busy = await withRedis(t, { stopTimeoutMs: 300 });
    await rejectsWithCode(busy.commandWith({ timeoutMs: 100 }, 'DEBUG', 'SLEEP', 10), 'ETIMEDOUT');
    const started = Date.now();
    await busy.stop();
    assert.ok(Date.now() - started < 3000, `stop took ${Date.now() - started} ms`);
    assert.equal(pidAlive(busy.pid), false);
  });

  void test('command() decodes replies and rejects error replies with the error line', async (t) => {
    const server = await withRedis(t);
    assert.equal(await server.command('SET', 'k', 'v'), 'OK');
    assert.equal(await server.command('GET', 'k'), 'v');
    assert.equal(await server.command('GET', 'missing'), null);
    assert.equal(await server.command('DBSIZE'), 1);
    assert.deepEqual(await server.command('MGET', 'k', 'missing'), ['v', null]);
    const nested = (await server.command('EVAL', "return {1, {2, 'a'}, redis.error_reply('boom')}", 0)) as unknown[];
    assert.deepEqual(nested.slice(0, 2), [1, [2, 'a']]);
    assert.ok(nested[2] instanceof RespReplyError && nested[2].message === 'ERR boom');
    await assert.rejects(server.command('NOSUCHCMD'), (e: Error) => e instanceof RespReplyError && /^ERR unknown command/.test(e.message));
    assert.match((await server.command('INFO', 'server')) as string, /redis_version:/);
    assert.equal(await server.command('DEBUG', 'SLEEP', 0), 'OK'); // debug command enabled locally
    const pipelined = await respPipeline(server.target(), [
      ['INCR', 'n'],
      ['INCR', 'n'],
      ['LPUSH', 'n', 'x'],
    ]);
    assert.equal(pipelined[1], 2);
    assert.ok(pipelined[2] instanceof RespReplyError && pipelined[2].prefix === 'WRONGTYPE');
  });

  void test('pause makes commands time out, resume makes them answer', async (t) => {
    const server = await withRedis(t);
    server.pause();
    assert.equal(server.paused, true);
    const started = Date.now();
    await rejectsWithCode(server.commandWith({ timeoutMs: 300 }, 'PING'), 'ETIMEDOUT');
    assert.ok(Date.now() - started < 2000);
    server.resume();
    assert.equal(await server.command('PING'), 'PONG');
  });

  void test('restart keeps the port and args, drops data, and works while paused or after kill', async (t) => {
    const server = await withRedis(t, { args: ['--maxclients', '77'] });
    const { port } = server;
    await server.command('SET', 'k', 'v');
    const pid1 = server.pid;
    await server.restart();
    assert.equal(server.port, port);
    assert.notEqual(server.pid, pid1);
    assert.equal(pidAlive(pid1), false);
    assert.equal(await server.command('PING'), 'PONG');
    assert.equal(await server.command('GET', 'k'), null);
    assert.deepEqual(await server.command('CONFIG', 'GET', 'maxclients'), ['maxclients', '77']);

    server.pause();
    await server.restart();
    assert.equal(server.paused, false);
    assert.equal(await server.command('PING'), 'PONG');

    const pid3 = server.pid;
    await server.kill();
    assert.equal(server.alive, false);
    assert.equal(pidAlive(pid3), false);
    await rejectsWithCode(server.command('PING'), 'ECONNREFUSED');
    await server.restart();
    assert.equal(server.port, port);
    assert.equal(await server.command('PING'), 'PONG');
    assert.equal(RedisProcess.running() >= 1, true);
  });

  void test('restart reloads an explicitly SAVEd dataset', async (t) => {
    const server = await withRedis(t);
    await server.command('SET', 'kept', '1');
    await server.command('SAVE');
    await server.restart();
    assert.equal(await server.command('GET', 'kept'), '1');

    // A slow load: restart returns while the server still answers -LOADING.
    await server.command('DEBUG', 'POPULATE', 5000, 'key', 10);
    await server.command('SAVE');
    await server.restart({
      extraArgs: ['--key-load-delay', '200', '--loading-process-events-interval-bytes', '1024'],
      acceptLoading: true,
    });
    await assert.rejects(server.command('PING'), (e: RespReplyError) => e.prefix === 'LOADING');
    await waitFor(async () => (await server.command('PING').catch(() => '')) === 'PONG', { timeoutMs: 8000 });
    assert.equal(await server.command('DBSIZE'), 5001);
  });

  void test('requirepass: NOAUTH without it, password never in url, setPassword', async (t) => {
    const server = await withRedis(t, { requirepass: 's3cret:/@"\\' });
    assert.equal(server.url, `redis://127.0.0.1:${server.port}`);
    assert.ok(!server.url.includes('s3cret'));
    assert.equal(server.urlWithPassword(), `redis://:${encodeURIComponent('s3cret:/@"\\')}@127.0.0.1:${server.port}`);
    assert.equal(await server.command('PING'), 'PONG');
    await assert.rejects(server.commandWith({ password: null }, 'GET', 'x'), /^Error: NOAUTH|NOAUTH/);
    await assert.rejects(server.commandWith({ password: 'wrong' }, 'PING'), /WRONGPASS/);
    // The password is not on the command line (visible in ps), only in a 0600 config file.
    const cmdline = readFileSync(`/proc/${server.pid}/cmdline`, 'utf8');
    assert.ok(!cmdline.includes('s3cret'));
    assert.equal(statSync(path.join(server.dir, 'redis.conf')).mode & 0o777, 0o600);

    await server.setPassword('next', { applyNow: false });
    assert.equal(await server.command('PING'), 'PONG'); // still the old one until restart
    await server.restart();
    assert.equal(await server.command('PING'), 'PONG');
    await assert.rejects(server.commandWith({ password: 's3cret:/@"\\' }, 'PING'), /WRONGPASS/);

    await server.setPassword('live');
    await assert.rejects(server.commandWith({ password: 'next' }, 'PING'), /WRONGPASS/);
    assert.equal(await server.commandWith({ password: 'live' }, 'PING'), 'PONG');
    await server.setPassword(undefined);
    assert.equal(await server.commandWith({ password: null }, 'PING'), 'PONG');
    assert.equal(server.urlWithPassword(), server.url);
  });

  void test('TLS server answers over TLS with the generated CA; wrong CA, host and client cert fail', async (t) => {
    const certs = await generateCerts();
    assert.match(certs.ca.cert, /BEGIN CERTIFICATE/);
    const server = await withRedis(t, {
      tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.ca.certFile },
    });
    assert.equal(server.url, `rediss://127.0.0.1:${server.port}`);
    assert.equal(await server.command('PING'), 'PONG');
    const viaTls = (opts: tls.ConnectionOptions): Promise<unknown> =>
      respCommand({ port: server.port, tls: opts }, ['PING'], { timeoutMs: 3000 });
    assert.equal(await viaTls({ ca: certs.ca.cert, servername: 'localhost' }), 'PONG');
    assert.equal(await viaTls({ ca: certs.ca.cert }), 'PONG'); // SAN has IP 127.0.0.1
    await assert.rejects(viaTls({ ca: certs.wrongCa.cert, servername: 'localhost' }), (err: NodeJS.ErrnoException) =>
      ['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'].includes(err.code ?? ''),
    );
    // Plain TCP to a TLS port gets no PONG.
    await assert.rejects(respCommand({ port: server.port }, ['PING'], { timeoutMs: 500 }));

    const wrongHost = await withRedis(t, {
      tls: { certFile: certs.wrongHost.certFile, keyFile: certs.wrongHost.keyFile, caFile: certs.ca.certFile },
    });
    assert.equal(await wrongHost.command('PING'), 'PONG'); // the harness skips the host-name check
    await rejectsWithCode(
      respCommand({ port: wrongHost.port, tls: { ca: certs.ca.cert, servername: 'localhost' } }, ['PING']),
      'ERR_TLS_CERT_ALTNAME_INVALID',
    );

    const mtls = await withRedis(t, {
      tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.ca.certFile, authClients: true },
    });
    assert.equal(await mtls.command('PING'), 'PONG');
    const port = mtls.port;
    assert.equal(await respCommand({ port, tls: { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key } }, ['PING']), 'PONG');
    await assert.rejects(respCommand({ port, tls: { ca: certs.ca.cert } }, ['PING'], { timeoutMs: 3000 }));
    await assert.rejects(
      respCommand({ port, tls: { ca: certs.ca.cert, cert: certs.wrongClient.cert, key: certs.wrongClient.key } }, ['PING'], {
        timeoutMs: 3000,
      }),
    );
    assert.equal(await generateCerts(), certs, 'cached per process');
  });

  void test('unix socket', async (t) => {
    const server = await withRedis(t, { unixSocket: true });
    assert.ok(server.socketPath);
    assert.equal(statSync(server.socketPath).mode & 0o777, 0o700);
    assert.equal(await respCommand({ path: server.socketPath }, ['PING']), 'PONG');
    assert.equal(await server.command('PING'), 'PONG'); // TCP still works
  });

  void test('missing binary gives ERR_REDIS_SERVER_NOT_FOUND', async () => {
    const before = RedisProcess.running();
    for (const binary of ['redis-server-does-not-exist', '/nonexistent/redis-server']) {
      await assert.rejects(startRedis({ binary }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_REDIS_SERVER_NOT_FOUND');
        assert.match(err.message, /redis-server/);
        assert.match(err.message, /URL/);
        return true;
      });
    }
    assert.equal(RedisProcess.running(), before);
  });

  void test('a server that dies at startup rejects with the log tail and leaves nothing', async () => {
    const before = RedisProcess.running();
    await assert.rejects(startRedis({ args: ['--no-such-directive', 'x'] }), (err: RedisStartError) => {
      assert.equal(err.code, 'ERR_REDIS_SERVER_START');
      assert.match(err.logTail, /no-such-directive|Bad directive/i);
      return true;
    });
    await assert.rejects(startRedis({ startTimeoutMs: 1 }), { code: 'ERR_REDIS_SERVER_START', message: /did not answer PING/ });
    assert.equal(RedisProcess.running(), before);
  });

  void test('a busy fixed port is retried, then reported', async (t) => {
    const port = await findFreePort();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port }, resolve));
    t.after(() => {
      if (blocker.listening) blocker.close();
    });
    const started = Date.now();
    await assert.rejects(startRedis({ port, portRetryMs: 400 }), { code: 'ERR_REDIS_SERVER_START', message: /in use/ });
    assert.ok(Date.now() - started >= 400);
    // Freed while retrying: the start succeeds on that very port.
    const pending = startRedis({ port, portRetryMs: 5000 });
    setTimeout(() => blocker.close(), 300);
    const server = await pending;
    t.after(() => server.stop());
    assert.equal(server.port, port);
    assert.equal(await server.command('PING'), 'PONG');
  });

  void test('parallel starts get distinct ports', async (t) => {
    const servers = await Promise.all([startRedis(), startRedis(), startRedis(), startRedis()]);
    t.after(() => Promise.all(servers.map((s) => s.stop())));
    assert.equal(new Set(servers.map((s) => s.port)).size, 4);
    assert.deepEqual(await Promise.all(servers.map((s) => s.command('PING'))), ['PONG', 'PONG', 'PONG', 'PONG']);
  });

  void test('the exit hook kills servers a crashed process left running', async () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const mod = path.resolve(here, '../support/redis-process.js');
    const script = `import(${JSON.stringify(mod)}).then(async (m) => { const s = await m.startRedis(); console.log(s.pid); process.exit(3); });`;
    const result = await promisify(execFile)(process.execPath, ['-e', script]).then(
      () => ({ code: 0, stdout: '' }),
      (e: { code: number; stdout: string }) => e,
    );
    assert.equal(result.code, 3);
    const pid = Number(result.stdout.trim());
    assert.ok(pid > 0);
    await waitFor(() => !pidAlive(pid), { timeoutMs: 3000, message: `redis-server ${pid} survived its parent` });
  });

  void test('cleanupOnSignals kills servers when the process dies from SIGTERM, then re-raises', async () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const mod = path.resolve(here, '../support/redis-process.js');
    const script =
      `import(${JSON.stringify(mod)}).then(async (m) => { m.cleanupOnSignals(); const s = await m.startRedis();` +
      ` console.log(s.pid + ' ' + s.dir); setInterval(() => {}, 1000); process.kill(process.pid, 'SIGTERM'); });`;
    const result = await promisify(execFile)(process.execPath, ['-e', script]).then(
      () => ({ signal: null, stdout: '' }),
      (e: { signal: string | null; stdout: string }) => e,
    );
    assert.equal(result.signal, 'SIGTERM');
    const [pidText, dir] = result.stdout.trim().split(' ');
    const pid = Number(pidText);
    assert.ok(pid > 0 && dir);
    assert.equal(existsSync(dir), false);
    await waitFor(() => !pidAlive(pid), { timeoutMs: 3000, message: `redis-server ${pid} survived SIGTERM of its parent` });
  });
});

void describe('helpers', () => {
  const shared = useRedis();

  void test('useRedis starts one server for the suite', async () => {
    assert.equal(await shared().command('PING'), 'PONG');
  });

  void test('withRedis stops the server after the (sub)test', async (t) => {
    let inner: RedisProcess | undefined;
    await t.test('inner', async (t2) => {
      inner = await withRedis(t2);
      assert.equal(inner.alive, true);
    });
    assert.ok(inner);
    assert.equal(inner.alive, false);
    assert.equal(pidAlive(inner.pid), false);
  });

  void test('clientNames lists named connections by prefix; waitFor polls', async (t) => {
    const server = shared();
    const a = await raw(t, server.port);
    const b = await raw(t, server.port);
    a.socket.write(encodeCommand(['CLIENT', 'SETNAME', 'rp-test-a']));
    b.socket.write(encodeCommand(['CLIENT', 'SETNAME', 'other-b']));
    const names = await waitFor(async () =>
      (await clientNames(server, 'rp-test-')).length === 1 ? clientNames(server, 'rp-test-') : undefined,
    );
    assert.deepEqual(names, ['rp-test-a']);
    a.socket.destroy();
    await waitFor(async () => (await clientNames(server, 'rp-test-')).length === 0);
    await assert.rejects(
      waitFor(() => false, { timeoutMs: 50, message: 'never' }),
      /within 50 ms: never/,
    );
  });
});

void describe('FaultProxy', () => {
  const redis = useRedis();

  async function proxyFor(t: TestContext): Promise<FaultProxy> {
    const proxy = await FaultProxy.start({ port: redis().port });
    t.after(() => proxy.close());
    return proxy;
  }

  void test('pass forwards both ways and counts', async (t) => {
    const proxy = await proxyFor(t);
    assert.equal(proxy.url, `redis://127.0.0.1:${proxy.port}`);
    assert.equal(await respCommand({ port: proxy.port }, ['PING']), 'PONG');
    assert.equal(proxy.stats.accepted, 1);
    assert.equal(proxy.stats.bytesUp, encodeCommand(['PING']).length);
    assert.equal(proxy.stats.bytesDown, '+PONG\r\n'.length);
    await waitFor(() => proxy.connections === 0);
  });

  void test('delay applies to both directions and preserves order', async (t) => {
    const proxy = await proxyFor(t);
    await proxy.delay(150);
    const started = Date.now();
    assert.equal(await respCommand({ port: proxy.port }, ['PING']), 'PONG');
    const rtt = Date.now() - started;
    assert.ok(rtt >= 295 && rtt < 2000, `rtt ${rtt}`);
    const c = await raw(t, proxy.port);
    for (let i = 0; i < 20; i++) {
      c.socket.write(encodeCommand(['ECHO', `m${i}`]));
      await sleep(i % 3); // separate chunks
    }
    await waitFor(() => c.data().toString().includes('m19'), { timeoutMs: 3000 });
    assert.equal(c.data().toString(), Array.from({ length: 20 }, (_, i) => `$${`m${i}`.length}\r\nm${i}\r\n`).join(''));
    await proxy.pass();
    assert.equal(await respCommand({ port: proxy.port }, ['PING'], { timeoutMs: 100 }), 'PONG');
  });

  void test('blackhole accepts and reads but forwards nothing; connections stay open', async (t) => {
    const proxy = await proxyFor(t);
    const before = await raw(t, proxy.port); // opened in pass mode
    await proxy.blackhole();
    const c = await raw(t, proxy.port);
    c.socket.write(encodeCommand(['PING']));
    before.socket.write(encodeCommand(['PING']));
    await rejectsWithCode(respCommand({ port: proxy.port }, ['PING'], { timeoutMs: 200 }), 'ETIMEDOUT');
    await sleep(100);
    assert.equal(c.data().length, 0);
    assert.equal(before.data().length, 0);
    assert.equal(c.closed(), false);
    assert.equal(proxy.connections, 2);
    assert.ok(proxy.stats.droppedUp >= 2 * encodeCommand(['PING']).length);
    await proxy.pass();
    assert.equal(await respCommand({ port: proxy.port }, ['PING']), 'PONG');
    await proxy.close();
    await proxy.close();
    await waitFor(() => c.closed() && before.closed());
  });

  void test('refuse closes the listener; pass reopens the same port', async (t) => {
    const proxy = await proxyFor(t);
    const { port } = proxy;
    const open = await raw(t, port);
    await proxy.refuse();
    await rejectsWithCode(respCommand({ port }, ['PING']), 'ECONNREFUSED');
    open.socket.write(encodeCommand(['PING']));
    await waitFor(() => open.data().toString() === '+PONG\r\n');
    await proxy.pass();
    assert.equal(proxy.port, port);
    assert.equal(await respCommand({ port }, ['PING']), 'PONG');
  });

  void test('resetAll destroys every connection with RST', async (t) => {
    const proxy = await proxyFor(t);
    const a = await raw(t, proxy.port);
    const b = await raw(t, proxy.port);
    await waitFor(() => proxy.connections === 2);
    proxy.resetAll();
    assert.equal(proxy.connections, 0);
    await waitFor(() => a.closed() && b.closed());
    assert.equal(a.error()?.code, 'ECONNRESET');
    assert.equal(b.error()?.code, 'ECONNRESET');
    assert.equal(await respCommand({ port: proxy.port }, ['PING']), 'PONG'); // mode unchanged
  });

  void test('truncateReplyAfter forwards n reply bytes then resets, closes or hangs', async (t) => {
    const proxy = await proxyFor(t);
    await redis().command('SET', 'big', 'x'.repeat(1000));
    const getBig = encodeCommand(['GET', 'big']);

    await proxy.resetAfterBytes(10);
    const r = await raw(t, proxy.port);
    r.socket.write(getBig);
    await waitFor(() => r.closed());
    assert.equal(r.data().toString(), '$1000\r\nxxx');
    assert.equal(r.error()?.code, 'ECONNRESET');

    await proxy.truncateReplyAfter(7, 'close');
    const c = await raw(t, proxy.port);
    c.socket.write(getBig);
    await waitFor(() => c.closed());
    assert.equal(c.data().toString(), '$1000\r\n');
    assert.equal(c.error(), undefined);
    assert.equal(c.ended(), true);

    await proxy.truncateReplyAfter(3, 'hang');
    const h = await raw(t, proxy.port);
    h.socket.write(getBig);
    await sleep(200);
    h.socket.write(encodeCommand(['PING']));
    await sleep(100);
    assert.equal(h.data().toString(), '$10');
    assert.equal(h.closed(), false);

    await proxy.resetAfterBytes(0);
    await rejectsWithCode(respCommand({ port: proxy.port }, ['PING']), 'ECONNRESET');
    await proxy.pass();
    assert.equal(await respCommand({ port: proxy.port }, ['GET', 'big']), 'x'.repeat(1000));
  });
});

void test('no redis-server left running by this file', async () => {
  await waitFor(() => RedisProcess.running() === 0, { timeoutMs: 10_000 });
});
