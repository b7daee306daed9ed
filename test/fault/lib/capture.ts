/**
 * Captures everything a pool could leak a secret through — log lines, error messages and
 * `util.inspect` output, stats and health reports — so a test can grep it for a canary password
 * (research/reliability.md §3: "grep all captured logs, errors, inspect output and metrics for
 * it and expect zero hits").
 */
import { inspect } from 'node:util';
import type { Logger } from '../../../src/options.js';

/** The canary password every fault pool uses when the server requires one. */
export const CANARY_PASSWORD = 'S3cr3t-canary-7f3a9';

/** A pino-style logger that keeps each call as one JSON line. */
export class CaptureLogger implements Logger {
  readonly lines: string[] = [];
  #push(level: string, obj: object, msg?: string): void {
    let body: string;
    try {
      body = JSON.stringify(obj, (_k, v: unknown) =>
        v instanceof Error ? { name: v.name, message: v.message, code: (v as { code?: unknown }).code } : v,
      );
    } catch {
      body = inspect(obj, { depth: 6 });
    }
    this.lines.push(`${level} ${msg ?? ''} ${body}`);
  }
  debug(obj: object, msg?: string): void {
    this.#push('debug', obj, msg);
  }
  info(obj: object, msg?: string): void {
    this.#push('info', obj, msg);
  }
  warn(obj: object, msg?: string): void {
    this.#push('warn', obj, msg);
  }
  error(obj: object, msg?: string): void {
    this.#push('error', obj, msg);
  }
}

/** Accumulates text to scan: log lines, errors (message + inspect, causes included), reports. */
export class Transcript {
  readonly #chunks: string[] = [];
  readonly logger = new CaptureLogger();

  /** Records an error's message and its full `util.inspect` (cause chain, own properties). */
  error(err: unknown): void {
    if (err instanceof Error) this.#chunks.push(err.message);
    this.#chunks.push(inspect(err, { depth: 8, showHidden: false }));
    try {
      this.#chunks.push(JSON.stringify(err));
    } catch {
      // circular: inspect above covered it
    }
  }

  /** Records any value (stats, health report, pool, options) as inspect + JSON. */
  value(v: unknown): void {
    this.#chunks.push(inspect(v, { depth: 8 }));
    try {
      this.#chunks.push(JSON.stringify(v));
    } catch {
      // not serialisable: inspect above covered it
    }
  }

  /** Records free text (e.g. the report itself). */
  text(s: string): void {
    this.#chunks.push(s);
  }

  /** Everything captured, logger lines included. */
  all(): string {
    return [...this.logger.lines, ...this.#chunks].join('\n');
  }

  /** Number of occurrences of `secret` (also URL-encoded) in everything captured. */
  hits(secret: string = CANARY_PASSWORD): number {
    const text = this.all();
    let n = 0;
    for (const needle of new Set([secret, encodeURIComponent(secret)])) {
      for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) n++;
    }
    return n;
  }

  /** Captured size in characters (to show the scan was not vacuous). */
  get size(): number {
    return this.all().length;
  }
}
