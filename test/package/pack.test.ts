/**
 * What `npm pack` ships: dist/ only (no test support: no fault controls, no RESP parser, no
 * src/ or test/), every `exports` target and the bin present; and the examples, copied out of
 * the repo next to an installed tarball, run by their `redpool/...` imports. Needs `dist/`
 * (scripts/test.mjs builds it for this suite).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NPM_CLI = path.join(path.dirname(process.execPath), '../lib/node_modules/npm/bin/npm-cli.js');

interface PackJson {
  filename: string;
  files: Array<{ path: string; mode: number }>;
}

/** `npm pack --dry-run --json`, without `prepare` (dist/ is already built). */
function packList(): PackJson {
  const npm = existsSync(NPM_CLI) ? [process.execPath, NPM_CLI] : ['npm'];
  const out = execFileSync(npm[0]!, [...npm.slice(1), 'pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const parsed = JSON.parse(out) as PackJson[];
  assert.equal(parsed.length, 1);
  return parsed[0]!;
}

interface Pkg {
  exports: Record<string, string | Record<string, string>>;
  bin: Record<string, string>;
}

void describe('the packed package', () => {
  assert.ok(existsSync(path.join(ROOT, 'dist/index.js')), 'dist/ is built (npm run build)');

  void test('npm pack lists dist/ and the manifest only: no fault controls, no RESP parser, no test support', () => {
    const files = packList().files.map((f) => f.path);
    const outside = files.filter((f) => !f.startsWith('dist/'));
    assert.deepEqual(outside.sort(), ['README.md', 'package.json']);
    const forbidden = files.filter((f) => /(^|\/)(server|support|helpers|fault|test)\/|resp-mini|redis-process|fault-proxy|\.tsbuildinfo$|^src\//.test(f));
    assert.deepEqual(forbidden, []);
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/testing/index.js', 'dist/cli/embedded-server.js', 'dist/cli/embedded-watchdog.js']) {
      assert.ok(files.includes(f), `${f} is packed`);
    }
  });

  void test('every exports target and the bin are in the tarball; the bin is executable', () => {
    const pack = packList();
    const files = new Map(pack.files.map((f) => [f.path, f.mode]));
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Pkg;
    const targets = Object.values(pkg.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)));
    for (const target of targets) assert.ok(files.has(target.replace(/^\.\//, '')), `${target} is packed`);
    for (const bin of Object.values(pkg.bin)) {
      const mode = files.get(bin.replace(/^\.\//, ''));
      assert.ok(mode !== undefined, `${bin} is packed`);
      assert.ok((mode & 0o111) !== 0, `${bin} is executable (mode ${mode.toString(8)})`);
    }
  });

  void test('the examples run from an installed tarball, importing redpool by name', { timeout: 180_000 }, async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'redpool-tarball-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const npm = existsSync(NPM_CLI) ? [process.execPath, NPM_CLI] : ['npm'];
    execFileSync(npm[0]!, [...npm.slice(1), 'pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, stdio: 'ignore' });
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack wrote a tarball');
    // "npm install ./redpool-x.tgz" without the network: unpack it as node_modules/redpool and
    // link the dependencies (and the example frameworks) from this checkout.
    const modules = path.join(dir, 'app', 'node_modules');
    mkdirSync(path.join(modules, 'redpool'), { recursive: true });
    execFileSync('tar', ['xzf', path.join(dir, tarball), '-C', path.join(modules, 'redpool'), '--strip-components=1']);
    for (const name of readdirSync(path.join(ROOT, 'node_modules'))) {
      if (name === 'redpool' || name.startsWith('.')) continue;
      symlinkSync(path.join(ROOT, 'node_modules', name), path.join(modules, name));
    }
    for (const example of ['express-app', 'fastify-app', 'worker']) {
      const file = path.join(dir, 'app', `${example}.js`);
      copyFileSync(path.join(ROOT, 'build/examples', `${example}.js`), file);
      const env = { ...process.env };
      delete env['REDIS_URL'];
      delete env['NODE_TEST_CONTEXT'];
      const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
        execFile(process.execPath, [file], { cwd: path.join(dir, 'app'), env, timeout: 60_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out: `${stdout}\n--- stderr\n${stderr}` });
        });
      });
      assert.equal(r.code, 0, `${example}: exit code\n${r.out}`);
      assert.match(r.out, /^self-check: ok$/m, example);
    }
  });
});
