/**
 * A new project folder with the packed tarball installed, as `npm install ./redpool-x.tgz` would
 * leave it, but without the network: `npm pack` of this checkout unpacked as
 * `node_modules/redpool`, the bin linked into `node_modules/.bin` (so `npx redpool` resolves
 * locally), and every other dependency (ioredis, the example frameworks, TypeScript, @types/node)
 * symlinked from this checkout's node_modules. Needs `dist/` (the package suite builds it).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout (three levels above build/test/package/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NPM_CLI = path.join(path.dirname(process.execPath), '../lib/node_modules/npm/bin/npm-cli.js');

/** `[command, ...leading args]` that runs npm with this Node. */
export function npmCommand(): string[] {
  return existsSync(NPM_CLI) ? [process.execPath, NPM_CLI] : ['npm'];
}

/** A project folder with redpool installed from its tarball. */
export interface TarballApp {
  /** The project folder (has package.json with `"type": "module"` and node_modules/). */
  dir: string;
  /** Removes everything (the folder holding the project and the tarball). */
  remove(): void;
}

/** Packs this checkout and installs the tarball into a new project folder under the temp dir. */
export function tarballApp(): TarballApp {
  const base = mkdtempSync(path.join(os.tmpdir(), 'redpool-tarball-'));
  const npm = npmCommand();
  execFileSync(npm[0]!, [...npm.slice(1), 'pack', '--ignore-scripts', '--pack-destination', base], { cwd: ROOT, stdio: 'ignore' });
  const tarball = readdirSync(base).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack wrote no tarball');
  const dir = path.join(base, 'app');
  const modules = path.join(dir, 'node_modules');
  mkdirSync(path.join(modules, 'redpool'), { recursive: true });
  execFileSync('tar', ['xzf', path.join(base, tarball), '-C', path.join(modules, 'redpool'), '--strip-components=1']);
  for (const name of readdirSync(path.join(ROOT, 'node_modules'))) {
    if (name === 'redpool' || name.startsWith('.')) continue;
    symlinkSync(path.join(ROOT, 'node_modules', name), path.join(modules, name));
  }
  // What npm does for a dependency's bin: a link in node_modules/.bin (the tarball's mode is kept:
  // a bin packed without its x bit fails here as it would for a user).
  const pkg = JSON.parse(readFileSync(path.join(modules, 'redpool', 'package.json'), 'utf8')) as {
    version: string;
    bin: Record<string, string>;
  };
  mkdirSync(path.join(modules, '.bin'));
  for (const [name, target] of Object.entries(pkg.bin)) {
    symlinkSync(path.relative(path.join(modules, '.bin'), path.join(modules, 'redpool', target)), path.join(modules, '.bin', name));
  }
  writeFileSync(
    path.join(dir, 'package.json'),
    `${JSON.stringify({ name: 'my-app', private: true, type: 'module', dependencies: { redpool: `^${pkg.version}` } }, null, 2)}\n`,
  );
  return { dir, remove: () => rmSync(base, { recursive: true, force: true }) };
}

/** What a child process printed and how it ended. */
export interface RunResult {
  code: number | null;
  /** stdout, then `--- stderr`, then stderr: for assertion messages. */
  out: string;
  stdout: string;
}

/**
 * Runs `file` with `args` in `cwd`, SIGKILLed after `timeoutMs`. `REDIS_URL` and the test
 * runner's context are removed from the environment unless `env` sets them.
 */
export function run(file: string, args: string[], cwd: string, timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const base = { ...process.env };
  delete base['REDIS_URL'];
  delete base['NODE_TEST_CONTEXT'];
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env: { ...base, ...env }, timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out: `${stdout}\n--- stderr\n${stderr}`, stdout });
    });
  });
}
