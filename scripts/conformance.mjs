// Runs the built CLI's `test` logic over the Kyverno policies corpus and prints, per
// top-level folder, how many test files and rows pass. `--write-baseline` records the
// per-file outcome in test/conformance-baseline.json (the regression guard of
// test/conformance.test.ts). Usage: node scripts/conformance.mjs [--write-baseline] [--corpus DIR]
import { createRequire } from 'node:module';
import { existsSync, writeFileSync } from 'node:fs';
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
const t = report.summary;
console.log(
  `\nSUMMARY  files ${t.filesPassed}/${t.files} (${pct(t.filesPassed, t.files).trim()})  rows ${t.rowsPassed}/${t.rows} (${pct(t.rowsPassed, t.rows).trim()})  in ${seconds.toFixed(1)} s`,
);
const errors = report.files.filter((f) => f.error !== null).length;
if (errors > 0) console.log(`${errors} test file(s) could not run (see \`kyverno-studio test <path>\` for the reason)`);

if (args.includes('--write-baseline')) {
  const files = {};
  for (const f of report.files) files[relative(corpus, f.path).split('\\').join('/')] = passed(f) ? 'pass' : 'fail';
  const sorted = Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(baselinePath, `${JSON.stringify({ summary: t, files: sorted }, null, 2)}\n`);
  console.log(`baseline written to ${relative(process.cwd(), baselinePath)}`);
}
