// The browser build's language server (dist/browser/server.js) in a real Web Worker in
// Debian's chromium (headless, playwright-core): a static page served from loopback starts
// the worker and speaks LSP to it over postMessage (test/browser/lsp-scenario.mjs: a policy
// with an error, a manifest checked against a policy the server finds by scanning the
// workspace through the client, completion, hover). Each run is a fresh browser context
// (nothing cached) and measures worker start → first diagnostics.
// Usage: node test/e2e/browser-worker.mjs [--runs N] [--out DIR]  (exit 1 when a check fails)
// bench/browser.mjs imports runWorkerSessions() for its start-time figures.
import { launchChromium, recordConsole } from './workbench-browser.mjs';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FILES = {
  '/server.js': path.join(ROOT, 'dist/browser/server.js'),
  '/lsp-scenario.mjs': path.join(ROOT, 'test/browser/lsp-scenario.mjs'),
};
const PAGE = '<!doctype html><meta charset="utf-8"><title>Kyverno language server in a Web Worker</title><body>worker test</body>';

function serve() {
  const server = http.createServer((req, res) => {
    const file = FILES[req.url];
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    } else if (file) {
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' }).end(fs.readFileSync(file));
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Runs the LSP session `runs` times, each in a fresh context; resolves with each run's result. */
export async function runWorkerSessions({ runs = 1, outDir } = {}) {
  if (!fs.existsSync(FILES['/server.js'])) throw new Error('dist/browser/server.js is missing: run `npm run build` first');
  const server = await serve();
  const base = `http://127.0.0.1:${server.address().port}`;
  const browser = await launchChromium();
  const results = [];
  const consoleLines = [];
  try {
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      recordConsole(page, consoleLines, `run ${i + 1} `);
      await page.goto(`${base}/`);
      const result = await page.evaluate(async () => {
        const { runLspScenario } = await import('/lsp-scenario.mjs');
        const started = performance.now();
        const worker = new Worker('/server.js', { name: 'kyverno-language-server' });
        const errors = [];
        worker.onerror = (e) => errors.push(String(e.message ?? e));
        const transport = { send: (m) => worker.postMessage(m), listen: (cb) => { worker.onmessage = (e) => cb(e.data); } };
        try {
          const r = await runLspScenario(transport, { now: () => performance.now(), started });
          return { ...r, userAgent: navigator.userAgent, workerErrors: errors };
        } finally {
          worker.terminate();
        }
      });
      results.push(result);
      await context.close();
    }
  } finally {
    await browser.close();
    server.close();
    if (outDir) {
      fs.mkdirSync(outDir, { recursive: true });
      fs.writeFileSync(path.join(outDir, 'worker-console.log'), consoleLines.join('\n'));
    }
  }
  return results;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const { checkLspScenario } = await import(pathToFileURL(FILES['/lsp-scenario.mjs']).href);
  const t0 = Date.now();
  const results = await runWorkerSessions({ runs: Number(arg('--runs', '1')), outDir: arg('--out') });
  let failed = 0;
  for (const [i, r] of results.entries()) {
    try {
      if (r.workerErrors.length) throw new Error(`worker errors: ${r.workerErrors.join('; ')}`);
      checkLspScenario(r);
      console.log(`PASS run ${i + 1}: worker start → initialize answered ${r.timings.initialized.toFixed(1)} ms, → first diagnostics ${r.timings.firstDiagnostics.toFixed(1)} ms, manifest diagnostics after the scan ${r.timings.manifestDiagnostics.toFixed(1)} ms (${r.userAgent})`);
    } catch (e) {
      failed++;
      console.log(`FAIL run ${i + 1}: ${e.message}`);
    }
  }
  console.log(`language server in a chromium Web Worker: ${results.length - failed}/${results.length} runs passed in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  process.exit(failed ? 1 : 0);
}
