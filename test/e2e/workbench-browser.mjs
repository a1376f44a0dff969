// What every UI test of the workbench starts with: chromium via playwright-core on the
// code-server page, a timestamped log, a check counter, console capture and screenshots.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

/** Headless Debian chromium with what a test run needs switched off (sync, updates, QUIC). */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Keeps the page's console and uncaught errors in `lines`, each line prefixed with `tag`. */
export function recordConsole(page, lines, tag = '') {
  page.on('console', (m) => lines.push(`[${tag}${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => lines.push(`[${tag}pageerror] ${e.message}`));
}

/**
 * The command line of a suite run inside code-server's extension host
 * (`<baseUrl> <extensionDevelopmentPath> <extensionTestsPath> <workspace> <outDir>`) and the
 * workbench URL whose `payload` parameter starts it: the workbench then calls
 * window.codeAutomationExit(code) when the suite's run() settles.
 */
export function extensionTestRun(script, argv, extraPayload = []) {
  const [base, dev, tests, folder, outDir] = argv;
  if (!outDir) {
    console.error(`usage: node ${script} <baseUrl> <extDevPath> <extTestsPath> <workspace> <outDir>`);
    process.exit(2);
  }
  fs.mkdirSync(outDir, { recursive: true });
  const host = new URL(base).host;
  const remote = (p) => `vscode-remote://${host}${path.resolve(p)}`;
  const payload = JSON.stringify([
    ['extensionDevelopmentPath', remote(dev)],
    ...extraPayload,
    ['extensionTestsPath', remote(tests)],
    ['skipWelcome', 'true'],
  ]);
  return { outDir, url: `${base}/?folder=${encodeURIComponent(path.resolve(folder))}&payload=${encodeURIComponent(payload)}` };
}

export async function openWorkbenchBrowser(tag, outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  const t0 = Date.now();
  const log = (...a) => console.log(`[${tag} ${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
  const counter = { failures: 0 };
  const check = (ok, what) => {
    log(`${ok ? 'PASS' : 'FAIL'} ${what}`);
    if (!ok) counter.failures++;
  };
  const browser = await launchChromium();
  const page = await (await browser.newContext({ viewport: { width: 1500, height: 950 } })).newPage();
  const consoleLines = [];
  recordConsole(page, consoleLines);
  // Editors render spaces as no-break spaces.
  const text = (s) => s.replace(/\u00a0/g, ' ');
  const shot = async (name) => {
    const file = path.join(outDir, name);
    await page.screenshot({ path: file });
    log('screenshot', file);
  };
  const openFile = async (relative, expectText) => {
    // Quick open searches files with ripgrep; on a busy machine the first search can be slow.
    for (let attempt = 1; ; attempt++) {
      await page.keyboard.press('Control+P');
      const input = page.locator('.quick-input-widget input.input');
      await input.waitFor({ state: 'visible' });
      await input.fill(relative);
      try {
        await page.locator('.quick-input-list .monaco-list-row', { hasText: path.basename(relative) }).first().waitFor({ timeout: 30000 });
        break;
      } catch (e) {
        await page.keyboard.press('Escape');
        if (attempt === 3) throw e;
      }
    }
    await page.keyboard.press('Enter');
    await page.locator('.tabs-container .tab.active', { hasText: path.basename(relative) }).waitFor({ timeout: 15000 });
    await page.locator('.monaco-editor .view-lines', { hasText: expectText }).first().waitFor({ timeout: 15000 });
  };
  return { browser, page, log, check, counter, consoleLines, text, shot, openFile };
}
