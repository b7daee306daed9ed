/**
 * Test certificates generated with `openssl` at test time (EC prime256v1 keys: fast). One set
 * per directory per process, cached. Layout:
 * - `ca`: the trusted test CA;
 * - `server`: CN/SAN `localhost` + IP 127.0.0.1 / ::1, signed by `ca`, usable for server and
 *   client auth (so the harness can present it when `tls-auth-clients` is on);
 * - `client`: client-auth certificate signed by `ca`;
 * - `wrongCa`: an unrelated CA (verifying the server with it must fail);
 * - `wrongClient`: client certificate signed by `wrongCa` (the server must reject it);
 * - `wrongHost`: server certificate for `wrong.example` signed by `ca` (host-name mismatch).
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One certificate: file paths and PEM contents. */
export interface CertPair {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

/** Everything {@link generateCerts} produces. */
export interface TestCerts {
  dir: string;
  ca: CertPair;
  server: CertPair;
  client: CertPair;
  wrongCa: CertPair;
  wrongClient: CertPair;
  wrongHost: CertPair;
}

const CONFIG = `
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ server_ext ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
[ client_ext ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
[ wrong_host_ext ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example
`;

const cache = new Map<string, Promise<TestCerts>>();
let cleanupInstalled = false;
const ownedDirs = new Set<string>();

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd, timeout: 20_000 });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new Error('openssl not found on PATH: install the Debian package `openssl`');
    throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(dir: string, name: string, cn: string, serial: number): Promise<void> {
  await openssl(
    [
      'req',
      '-x509',
      ...KEY_ARGS,
      '-config',
      'openssl.cnf',
      '-extensions',
      'ca_ext',
      '-subj',
      `/CN=${cn}`,
      '-days',
      '30',
      '-set_serial',
      String(serial),
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
}

async function makeLeaf(dir: string, name: string, cn: string, ca: string, ext: string, serial: number): Promise<void> {
  await openssl(
    ['req', '-new', ...KEY_ARGS, '-config', 'openssl.cnf', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`],
    dir,
  );
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-set_serial',
      String(serial),
      '-days',
      '30',
      '-extfile',
      'openssl.cnf',
      '-extensions',
      ext,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
}

async function readPair(dir: string, name: string): Promise<CertPair> {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  const [cert, key] = await Promise.all([fs.readFile(certFile, 'utf8'), fs.readFile(keyFile, 'utf8')]);
  return { certFile, keyFile, cert, key };
}

async function generate(dir: string): Promise<TestCerts> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'openssl.cnf'), CONFIG);
  await Promise.all([makeCa(dir, 'ca', 'redpool test CA', 1), makeCa(dir, 'wrong-ca', 'redpool unrelated CA', 2)]);
  await Promise.all([
    makeLeaf(dir, 'server', 'localhost', 'ca', 'server_ext', 10),
    makeLeaf(dir, 'client', 'redpool-client', 'ca', 'client_ext', 11),
    makeLeaf(dir, 'wrong-host', 'wrong.example', 'ca', 'wrong_host_ext', 12),
    makeLeaf(dir, 'wrong-client', 'redpool-wrong-client', 'wrong-ca', 'client_ext', 13),
  ]);
  await Promise.all(
    ['ca', 'wrong-ca', 'server', 'client', 'wrong-host', 'wrong-client'].map((n) => fs.chmod(path.join(dir, `${n}.key`), 0o600)),
  );
  const [ca, wrongCa, server, client, wrongHost, wrongClient] = await Promise.all(
    ['ca', 'wrong-ca', 'server', 'client', 'wrong-host', 'wrong-client'].map((n) => readPair(dir, n)),
  );
  return { dir, ca: ca!, wrongCa: wrongCa!, server: server!, client: client!, wrongHost: wrongHost!, wrongClient: wrongClient! };
}

/**
 * Generates (once per directory per process) the test certificates described above.
 *
 * @param dir - Where to write them. Default: a fresh temp directory, removed at process exit.
 */
export function generateCerts(dir?: string): Promise<TestCerts> {
  const key = dir === undefined ? '' : path.resolve(dir);
  let pending = cache.get(key);
  if (!pending) {
    pending = (async () => {
      let target = key;
      if (target === '') {
        target = await fs.mkdtemp(path.join(os.tmpdir(), 'redpool-certs-'));
        ownedDirs.add(target);
        if (!cleanupInstalled) {
          cleanupInstalled = true;
          process.on('exit', () => {
            for (const d of ownedDirs) rmSync(d, { recursive: true, force: true });
          });
        }
      }
      return generate(target);
    })();
    pending.catch(() => cache.delete(key));
    cache.set(key, pending);
  }
  return pending;
}
