/**
 * Two small SVG chart renderers for the HTML report: a log-scale latency histogram and a
 * throughput-over-time line chart. Output is static markup (no script), sized by viewBox so
 * it scales with the page; `<title>` elements give native hover tooltips. Each chart carries its
 * legend (one entry per series) above the plot; percentile labels sit in their own band between
 * the legend and the plot, one row per series, so they never cover a bar or each other's row.
 */
import type { HistogramBucket } from './histogram.js';
import type { TimelinePoint } from './run-load.js';
import { fmtCount, fmtMs } from './format.js';

/** Series colours, in order. */
export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c'] as const;

const W = 760;
/** Plot area height, px (the chart's height grows with the legend and label bands above it). */
const PH = 240;
const M = { right: 30, bottom: 44, left: 64 };
const PW = W - M.left - M.right;
const LEGEND_H = 24;
const MARKER_ROW_H = 14;
/** Width of one character of the 11–12 px chart text (bold labels measure ~7 in Chromium), for layout only. */
const CHAR_W = 7.4;

/** Escapes text for HTML/SVG content and attribute values. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

/** One legend entry: a bar swatch, a line, or a dashed line (percentile markers). */
interface LegendItem {
  name: string;
  color: string;
  mark: 'bar' | 'line' | 'dash';
}

/** The legend row, drawn at `y` (plot coordinates, i.e. negative: above the plot). */
function legend(items: LegendItem[], y: number): string {
  let x = 0;
  let out = `<g class="legend">`;
  for (const it of items) {
    const swatch =
      it.mark === 'bar'
        ? `<rect x="${x}" y="${y - 9}" width="12" height="10" rx="2" fill="${it.color}" fill-opacity="0.8"/>`
        : `<line x1="${x}" y1="${y - 4}" x2="${x + 14}" y2="${y - 4}" stroke="${it.color}" stroke-width="2"${it.mark === 'dash' ? ' stroke-dasharray="4 3"' : ''}/>`;
    out += `${swatch}<text x="${x + 19}" y="${y}" class="legend-text">${esc(it.name)}</text>`;
    x += 19 + it.name.length * CHAR_W + 22;
  }
  return `${out}</g>`;
}

function frame(inner: string, top: number, xLabel: string, yLabel: string, label: string): string {
  const h = top + PH + M.bottom;
  return (
    `<svg viewBox="0 0 ${W} ${h}" role="img" aria-label="${esc(label)}" class="chart" xmlns="http://www.w3.org/2000/svg">` +
    `<g transform="translate(${M.left},${top})">${inner}` +
    `<line x1="0" y1="${PH}" x2="${PW}" y2="${PH}" class="axis"/><line x1="0" y1="0" x2="0" y2="${PH}" class="axis"/>` +
    `<text x="${PW / 2}" y="${PH + 38}" text-anchor="middle" class="label">${esc(xLabel)}</text>` +
    `<text transform="translate(-50,${PH / 2}) rotate(-90)" text-anchor="middle" class="label">${esc(yLabel)}</text>` +
    `</g></svg>`
  );
}

function gridLine(y: number, text: string, minor = false): string {
  return (
    `<line x1="0" y1="${y.toFixed(1)}" x2="${PW}" y2="${y.toFixed(1)}" class="grid"${minor ? ' stroke-dasharray="2 4"' : ''}/>` +
    (text ? `<text x="-8" y="${(y + 4).toFixed(1)}" text-anchor="end" class="tick">${esc(text)}</text>` : '')
  );
}

function yAxis(max: number, fmt: (v: number) => string): string {
  const step = niceStep(max, 5);
  let out = '';
  for (let v = 0; v <= max + step / 1e6; v += step) out += gridLine(PH - (v / max) * PH, fmt(v));
  return out;
}

/** A latency series for {@link histogramSvg}. */
export interface HistogramSeries {
  name: string;
  buckets: HistogramBucket[];
  /** Percentile markers drawn as dashed lines, e.g. `{ p50: 0.4, p99: 2.1 }` (ms). */
  markers?: Record<string, number>;
}

/**
 * Latency histogram on a log time axis; bars show the share of each series' operations per
 * bucket, so series with very different counts stay comparable.
 */
export function histogramSvg(series: HistogramSeries[]): string {
  const edges = new Map<number, number>(); // fromMs → toMs
  for (const s of series) for (const b of s.buckets) edges.set(b.fromMs, b.toMs);
  const froms = [...edges.keys()].sort((a, b) => a - b);
  const n = series.length;
  const items: LegendItem[] = series.map((s, si) => ({ name: s.name, color: PALETTE[si % PALETTE.length]!, mark: 'bar' }));
  if (series.some((s) => Object.keys(s.markers ?? {}).length > 0))
    items.push({ name: 'percentile (p50, p99)', color: 'currentColor', mark: 'dash' });
  const top = LEGEND_H + n * MARKER_ROW_H + 6;
  const head = legend(items, -top + 16);
  if (froms.length === 0)
    return frame(`${head}<text x="10" y="20" class="tick">no samples</text>`, top, 'latency', 'share of operations', 'latency histogram');
  const lo = Math.log10(Math.max(froms[0]!, 0.001));
  const hi = Math.log10(edges.get(froms[froms.length - 1]!)!);
  const x = (ms: number): number => ((Math.log10(Math.max(ms, 0.001)) - lo) / (hi - lo || 1)) * PW;
  let maxShare = 0;
  const shares = series.map((s) => {
    const total = s.buckets.reduce((a, b) => a + b.count, 0) || 1;
    return s.buckets.map((b) => {
      const share = b.count / total;
      if (share > maxShare) maxShare = share;
      return { ...b, share };
    });
  });
  maxShare = Math.max(maxShare, 0.01) * 1.05;
  let inner = head + yAxis(maxShare, (v) => `${Number((v * 100).toPrecision(3))}%`);
  for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) {
    const px = x(10 ** d).toFixed(1);
    inner += `<line x1="${px}" y1="${PH}" x2="${px}" y2="${PH + 5}" class="axis"/><text x="${px}" y="${PH + 18}" text-anchor="middle" class="tick">${esc(fmtMs(10 ** d))}</text>`;
  }
  shares.forEach((bars, si) => {
    const color = PALETTE[si % PALETTE.length]!;
    for (const b of bars) {
      const x0 = x(Math.max(b.fromMs, 10 ** lo));
      const w = Math.max(1, (x(b.toMs) - x0) / n - 1);
      const bx = x0 + (w + 1) * si;
      const h = (b.share / maxShare) * PH;
      inner +=
        `<rect x="${bx.toFixed(1)}" y="${(PH - h).toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="${color}" fill-opacity="0.8">` +
        `<title>${esc(series[si]!.name)}: ${esc(fmtMs(b.fromMs))}–${esc(fmtMs(b.toMs))}: ${b.count} ops (${(b.share * 100).toFixed(2)}%)</title></rect>`;
    }
    inner += markerLabels(series[si]!, si, x, color);
  });
  return frame(inner, top, 'latency (log scale)', 'share of operations', 'latency histogram');
}

/**
 * A series' percentile markers: dashed lines through the plot, labels in the series' own row of
 * the band above the plot. The first label goes left of its line and the next ones right, so
 * two close percentiles (p50 and p99 of a tight distribution) do not print over each other;
 * a label that would leave the chart or still overlap its neighbour is moved clear of it.
 */
function markerLabels(s: HistogramSeries, si: number, x: (ms: number) => number, color: string): string {
  const y = -6 - MARKER_ROW_H * si;
  let out = '';
  const placed: Array<[number, number]> = []; // label spans already in this row
  let i = 0;
  for (const [label, ms] of Object.entries(s.markers ?? {})) {
    if (!(ms > 0)) continue;
    const px = Math.min(PW, Math.max(0, x(ms)));
    const text = `${label} ${fmtMs(ms)}`;
    const width = text.length * CHAR_W;
    const free = (x0: number): boolean =>
      x0 >= -M.left + 4 && x0 + width <= PW + M.right && placed.every(([a, b]) => x0 + width + 4 < a || x0 > b + 4);
    const left = px - 3 - width;
    const right = px + 3;
    // Preferred side, the other side, then clear of the labels already placed.
    const candidates = i === 0 ? [left, right] : [right, left];
    if (placed.length) candidates.push(Math.max(...placed.map(([, b]) => b)) + 6, Math.min(...placed.map(([a]) => a)) - 6 - width);
    const x0 = candidates.find(free) ?? candidates[candidates.length - 1]!;
    placed.push([x0, x0 + width]);
    out += `<line x1="${px.toFixed(1)}" y1="0" x2="${px.toFixed(1)}" y2="${PH}" stroke="${color}" stroke-dasharray="4 3" stroke-width="1.5"><title>${esc(s.name)} ${esc(label)} = ${esc(fmtMs(ms))}</title></line>`;
    out += `<text x="${x0.toFixed(1)}" y="${y}" class="marker" fill="${color}">${esc(text)}</text>`;
    i++;
  }
  return out;
}

/** A throughput series for {@link lineChartSvg}. */
export interface LineSeries {
  name: string;
  points: TimelinePoint[];
}

/** Options of {@link lineChartSvg}. */
export interface LineChartOptions {
  /**
   * Y axis scale. `'auto'` picks a log axis when the series' peaks differ tenfold or more (a
   * connection per operation next to a pool), where a linear axis flattens the slower line
   * onto zero. @default 'auto'
   */
  scale?: 'linear' | 'log' | 'auto';
}

/** Whether `'auto'` picks a log axis for these series: their peaks differ 10× or more. */
export function wantsLogScale(series: LineSeries[]): boolean {
  const peaks = series.map((s) => Math.max(0, ...s.points.map((p) => p.opsPerSec))).filter((p) => p > 0);
  return peaks.length >= 2 && Math.max(...peaks) / Math.min(...peaks) >= 10;
}

/** Throughput (ops/s) over elapsed time, one line per series. */
export function lineChartSvg(series: LineSeries[], options: LineChartOptions = {}): string {
  const scale = options.scale ?? 'auto';
  const log = scale === 'log' || (scale === 'auto' && wantsLogScale(series));
  const maxT = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.tMs)));
  const values = series.flatMap((s) => s.points.map((p) => p.opsPerSec));
  const top = LEGEND_H + 10;
  let inner = legend(
    series.map((s, si) => ({ name: s.name, color: PALETTE[si % PALETTE.length]!, mark: 'line' })),
    -top + 16,
  );
  let y: (v: number) => number;
  if (log) {
    // Decades from at least half a decade below the smallest positive value (so the slow line
    // does not hug the axis) to above the largest; 0 sits on the axis.
    const positive = values.filter((v) => v > 0);
    const lo = Math.max(0, Math.floor(Math.log10(Math.max(1, Math.min(...positive, 1e12))) - 0.5));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(1, ...values) * 1.1)));
    y = (v) => PH - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * PH;
    for (let d = lo; d <= hi; d++) {
      inner += gridLine(y(10 ** d), fmtCount(10 ** d));
      if (d < hi) for (const m of [2, 5]) inner += gridLine(y(m * 10 ** d), '', true);
    }
  } else {
    const maxY = Math.max(1, ...values) * 1.1;
    y = (v) => PH - (v / maxY) * PH;
    inner += yAxis(maxY, fmtCount);
  }
  const tStep = niceStep(maxT / 1000, 6);
  for (let t = 0; t <= maxT / 1000 + 1e-9; t += tStep) {
    const px = ((t * 1000) / maxT) * PW;
    inner += `<line x1="${px.toFixed(1)}" y1="${PH}" x2="${px.toFixed(1)}" y2="${PH + 5}" class="axis"/><text x="${px.toFixed(1)}" y="${PH + 18}" text-anchor="middle" class="tick">${Number(t.toPrecision(3))}s</text>`;
  }
  series.forEach((s, si) => {
    const color = PALETTE[si % PALETTE.length]!;
    const pts = [{ tMs: 0, opsPerSec: s.points[0]?.opsPerSec ?? 0 }, ...s.points];
    const d = pts.map((p, i) => `${i ? 'L' : 'M'}${((p.tMs / maxT) * PW).toFixed(1)},${y(p.opsPerSec).toFixed(1)}`).join('');
    inner += `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"><title>${esc(s.name)}</title></path>`;
    for (const p of s.points) {
      inner += `<circle cx="${((p.tMs / maxT) * PW).toFixed(1)}" cy="${y(p.opsPerSec).toFixed(1)}" r="2.5" fill="${color}"><title>${esc(s.name)} at ${(p.tMs / 1000).toFixed(2)}s: ${p.opsPerSec} ops/s, ${p.errors} errors</title></circle>`;
    }
  });
  return frame(inner, top, 'elapsed time', log ? 'operations per second (log scale)' : 'operations per second', 'throughput over time');
}
