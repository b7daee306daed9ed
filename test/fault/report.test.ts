/**
 * Smoke test of the reliability report machinery (test/fault/report.ts): three scenarios — the
 * control run, a proxy reset mid-reply, and a restart on the same port (recovery within the goal,
 * one probe at a time, a bounded connect rate) — through the real runner, with every invariant
 * asserted; and the targeted checks, which must exercise their fault, leak nothing and, once the
 * defect they guard is fixed, hold. The full report is run on demand
 * (`node build/test/fault/report.js`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHECKS } from './lib/checks.js';
import { runCheck, runScenario } from './lib/runner.js';
import { SCENARIOS } from './lib/scenarios.js';
import { fileChecks } from './lib/scope.js';
import { checkViolations, parseArgs, render, violations } from './report.js';

fileChecks();

for (const id of ['baseline', 'reset-mid-reply', 'restart-same-port']) {
  void test(`report scenario ${id}: invariants hold`, async (t) => {
    const sc = SCENARIOS.find((s) => s.id === id)!;
    const keepAlive = setInterval(() => undefined, 1_000);
    t.after(() => clearInterval(keepAlive));
    const r = await runScenario(sc, 1);
    t.diagnostic(
      `${id}: issued=${r.issued} acked=${r.acked} notExec=${r.notExecuted} unknown=${r.unknown} recovery=${r.recoveryMs.join(',')}`,
    );
    assert.deepEqual(violations(r), []);
    assert.ok(r.issued > 100 && r.acked > 100, 'the workload ran');
    assert.equal(r.issued, r.acked + r.notExecuted + r.unknown + r.misdelivered + r.unsettled);
    assert.ok(r.scannedChars > 1_000, 'the canary scan saw output');
    const md = render(parseArgs(['--quick']), 'node build/test/fault/report.js --quick', [r], r.wallMs);
    assert.match(md, /\*\*Verdict: PASS/);
    assert.match(md, new RegExp(`\\| ${id} \\|`));
  });
}

for (const ck of CHECKS) {
  void test(`report check ${ck.id}: exercises its fault, leaks nothing, holds`, async (t) => {
    const keepAlive = setInterval(() => undefined, 1_000);
    t.after(() => clearInterval(keepAlive));
    const r = await runCheck(ck, 1);
    t.diagnostic(`${ck.id}: ${r.measured}${r.violations.length ? ` — ${r.violations.join('; ')}` : ''}`);
    const v = checkViolations(r);
    assert.deepEqual(
      v.filter((x) => /did not exercise|check failed|leaked|canary|close\(\)/.test(x)),
      [],
      'the check ran and cleaned up',
    );
    assert.deepEqual(v, []);
    const md = render(parseArgs(['--quick']), 'node build/test/fault/report.js --quick', [], r.wallMs, [r]);
    assert.match(md, new RegExp(`\\| ${ck.id}#1 \\|`));
  });
}

void test('report arguments', () => {
  assert.deepEqual(parseArgs(['--quick']), { quick: true, reps: 1, only: undefined, out: 'docs/reliability-report.md' });
  assert.equal(parseArgs([]).reps, 3);
  assert.equal(parseArgs(['--help']).help, true);
  assert.equal(parseArgs(['--report', '--no-write']).out, undefined);
  assert.deepEqual(parseArgs(['--only', 'oom,blackhole']).only, ['oom', 'blackhole']);
  assert.throws(() => parseArgs(['--bogus']), /unknown argument/);
});
