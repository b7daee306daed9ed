/**
 * docs/configuration.md shows the option table: its generated section must equal what
 * renderOptionTables() makes of src/options/table.ts. `UPDATE_DOCS=1` rewrites the section
 * (then review the diff), e.g.: UPDATE_DOCS=1 SKIP_LINT=1 TEST_ONLY=options-doc node scripts/test.mjs unit
 * The TSDoc `@default` of PoolOptions is checked against the table's defaults too.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { renderOptionTables } from '../../src/options/doc.js';
import { OPTIONS, type OptionSpec } from '../../src/options/table.js';

const root = (p: string): string => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const BEGIN = '<!-- options:begin (generated from src/options/table.ts; see test/unit/options-doc.test.ts) -->';
const END = '<!-- options:end -->';

void test('docs/configuration.md lists exactly the option table', () => {
  const path = root('docs/configuration.md');
  const doc = readFileSync(path, 'utf8');
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  assert.ok(start >= 0 && end > start, `docs/configuration.md must contain the markers ${BEGIN} … ${END}`);
  const current = doc.slice(start + BEGIN.length, end);
  const wanted = `\n${renderOptionTables()}`;
  if (current !== wanted && process.env.UPDATE_DOCS === '1') {
    writeFileSync(path, doc.slice(0, start + BEGIN.length) + wanted + doc.slice(end));
    return;
  }
  assert.equal(current, wanted, 'docs/configuration.md disagrees with src/options/table.ts: re-run with UPDATE_DOCS=1 and review the diff');
});

void test('every PoolOptions @default in the TSDoc agrees with the table', () => {
  const src = readFileSync(root('src/options/types.ts'), 'utf8');
  const body = src.slice(src.indexOf('export interface PoolOptions'));
  // Each member: its doc comment, then `name?:`.
  const members = [...body.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*(\w+)\?:/g)];
  const names = members.map((m) => m[2]!);
  assert.deepEqual([...names].sort(), Object.keys(OPTIONS).sort(), 'a TSDoc comment for every option and no other');
  for (const [, comment, name] of members) {
    const row = (OPTIONS as Record<string, OptionSpec<unknown>>)[name!]!;
    if (typeof row.default !== 'number' && typeof row.default !== 'string' && typeof row.default !== 'boolean') continue;
    const stated = /@default\s+(\S+)/.exec(comment!)?.[1];
    const expected = typeof row.default === 'string' ? `'${row.default}'` : String(row.default);
    assert.equal(stated, expected, `${name!}: the TSDoc @default must be the table's default`);
  }
});
