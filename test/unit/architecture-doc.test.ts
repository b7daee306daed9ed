/**
 * docs/ARCHITECTURE.md draws the four state machines; this test reads its mermaid diagrams and
 * compares their edges with the transition tables the code enforces, both ways.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { HEALTH_TRANSITIONS } from '../../src/pool/dialer.js';
import { POOL_TRANSITIONS } from '../../src/pool/pool-state.js';
import { CONN_TRANSITIONS } from '../../src/pool/pooled-connection.js';
import { SUBSCRIBER_TRANSITIONS } from '../../src/pool/subscriber-types.js';

const doc = readFileSync('docs/ARCHITECTURE.md', 'utf8');

/** Edges `a->b` of every mermaid state diagram on the page, per diagram (start/end markers dropped). */
function diagrams(): Array<Set<string>> {
  const out: Array<Set<string>> = [];
  for (const m of doc.matchAll(/```mermaid\n([\s\S]*?)```/g)) {
    const edges = new Set<string>();
    for (const line of m[1]!.split('\n')) {
      const e = /^\s*(\S+)\s*-->\s*([^\s:]+)/.exec(line);
      if (e && e[1] !== '[*]' && e[2] !== '[*]') edges.add(`${e[1]}->${e[2]}`);
    }
    if (edges.size > 0) out.push(edges);
  }
  return out;
}

function tableEdges(table: { readonly [k: string]: readonly string[] }): Set<string> {
  return new Set(Object.entries(table).flatMap(([from, tos]) => tos.map((to) => `${from}->${to}`)));
}

for (const [name, table] of [
  ['connection', CONN_TRANSITIONS],
  ['pool lifecycle', POOL_TRANSITIONS],
  ['health', HEALTH_TRANSITIONS],
  ['subscriber', SUBSCRIBER_TRANSITIONS],
] as const) {
  void test(`the ${name} diagram has exactly the edges of its transition table`, () => {
    const want = tableEdges(table);
    const states = new Set(Object.keys(table));
    // The diagram of this machine: the one whose states are this table's states.
    const drawn = diagrams().find((d) => [...d].every((e) => e.split('->').every((s) => states.has(s))) && [...d].some((e) => want.has(e)));
    assert.ok(drawn, `no diagram of the ${name} states in docs/ARCHITECTURE.md`);
    assert.deepEqual([...want].filter((e) => !drawn.has(e)).sort(), [], `transitions the ${name} diagram does not draw`);
    assert.deepEqual([...drawn].filter((e) => !want.has(e)).sort(), [], `edges the ${name} diagram draws that the table forbids`);
  });
}
