// Times a whole-corpus `kyverno test` run split into parsing (YAML + test loading) and
// evaluation (engine + result decisions), and records it under bench/results/ with the
// machine it ran on. Usage: node bench/engine.mjs [--runs N] [--corpus DIR] [--label TEXT]
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const corpus = resolve(flag('--corpus', resolve(root, '../shared/conformance/kyverno-policies')));
const runs = Math.max(1, Number(flag('--runs', '3')) || 3);
if (!existsSync(corpus)) {
  console.error(`corpus not found at ${corpus}`);
  process.exit(1);
}
const cli = createRequire(import.meta.url)(join(root, 'dist/cli.js'));
const now = new Date();

// One warm-up run so JIT and module initialisation do not count.
cli.runTestPaths([corpus], { now });
const samples = [];
for (let i = 0; i < runs; i++) {
  const timings = { parseMs: 0, evalMs: 0, evaluations: 0 };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const report = cli.runTestPaths([corpus], { now, timings });
  const totalMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  // CPU time is the steadier number on a shared machine; wall time is kept for comparison.
  const cpuMs = (cpu.user + cpu.system) / 1000;
  samples.push({ totalMs, cpuMs, ...timings, files: report.summary.files, rows: report.summary.rows });
}
const median = (key) => samples.map((s) => s[key]).sort((a, b) => a - b)[Math.floor(samples.length / 2)];
const result = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, platform: `${platform()} ${release()}`, node: process.version },
  corpus,
  runs,
  files: samples[0].files,
  rows: samples[0].rows,
  evaluations: samples[0].evaluations,
  medianMs: { total: median('totalMs'), cpu: median('cpuMs'), parse: median('parseMs'), evaluate: median('evalMs') },
  loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
  label: flag('--label', ''),
};
result.evaluationsPerSecond = Math.round(result.evaluations / (result.medianMs.evaluate / 1000));

const fmt = (ms) => `${ms.toFixed(0)} ms`;
console.log(`corpus: ${result.files} test files, ${result.rows} rows, ${result.evaluations} policy×resource evaluations`);
console.log(`machine: ${result.machine.cpu} (${result.machine.cores} cores), node ${result.machine.node}`);
console.log(`median of ${runs} runs: total ${fmt(result.medianMs.total)} (CPU ${fmt(result.medianMs.cpu)}, load ${result.loadAverage[0]}), parsing ${fmt(result.medianMs.parse)}, evaluation ${fmt(result.medianMs.evaluate)}`);
console.log(`evaluations per second: ${result.evaluationsPerSecond}`);

mkdirSync(join(root, 'bench/results'), { recursive: true });
const out = join(root, 'bench/results', `engine-${result.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`written ${out}`);
