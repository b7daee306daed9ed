/**
 * Runs the built `redpool` CLI as a user would: a separate `node build/src/cli/main.js …`
 * process, with `REDIS_URL` removed from the environment unless a test sets it. Every run has a
 * hard deadline (the child is SIGKILLed after it) so a hanging command fails the test, not CI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Path of the compiled CLI entry point. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** What a CLI run produced. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time of the run, ms. */
  ms: number;
}

/** Options of {@link runCli}. */
export interface CliOptions {
  /** Environment additions; `REDIS_URL`, `FORCE_COLOR` and `NO_COLOR` are removed unless given here. */
  env?: NodeJS.ProcessEnv;
  /** Replace the environment entirely (still without `REDIS_URL` unless given). */
  replaceEnv?: boolean;
  /** SIGKILL the child after this long. Default 60000 ms. */
  timeoutMs?: number;
  /** Called with every stderr chunk (e.g. to send a signal once progress shows). */
  onStderr?: (text: string, child: ChildProcess) => void;
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const base: NodeJS.ProcessEnv = opts.replaceEnv ? {} : { ...process.env };
  delete base['REDIS_URL'];
  // Plain output unless a test asks for colour.
  delete base['FORCE_COLOR'];
  delete base['NO_COLOR'];
  const env = { ...base, ...opts.env };
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(stderr, child);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** True when `text` is a single non-empty line (a trailing newline allowed). */
export function oneLine(text: string): boolean {
  const t = text.replace(/\n$/, '');
  return t.length > 0 && !t.includes('\n');
}
