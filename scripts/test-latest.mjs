#!/usr/bin/env node
// `npm run test:latest [-- suite...]`: the suite against the newest ioredis and node-redis 5,
// the scheduled-style check that notices a new release (and a silent fallback off the ioredis
// direct path) the day it happens. Works on a temporary copy of the checkout: the lockfile and
// node_modules here are never touched. Needs the npm registry (or a warm npm cache).
//   1. copy the tracked and untracked-but-not-ignored files to a temp dir
//   2. npm ci there, then npm install --no-save ioredis@latest redis@5
//   3. print the versions and the direct-path probe (scripts/direct-path-probe.mjs)
//   4. node scripts/test.mjs [suite...] there (all suites, lint and docs by default)
// KEEP_TMP=1 keeps the copy for a look afterwards.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'redpool-latest-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const quiet = ['--no-audit', '--no-fund', '--loglevel=error'];

function run(cmd, args, opts = {}) {
  console.log(`test:latest: ${cmd} ${args.join(' ')}`);
  return execFileSync(cmd, args, { cwd: dir, stdio: 'inherit', ...opts });
}

let status = 1;
try {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
  for (const f of files) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    cpSync(path.join(root, f), path.join(dir, f), { errorOnExist: false, force: true });
  }
  run(npm, ['ci', '--ignore-scripts', ...quiet]);
  run(npm, ['install', '--no-save', '--ignore-scripts', ...quiet, 'ioredis@latest', 'redis@5']);
  const version = (pkg) =>
    execFileSync(process.execPath, ['-p', `require('${pkg}/package.json').version`], { cwd: dir, encoding: 'utf8' }).trim();
  console.log(
    `test:latest: ioredis ${version('ioredis')}, redis (node-redis) ${version('redis')}, @ioredis/commands ${version('@ioredis/commands')}`,
  );
  run(process.execPath, ['scripts/build.mjs']);
  run(process.execPath, ['scripts/direct-path-probe.mjs']);
  status = spawnSync(process.execPath, ['scripts/test.mjs', ...process.argv.slice(2)], { cwd: dir, stdio: 'inherit' }).status ?? 1;
  console.log(
    `test:latest: suite ${status === 0 ? 'passed' : `FAILED (exit ${status})`} on ioredis ${version('ioredis')} / redis ${version('redis')}`,
  );
} catch (err) {
  console.error(`test:latest: ${err.message}`);
} finally {
  if (process.env.KEEP_TMP) console.log(`test:latest: copy kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
process.exit(status);
