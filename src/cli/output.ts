/**
 * Output helpers of the CLI. Everything printed goes through {@link print} / {@link printErr},
 * which scrub URL credentials as a last line of defence (commands already print only redacted
 * URLs). Tables are plain aligned text so they read the same in a terminal and in a CI log.
 */
import { scrub } from './args.js';

const STYLES = { red: 31, green: 32, yellow: 33, bold: 1 } as const;
/** A text style of {@link paint}. */
export type Style = keyof typeof STYLES;

/**
 * Whether output to `stream` gets colour: on a terminal (or with `FORCE_COLOR` set, not `0`),
 * never with `NO_COLOR` set and non-empty (https://no-color.org) or `TERM=dumb`. Piped output
 * and `--json` stay plain.
 */
export function colourOn(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['NO_COLOR']) return false;
  if (env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '0') return true;
  return stream.isTTY === true && env['TERM'] !== 'dumb';
}

/** `text` in `style` when {@link colourOn} says so for `stream` (default stdout), else as is. */
export function paint(text: string, style: Style, stream: NodeJS.WriteStream = process.stdout): string {
  return colourOn(stream) ? `\x1b[${STYLES[style]}m${text}\x1b[0m` : text;
}

/** Writes a line (or lines) to stdout. */
export function print(text = ''): void {
  process.stdout.write(`${scrub(text)}\n`);
}

/** Writes a line to stderr. */
export function printErr(text: string): void {
  process.stderr.write(`${scrub(text)}\n`);
}

/** The codes of connect failures that mean "reached, but refused", not "cannot reach". */
const REFUSED = new Set(['ERR_AUTH', 'ERR_TLS']);

/** Whether `err` (a {@link RedpoolError} or its `{ code, message }` view) is an auth or TLS failure. */
export function isRefusal(err: { code?: unknown } | null | undefined): boolean {
  return typeof err?.code === 'string' && REFUSED.has(err.code);
}

/**
 * The message to print for a failed call. A pool that cannot connect fails calls with
 * `ERR_UNAVAILABLE` or a timeout whose `cause` is the connect failure; when that failure is an
 * auth or TLS refusal, its own message (which names it and says what to fix) is the telling one.
 */
export function failureMessage(err: unknown): string {
  const e = err as { message?: unknown; cause?: { code?: unknown; message?: unknown } } | null | undefined;
  if (isRefusal(e?.cause) && typeof e?.cause?.message === 'string') return e.cause.message;
  return typeof e?.message === 'string' ? e.message : String(err);
}

/** Prints `value` as pretty JSON on stdout. */
export function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

/**
 * Formats rows as an aligned table: the first `left` columns left-aligned, the others
 * right-aligned, two spaces between columns, each line after `indent`.
 * @param header - Column titles.
 * @param rows - Cells, already formatted.
 * @param opts - `left`: left-aligned columns (default 1); `indent`: line prefix (default none).
 */
export function table(header: string[], rows: string[][], opts: { left?: number; indent?: string } = {}): string {
  const left = opts.left ?? 1;
  const indent = opts.indent ?? '';
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    indent +
    r
      .map((c, i) => (i < left ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return all.map(line).join('\n');
}

/**
 * A progress reporter on stderr: on a TTY one line rewritten in place; otherwise a plain line
 * at most every `plainEveryMs`. `done()` ends the live line.
 */
export class Progress {
  readonly #tty: boolean;
  readonly #enabled: boolean;
  readonly #plainEveryMs: number;
  #lastPlain = -Infinity;
  #live = false;

  constructor(enabled: boolean, plainEveryMs = 1_000) {
    this.#tty = process.stderr.isTTY === true;
    this.#enabled = enabled;
    this.#plainEveryMs = plainEveryMs;
  }

  /** Shows `text` (one line). */
  update(text: string, elapsedMs: number): void {
    if (!this.#enabled) return;
    if (this.#tty) {
      process.stderr.write(`\r\x1b[2K${scrub(text)}`);
      this.#live = true;
    } else if (elapsedMs - this.#lastPlain >= this.#plainEveryMs) {
      this.#lastPlain = elapsedMs;
      printErr(text);
    }
  }

  /** Clears the live line, if any; the next {@link update} starts a new phase (elapsed from 0). */
  done(): void {
    if (this.#live) process.stderr.write('\r\x1b[2K');
    this.#live = false;
    this.#lastPlain = -Infinity;
  }
}
