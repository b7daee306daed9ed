#!/usr/bin/env node
/**
 * The `redpool` command: load-test, check, watch and size a Redis deployment. Each command is
 * a thin argument layer over exported functions; errors are one line on stderr with a stable
 * exit code (see {@link EXIT}), and URLs are only ever printed redacted.
 */
import { readFileSync } from 'node:fs';
import { EXIT, scrub, UsageError } from './args.js';
import { BENCH_HELP, benchCommand } from './bench.js';
import { HEALTH_HELP, healthCommand } from './health.js';
import { MONITOR_HELP, monitorCommand } from './monitor.js';
import { paint, print, printErr } from './output.js';
import { NoServerError } from './session.js';
import { SIZE_HELP, sizeCommand } from './size.js';

export const ROOT_HELP = `Usage: redpool <command> [options]

Production-grade Redis connection management for Node.js — the command-line tools.

Commands:
  bench     load-test Redis through a pool (embedded server when no URL is given);
            --workload compare shows a connection per operation vs the pool
  health    health check and server facts; exit 0 healthy, 1 degraded, 2 unavailable
  monitor   live INFO figures (clients, connections, ops/s, memory, hit ratio, evictions)
  size      pool sizing from ops/s and latency (Little's law), or a preset

Run "redpool <command> --help" for a command's options.
Try first:  npx redpool bench --workload compare --duration 3

Options:
  -h, --help       show this help
  -v, --version    print the version`;

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  bench: { run: benchCommand, help: BENCH_HELP },
  health: { run: healthCommand, help: HEALTH_HELP },
  monitor: { run: monitorCommand, help: MONITOR_HELP },
  size: { run: sizeCommand, help: SIZE_HELP },
};

function version(): string {
  // dist/cli/main.js and build/src/cli/main.js: walk up to the package's package.json.
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'redpool' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return 'unknown';
}

/** Runs the CLI with `argv` (without `node` and the script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === undefined) throw new UsageError(`no command given (commands: ${Object.keys(COMMANDS).join(', ')})`);
    if (first === '-h' || first === '--help') {
      print(ROOT_HELP);
      return EXIT.ok;
    }
    if (first === '-v' || first === '--version') {
      print(version());
      return EXIT.ok;
    }
    if (first === 'help') {
      const cmd = rest[0] === undefined ? undefined : COMMANDS[rest[0]];
      if (rest[0] !== undefined && !cmd)
        throw new UsageError(`unknown command "${scrub(rest[0])}" (commands: ${Object.keys(COMMANDS).join(', ')})`);
      print(cmd ? cmd.help : ROOT_HELP);
      return EXIT.ok;
    }
    const cmd = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
    if (!cmd) {
      throw new UsageError(
        first.startsWith('-')
          ? `unknown option "${scrub(first)}" (give a command first: ${Object.keys(COMMANDS).join(', ')})`
          : `unknown command "${scrub(first)}" (commands: ${Object.keys(COMMANDS).join(', ')})`,
      );
    }
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      printErr(
        `${paint('redpool:', 'red', process.stderr)} ${err.message} (see redpool ${first && COMMANDS[first] ? `${first} ` : ''}--help)`,
      );
      return EXIT.usage;
    }
    if (err instanceof NoServerError) {
      printErr(`${paint('redpool:', 'red', process.stderr)} ${err.message}`);
      return err.exitCode;
    }
    const e = err as Error;
    // One line: the first line of the message (RedisStartError appends a log tail).
    printErr(`${paint('redpool:', 'red', process.stderr)} ${(e?.message ?? String(err)).split('\n')[0]}`);
    if (process.env['REDPOOL_DEBUG']) printErr(e?.stack ?? '');
    return EXIT.failure;
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Sockets to a frozen server or a stuck child must not keep the process alive past its answer.
setTimeout(() => process.exit(code), 1_500).unref();
