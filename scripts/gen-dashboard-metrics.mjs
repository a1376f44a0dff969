// Writes test/fixtures/grafana/kyverno-dashboard-metrics.json: every metric name Kyverno's
// Grafana dashboard queries, with the label names its queries select or group by, read from the
// dashboard in Kyverno's chart. test/webhook/dashboard-metrics.test.ts checks that our /metrics
// gives each of them with those labels.
// Usage: node scripts/gen-dashboard-metrics.mjs [KYVERNO_SOURCE_DIR] (default /work/kyverno-src/kyverno)
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = resolve(process.argv[2] ?? '/work/kyverno-src/kyverno');
const path = 'charts/kyverno/charts/grafana/dashboard/kyverno-dashboard.json';
const dashboard = JSON.parse(readFileSync(join(source, path), 'utf8'));
let commit = '';
try {
  commit = execFileSync('git', ['-C', source, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
} catch {
  // Not a git checkout: the file is named without a commit.
}

// Labels Prometheus adds (an external label of the scraping Prometheus) or that PromQL uses itself.
const NOT_OURS = new Set(['cluster', '__name__', 'le']);
// PromQL words that precede a parenthesis or a brace without being metric names.
const FUNCTIONS = new Set(['sum', 'count', 'avg', 'min', 'max', 'rate', 'increase', 'irate', 'vector', 'by', 'without', 'or', 'and', 'unless', 'histogram_quantile', 'label_values', 'on', 'ignoring', 'group_left', 'group_right']);

/** Every PromQL expression of the dashboard: panel targets and templating queries. */
function expressions(node, out = []) {
  if (Array.isArray(node)) for (const v of node) expressions(v, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if ((k === 'expr' || k === 'query' || k === 'definition') && typeof v === 'string' && /[a-z_]+[{(\[]/.test(v)) out.push(v);
      else expressions(v, out);
    }
  }
  return out;
}

const metrics = new Map();
const add = (name, labels) => {
  const set = metrics.get(name) ?? new Set();
  for (const l of labels) if (!NOT_OURS.has(l)) set.add(l);
  metrics.set(name, set);
};
for (const expr of expressions(dashboard)) {
  // Labels grouped by anywhere in the expression apply to every metric it reads.
  const grouped = [...expr.matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap((m) => m[1].split(',').map((s) => s.trim()).filter(Boolean));
  const names = [];
  // name{selectors}, name[range] or a bare name as an argument: label_values(name, label);
  // not the label names of a grouping.
  const reading = expr.replace(/\b(by|without)\s*\([^)]*\)/g, '');
  for (const m of reading.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{([^}]*)\}|\[|,|\))/g)) {
    if (FUNCTIONS.has(m[1]) || !/_/.test(m[1])) continue;
    names.push([m[1], m[3] ?? '']);
  }
  // {__name__=~"a|b", selectors}: one selector for several metrics.
  for (const m of expr.matchAll(/\{__name__=~"([^"]+)"([^}]*)\}/g)) for (const n of m[1].split('|')) names.push([n, m[2]]);
  for (const [name, selectors] of names) {
    const selected = [...selectors.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((s) => s[1]);
    add(name, [...selected, ...grouped]);
  }
}
const out = {
  source: { repository: 'kyverno/kyverno', path, ...(commit ? { commit } : {}) },
  generator: 'scripts/gen-dashboard-metrics.mjs',
  note: "Metric names the dashboard's panel and template queries read, each with the label names they select on or group by; `cluster` is left out (an external label of the scraping Prometheus, not Kyverno's).",
  metrics: Object.fromEntries([...metrics].sort(([a], [b]) => a.localeCompare(b)).map(([n, l]) => [n, [...l].sort()])),
};
const file = join(root, 'test/fixtures/grafana/kyverno-dashboard-metrics.json');
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(`${Object.keys(out.metrics).length} metric names written to ${file}`);
