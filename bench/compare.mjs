// A/B of two built CLI bundles in one process, alternating runs over the corpus, so machine
// load hits both alike. Usage: node bench/compare.mjs A/dist/cli.js B/dist/cli.js [--runs N] [--corpus DIR]
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const [a, b] = args.filter((x, i) => !x.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (!a || !b) {
  console.error('usage: node bench/compare.mjs A/dist/cli.js B/dist/cli.js [--runs N] [--corpus DIR]');
  process.exit(2);
}
const runs = Math.max(1, Number(flag('--runs', '5')) || 5);
const corpus = resolve(flag('--corpus', resolve(root, '../shared/conformance/kyverno-policies')));
const load = createRequire(import.meta.url);
const bundles = [['A', load(resolve(a))], ['B', load(resolve(b))]];
const now = new Date();
for (const [, cli] of bundles) cli.runTestPaths([corpus], { now }); // warm-up
const samples = { A: [], B: [] };
for (let i = 0; i < runs; i++) {
  for (const [name, cli] of i % 2 ? [...bundles].reverse() : bundles) {
    const timings = { parseMs: 0, evalMs: 0, evaluations: 0 };
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    cli.runTestPaths([corpus], { now, timings });
    const cpu = process.cpuUsage(cpu0);
    samples[name].push({ cpu: (cpu.user + cpu.system) / 1000, wall: performance.now() - t0, parse: timings.parseMs, evaluate: timings.evalMs });
  }
}
const median = (list, key) => list.map((s) => s[key]).sort((x, y) => x - y)[Math.floor(list.length / 2)].toFixed(0);
for (const [name, path] of [['A', a], ['B', b]]) {
  const s = samples[name];
  console.log(`${name} ${path}: CPU ${median(s, 'cpu')} ms, wall ${median(s, 'wall')} ms, parsing ${median(s, 'parse')} ms, evaluation ${median(s, 'evaluate')} ms (CPU samples ${s.map((x) => x.cpu.toFixed(0)).join(', ')})`);
}
