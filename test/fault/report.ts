/**
 * The reliability report: runs a mixed workload through every fault scenario and prints, per
 * scenario and in total, the figures of research/reliability.md §4.2. Writes the result to
 * `docs/reliability-report.md` with the command and date.
 *
 * Usage (after `npx tsc -p tsconfig.json`):
 *   node build/test/fault/report.js [--quick] [--reps N] [--only id,id] [--out FILE] [--no-write]
 *
 * `--quick` runs the quick subset once (< 3 min); the default runs every scenario 3 times
 * (< 10 min). Exit code 1 when an invariant is violated (unsettled, duplicates, wrong-caller
 * replies, lost acked writes, writes reported "not executed" that ran, leaks, canary hits).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RedisProcess } from '../support/redis-process.js';
import { REPORT_POOL, runScenario, WORKERS, type ScenarioResult } from './lib/runner.js';
import { SCENARIOS } from './lib/scenarios.js';
import { percentile } from './lib/workload.js';

/** Parsed command line. */
export interface ReportArgs {
  quick: boolean;
  reps: number;
  only: string[] | undefined;
  out: string | undefined;
}

/** Parses argv (without node and script). */
export function parseArgs(argv: readonly string[]): ReportArgs {
  const args: ReportArgs = { quick: false, reps: 0, only: undefined, out: 'docs/reliability-report.md' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') args.quick = true;
    else if (a === '--report') continue; // accepted for `npm run test:faults -- --report`
    else if (a === '--no-write') args.out = undefined;
    else if (a === '--reps') args.reps = Number(argv[++i]);
    else if (a === '--only') args.only = String(argv[++i]).split(',');
    else if (a === '--out') args.out = argv[++i];
    else throw new Error(`unknown argument ${a}; usage: report.js [--quick] [--reps N] [--only id,id] [--out FILE] [--no-write]`);
  }
  if (!args.reps) args.reps = args.quick ? 1 : 3;
  if (!Number.isInteger(args.reps) || args.reps < 1 || args.reps > 10) throw new Error('--reps must be 1..10');
  return args;
}

/** Invariants that must be zero, by result field. */
const MUST_BE_ZERO = ['unsettled', 'duplicates', 'misdelivered', 'lostAcked', 'falseNotExecuted', 'leakedConnections', 'leakedTimers', 'leakedActiveTimeouts', 'canaryHits'] as const;

/** Invariant violations of one run (empty when it passed). */
export function violations(r: ScenarioResult): string[] {
  const v: string[] = MUST_BE_ZERO.filter((k) => r[k] !== 0).map((k) => `${k}=${r[k]}`);
  return [...v, ...r.notes];
}

const fmt = (n: number): string => (Number.isFinite(n) ? String(Math.round(n)) : '–');

/** Aggregated row of one scenario over its repetitions (or of everything: id 'TOTAL'). */
interface Row {
  id: string;
  row: string;
  issued: number;
  acked: number;
  notExecuted: number;
  unknown: number;
  unsettled: number;
  duplicates: number;
  misdelivered: number;
  lostAcked: number;
  falseNotExecuted: number;
  overshoot: number;
  recovery: number[];
  unrecovered: number;
  leakedConnections: number;
  leakedTimers: number;
  canaryHits: number;
  codes: Record<string, number>;
}

function aggregate(id: string, row: string, rs: readonly ScenarioResult[]): Row {
  const out: Row = { id, row, issued: 0, acked: 0, notExecuted: 0, unknown: 0, unsettled: 0, duplicates: 0, misdelivered: 0, lostAcked: 0, falseNotExecuted: 0, overshoot: 0, recovery: [], unrecovered: 0, leakedConnections: 0, leakedTimers: 0, canaryHits: 0, codes: {} };
  for (const r of rs) {
    out.issued += r.issued;
    out.acked += r.acked;
    out.notExecuted += r.notExecuted;
    out.unknown += r.unknown;
    out.unsettled += r.unsettled;
    out.duplicates += r.duplicates;
    out.misdelivered += r.misdelivered;
    out.lostAcked += r.lostAcked;
    out.falseNotExecuted += r.falseNotExecuted;
    out.overshoot = Math.max(out.overshoot, r.worstOvershootMs);
    out.recovery.push(...r.recoveryMs);
    out.unrecovered += r.unrecovered;
    out.leakedConnections += r.leakedConnections;
    out.leakedTimers += r.leakedTimers + r.leakedActiveTimeouts;
    out.canaryHits += r.canaryHits;
    for (const [c, n] of Object.entries(r.codes)) out.codes[c] = (out.codes[c] ?? 0) + n;
  }
  out.recovery.sort((a, b) => a - b);
  return out;
}

function tableLine(r: Row): string {
  const rec = r.recovery.length ? `${fmt(percentile(r.recovery, 50))} / ${fmt(percentile(r.recovery, 99))}` : '–';
  return `| ${r.id} | ${r.row} | ${r.issued} | ${r.acked} | ${r.notExecuted} | ${r.unknown} | ${r.unsettled} | ${r.duplicates} | ${r.misdelivered} | ${r.lostAcked + r.falseNotExecuted} | ${fmt(Math.max(0, r.overshoot))} | ${rec}${r.unrecovered ? ` (${r.unrecovered} unrecovered)` : ''} | ${r.leakedConnections} | ${r.leakedTimers} | ${r.canaryHits} |`;
}

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** Renders the Markdown report. */
export function render(args: ReportArgs, command: string, results: readonly ScenarioResult[], wallMs: number): string {
  const ids = [...new Set(results.map((r) => r.id))];
  const rows = ids.map((id) => aggregate(id, results.find((r) => r.id === id)!.row, results.filter((r) => r.id === id)));
  const total = aggregate('**TOTAL**', '', results);
  const bad = results.flatMap((r) => violations(r).map((v) => `${r.id}#${r.rep}: ${v}`));
  const lines: string[] = [];
  lines.push('# Reliability report', '');
  lines.push(`Produced by \`${command}\` on ${new Date().toISOString()} (${args.quick ? 'quick' : 'full'} run, ${args.reps} repetition(s) per scenario, ${fmt(wallMs / 1000)} s wall time).`);
  lines.push(`Node ${process.version}, ${version('redis-server', ['--version']).split(' ').slice(0, 3).join(' ')}, ${process.platform}/${process.arch}, loopback only.`, '');
  lines.push(`**Verdict: ${bad.length === 0 ? 'PASS — every invariant held' : `FAIL — ${bad.length} violation(s)`}.**`, '');
  lines.push('How each scenario runs: a fresh `redis-server` (password = a canary string), optionally behind the in-process fault proxy; a pool with',
    `\`${JSON.stringify(REPORT_POOL)}\` and a credentials provider; ${WORKERS} workers each issuing, one at a time, either a unique-key echo pair`,
    '(`SET k v` then `GET k`, which must return `v`) or a non-idempotent Lua ledger write',
    '(`EVAL "redis.call(\'SADD\', KEYS[1], ARGV[1]); return redis.call(\'INCR\', KEYS[2])"`). 300 ms warm-up, inject the fault, hold it, clear it,',
    'wait until every worker has succeeded again, 300 ms more, stop, verify the ledger on the server, close the pool, check for leaks.', '');
  lines.push('Columns: **not-exec** = failed with outcome `not-sent` or an error reply (did not run); **unknown** = failed with outcome `unknown` (written, no reply);',
    '**unsettled** = promises never settled; **dup** = ledger duplicates (`ctr − SCARD`); **wrong caller** = echo mismatches; **lost/false** = acked ledger writes',
    'missing on the server + writes reported "not executed" that ran; **overshoot** = worst settle time past the deadline (ms; an echo pair has two deadlines);',
    '**recovery** = per worker, ms from "fault cleared" to its first success (p50 / p99); **leaked conns** = `CLIENT LIST` entries named after the pool after',
    '`close()`; **leaked timers** = timers still pending after close (async-hook tracker + ref\'d `Timeout` handles); **canary** = occurrences of the password in',
    'every log line, error message, `util.inspect` of errors, stats, health report and pool.', '');
  lines.push('| scenario | row | issued | acked | not-exec | unknown | unsettled | dup | wrong caller | lost/false | overshoot ms | recovery ms p50 / p99 | leaked conns | leaked timers | canary |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) lines.push(tableLine(r));
  lines.push(tableLine(total), '');
  lines.push('## Scenarios', '');
  for (const id of ids) {
    const rs = results.filter((r) => r.id === id);
    const first = rs[0]!;
    const codes = aggregate(id, first.row, rs).codes;
    const codeText = Object.keys(codes).length ? Object.entries(codes).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ×${n}`).join(', ') : 'none';
    lines.push(`- **${id}** (${first.row}): ${first.title}. Errors seen: ${codeText}. Health after: ${rs.map((r) => r.healthAfter).join(' | ')}.`);
  }
  lines.push('', `Scanned ${results.reduce((a, r) => a + r.scannedChars, 0)} characters of captured output for the canary.`);
  lines.push('', '## Reading the numbers', '',
    '- **unknown** failures are the honest answer for commands that were on the wire when the fault hit; the ledger shows none of them ran twice',
    '  (dup = 0) and no write reported "not executed" ran (lost/false = 0).',
    '- **not-exec** failures are mostly `ERR_UNAVAILABLE`: after `failureThreshold` connect failures the pool fails fast instead of queueing.',
    '- **overshoot** stays within the deadline sweep interval (≤ deadline/20) plus scheduling jitter; the event-loop-stall scenario overshoots by',
    '  the stall itself, since no timer can fire while the loop is blocked.',
    '- **recovery** after outages that make connects fail (restart, maxclients, handshake cut, auth rotation) is dominated by the default',
    '  `reconnectBackoff` (equal jitter 50 ms → 5 s): the probe that finds Redis back is the next one due. LOADING recovery includes the load itself.',
    '- Errors per scenario list `code` (and the reply prefix for `ERR_REPLY`); see docs/errors.md and docs/failure-behaviour.md.');
  if (bad.length) lines.push('', '## Violations', '', ...bad.map((b) => `- ${b}`));
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const command = `node build/test/fault/report.js${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
  const list = SCENARIOS.filter((s) => (args.only ? args.only.includes(s.id) : !args.quick || s.quick));
  if (list.length === 0) throw new Error('no scenario selected');
  // Every pool timer is unref'd; keep the loop alive while the report runs.
  const keepAlive = setInterval(() => undefined, 1_000);
  const started = performance.now();
  const results: ScenarioResult[] = [];
  try {
    for (let rep = 1; rep <= args.reps; rep++) {
      for (const sc of list) {
        const r = await runScenario(sc, rep);
        results.push(r);
        const v = violations(r);
        const rec = r.recoveryMs.length ? `${fmt(percentile(r.recoveryMs, 50))}/${fmt(percentile(r.recoveryMs, 99))}ms` : '–';
        process.stdout.write(`${sc.id.padEnd(20)} #${rep} issued=${r.issued} acked=${r.acked} notExec=${r.notExecuted} unknown=${r.unknown} overshoot=${fmt(Math.max(0, r.worstOvershootMs))}ms recovery=${rec} ${v.length ? `VIOLATIONS: ${v.join('; ')}` : 'ok'} (${fmt(r.wallMs)} ms)\n`);
      }
    }
  } finally {
    clearInterval(keepAlive);
  }
  const md = render(args, command, results, performance.now() - started);
  process.stdout.write(`\n${md}`);
  if (args.out) {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
    writeFileSync(path.resolve(root, args.out), md);
    process.stdout.write(`\nwritten to ${args.out}\n`);
  }
  if (RedisProcess.running() !== 0) throw new Error(`${RedisProcess.running()} redis-server process(es) left running`);
  process.exitCode = results.some((r) => violations(r).length > 0) ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`report failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 2;
  });
}
