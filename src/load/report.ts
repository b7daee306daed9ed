/**
 * The self-contained HTML report of a load run: summary, settings, a results table, a latency
 * histogram and a throughput-over-time chart. No external resources (no CDN, no fonts, no
 * script): one file that opens anywhere. Only redacted URLs are ever passed in.
 */
import type { LoadResult } from './run-load.js';
import { fmtCount, fmtMs } from './format.js';
import { esc, histogramSvg, lineChartSvg, PALETTE } from './svg.js';

/** One labelled run of a report (two for `compare`). */
export interface ReportRun {
  label: string;
  result: LoadResult;
}

/** Everything the HTML report shows. */
export interface LoadReport {
  /** Title line, e.g. `redpool bench · small`. */
  title: string;
  /** Redacted target URL. */
  target: string;
  /** Server facts, e.g. `{ 'redis_version': '7.0.15', embedded: 'yes' }`. */
  server: Record<string, string>;
  /** Settings of the run as label → value. */
  settings: Record<string, string>;
  runs: ReportRun[];
  /** Extra lines under the table (ratios, notes). */
  notes?: string[];
  /** ISO timestamp. @default now */
  generatedAt?: string;
}

const CSS = `
:root{color-scheme:light dark;--bg:#fff;--fg:#111827;--muted:#6b7280;--card:#f3f4f6;--line:#e5e7eb}
@media (prefers-color-scheme:dark){:root{--bg:#0b0f17;--fg:#e5e7eb;--muted:#9ca3af;--card:#151b26;--line:#263041}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1000px;margin:0 auto;padding:28px 20px 60px}h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 10px}
.sub{color:var(--muted);margin:0 0 20px}.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px}
.card{background:var(--card);border-radius:10px;padding:12px 14px}.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:22px;font-weight:600;font-variant-numeric:tabular-nums}.card .s{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}th{color:var(--muted);font-weight:600;font-size:13px}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:baseline}
.chart{width:100%;height:auto;background:var(--card);border-radius:10px}.chart .axis{stroke:var(--muted);stroke-width:1}
.chart .grid{stroke:var(--line);stroke-width:1}.chart .tick{fill:var(--muted);font-size:11px}.chart .label{fill:var(--muted);font-size:12px}
.chart .marker{font-size:11px;font-weight:600}dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}dt{color:var(--muted)}dd{margin:0}
.notes li{margin:2px 0}footer{margin-top:40px;color:var(--muted);font-size:12px}
.card .r{display:flex;align-items:baseline;font-size:18px;font-weight:600;font-variant-numeric:tabular-nums;line-height:1.35}
.card .r .swatch{flex:none}.runs{display:flex;flex-wrap:wrap;gap:4px 18px;margin:0 0 10px;color:var(--muted);font-size:13px}
.chart .legend-text{fill:var(--fg);font-size:12px}.chart .legend{color:var(--fg)}
`;

function card(k: string, v: string, s = ''): string {
  return `<div class="card"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div>${s ? `<div class="s">${esc(s)}</div>` : ''}</div>`;
}

function swatch(i: number): string {
  return `<span class="swatch" style="background:${PALETTE[i % PALETTE.length]}"></span>`;
}

/** A card with one value per run (swatch-coded like the table and the charts). */
function runsCard(k: string, runs: ReportRun[], value: (r: ReportRun) => string, title: (r: ReportRun) => string): string {
  const rows = runs.map((r, i) => `<div class="r" title="${esc(`${r.label}: ${title(r)}`)}">${swatch(i)}${esc(value(r))}</div>`).join('');
  return `<div class="card"><div class="k">${esc(k)}</div>${rows}</div>`;
}

/**
 * The summary cards: one run gets one big value per card; several runs (`compare`) get one
 * row per run in every card, under a legend naming them, so no run is left out of the header.
 */
function headerCards(runs: ReportRun[]): string {
  const only = runs.length === 1 ? runs[0] : undefined;
  if (only) {
    const r = only.result;
    return (
      `<section class="cards">` +
      card('throughput', `${fmtCount(r.opsPerSec)} ops/s`, only.label) +
      card('p50 latency', fmtMs(r.latency.p50Ms), only.label) +
      card('p99 latency', fmtMs(r.latency.p99Ms), only.label) +
      card('errors', String(r.errors), `${fmtCount(r.ops)} operations`) +
      (r.server ? card('connections opened', String(r.server.connectionsOpened), `peak clients ${r.server.peakConnectedClients}`) : '') +
      `</section>`
    );
  }
  if (runs.length === 0) return '';
  const names = `<div class="runs">${runs.map((r, i) => `<span>${swatch(i)}${esc(r.label)}</span>`).join('')}</div>`;
  const server = runs.every((r) => r.result.server);
  return (
    names +
    `<section class="cards">` +
    runsCard(
      'throughput',
      runs,
      (r) => `${fmtCount(r.result.opsPerSec)} ops/s`,
      (r) => `${fmtCount(r.result.opsPerSec)} ops/s`,
    ) +
    runsCard(
      'p50 latency',
      runs,
      (r) => fmtMs(r.result.latency.p50Ms),
      (r) => fmtMs(r.result.latency.p50Ms),
    ) +
    runsCard(
      'p99 latency',
      runs,
      (r) => fmtMs(r.result.latency.p99Ms),
      (r) => fmtMs(r.result.latency.p99Ms),
    ) +
    runsCard(
      'errors',
      runs,
      (r) => String(r.result.errors),
      (r) => `${r.result.errors} errors in ${fmtCount(r.result.ops)} operations`,
    ) +
    (server
      ? runsCard(
          'connections opened',
          runs,
          (r) => String(r.result.server!.connectionsOpened),
          (r) => `${r.result.server!.connectionsOpened} opened, peak clients ${r.result.server!.peakConnectedClients}`,
        )
      : '') +
    `</section>`
  );
}

function dl(rows: Record<string, string>): string {
  return `<dl>${Object.entries(rows)
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`)
    .join('')}</dl>`;
}

function resultRow(run: ReportRun, i: number): string {
  const r = run.result;
  const l = r.latency;
  const cells = [
    fmtCount(r.opsPerSec),
    fmtMs(l.p50Ms),
    fmtMs(l.p95Ms),
    fmtMs(l.p99Ms),
    fmtMs(l.p999Ms),
    fmtMs(l.maxMs),
    String(r.errors),
    r.server ? String(r.server.connectionsOpened) : '–',
    r.server ? String(r.server.peakConnectedClients) : '–',
  ];
  return `<tr><td>${swatch(i)}${esc(run.label)}</td>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
}

function classRows(runs: ReportRun[]): string {
  let out = '';
  for (const run of runs) {
    for (const [name, c] of Object.entries(run.result.classes)) {
      const l = c.latency;
      out += `<tr><td>${esc(run.label)} · ${esc(name)}</td><td>${esc(fmtCount(c.ops))}</td><td>${esc(fmtCount(c.opsPerSec))}</td><td>${esc(fmtMs(l.p50Ms))}</td><td>${esc(fmtMs(l.p99Ms))}</td><td>${esc(fmtMs(l.maxMs))}</td><td>${c.errors}</td></tr>`;
    }
  }
  return out;
}

/** Renders the report as one HTML document (UTF-8). */
export function renderHtmlReport(report: LoadReport): string {
  const runs = report.runs;
  const cards = headerCards(runs);
  const histogram = histogramSvg(
    runs.map((r) => ({
      name: r.label,
      buckets: r.result.histogram,
      markers: { p50: r.result.latency.p50Ms, p99: r.result.latency.p99Ms },
    })),
  );
  const throughput = lineChartSvg(runs.map((r) => ({ name: r.label, points: r.result.timeline })));
  const notes = report.notes?.length ? `<ul class="notes">${report.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '';
  const errors = runs.flatMap((r) => r.result.errorSamples.map((e) => `${r.label}: ${e}`));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(report.title)}</title><style>${CSS}</style></head>
<body><main>
<h1>${esc(report.title)}</h1>
<p class="sub">${esc(report.target)} · ${esc(report.generatedAt ?? new Date().toISOString())}</p>
${cards}
<h2>Results</h2>
<table><thead><tr><th>client</th><th>ops/s</th><th>p50</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th><th>errors</th><th>conns opened</th><th>peak clients</th></tr></thead>
<tbody>${runs.map(resultRow).join('')}</tbody></table>
${notes}
<h2>Latency histogram</h2>
${histogram}
<h2>Throughput over time</h2>
${throughput}
<h2>Operation classes</h2>
<table><thead><tr><th>class</th><th>ops</th><th>ops/s</th><th>p50</th><th>p99</th><th>max</th><th>errors</th></tr></thead><tbody>${classRows(runs)}</tbody></table>
${errors.length ? `<h2>Errors (samples)</h2><ul>${errors.map((e) => `<li>${esc(e)}</li>`).join('')}</ul>` : ''}
<h2>Settings</h2>
${dl(report.settings)}
<h2>Server</h2>
${dl(report.server)}
<footer>Generated by redpool. Latency is measured per operation from call to reply on the client; connections opened is the delta of INFO total_connections_received; peak clients samples INFO connected_clients (the sampler's own connection excluded).</footer>
</main></body></html>
`;
}
