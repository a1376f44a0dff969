// The browser build: bundle sizes (raw and gzip, as a browser downloads them) of the extension
// (dist/browser/client.js) and the language server worker (dist/browser/server.js), the .vsix
// size with them, and the language server's start in a real Web Worker in chromium (fresh
// browser context per run: worker start → initialize answered → first diagnostics of an open
// policy; then a manifest's diagnostics once the workspace scan through the client found its
// policy). Results go to bench/results/browser-<date>.{json,md}.
// Usage: npm run bench:browser  (or node bench/browser.mjs [--runs N])
import { readFileSync, writeFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { tmpdir, cpus, totalmem, loadavg, hostname, platform, release } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runWorkerSessions } from '../test/e2e/browser-worker.mjs';
import { checkLspScenario } from '../test/browser/lsp-scenario.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 9;
const round = (n) => Math.round(n * 10) / 10;
const kb = (n) => round(n / 1024);

const bundles = {};
for (const name of ['client', 'server']) {
  const text = readFileSync(join(root, 'dist', 'browser', `${name}.js`));
  bundles[name] = { bytes: text.length, gzipBytes: gzipSync(text, { level: 9 }).length };
}

const dir = mkdtempSync(join(tmpdir(), 'ks-bench-vsix-'));
let vsixBytes;
try {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'package-vsix.mjs'), join(dir, 'k.vsix')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stdout + r.stderr);
  vsixBytes = statSync(join(dir, 'k.vsix')).size;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const loadBefore = loadavg().map(round);
const sessions = await runWorkerSessions({ runs: RUNS });
for (const s of sessions) checkLspScenario(s);
const stat = (values) => {
  const v = [...values].sort((a, b) => a - b);
  const at = (q) => v[Math.min(v.length - 1, Math.floor(q * v.length))];
  return { min: round(v[0]), p50: round(at(0.5)), p95: round(at(0.95)), max: round(v[v.length - 1]) };
};
const start = {
  runs: RUNS,
  initializeAnsweredMs: stat(sessions.map((s) => s.timings.initialized)),
  firstDiagnosticsMs: stat(sessions.map((s) => s.timings.firstDiagnostics)),
  manifestAfterScanMs: stat(sessions.map((s) => s.timings.manifestDiagnostics)),
  browser: sessions[0].userAgent,
};

const date = new Date().toISOString();
const machine = { host: hostname(), platform: `${platform()} ${release()}`, cpu: cpus()[0]?.model, cores: cpus().length, memGB: round(totalmem() / 2 ** 30), node: process.version, loadavg: { before: loadBefore, after: loadavg().map(round) } };
const report = { date, machine, bundles, vsixBytes, start };
const stamp = date.slice(0, 16).replace(/[:T]/g, '-');
writeFileSync(join(root, 'bench', 'results', `browser-${stamp}.json`), JSON.stringify(report, null, 2) + '\n');
const md = [
  `# Browser build benchmark ${date}`,
  '',
  `Machine: ${machine.cpu} × ${machine.cores}, ${machine.memGB} GB, ${machine.platform}, Node ${machine.node}, load average ${loadBefore.join(' ')} (after: ${machine.loadavg.after.join(' ')}). Browser: ${start.browser}.`,
  '',
  '| bundle | raw KiB | gzip -9 KiB |',
  '|---|---|---|',
  `| extension (dist/browser/client.js) | ${kb(bundles.client.bytes)} | ${kb(bundles.client.gzipBytes)} |`,
  `| language server worker (dist/browser/server.js) | ${kb(bundles.server.bytes)} | ${kb(bundles.server.gzipBytes)} |`,
  '',
  `.vsix with both: ${round(vsixBytes / 2 ** 20)} MiB (limit 5 MiB).`,
  '',
  `Language server start in a chromium Web Worker, ${RUNS} runs, each in a fresh browser context (ms: min / p50 / p95 / max):`,
  '',
  '| measure | min | p50 | p95 | max |',
  '|---|---|---|---|---|',
  ...[
    ['worker start → initialize answered', start.initializeAnsweredMs],
    ['worker start → first diagnostics (open policy)', start.firstDiagnosticsMs],
    ['manifest opened → diagnostics from the scanned workspace policy', start.manifestAfterScanMs],
  ].map(([what, s]) => `| ${what} | ${s.min} | ${s.p50} | ${s.p95} | ${s.max} |`),
  '',
  'Most of the start is loading and evaluating the bundle (the same order as `require` of the Node server bundle on this machine); the first validation adds little.',
  '',
].join('\n');
writeFileSync(join(root, 'bench', 'results', `browser-${stamp}.md`), md);
console.log(md);
