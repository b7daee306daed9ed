/**
 * G2 and the TLS part of the security checklist: certificates generated with openssl at test
 * time (test/helpers/tls-certs.ts). Expected: with the right CA it works (SNI defaults to the
 * host name); a wrong CA, a host-name mismatch, a missing or foreign client certificate, and
 * plaintext↔TLS mismatches each fail with a clear typed error — never a hang, never a silent
 * plaintext fallback — and are not retried in a tight loop.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { PoolOptions } from '../../src/options.js';
import { generateCerts, type TestCerts } from '../helpers/tls-certs.js';
import { expectOk, expectTyped, sleep } from './lib/guard.js';
import { assertQuiet, describe, fileChecks, scope, type Scope } from './lib/scope.js';

fileChecks();

let certs: TestCerts;
before(async () => {
  certs = await generateCerts();
});

const LIMIT = 1_500; // connectTimeoutMs 400 + acquire 800 + slack

function tlsServer(s: Scope, which: 'server' | 'wrongHost' = 'server', authClients = false): ReturnType<Scope['redis']> {
  const pair = certs[which];
  return s.redis({
    tls: {
      certFile: pair.certFile,
      keyFile: pair.keyFile,
      caFile: certs.ca.certFile,
      authClients,
      clientCertFile: certs.client.certFile,
      clientKeyFile: certs.client.keyFile,
    },
  });
}

function opts(port: number, tls: PoolOptions['tls'], host = '127.0.0.1'): PoolOptions {
  return { host, port, tls, failureThreshold: 2 };
}

void test('good CA: TLS works, by IP and by host name (SNI defaults to the host)', async (t) => {
  const s = scope(t);
  const server = await tlsServer(s);
  const byIp = s.pool('tls-ok', opts(server.port, { ca: certs.ca.cert }), server).pool;
  assert.equal(await expectOk(byIp.ready(), LIMIT, 'ready over TLS'), 'healthy');
  assert.equal(await expectOk(byIp.set('tls:k', 'v'), 500), 'OK');
  const byName = s.pool('tls-name', { url: `rediss://localhost:${server.port}`, tls: { ca: certs.ca.cert } }, server).pool;
  assert.equal(await expectOk(byName.get('tls:k'), LIMIT, 'GET over TLS via localhost'), 'v');
  await assertQuiet(byIp);
  await assertQuiet(byName);
});

void test('wrong CA: TlsError naming the verification failure, bounded retries', async (t) => {
  const s = scope(t);
  const server = await tlsServer(s);
  const fp = s.pool('tls-wrong-ca', { ...opts(server.port, { ca: certs.wrongCa.cert }), reconnectBackoff: undefined }, server);
  const dials: number[] = [];
  fp.pool.on('connection:error', () => dials.push(performance.now()));
  const r = await expectTyped(fp.pool.ready(), { code: 'ERR_TLS', outcome: 'not-sent', name: 'TlsError' }, LIMIT, 'ready with a wrong CA');
  assert.match(r.error.message, /^TLS to rediss:\/\/127\.0\.0\.1:\d+ failed: .*(self[- ]signed|unable to verify|unable to get)/i);
  fp.transcript.error(r.error);
  await sleep(500);
  assert.ok(dials.length <= 2, `TLS failures back off: ${dials.length} attempts in ~1 s`);
});

void test('host-name mismatch: TlsError (ERR_TLS_CERT_ALTNAME_INVALID); servername selects the right name', async (t) => {
  const s = scope(t);
  const server = await tlsServer(s, 'wrongHost');
  const byIp = s.pool('tls-host-ip', opts(server.port, { ca: certs.ca.cert }), server);
  const r1 = await expectTyped(byIp.pool.ready(), { code: 'ERR_TLS', name: 'TlsError' }, LIMIT, 'ready by IP with a host-name mismatch');
  assert.match(r1.error.message, /IP: 127\.0\.0\.1 is not in the cert's list.*\[ERR_TLS_CERT_ALTNAME_INVALID\]/);
  const byName = s.pool(
    'tls-host-name',
    { url: `rediss://localhost:${server.port}`, tls: { ca: certs.ca.cert }, failureThreshold: 2 },
    server,
  );
  const r2 = await expectTyped(
    byName.pool.ready(),
    { code: 'ERR_TLS', name: 'TlsError' },
    LIMIT,
    'ready by name with a host-name mismatch',
  );
  assert.match(r2.error.message, /Host: localhost\. is not in the cert's altnames: DNS:wrong\.example/);
  // The certificate is valid for wrong.example: naming it explicitly passes verification.
  const ok = s.pool('tls-servername', opts(server.port, { ca: certs.ca.cert, servername: 'wrong.example' }), server).pool;
  assert.equal(await expectOk(ok.ready(), LIMIT, 'ready with servername'), 'healthy');
  await assertQuiet(ok);
});

void test('plaintext client to a TLS port: typed ConnectionError with a TLS hint, no hang', async (t) => {
  const s = scope(t);
  const server = await tlsServer(s);
  const fp = s.pool('tls-plain-client', { host: '127.0.0.1', port: server.port, failureThreshold: 2 }, server);
  const r = await expectTyped(
    fp.pool.ready(),
    { code: ['ERR_CONNECTION', 'ERR_CONNECT_TIMEOUT'], outcome: 'not-sent' },
    LIMIT,
    'plaintext to TLS',
  );
  t.diagnostic(`plaintext → TLS: ${r.error.code}: ${r.error.message}`);
  if (r.error.code === 'ERR_CONNECTION') assert.match(r.error.message, /TLS|rediss/);
});

void test('TLS client to a plaintext port: typed error at the connect deadline naming the TLS phase, never a plaintext fallback', async (t) => {
  const s = scope(t);
  const server = await s.redis();
  const fp = s.pool('tls-plain-server', opts(server.port, { ca: certs.ca.cert }), server);
  const r = await expectTyped(
    fp.pool.ready(),
    { code: ['ERR_TLS', 'ERR_CONNECTION', 'ERR_CONNECT_TIMEOUT'], outcome: 'not-sent' },
    LIMIT,
    'TLS to plaintext',
  );
  t.diagnostic(`TLS → plaintext: ${r.error.code}: ${r.error.message}`);
  // Redis reads the ClientHello as an unfinished inline command and never answers, so this is
  // usually a connect timeout; the message names the phase that hung.
  assert.match(r.error.message, /is the server speaking TLS/);
});

void test('mutual TLS: missing or foreign client certificate fails typed; the right one works', async (t) => {
  const s = scope(t);
  const server = await tlsServer(s, 'server', true);
  const none = s.pool('mtls-none', opts(server.port, { ca: certs.ca.cert }), server);
  const r1 = await expectTyped(
    none.pool.ready(),
    { code: ['ERR_TLS', 'ERR_CONNECTION'], outcome: 'not-sent' },
    LIMIT,
    'no client certificate',
  );
  t.diagnostic(`no client cert: ${r1.error.code}: ${r1.error.message}`);
  assert.match(r1.error.message, /certificate|alert|TLS|ECONNRESET/i);
  const foreign = s.pool(
    'mtls-foreign',
    opts(server.port, { ca: certs.ca.cert, cert: certs.wrongClient.cert, key: certs.wrongClient.key }),
    server,
  );
  const r2 = await expectTyped(
    foreign.pool.ready(),
    { code: ['ERR_TLS', 'ERR_CONNECTION'], outcome: 'not-sent' },
    LIMIT,
    'foreign client certificate',
  );
  t.diagnostic(`foreign client cert: ${r2.error.code}: ${r2.error.message}`);
  const good = s.pool('mtls-good', opts(server.port, { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key }), server).pool;
  assert.equal(await expectOk(good.ready(), LIMIT, 'ready with the client certificate'), 'healthy');
  assert.equal(await expectOk(good.ping(), 500), 'PONG');
  // The client key is a secret: never in inspect/JSON of the options.
  assert.ok(!JSON.stringify(good.options).includes('PRIVATE KEY'));
  await assertQuiet(good);
});

void test('insecureSkipVerify: connects despite a wrong CA, and says so with a warning', async (t) => {
  const s = scope(t);
  const server = await tlsServer(s, 'wrongHost');
  const fp = s.pool('tls-insecure', opts(server.port, { ca: certs.wrongCa.cert, insecureSkipVerify: true }), server);
  const warnings: string[] = [];
  fp.pool.on('warning', (w) => warnings.push(w.message));
  assert.equal(await expectOk(fp.pool.ready(), LIMIT, 'ready with verification off'), 'healthy');
  assert.ok(
    warnings.some((w) => /insecureSkipVerify/.test(w)),
    JSON.stringify(warnings),
  );
  t.diagnostic(describe(fp.pool));
  await assertQuiet(fp.pool);
});
