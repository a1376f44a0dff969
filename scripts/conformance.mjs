// Runs the built CLI's `test` logic over both conformance corpora (Kyverno's sample policies and
// Kyverno's own CLI test suite) and prints, for each, how many tests pass per top-level folder
// and per policy family (decided from the policies' content). Every test ends in one state:
//   pass           it ran, produced rows, and all of them passed
//   fail           anything else the engine is answerable for
//   needs network  it verifies images or reads image data from a public registry and supplies
//                  no offline data (decided from the content; the reason is printed)
//   missing input  it names a file the corpus copy does not have: it cannot pass
// `--write-baseline` records each test's state in test/conformance-baseline.json, the
// regression guard of test/conformance.test.ts. The family tables go to
// bench/results/conformance-<date>.md.
// Usage: node scripts/conformance.mjs [--write-baseline] [--shared DIR]
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const sharedFlag = args.indexOf('--shared');
const shared = sharedFlag >= 0 ? resolve(args[sharedFlag + 1]) : resolve(root, '../shared/conformance');
const CORPORA = ['kyverno-policies', 'kyverno-cli'];
const baselinePath = join(root, 'test/conformance-baseline.json');

const absent = CORPORA.filter((c) => !existsSync(join(shared, c)));
if (absent.length > 0) {
  console.error(`conformance corpus not found: ${absent.map((c) => join(shared, c)).join(', ')}`);
  process.exit(1);
}
const cli = createRequire(import.meta.url)(join(root, 'dist/cli.js'));
const now = new Date();

/** The baseline key of a test: its file, and its position when the file holds several. */
const keyOf = (corpus, f) => `${relative(corpus, f.path).split('\\').join('/')}${f.document !== undefined ? `#${f.document}` : ''}`;

const pct = (a, b) => (b === 0 ? '-' : `${((100 * a) / b).toFixed(1)}%`);

function printTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  for (const r of [header, ...rows]) console.log(r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  '));
}

const started = performance.now();
const results = CORPORA.map((name) => {
  const corpus = join(shared, name);
  const report = cli.runTestPaths([corpus], { now });
  return { name, corpus, report };
});
const seconds = (performance.now() - started) / 1000;

const baseline = { corpora: {} };
const markdown = [`# Conformance — ${now.toISOString().slice(0, 10)}`, '', `Machine: ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} cores), node ${process.version}. Both corpora ran in ${seconds.toFixed(1)} s.`, ''];

for (const { name, corpus, report } of results) {
  const descriptions = new Map();
  const describe = (path) => {
    if (!descriptions.has(path)) descriptions.set(path, cli.describeTestFile(path));
    return descriptions.get(path);
  };
  const stateOf = (f) => {
    if (f.ok) return 'pass';
    const d = describe(f.path);
    if (d.missingInputs.length > 0) return 'missing-input';
    if (d.needsNetwork.length > 0) return 'needs-network';
    return 'fail';
  };
  const tests = report.files.map((f) => ({ f, key: keyOf(corpus, f), state: stateOf(f) }));

  console.log(`\n=== ${name} (${relative(process.cwd(), corpus) || corpus}) ===\n`);
  const empty = () => ({ tests: 0, pass: 0, fail: 0, network: 0, missing: 0, rows: 0, rowsPassed: 0 });
  const add = (s, t) => {
    s.tests++;
    if (t.state === 'pass') s.pass++;
    else if (t.state === 'fail') s.fail++;
    else if (t.state === 'needs-network') s.network++;
    else s.missing++;
    s.rows += t.f.rows.length;
    s.rowsPassed += t.f.rows.filter((r) => r.ok).length;
  };
  const cells = (label, s) => [label, `${s.pass}/${s.tests}`, pct(s.pass, s.tests), s.fail, s.network, s.missing, `${s.rowsPassed}/${s.rows}`];
  const header = (first) => [first, 'passed', '%', 'failed', 'needs network', 'missing input', 'rows passed'];

  const folders = new Map();
  for (const t of tests) {
    const top = t.key.split('/')[0];
    if (!folders.has(top)) folders.set(top, empty());
    add(folders.get(top), t);
  }
  const total = empty();
  for (const t of tests) add(total, t);
  printTable(header('folder'), [...[...folders].sort(([a], [b]) => a.localeCompare(b)).map(([k, s]) => cells(k, s)), cells('all', total)]);

  // Families: a test counts in each family its policies touch.
  const families = new Map(cli.FAMILY_LABELS.map(([id, label]) => [id, { label, ...empty() }]));
  for (const t of tests) for (const id of describe(t.f.path).families) add(families.get(id), t);
  const familyRows = [...families.values()].map((s) => cells(s.label, s));
  console.log('');
  printTable(header('family'), [...familyRows, cells('all tests', total)]);

  const network = tests.filter((t) => t.state === 'needs-network');
  if (network.length > 0) {
    console.log('\nneeds network:');
    for (const t of network) console.log(`  ${t.key}: ${describe(t.f.path).needsNetwork.join('; ')}`);
  }
  const missing = tests.filter((t) => t.state === 'missing-input');
  if (missing.length > 0) {
    console.log('\nmissing input:');
    for (const t of missing) console.log(`  ${t.key}: ${describe(t.f.path).missingInputs.map((p) => relative(dirname(t.f.path), p)).join(', ')}`);
  }
  console.log(`\nSUMMARY ${name}: passed ${total.pass}/${total.tests} (${pct(total.pass, total.tests)}), failed ${total.fail}, needs network ${total.network}, missing input ${total.missing}; rows ${total.rowsPassed}/${total.rows}`);

  markdown.push(`## ${name}`, '', `Passed ${total.pass}/${total.tests}; failed ${total.fail}, needs network ${total.network}, missing input ${total.missing}; rows ${total.rowsPassed}/${total.rows}.`, '');
  const h = header('family');
  markdown.push(`| ${h.join(' | ')} |`, `|${h.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...[...familyRows, cells('all tests', total)].map((r) => `| ${r.join(' | ')} |`), '');
  for (const t of network) markdown.push(`- needs network: \`${t.key}\`: ${describe(t.f.path).needsNetwork.join('; ')}`);
  if (network.length > 0) markdown.push('');

  const files = Object.fromEntries(tests.map((t) => [t.key, t.state]).sort(([a], [b]) => a.localeCompare(b)));
  baseline.corpora[name] = { summary: { tests: total.tests, passed: total.pass, failed: total.fail, needsNetwork: total.network, missingInput: total.missing, rows: total.rows, rowsPassed: total.rowsPassed }, tests: files };
}
console.log(`\nboth corpora ran in ${seconds.toFixed(1)} s`);

mkdirSync(join(root, 'bench/results'), { recursive: true });
const familiesPath = join(root, 'bench/results', `conformance-${now.toISOString().slice(0, 10)}.md`);
writeFileSync(familiesPath, `${markdown.join('\n')}\n`);
console.log(`family tables written to ${relative(process.cwd(), familiesPath)}`);

if (args.includes('--write-baseline')) {
  writeFileSync(baselinePath, `${JSON.stringify(baseline, null, 2)}\n`);
  console.log(`baseline written to ${relative(process.cwd(), baselinePath)}`);
}
