/**
 * Renders the option table as the Markdown tables of docs/configuration.md (between the
 * `options:begin`/`options:end` markers). A unit test compares the doc with this output and,
 * with `UPDATE_DOCS=1`, writes it; so the doc can only say what the table says.
 */
import { OPTIONS, SECTIONS, type OptionKind, type OptionSpec } from './table.js';

const KIND: Record<OptionKind, string> = {
  string: 'string',
  int: 'integer',
  ms: 'ms',
  bool: 'boolean',
  function: 'function',
  object: 'object',
  tls: 'boolean \\| object',
  enum: 'enum',
  sentinel: 'object',
};

function literal(v: unknown): string {
  return typeof v === 'string' ? `\`'${v}'\`` : `\`${String(v)}\``;
}

function bounds(spec: OptionSpec<unknown>): string {
  if (spec.kind === 'enum') return spec.values!.map((v) => `\`'${v}'\``).join(', ');
  if (spec.min === undefined && spec.max === undefined) return '';
  const max = spec.max === Number.MAX_SAFE_INTEGER ? '2^53−1' : String(spec.max);
  return `${spec.min}..${max}${spec.infinite ? ' or `Infinity` (no limit)' : ''}`;
}

/** The generated Markdown: one `###` table per section, options in table order. */
export function renderOptionTables(): string {
  const out: string[] = [];
  for (const [section, title] of Object.entries(SECTIONS)) {
    out.push(`### ${title}`, '', '| option | type | default | bounds | query | meaning |', '|---|---|---|---|---|---|');
    for (const [name, row] of Object.entries(OPTIONS) as Array<[string, OptionSpec<unknown>]>) {
      if (row.section !== section) continue;
      const dflt = row.defaultDoc ?? (row.default !== undefined ? literal(row.default) : 'none');
      out.push(
        `| \`${name}\` | ${KIND[row.kind]}${row.orFalse ? ' \\| `false`' : ''} | ${dflt} | ${bounds(row)} | ${row.query ? 'yes' : ''} | ${row.doc} |`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}
