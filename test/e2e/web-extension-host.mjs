// Runs the browser build INSIDE VS Code's web worker extension host: code-server's workbench
// gets `extensionDevelopmentKind=web` in its `payload` URL parameter, so the extension under
// development runs from package.json's `browser` entry in a Web Worker, as on vscode.dev (the
// Node extension host is not used for it). The suite (web-suite/index.ts, bundled for the
// browser) runs through extensionTestsPath; the workbench calls window.codeAutomationExit when
// it settles. Then, in the UI: a screenshot (Problems panel with the worker's diagnostics)
// and the command palette, which must not offer deploy.
// Usage: node web-extension-host.mjs <baseUrl> <extensionDevelopmentPath> <extensionTestsPath> <workspace> <outDir>
import fs from 'node:fs';
import path from 'node:path';
import { extensionTestRun, launchChromium, recordConsole } from './workbench-browser.mjs';

const { outDir: OUT, url } = extensionTestRun('web-extension-host.mjs', process.argv.slice(2), [['extensionDevelopmentKind', 'web']]);
const TIMEOUT_MS = Number(process.env.KS_E2E_TIMEOUT_MS || 180000);

const browser = await launchChromium();
let code = 'not run';
let uiFailures = 0;
try {
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  const consoleLines = [];
  recordConsole(page, consoleLines);
  let done;
  const exited = new Promise((r) => (done = r));
  let shot;
  // The extension host's console; the suite's summary line is the cue for the screenshot of
  // the Problems panel (the suite holds on for a few seconds after it).
  await page.exposeFunction('codeAutomationLog', (type, args) => {
    const text = (Array.isArray(args) ? args : [args]).join(' ');
    consoleLines.push(`[ext ${type}] ${text}`);
    if (/^(PASS|FAIL|  (diagnostics|hover):|web extension host:)/.test(text)) console.log(text);
    if (/^web extension host:/.test(text)) {
      shot = (async () => {
        await page.waitForTimeout(1500);
        await page.screenshot({ path: path.join(OUT, 'web-worker-host-problems.png') });
        fs.writeFileSync(path.join(OUT, 'problems.txt'), await page.locator('.markers-panel').innerText().catch(() => ''));
      })().catch((e) => console.log(`screenshot failed: ${e.message}`));
    }
  });
  await page.exposeFunction('codeAutomationExit', (exitCode) => done(exitCode));
  console.log('opening', url);
  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  const timer = setTimeout(() => done('timeout'), TIMEOUT_MS);
  code = await exited;
  clearTimeout(timer);
  console.log(`web extension host suite finished with exit code ${code} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  await shot;
  const problems = fs.existsSync(path.join(OUT, 'problems.txt')) ? fs.readFileSync(path.join(OUT, 'problems.txt'), 'utf8') : '';
  for (const [ok, what] of [
    [/team label/.test(problems), 'the Problems panel lists the worker\'s manifest diagnostics (team label)'],
  ]) {
    console.log(`${ok ? 'PASS' : 'FAIL'} ${what}`);
    if (!ok) uiFailures++;
  }

  // The palette: run commands are offered, deploy and CLI install are not (kyverno.webHost).
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible' });
  await input.fill('>Kyverno');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Run Workspace Policies' }).first().waitFor({ timeout: 20000 });
  await page.waitForTimeout(500);
  const rows = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
  await page.screenshot({ path: path.join(OUT, 'web-worker-host-palette.png') });
  fs.writeFileSync(path.join(OUT, 'palette.txt'), rows.join('\n---\n'));
  for (const [ok, what] of [
    [rows.some((r) => /Run Workspace Policies/.test(r)), 'the palette offers Run Workspace Policies'],
    [!rows.some((r) => /Deploy to Cluster|Undeploy|Install CLI|Policy Pack/.test(r)), 'the palette offers no deploy, undeploy, CLI install or policy pack'],
  ]) {
    console.log(`${ok ? 'PASS' : 'FAIL'} ${what}`);
    if (!ok) uiFailures++;
  }
  await page.keyboard.press('Escape');
  fs.writeFileSync(path.join(OUT, 'browser-console.log'), consoleLines.join('\n'));
} finally {
  await browser.close();
}
process.exit(code === 0 && uiFailures === 0 ? 0 : 1);
