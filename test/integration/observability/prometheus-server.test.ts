/**
 * The dashboard and the rules against a real Prometheus: it scrapes the example service (node:http
 * + redpool/prometheus + a real redis-server) every second while a bounded load runs, evaluates
 * the shipped rules, and its HTTP query API must answer every query of the dashboard — Grafana's
 * variables substituted — with at least one series holding a number, the variables' label_values
 * must list the pool and the process, every rule must evaluate without error, every recording rule
 * must produce a series, and RedpoolPoolExhausted must fire for the contended pool.
 * Loopback only; Prometheus keeps its storage in a temporary directory and is stopped by PID.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { withRedis } from '../../helpers/redis.js';
import { dashboardQueries, recordedNames, RULES_FILE, substitute, variableQueries } from './dashboard-queries.js';
import { startExampleService } from './example-service.js';
import { PROMETHEUS, promApi, queryRange, startPrometheus } from './prometheus-process.js';

const SCRAPE = '1s';

/** Bounded load: `count` requests per route mix, `concurrency` at a time, stopped at `capMs`. */
async function load(base: string, count: number, concurrency: number, capMs: number): Promise<Record<string, number>> {
  const mix = ['/hit', '/hit', '/hit', '/lease', '/lease', '/hit', '/bad', '/hit', '/lease', '/hit'];
  const until = Date.now() + capMs;
  const statuses: Record<string, number> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count && Date.now() < until) {
      const i = next++;
      // One deadline missed in every 50 requests: the timeout panels need some.
      const route = i % 50 === 25 ? '/slow' : mix[i % mix.length]!;
      const res = await fetch(base + route, { signal: AbortSignal.timeout(10_000) });
      await res.text();
      const key = `${route} ${res.status}`;
      statuses[key] = (statuses[key] ?? 0) + 1;
      // Spread the requests over several scrapes (about 5 s).
      if (i % 2 === 0) await new Promise((r) => setTimeout(r, 50));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

function hasNumber(series: Array<{ values: Array<[number, string]> }>): boolean {
  return series.some((s) => s.values.some(([, v]) => Number.isFinite(Number(v))));
}

void test(
  'a real Prometheus scraping the example service answers every dashboard query; the rules evaluate',
  { timeout: 120_000 },
  async (t) => {
    if (!existsSync(PROMETHEUS)) {
      t.skip(`${PROMETHEUS} is not installed (apt-get install prometheus): dashboard queries not run against a server`);
      return;
    }
    const redis = await withRedis(t);
    const svc = await startExampleService(t, redis.url, 'example');
    // The shipped rules, with the recording group evaluated every second instead of every 30 s.
    const rules = readFileSync(RULES_FILE, 'utf8').replace(/^(\s+)interval: 30s$/m, `$1interval: ${SCRAPE}`);
    assert.notEqual(rules, readFileSync(RULES_FILE, 'utf8'), 'the recording interval was shortened');
    const config = [
      'global:',
      `  scrape_interval: ${SCRAPE}`,
      `  evaluation_interval: ${SCRAPE}`,
      'rule_files: [redpool-rules.yml]',
      'scrape_configs:',
      '  - job_name: example',
      `    scrape_interval: ${SCRAPE}`,
      `    static_configs: [{ targets: ['${svc.target}'] }]`,
      '',
    ].join('\n');
    const prom = await startPrometheus(t, config, { 'redpool-rules.yml': rules });

    // Prometheus applies a new target set within about 5 s of starting: wait for the first scrape.
    const scraping = Date.now() + 30_000;
    for (;;) {
      const { activeTargets } = await promApi<{ activeTargets: Array<{ health: string; lastError: string }> }>(prom.url, 'targets');
      if (activeTargets[0]?.health === 'up') break;
      assert.ok(Date.now() < scraping, `no successful scrape within 30 s: ${JSON.stringify(activeTargets)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const start = Math.floor(Date.now() / 1000);
    const statuses = await load(svc.url, 1_500, 12, 20_000);
    assert.ok((statuses['/hit 200'] ?? 0) > 100, JSON.stringify(statuses));
    assert.ok((statuses['/lease 200'] ?? 0) > 50, JSON.stringify(statuses));
    assert.ok((statuses['/bad 500'] ?? 0) > 10, JSON.stringify(statuses));
    assert.ok((statuses['/slow 500'] ?? 0) >= 1, JSON.stringify(statuses));
    const stats = svc.pool.stats();
    t.diagnostic(
      `load: ${JSON.stringify(statuses)}; exhausted ${stats.exhausted}, command timeouts ${stats.commandTimeouts}, reply errors ${stats.errorsBy.reply}`,
    );
    assert.ok(stats.exhausted > 0 && stats.commandTimeouts > 0 && stats.errorsBy.reply > 0, JSON.stringify(stats));
    // Let two more scrapes and rule evaluations see the final counters.
    await new Promise((r) => setTimeout(r, 2_500));
    const end = Math.floor(Date.now() / 1000);

    // The scrape worked.
    const targets = await promApi<{ activeTargets: Array<{ health: string; lastError: string }> }>(prom.url, 'targets');
    assert.deepEqual(
      targets.activeTargets.map((x) => [x.health, x.lastError]),
      [['up', '']],
    );

    // Grafana's variables: label_values(<selector>, <label>) → the series API.
    for (const v of variableQueries()) {
      const selector = v.selector.replaceAll('$pool', 'example');
      const values = await promApi<string[]>(prom.url, `label/${v.label}/values`, {
        'match[]': selector,
        start: String(start),
        end: String(end),
      });
      assert.ok(values.includes(v.name === 'pool' ? 'example' : svc.target), `$${v.name}: ${JSON.stringify(values)}`);
    }

    // Every dashboard query, as Grafana sends it, returns series with numbers.
    const vars = { pool: 'example', instance: svc.target.replaceAll('.', '\\\\.'), rateInterval: '5s', range: `${end - start + 60}s` };
    const empty: string[] = [];
    const queries = dashboardQueries();
    for (const { panel, expr } of queries) {
      const q = substitute(expr, vars);
      const result = await queryRange(prom.url, q, start, end);
      if (!hasNumber(result)) empty.push(`"${panel}": ${q} → ${JSON.stringify(result).slice(0, 200)}`);
    }
    assert.deepEqual(empty, [], `dashboard queries without data (${empty.length} of ${queries.length})`);

    // The rules: all loaded, none failing; every recording rule has produced a series.
    const groups = await promApi<{
      groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string; type: string; state?: string }> }>;
    }>(prom.url, 'rules');
    const loaded = groups.groups.flatMap((g) => g.rules);
    assert.ok(loaded.length >= 15, `${loaded.length} rules loaded`);
    assert.deepEqual(
      loaded.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`),
      [],
    );
    for (const name of recordedNames(rules)) {
      const result = await queryRange(prom.url, `${name}{pool="example"}`, start, end);
      assert.ok(result.length > 0, `recording rule ${name} produced no series`);
    }
    // The contended lease path exhausted the pool: the "any exhaustion" alert fires, for this pool.
    const alerts = await promApi<{ alerts: Array<{ labels: Record<string, string>; state: string }> }>(prom.url, 'alerts');
    const exhausted = alerts.alerts.filter((a) => a.labels['alertname'] === 'RedpoolPoolExhausted');
    assert.deepEqual(
      exhausted.map((a) => [a.state, a.labels['pool'], a.labels['service']]),
      [['firing', 'example', 'example']],
    );
  },
);
