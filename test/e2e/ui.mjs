// UI test: drives the real workbench (code-server + chromium via playwright-core) with the
// packaged .vsix installed, checks what the user sees, and saves screenshots.
// Usage: node ui.mjs <baseUrl> <workspace> <outDir>
import { openWorkbenchBrowser } from './workbench-browser.mjs';
import fs from 'node:fs';
import path from 'node:path';

const [BASE, FOLDER, OUT] = process.argv.slice(2);
if (!OUT) {
  console.error('usage: node ui.mjs <baseUrl> <workspace> <outDir>');
  process.exit(2);
}
const { browser, page, log, check, counter, consoleLines, text, shot, openFile } = await openWorkbenchBrowser('ui', OUT);

async function palette(label) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 15000 });
  await input.fill('>' + label);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first().waitFor({ timeout: 15000 });
  await page.keyboard.press('Enter');
}

try {
  await page.goto(`${BASE}/?folder=${encodeURIComponent(path.resolve(FOLDER))}`, { waitUntil: 'domcontentloaded' });
  await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'manifests' }).waitFor({ timeout: 60000 });
  log('workbench ready');

  // 1. Problems panel: a manifest violating two workspace policies.
  await openFile('manifests/pod-bad.yaml', 'docker.io');
  await palette('View: Focus Problems');
  const problems = page.locator('.markers-panel');
  await problems.waitFor({ timeout: 15000 });
  await page.locator('.markers-panel .monaco-list-row', { hasText: 'restrict-registries/approved-registry' }).first().waitFor({ timeout: 60000 });
  await page.locator('.markers-panel .monaco-list-row', { hasText: 'require-team-label/check-team' }).first().waitFor({ timeout: 30000 });
  const problemsText = text(await problems.innerText());
  fs.writeFileSync(path.join(OUT, 'problems.txt'), problemsText);
  check(/Images must come from registry\.example\.com/.test(problemsText), 'Problems shows the registry violation');
  check(/Pods need a team label/.test(problemsText), 'Problems shows the missing label');
  check(/\[Ln 11, Col \d+\]/.test(problemsText), 'the registry violation is on line 11 (the image field)');
  await shot('problems.png');

  // 2. Results view: run the workspace policies on the open manifest.
  await openFile('manifests/pod-bad.yaml', 'docker.io');
  await palette('Kyverno: Run Workspace Policies on Current File');
  const results = page.locator('.part.panel');
  await results.locator('.monaco-list-row', { hasText: 'restrict-registries › approved-registry' }).waitFor({ timeout: 30000 });
  const resultsText = text(await results.innerText());
  fs.writeFileSync(path.join(OUT, 'results.txt'), resultsText);
  check(/Pod default\/bad-pod/.test(resultsText), 'results view lists the resource');
  check(/require-team-label › check-team/.test(resultsText) && /fail — /.test(resultsText), 'results view shows the failing rules with messages');
  // Clicking a result jumps to the field: the editor selection moves to the image line.
  await results.locator('.monaco-list-row', { hasText: 'restrict-registries › approved-registry' }).click();
  await page.waitForTimeout(800);
  const cursor = await page.locator('#status\\.editor\\.selection').innerText().catch(() => '');
  check(/Ln 11/.test(cursor), `clicking the result selects the image field (${JSON.stringify(cursor)})`);
  const status = await page.locator('.statusbar').innerText();
  check(status.includes('EKS demo (eu-west-1)'), 'status bar shows the EKS context by name and region');
  check(/5 policies/.test(status), 'status bar shows the policy count');
  await shot('results.png');

  // 3. Run Policy Against File… interactively: the mutate policy on the Deployment → diff editor.
  await openFile('mutate/add-env-label.yaml', '+(env)');
  await palette('Kyverno: Run Policy Against File');
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'mutate/deployment.yaml' }).first();
  await row.waitFor({ timeout: 20000 });
  await row.locator('.quick-input-list-checkbox, input[type=checkbox], .monaco-checkbox').first().click();
  await page.keyboard.press('Enter');
  await page.locator('.monaco-diff-editor .editor.modified .view-lines', { hasText: /env:\sdev/ }).first().waitFor({ timeout: 20000 });
  const diffText = text(await page.locator('.monaco-diff-editor').first().innerText());
  check(/env: dev/.test(diffText), 'the diff editor shows the added env label');
  await shot('mutation-diff.png');

  // 4. CodeLens on the rule and the Test Explorer.
  await openFile('policies/require-team-label.yaml', 'check-team');
  await page.locator('.contentWidgets .codelens-decoration, .codelens-decoration', { hasText: 'Run on nearby resources' }).first().waitFor({ timeout: 20000 });
  await page.locator('.codelens-decoration a', { hasText: 'Run on nearby resources' }).first().click();
  await page.locator('.codelens-decoration', { hasText: 'Last run: 1 fail, 1 pass' }).first().waitFor({ timeout: 20000 });
  await results.locator('.monaco-list-row', { hasText: 'Pod default/good-pod' }).first().waitFor({ timeout: 10000 });
  log('PASS the CodeLens ran the rule on the test resources and shows "Last run: 1 fail, 1 pass"');
  await shot('codelens.png');
  // 5. Test Explorer: run all; the failing expectation is marked on its row and explained.
  await openFile('expect-failure/kyverno-test.yaml', 'wrong-expectation');
  await palette('Test: Run All Tests');
  // The Test Results panel lists every expectation; selecting the failed one shows its message
  // and the expected/actual diff.
  const failedRow = page.locator('.part.panel .monaco-list-row', { hasText: 'require-team-label › check-team › bad-pod', has: page.locator('.codicon-testing-failed-icon') }).first();
  await failedRow.waitFor({ timeout: 30000 });
  await failedRow.click();
  await page.locator('.part.panel', { hasText: 'Want pass, got fail' }).first().waitFor({ timeout: 15000 });
  const panelText = text(await page.locator('.part.panel').first().innerText());
  fs.writeFileSync(path.join(OUT, 'test-results.txt'), panelText);
  check(/default\/bad-pod: Want pass, got fail/.test(panelText), 'the failed expectation says what was wanted and what the engine gave');
  await shot('test-failure.png');
  await palette('View: Show Testing');
  const testing = page.locator('.test-explorer');
  const passedFile = testing.locator('.monaco-list-row', { hasText: 'policies/.kyverno-test/kyverno-test.yaml' }).first();
  const failedFile = testing.locator('.monaco-list-row', { hasText: 'expect-failure/kyverno-test.yaml' }).first();
  await passedFile.locator('.codicon-testing-passed-icon').waitFor({ timeout: 30000 });
  await failedFile.locator('.codicon-testing-failed-icon').waitFor({ timeout: 30000 });
  const testingText = text(await testing.innerText());
  fs.writeFileSync(path.join(OUT, 'testing.txt'), testingText);
  check(/workspace-policies/.test(testingText), 'Test Explorer lists the test files: one passed, one failed');
  await shot('testing.png');
} catch (e) {
  counter.failures++;
  console.error('ERROR', e);
  await page.screenshot({ path: path.join(OUT, 'failure.png') }).catch(() => {});
} finally {
  fs.writeFileSync(path.join(OUT, 'browser-console.log'), consoleLines.join('\n'));
  await browser.close();
}
log(counter.failures ? `UI test FAILED (${counter.failures})` : 'UI test OK');
process.exit(counter.failures ? 1 : 0);
