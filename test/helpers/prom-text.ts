/** Reading Prometheus text exposition in tests: series by name and labels. */

/** Parsed series of `name` in Prometheus text exposition whose labels include `labels`. */
export function series(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const kv of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) got[kv[1]!] = kv[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) out.push({ labels: got, value: Number(m[3]) });
  }
  return out;
}

/** The value of the first series of `name` matching `labels`, or undefined. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  return series(text, name, labels)[0]?.value;
}

/** Sum over every series of `name` matching `labels`. */
export function sum(text: string, name: string, labels: Record<string, string> = {}): number {
  return series(text, name, labels).reduce((a, s) => a + s.value, 0);
}
