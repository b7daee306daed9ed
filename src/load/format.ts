/** Number formatting shared by the text output, the HTML report and the bench results. */

/** Formats a duration in ms with a unit that keeps 2-3 significant digits. */
export function fmtMs(ms: number): string {
  if (ms === 0) return '0';
  if (ms < 1) return `${Number((ms * 1000).toPrecision(3))}µs`;
  if (ms < 1000) return `${Number(ms.toPrecision(3))}ms`;
  return `${Number((ms / 1000).toPrecision(3))}s`;
}

/** Formats a count compactly: 950, 12.3k, 4.5M. */
export function fmtCount(n: number): string {
  if (n < 1000) return String(Math.round(n));
  if (n < 1e6) return `${Number((n / 1e3).toPrecision(3))}k`;
  return `${Number((n / 1e6).toPrecision(3))}M`;
}

/** Formats a ratio like `45.3×`. */
export function fmtRatio(r: number): string {
  if (!Number.isFinite(r)) return '∞';
  return `${Number(r.toPrecision(3))}×`;
}

/** Formats a byte count: 64 B, 4 KiB, 256 KiB, 1.5 MiB. */
export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Number((n / 1024).toPrecision(3))} KiB`;
  return `${Number((n / 1048576).toPrecision(3))} MiB`;
}
