/**
 * The HTML report's charts and header, from synthetic results (no Redis): each chart has a legend
 * naming every series, percentile labels sit above the plot (never over a bar), two close
 * percentiles are labelled on opposite sides of their lines, a throughput chart whose series
 * differ tenfold uses a log axis (so the slow line does not lie flat on zero) while similar ones
 * stay linear, and the header cards show every run of a comparison.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HistogramBucket } from '../../src/load/histogram.js';
import { renderHtmlReport, type ReportRun } from '../../src/load/report.js';
import type { LoadResult, TimelinePoint } from '../../src/load/run-load.js';
import { histogramSvg, lineChartSvg, wantsLogScale } from '../../src/load/svg.js';

function timeline(opsPerSec: number[]): TimelinePoint[] {
  return opsPerSec.map((v, i) => ({ tMs: (i + 1) * 250, ops: v / 4, errors: 0, opsPerSec: v }));
}

/** Buckets 10 per decade from 10 µs to 100 ms; `peak` bucket index gets most of `count`. */
function buckets(peak: number, count: number): HistogramBucket[] {
  return Array.from({ length: 40 }, (_, i) => ({
    fromMs: 0.01 * 10 ** (i / 10),
    toMs: 0.01 * 10 ** ((i + 1) / 10),
    count: i === peak ? Math.round(count * 0.8) : Math.abs(i - peak) < 4 ? Math.round(count * 0.05) : 0,
  }));
}

function result(label: string, opsPerSec: number, p50Ms: number, p99Ms: number, peak: number): ReportRun {
  const latency = {
    count: opsPerSec,
    minMs: p50Ms / 2,
    meanMs: p50Ms,
    p50Ms,
    p90Ms: p99Ms / 2,
    p95Ms: p99Ms / 1.5,
    p99Ms,
    p999Ms: p99Ms * 2,
    maxMs: p99Ms * 3,
  };
  const r: LoadResult = {
    workload: 'small',
    client: label,
    concurrency: 10,
    durationMs: 1000,
    ops: opsPerSec,
    errors: 0,
    opsPerSec,
    latency,
    histogram: buckets(peak, opsPerSec),
    timeline: timeline([opsPerSec * 0.8, opsPerSec, opsPerSec * 1.1, opsPerSec]),
    classes: { small: { ops: opsPerSec, errors: 0, opsPerSec, latency } },
    errorSamples: [],
    aborted: false,
    server: {
      connectionsOpened: label === 'redpool pool' ? 10 : 2036,
      peakConnectedClients: 10,
      rejectedConnections: 0,
      commandsProcessed: opsPerSec,
      samples: 4,
    },
  };
  return { label, result: r };
}

const perOp = result('connection per op', 2_020, 3.63, 26.2, 25);
const pool = result('redpool pool', 141_000, 0.038, 0.151, 6);

/** `<text …>content</text>` elements with their attributes. */
function texts(svg: string): Array<{ attrs: Record<string, string>; text: string }> {
  return [...svg.matchAll(/<text([^>]*)>([^<]*)<\/text>/g)].map((m) => ({
    attrs: Object.fromEntries([...m[1]!.matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!])),
    text: m[2]!,
  }));
}

void describe('report charts', () => {
  void test('the histogram names every series in a legend and explains the dashed percentile lines', () => {
    const svg = histogramSvg(
      [perOp, pool].map((r) => ({
        name: r.label,
        buckets: r.result.histogram,
        markers: { p50: r.result.latency.p50Ms, p99: r.result.latency.p99Ms },
      })),
    );
    const legend = texts(svg)
      .filter((t) => t.attrs['class'] === 'legend-text')
      .map((t) => t.text);
    assert.deepEqual(legend, ['connection per op', 'redpool pool', 'percentile (p50, p99)']);
  });

  void test('percentile labels sit above the plot area, so the tallest bar never runs under one', () => {
    const svg = histogramSvg([{ name: 'redpool', buckets: pool.result.histogram, markers: { p50: 0.038, p99: 0.151 } }]);
    const markers = texts(svg).filter((t) => t.attrs['class'] === 'marker');
    assert.deepEqual(
      markers.map((m) => m.text),
      ['p50 38µs', 'p99 151µs'],
    );
    const barTops = [...svg.matchAll(/<rect x="[^"]+" y="([^"]+)"[^>]*><title>/g)].map((m) => Number(m[1]));
    assert.ok(barTops.length > 0);
    const highestBar = Math.min(...barTops);
    assert.ok(highestBar >= 0, `bars stay in the plot (y ${highestBar})`);
    // Text baselines above the plot top (y = 0); the 11 px glyphs end at the baseline.
    for (const m of markers) assert.ok(Number(m.attrs['y']) < 0, `${m.text} at y ${m.attrs['y']} is above the plot`);
  });

  void test('each series has its own label row, and labels of one row never overlap, even for close or clamped percentiles', () => {
    const cases: Array<Record<string, number>> = [
      { p50: 3.63, p99: 26.2 }, // far apart: p50 left of its line, p99 right of its line
      { p50: 0.1, p99: 0.11 }, // a tight distribution
      { p50: 500, p99: 900 }, // both beyond the last bucket: clamped to the right edge
      { p50: 0.0001, p99: 0.0002 }, // both before the first bucket: clamped to the left edge
    ];
    for (const markers of cases) {
      const svg = histogramSvg([
        { name: 'a', buckets: perOp.result.histogram, markers },
        { name: 'b', buckets: pool.result.histogram, markers: { p50: 0.038, p99: 0.151 } },
      ]);
      const labels = texts(svg).filter((t) => t.attrs['class'] === 'marker');
      assert.equal(labels.length, 4);
      assert.equal(labels[0]!.attrs['y'], labels[1]!.attrs['y']);
      assert.notEqual(labels[0]!.attrs['y'], labels[2]!.attrs['y']);
      // Same 7.4 px per character estimate as the renderer.
      const span = (l: (typeof labels)[number]): [number, number] => [Number(l.attrs['x']), Number(l.attrs['x']) + l.text.length * 7.4];
      const [a0, a1] = span(labels[0]!);
      const [b0, b1] = span(labels[1]!);
      assert.ok(
        a1 < b0 || b1 < a0,
        `${JSON.stringify(markers)}: "${labels[0]!.text}" [${a0}, ${a1}] and "${labels[1]!.text}" [${b0}, ${b1}] overlap`,
      );
      // Inside the chart (the plot starts 64 px from the left edge and ends 30 px before the right).
      for (const l of labels) assert.ok(span(l)[0] >= -64 && span(l)[1] <= 666 + 30, `${l.text} inside the chart`);
    }
    // The usual case: the first label to the left of its line, the second to the right.
    const svg = histogramSvg([{ name: 'a', buckets: perOp.result.histogram, markers: cases[0]! }]);
    const lines = [...svg.matchAll(/<line x1="([^"]+)" y1="0" x2="[^"]+" y2="240" stroke="[^"]+" stroke-dasharray/g)].map((m) =>
      Number(m[1]),
    );
    const [p50, p99] = texts(svg).filter((t) => t.attrs['class'] === 'marker');
    assert.ok(Number(p50!.attrs['x']) + p50!.text.length * 7.4 <= lines[0]!, 'p50 label left of its line');
    assert.ok(Number(p99!.attrs['x']) > lines[1]!, 'p99 label right of its line');
  });

  void test('throughput: a log axis when the lines differ tenfold, and the slow line then rises off the axis', () => {
    const series = [perOp, pool].map((r) => ({ name: r.label, points: r.result.timeline }));
    assert.equal(wantsLogScale(series), true);
    const svg = lineChartSvg(series);
    assert.match(svg, /operations per second \(log scale\)/);
    const legend = texts(svg)
      .filter((t) => t.attrs['class'] === 'legend-text')
      .map((t) => t.text);
    assert.deepEqual(legend, ['connection per op', 'redpool pool']);
    // The plot is 240 px tall with its axis at y = 240: the slow line's points sit well above it.
    const slow = [...svg.matchAll(/<circle cx="[^"]+" cy="([^"]+)"[^>]*><title>connection per op/g)].map((m) => 240 - Number(m[1]));
    assert.equal(slow.length, 4);
    for (const h of slow) assert.ok(h > 240 * 0.2, `slow line ${h.toFixed(1)} px above the axis`);
    // On the old linear axis it would be within 2 % of the axis: the reason for the log axis.
    const linear = lineChartSvg(series, { scale: 'linear' });
    const flat = [...linear.matchAll(/<circle cx="[^"]+" cy="([^"]+)"[^>]*><title>connection per op/g)].map((m) => 240 - Number(m[1]));
    for (const h of flat) assert.ok(h < 240 * 0.02, `linear: ${h.toFixed(1)} px`);
  });

  void test('throughput: similar lines, or a single one, keep a linear axis', () => {
    const a = { name: 'a', points: timeline([900, 1000, 1100]) };
    const b = { name: 'b', points: timeline([300, 400, 200]) };
    assert.equal(wantsLogScale([a, b]), false);
    assert.equal(wantsLogScale([a]), false);
    assert.doesNotMatch(lineChartSvg([a, b]), /log scale/);
    assert.match(lineChartSvg([a], { scale: 'log' }), /log scale/);
  });
});

void describe('report header cards', () => {
  const header = (html: string): string => html.slice(html.indexOf('<h1>'), html.indexOf('<h2>Results'));

  void test('compare: every card shows both runs, under a legend naming them', () => {
    const html = renderHtmlReport({
      title: 'redpool bench · compare',
      target: 'redis://127.0.0.1:1',
      server: {},
      settings: {},
      runs: [perOp, pool],
    });
    const h = header(html);
    for (const v of ['2.02k ops/s', '141k ops/s', '3.63ms', '38µs', '26.2ms', '151µs', '2036', '>10<'])
      assert.ok(h.includes(v), `header shows ${v}`);
    assert.match(h, /<div class="runs">.*connection per op.*redpool pool.*<\/div>/);
    assert.equal((h.match(/class="r"/g) ?? []).length, 10, 'five cards × two runs');
  });

  void test('a single run: one value per card', () => {
    const html = renderHtmlReport({
      title: 'redpool bench · small',
      target: 'redis://127.0.0.1:1',
      server: {},
      settings: {},
      runs: [pool],
    });
    const h = header(html);
    assert.ok(h.includes('141k ops/s'));
    assert.doesNotMatch(h, /class="runs"|class="r"/);
    assert.equal((h.match(/class="card"/g) ?? []).length, 5);
  });
});
