/**
 * Two small SVG chart renderers for the HTML report: a log-scale latency histogram and a
 * throughput-over-time line chart. Output is static markup (no script), sized by viewBox so
 * it scales with the page; `<title>` elements give native hover tooltips.
 */
import type { HistogramBucket } from './histogram.js';
import type { TimelinePoint } from './run-load.js';
import { fmtCount, fmtMs } from './format.js';

/** Series colours, in order. */
export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c'] as const;

const W = 760;
const H = 300;
const M = { top: 16, right: 30, bottom: 44, left: 64 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;

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

function frame(inner: string, xLabel: string, yLabel: string, label: string): string {
  return (
    `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(label)}" class="chart" xmlns="http://www.w3.org/2000/svg">` +
    `<g transform="translate(${M.left},${M.top})">${inner}` +
    `<line x1="0" y1="${PH}" x2="${PW}" y2="${PH}" class="axis"/><line x1="0" y1="0" x2="0" y2="${PH}" class="axis"/>` +
    `<text x="${PW / 2}" y="${PH + 38}" text-anchor="middle" class="label">${esc(xLabel)}</text>` +
    `<text transform="translate(-50,${PH / 2}) rotate(-90)" text-anchor="middle" class="label">${esc(yLabel)}</text>` +
    `</g></svg>`
  );
}

function yAxis(max: number, fmt: (v: number) => string): string {
  const step = niceStep(max, 5);
  let out = '';
  for (let v = 0; v <= max + step / 1e6; v += step) {
    const y = PH - (v / max) * PH;
    out += `<line x1="0" y1="${y.toFixed(1)}" x2="${PW}" y2="${y.toFixed(1)}" class="grid"/>`;
    out += `<text x="-8" y="${(y + 4).toFixed(1)}" text-anchor="end" class="tick">${esc(fmt(v))}</text>`;
  }
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
  if (froms.length === 0) return frame('<text x="10" y="20" class="tick">no samples</text>', 'latency', 'share of operations', 'latency histogram');
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
  let inner = yAxis(maxShare, (v) => `${Number((v * 100).toPrecision(3))}%`);
  for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) {
    const px = x(10 ** d).toFixed(1);
    inner += `<line x1="${px}" y1="${PH}" x2="${px}" y2="${PH + 5}" class="axis"/><text x="${px}" y="${PH + 18}" text-anchor="middle" class="tick">${esc(fmtMs(10 ** d))}</text>`;
  }
  const n = series.length;
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
    for (const [label, ms] of Object.entries(series[si]!.markers ?? {})) {
      if (!(ms > 0)) continue;
      const px = Math.min(PW, Math.max(0, x(ms))).toFixed(1);
      inner += `<line x1="${px}" y1="0" x2="${px}" y2="${PH}" stroke="${color}" stroke-dasharray="4 3" stroke-width="1.5"><title>${esc(series[si]!.name)} ${esc(label)} = ${esc(fmtMs(ms))}</title></line>`;
      inner += `<text x="${px}" y="${10 + 12 * si}" dx="3" class="marker" fill="${color}">${esc(label)}</text>`;
    }
  });
  return frame(inner, 'latency (log scale)', 'share of operations', 'latency histogram');
}

/** A throughput series for {@link lineChartSvg}. */
export interface LineSeries {
  name: string;
  points: TimelinePoint[];
}

/** Throughput (ops/s) over elapsed time, one line per series. */
export function lineChartSvg(series: LineSeries[]): string {
  const maxT = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.tMs)));
  const maxY = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.opsPerSec))) * 1.1;
  let inner = yAxis(maxY, fmtCount);
  const tStep = niceStep(maxT / 1000, 6);
  for (let t = 0; t <= maxT / 1000 + 1e-9; t += tStep) {
    const px = ((t * 1000) / maxT) * PW;
    inner += `<line x1="${px.toFixed(1)}" y1="${PH}" x2="${px.toFixed(1)}" y2="${PH + 5}" class="axis"/><text x="${px.toFixed(1)}" y="${PH + 18}" text-anchor="middle" class="tick">${Number(t.toPrecision(3))}s</text>`;
  }
  series.forEach((s, si) => {
    const color = PALETTE[si % PALETTE.length]!;
    const pts = [{ tMs: 0, opsPerSec: s.points[0]?.opsPerSec ?? 0 }, ...s.points];
    const d = pts.map((p, i) => `${i ? 'L' : 'M'}${((p.tMs / maxT) * PW).toFixed(1)},${(PH - (p.opsPerSec / maxY) * PH).toFixed(1)}`).join('');
    inner += `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`;
    for (const p of s.points) {
      inner += `<circle cx="${((p.tMs / maxT) * PW).toFixed(1)}" cy="${(PH - (p.opsPerSec / maxY) * PH).toFixed(1)}" r="2.5" fill="${color}"><title>${esc(s.name)} at ${(p.tMs / 1000).toFixed(2)}s: ${p.opsPerSec} ops/s, ${p.errors} errors</title></circle>`;
    }
  });
  return frame(inner, 'elapsed time', 'operations per second', 'throughput over time');
}
