// Runs the built CLI's `test` logic over the Kyverno policies corpus and prints, per
// top-level folder, how many test files and rows pass. `--write-baseline` records the
// per-file outcome in test/conformance-baseline.json (the regression guard of
// test/conformance.test.ts). It also prints pass counts per policy family (decided from the
// policies' content) and writes that table to bench/results/conformance-<date>.md.
// Usage: node scripts/conformance.mjs [--write-baseline] [--corpus DIR]
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const corpusFlag = args.indexOf('--corpus');
const corpus = corpusFlag >= 0 ? resolve(args[corpusFlag + 1]) : resolve(root, '../shared/conformance/kyverno-policies');
const baselinePath = join(root, 'test/conformance-baseline.json');

if (!existsSync(corpus)) {
  console.error(`conformance corpus not found at ${corpus}`);
  process.exit(1);
}
const cli = createRequire(import.meta.url)(join(root, 'dist/cli.js'));

const started = performance.now();
const report = cli.runTestPaths([corpus], { now: new Date() });
const seconds = (performance.now() - started) / 1000;

const passed = (f) => f.error === null && f.rows.every((r) => r.ok);
const folders = new Map();
for (const f of report.files) {
  const rel = relative(corpus, f.path).split('\\').join('/');
  const top = rel.split('/')[0];
  const s = folders.get(top) ?? { files: 0, filesPassed: 0, rows: 0, rowsPassed: 0 };
  s.files++;
  if (passed(f)) s.filesPassed++;
  s.rows += f.rows.length;
  s.rowsPassed += f.rows.filter((r) => r.ok).length;
  folders.set(top, s);
}

const pct = (a, b) => (b === 0 ? '  -  ' : `${((100 * a) / b).toFixed(1).padStart(5)}%`);
const width = Math.max(6, ...[...folders.keys()].map((k) => k.length));
console.log(`${'folder'.padEnd(width)}  files passed        rows passed`);
for (const [name, s] of [...folders].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(
    `${name.padEnd(width)}  ${`${s.filesPassed}/${s.files}`.padStart(7)} ${pct(s.filesPassed, s.files)}  ${`${s.rowsPassed}/${s.rows}`.padStart(9)} ${pct(s.rowsPassed, s.rows)}`,
  );
}
// Families: every file counts in each family its policies touch; "runnable" leaves out the
// files that name inputs missing from the corpus copy (they cannot pass whatever the engine does).
const families = new Map(cli.FAMILY_LABELS.map(([id, label]) => [id, { label, files: 0, filesPassed: 0, rows: 0, rowsPassed: 0, missing: 0, runnablePassed: 0 }]));
const all = { label: 'all test files', files: 0, filesPassed: 0, rows: 0, rowsPassed: 0, missing: 0, runnablePassed: 0 };
for (const f of report.files) {
  const described = cli.describeTestFile(f.path);
  const missing = described.missingInputs.length > 0;
  for (const s of [all, ...described.families.map((id) => families.get(id))]) {
    s.files++;
    s.rows += f.rows.length;
    s.rowsPassed += f.rows.filter((r) => r.ok).length;
    if (missing) s.missing++;
    if (passed(f)) {
      s.filesPassed++;
      if (!missing) s.runnablePassed++;
    }
  }
}
const familyRows = [...families.values(), all].map((s) => [
  s.label,
  `${s.filesPassed}/${s.files}`,
  pct(s.filesPassed, s.files).trim(),
  `${s.rowsPassed}/${s.rows}`,
  pct(s.rowsPassed, s.rows).trim(),
  `${s.runnablePassed}/${s.files - s.missing}`,
  pct(s.runnablePassed, s.files - s.missing).trim(),
  String(s.missing),
]);
const familyHeader = ['family', 'files passed', '%', 'rows passed', '%', 'runnable files passed', '%', 'missing inputs'];
const familyWidths = familyHeader.map((h, i) => Math.max(h.length, ...familyRows.map((r) => r[i].length)));
console.log('');
for (const r of [familyHeader, ...familyRows]) console.log(r.map((c, i) => (i === 0 ? c.padEnd(familyWidths[i]) : c.padStart(familyWidths[i]))).join('  '));

const t = report.summary;
console.log(
  `\nSUMMARY  files ${t.filesPassed}/${t.files} (${pct(t.filesPassed, t.files).trim()})  rows ${t.rowsPassed}/${t.rows} (${pct(t.rowsPassed, t.rows).trim()})  in ${seconds.toFixed(1)} s`,
);
const errors = report.files.filter((f) => f.error !== null).length;
if (errors > 0) console.log(`${errors} test file(s) could not run (see \`kyverno-studio test <path>\` for the reason)`);

const date = new Date().toISOString().slice(0, 10);
const markdown = [
  `# Conformance by policy family — ${date}`,
  '',
  `Corpus: \`${relative(root, corpus) || corpus}\` (${t.files} test files). Machine: ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} cores), node ${process.version}.`,
  `Summary: files ${t.filesPassed}/${t.files}, rows ${t.rowsPassed}/${t.rows}; run took ${seconds.toFixed(1)} s.`,
  '',
  'A test file counts in every family its policies touch (decided from the policy content, not paths).',
  '"Runnable" leaves out the files whose test names inputs missing from the corpus copy.',
  '',
  `| ${familyHeader.join(' | ')} |`,
  `|${familyHeader.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
  ...familyRows.map((r) => `| ${r.join(' | ')} |`),
  '',
];
const absent = [...families.values()].filter((s) => s.files === 0).map((s) => s.label);
if (absent.length > 0) markdown.push(`No test file of the corpus exercises: ${absent.join(', ')}.`, '');
mkdirSync(join(root, 'bench/results'), { recursive: true });
const familiesPath = join(root, 'bench/results', `conformance-${date}.md`);
writeFileSync(familiesPath, markdown.join('\n'));
console.log(`family table written to ${relative(process.cwd(), familiesPath)}`);

if (args.includes('--write-baseline')) {
  const files = {};
  for (const f of report.files) files[relative(corpus, f.path).split('\\').join('/')] = passed(f) ? 'pass' : 'fail';
  const sorted = Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(baselinePath, `${JSON.stringify({ summary: t, files: sorted }, null, 2)}\n`);
  console.log(`baseline written to ${relative(process.cwd(), baselinePath)}`);
}
