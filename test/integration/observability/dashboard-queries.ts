/**
 * Reads the shipped operator files (observability/grafana/redpool.json and
 * observability/prometheus/redpool-rules.yml) for the tests: every PromQL expression, the metric
 * names they use, and Grafana variable substitution. Paths are relative to the repository root
 * (the test runner's working directory).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const DASHBOARD_FILE = path.resolve('observability/grafana/redpool.json');
export const RULES_FILE = path.resolve('observability/prometheus/redpool-rules.yml');
export const RULE_TESTS_DIR = path.resolve('observability/prometheus/tests');

/** One query of the dashboard: where it is and its PromQL. */
export interface DashboardQuery {
  panel: string;
  expr: string;
}

interface Panel {
  title?: string;
  type?: string;
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}

interface Dashboard {
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; definition?: string; query?: unknown }> };
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

/** Every panel target expression, rows' nested panels included. */
export function dashboardQueries(d: Dashboard = readDashboard()): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  const walk = (panels: Panel[]): void => {
    for (const p of panels) {
      for (const target of p.targets ?? []) if (target.expr) out.push({ panel: p.title ?? '(untitled)', expr: target.expr });
      if (p.panels) walk(p.panels);
    }
  };
  walk(d.panels);
  return out;
}

/** The `label_values(<selector>, <label>)` query variables: name, selector, label. */
export function variableQueries(d: Dashboard = readDashboard()): Array<{ name: string; selector: string; label: string }> {
  return d.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => {
      const m = /^label_values\((.+),\s*(\w+)\)$/.exec(v.definition ?? '');
      if (!m) throw new Error(`variable ${v.name}: unsupported definition ${String(v.definition)}`);
      return { name: v.name, selector: m[1]!, label: m[2]! };
    });
}

/** Every `expr:` of the rules file (single-line and `|` blocks). */
export function ruleExpressions(text: string = readFileSync(RULES_FILE, 'utf8')): Array<{ name: string; expr: string }> {
  const lines = text.split('\n');
  const out: Array<{ name: string; expr: string }> = [];
  let name = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const named = /^\s*- (?:record|alert): (\S+)/.exec(line);
    if (named) name = named[1]!;
    const m = /^(\s*)expr: (.*)$/.exec(line);
    if (!m) continue;
    if (m[2]!.trim() !== '|') {
      out.push({ name, expr: m[2]!.trim() });
      continue;
    }
    const block: string[] = [];
    while (i + 1 < lines.length && (lines[i + 1]!.trim() === '' || lines[i + 1]!.search(/\S/) > m[1]!.length))
      block.push(lines[++i]!.trim());
    out.push({ name, expr: block.join(' ').trim() });
  }
  return out;
}

/** Recording rule names of the rules file. */
export function recordedNames(text: string = readFileSync(RULES_FILE, 'utf8')): string[] {
  return [...text.matchAll(/^\s*- record: (\S+)/gm)].map((m) => m[1]!);
}

/**
 * Metric names an expression reads: identifiers starting with `redpool_` (recording rule names
 * such as `pool:redpool_x:rate5m` are not metrics of the exporter and are skipped).
 */
export function metricNamesIn(expr: string): string[] {
  return [...new Set([...expr.matchAll(/(?<![\w:])redpool_[a-zA-Z0-9_]+/g)].map((m) => m[0]))];
}

/** Grafana's variables replaced as Grafana would before sending the query. */
export function substitute(expr: string, vars: { pool: string; instance: string; rateInterval: string; range: string }): string {
  return expr
    .replaceAll('$__rate_interval', vars.rateInterval)
    .replaceAll('$__range', vars.range)
    .replaceAll('$pool', vars.pool)
    .replaceAll('$instance', vars.instance);
}
