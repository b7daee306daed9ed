#!/usr/bin/env node
// Builds src+test with tsc, then runs node:test on an explicit file list (Node 20 does not
// expand globs). Usage: node scripts/test.mjs [suite...]
//   suites: unit property integration fault cli examples package
// With no suite, runs them all, after lint and the API reference (TypeDoc, warnings are
// errors). Set TEST_ONLY=substring to filter file names. The tsc build also type-checks
// test/types/ (compile-time checks of the public types; nothing there runs).
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const ALL = ['unit', 'property', 'integration', 'fault', 'cli', 'examples', 'package'];
// Suites that import the package by name ('redpool/...') or pack it need dist/ (npm run build).
const NEEDS_DIST = ['examples', 'package'];
const suites = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const chosen = suites.length ? suites : ALL;

if (!process.env.SKIP_BUILD) {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
  if (chosen.some((s) => NEEDS_DIST.includes(s))) execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
}
// Lint only for the full run (no suite named): type-aware promise rules catch floating promises.
// Prettier --check: the tree is formatted (npm run format), and stays so.
const full = suites.length === 0;
if (full && !process.env.SKIP_LINT) {
  execFileSync(process.execPath, ['node_modules/eslint/bin/eslint.js', '.'], { stdio: 'inherit' });
  // No import cycles among src/ files, type imports included (.dependency-cruiser.cjs).
  execFileSync(
    process.execPath,
    ['node_modules/dependency-cruiser/bin/dependency-cruise.mjs', 'src', '--config', '.dependency-cruiser.cjs'],
    { stdio: 'inherit' },
  );
  execFileSync(process.execPath, ['node_modules/prettier/bin/prettier.cjs', '--check', '.'], { stdio: 'inherit' });
}

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.js') ? [p] : [];
  });
}

// `npm run test:faults -- --report [--quick]`: the reliability report instead of the fault tests.
if (process.argv.includes('--report')) {
  const rest = process.argv.slice(2).filter((a) => a.startsWith('-') && a !== '--report');
  const r = spawnSync(process.execPath, ['build/test/fault/report.js', ...rest], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const only = process.env.TEST_ONLY;
const files = chosen.flatMap((s) => walk(join('build', 'test', s)).sort()).filter((f) => !only || f.includes(only));
if (files.length === 0) {
  console.error(`no test files for suites: ${chosen.join(', ')}`);
  process.exit(1);
}
// Integration suites start real redis-server processes; two files at a time keeps the 2-core
// machine responsive while halving wall time.
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=120000', ...files], {
  stdio: 'inherit',
});
// The API reference, last in the full run (so a missing doc comment does not hide test
// results): TypeDoc with warnings as errors, so every export stays documented (typedoc.json).
let docs = 0;
if (full && !process.env.SKIP_DOCS) {
  docs = spawnSync(process.execPath, ['node_modules/typedoc/bin/typedoc'], { stdio: 'inherit' }).status ?? 1;
  if (docs !== 0) console.error('npm run docs failed: document the exports TypeDoc names above');
}
process.exit(r.status === 0 ? docs : (r.status ?? 1));
