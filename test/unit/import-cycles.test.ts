/**
 * The no-cycle rule of `npm run lint` (dependency-cruiser, .dependency-cruiser.cjs) is real: it
 * fails on a deliberate cycle made only of type imports, and src/ passes it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const CLI = path.join('node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

function cruise(target: string, ...extra: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [CLI, target, '--config', '.dependency-cruiser.cjs', ...extra], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

void test('a type-only import cycle fails the rule', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'redpool-cycle-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'a.ts'), "import type { B } from './b.js';\nexport interface A { b?: B }\n");
  writeFileSync(path.join(dir, 'b.ts'), "import type { A } from './a.js';\nexport interface B { a?: A }\n");
  const r = cruise(dir);
  assert.notEqual(r.status, 0, r.out);
  assert.match(r.out, /no-circular/);
  assert.match(r.out, /a\.ts/);
});

void test('src/ has no import cycle', () => {
  const r = cruise('src');
  assert.equal(r.status, 0, r.out);
});
