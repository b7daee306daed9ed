/**
 * The HTML report of `redpool bench --report` (compare and mixed) as a browser lays it out:
 * loaded in headless Chromium, every chart has a legend naming its runs, no percentile label
 * overlaps a histogram bar, a legend entry or another label, the connection-per-op throughput
 * line stands clear of the axis in `compare` (log axis), the header cards show both runs, and the
 * duration reads "per phase" only for the two-phase `compare`. Screenshots of both reports are
 * kept in test-output/ (their paths are printed as test diagnostics).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { runCli } from './run-cli.js';
import { CHROMIUM, launchChromium } from '../helpers/browser.js';

const OUTPUT_DIR = path.resolve('test-output');

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
  text: string;
}

/** What the page reports about its charts, measured by the browser. */
interface Layout {
  charts: Array<{
    label: string;
    legend: Box[];
    markers: Box[];
    bars: Box[];
    axisY: number;
    plotH: number;
    lines: Array<{ name: string; top: number }>;
    yLabel: string;
  }>;
  cardRows: number;
  runNames: string[];
}

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

async function bench(t: TestContext, workload: string): Promise<{ file: string; html: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'redpool-report-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, `${workload}.html`);
  const r = await runCli(['bench', '--workload', workload, '--duration', '0.8', '--concurrency', '10', '--report', file, '--quiet'], {
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, r.stderr);
  return { file, html: readFileSync(file, 'utf8') };
}

async function layoutOf(t: TestContext, file: string, shot: string): Promise<Layout> {
  const browser = await launchChromium(t);
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (req) => {
    if (!req.url().startsWith('file:')) problems.push(`external request: ${req.url()}`);
  });
  await page.goto(`file://${file}`);
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const png = path.join(OUTPUT_DIR, shot);
  await page.screenshot({ path: png, fullPage: true });
  t.diagnostic(`screenshot: ${png}`);
  assert.deepEqual(problems, []);
  return (await page.evaluate(MEASURE)) as Layout;
}

/** Runs in the page (as text: this project compiles without the DOM types): plain DOM geometry. */
const MEASURE = `(() => {
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return { x: r.x, y: r.y, w: r.width, h: r.height, text: el.textContent ?? '' };
  };
  const charts = [...document.querySelectorAll('svg.chart')].map((svg) => {
    // The vertical axis (x1 = x2 = 0, from the plot top to the x axis) spans the plot height.
    const vertical = svg.querySelector('line.axis[x1="0"][y1="0"][x2="0"]').getBoundingClientRect();
    return {
      label: svg.getAttribute('aria-label') ?? '',
      legend: [...svg.querySelectorAll('.legend text')].map(box),
      markers: [...svg.querySelectorAll('text.marker')].map(box),
      bars: [...svg.querySelectorAll('rect')].filter((r) => r.querySelector('title')).map(box),
      axisY: vertical.y + vertical.height,
      plotH: vertical.height,
      lines: [...svg.querySelectorAll('path')].map((p) => ({ name: p.querySelector('title')?.textContent ?? '', top: p.getBoundingClientRect().y })),
      yLabel: [...svg.querySelectorAll('text.label')].map((l) => l.textContent).join(' | '),
    };
  });
  return {
    charts,
    cardRows: document.querySelectorAll('.cards .card .r').length,
    runNames: [...document.querySelectorAll('.runs > span')].map((s) => s.textContent ?? ''),
  };
})()`;

function checkCharts(layout: Layout, runs: string[]): void {
  assert.equal(layout.charts.length, 2);
  const [histogram, throughput] = layout.charts as [Layout['charts'][number], Layout['charts'][number]];
  assert.deepEqual(
    histogram.legend.map((l) => l.text),
    [...runs, 'percentile (p50, p99)'],
  );
  assert.deepEqual(
    throughput.legend.map((l) => l.text),
    runs,
  );
  assert.equal(histogram.markers.length, 2 * runs.length, 'p50 and p99 per run');
  assert.ok(histogram.bars.length > 0);
  for (const m of histogram.markers) {
    for (const b of histogram.bars) assert.ok(!overlaps(m, b), `label "${m.text}" overlaps a bar`);
    for (const l of histogram.legend) assert.ok(!overlaps(m, l), `label "${m.text}" overlaps legend "${l.text}"`);
    for (const o of histogram.markers) if (o !== m) assert.ok(!overlaps(m, o), `labels "${m.text}" and "${o.text}" overlap`);
  }
}

void test(
  'compare report: legends, labels clear of bars, both runs in the header, the slow line off the axis',
  { timeout: 120_000 },
  async (t) => {
    const { file, html } = await bench(t, 'compare');
    assert.match(html, /<dt>duration<\/dt><dd>0\.8 s per phase<\/dd>/);
    if (!existsSync(CHROMIUM)) {
      t.skip(`${CHROMIUM} is not installed (apt-get install -y chromium): report checked statically only`);
      return;
    }
    const layout = await layoutOf(t, file, 'report-compare.png');
    const runs = ['connection per op', 'redpool pool'];
    checkCharts(layout, runs);
    assert.deepEqual(layout.runNames, runs);
    assert.equal(layout.cardRows, 10, 'five cards, one row per run');
    const throughput = layout.charts[1]!;
    assert.match(throughput.yLabel, /log scale/);
    const slow = throughput.lines.find((l) => l.name === 'connection per op');
    assert.ok(slow, JSON.stringify(throughput.lines));
    const rise = (throughput.axisY - slow.top) / throughput.plotH;
    assert.ok(rise > 0.2, `the connection-per-op line peaks ${(rise * 100).toFixed(1)} % of the plot above the axis`);
  },
);

void test('mixed report: legends, labels clear of bars, one run in the header, no "per phase"', { timeout: 120_000 }, async (t) => {
  const { file, html } = await bench(t, 'mixed');
  assert.match(html, /<dt>duration<\/dt><dd>0\.8 s<\/dd>/);
  assert.doesNotMatch(html, /per phase/);
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} is not installed (apt-get install -y chromium): report checked statically only`);
    return;
  }
  const layout = await layoutOf(t, file, 'report-mixed.png');
  checkCharts(layout, ['redpool']);
  assert.deepEqual(layout.runNames, []);
  assert.equal(layout.cardRows, 0);
});
