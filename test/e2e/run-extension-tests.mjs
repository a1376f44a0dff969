// Runs the mocha suite INSIDE code-server's Node extension host: the web workbench's `payload`
// URL parameter carries extensionDevelopmentPath + extensionTestsPath (vscode-remote:// URIs)
// and the workbench calls window.codeAutomationExit(code) when the suite's run() settles.
// Usage: node run-extension-tests.mjs <baseUrl> <extensionDevelopmentPath> <extensionTestsPath> <workspace> <outDir>
import fs from 'node:fs';
import path from 'node:path';
import { extensionTestRun, launchChromium, recordConsole } from './workbench-browser.mjs';

const { outDir: OUT, url } = extensionTestRun('run-extension-tests.mjs', process.argv.slice(2));
const TIMEOUT_MS = Number(process.env.KS_E2E_TIMEOUT_MS || 240000);

const browser = await launchChromium();
let code = 'not run';
try {
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  const consoleLines = [];
  recordConsole(page, consoleLines);
  let done;
  const exited = new Promise((r) => (done = r));
  // The extension host's console (mocha's spec reporter) is forwarded here.
  await page.exposeFunction('codeAutomationLog', (type, args) => (console[type] || console.log)(...args));
  await page.exposeFunction('codeAutomationExit', async (exitCode, logs) => {
    for (const { relativePath, contents } of Array.isArray(logs) ? logs : []) {
      const f = path.join(OUT, 'vscode-logs', relativePath);
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, contents);
    }
    done(exitCode);
  });
  console.log('opening', url);
  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  const timer = setTimeout(() => done('timeout'), TIMEOUT_MS);
  code = await exited;
  clearTimeout(timer);
  await page.screenshot({ path: path.join(OUT, 'after-tests.png') }).catch(() => {});
  // The messages the suite left on screen (e.g. a refusal the API cannot observe).
  const toasts = await page.locator('.notification-toast').allInnerTexts().catch(() => []);
  fs.writeFileSync(path.join(OUT, 'notifications.txt'), toasts.join('\n'));
  fs.writeFileSync(path.join(OUT, 'browser-console.log'), consoleLines.join('\n'));
  console.log(`extension-host suite finished with exit code ${code} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
} finally {
  await browser.close();
}
process.exit(code === 0 ? 0 : 1);
