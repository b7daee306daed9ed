/**
 * What `npm pack` ships: dist/ only (no test support: no fault controls, no RESP parser, no
 * src/ or test/), every `exports` target and the bin present; and the examples, copied out of
 * the repo next to an installed tarball, run by their `redpool/...` imports. Needs `dist/`
 * (scripts/test.mjs builds it for this suite).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { npmCommand, ROOT, run, tarballApp } from './tarball-app.js';

interface PackJson {
  filename: string;
  files: Array<{ path: string; mode: number }>;
}

/** `npm pack --dry-run --json`, without `prepare` (dist/ is already built). */
function packList(): PackJson {
  const npm = npmCommand();
  const out = execFileSync(npm[0]!, [...npm.slice(1), 'pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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

  void test('npm pack lists dist/, the manifest, README and LICENSE only: no fault controls, no RESP parser, no test support', () => {
    const files = packList().files.map((f) => f.path);
    const outside = files.filter((f) => !f.startsWith('dist/'));
    assert.deepEqual(outside.sort(), ['LICENSE', 'README.md', 'package.json']);
    const forbidden = files.filter((f) =>
      /(^|\/)(server|support|helpers|fault|test)\/|resp-mini|redis-process|fault-proxy|\.tsbuildinfo$|^src\//.test(f),
    );
    assert.deepEqual(forbidden, []);
    for (const f of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/testing/index.js',
      'dist/cli/embedded-server.js',
      'dist/cli/embedded-watchdog.js',
    ]) {
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

  void test('every example runs from an installed tarball, importing redpool by name', { timeout: 180_000 }, async (t) => {
    const app = tarballApp();
    t.after(() => app.remove());
    // Every file of examples/, so a new example cannot be left out.
    const examples = readdirSync(path.join(ROOT, 'examples'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.replace(/\.ts$/, ''));
    assert.ok(examples.length >= 3, `examples found: ${examples.join(', ')}`);
    for (const example of examples) {
      const file = path.join(app.dir, `${example}.js`);
      copyFileSync(path.join(ROOT, 'build/examples', `${example}.js`), file);
      const r = await run(process.execPath, [file], app.dir, 60_000);
      assert.equal(r.code, 0, `${example}: exit code\n${r.out}`);
      assert.match(r.out, /^self-check: ok$/m, example);
    }
    // The two-process chat (plain .mjs, a folder of its own) from the install too.
    const chat = path.join(app.dir, 'chat');
    mkdirSync(chat);
    for (const f of readdirSync(path.join(ROOT, 'examples/chat')).filter((n) => n.endsWith('.mjs')))
      copyFileSync(path.join(ROOT, 'examples/chat', f), path.join(chat, f));
    const r = await run(process.execPath, [path.join(chat, 'main.mjs')], app.dir, 90_000);
    assert.equal(r.code, 0, `chat: exit code\n${r.out}`);
    assert.match(r.out, /^self-check: ok$/m, 'chat');
  });
});
