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

/** Moves the cursor with "Go to Line/Column" (line and column from 1). */
async function goTo(line, column) {
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 10000 });
  await input.fill(`:${line}:${column}`);
  await page.keyboard.press('Enter');
  await page.waitForTimeout(200);
}

// A Pod rule with a {{ }} variable to complete in (line 19) and a typo'd field, and a
// ValidatingPolicy on Deployments whose CEL path is hovered (line 34).
const EXPRESSION_POLICY = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: check-containers
spec:
  background: false
  rules:
  - name: run-as-non-root
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      failureAction: Audit
      message: "Container {{ request.object.spec.containrs[0].name }} must run as non-root"
      deny:
        conditions:
          any:
          - key: "{{  }}"
            operator: Equals
            value: false
---
apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata:
  name: deployments-run-as-non-root
spec:
  matchConstraints:
    resourceRules:
    - { apiGroups: [apps], apiVersions: [v1], resources: [deployments], operations: [CREATE] }
  validations:
  - message: containers must run as non-root
    expression: >-
      object.spec.template.spec.containers.all(c, c.securityContext.?runAsNonRoot.orValue(false))
`;

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

  // 0. Red Hat YAML (its stand-in, with the same registerContributor API) is installed and active:
  // on a Kyverno file the Problems panel holds our diagnostics only.
  await openFile('broken/broken-policy.yaml', 'failureAction');
  await palette('View: Focus Problems');
  await page.locator('.markers-panel .monaco-list-row', { hasText: 'KS1104' }).first().waitFor({ timeout: 60000 });
  await palette('Extensions: Show Enabled Extensions');
  await page.locator('.extensions-viewlet .monaco-list-row', { hasText: 'Stand-in for Red Hat YAML' }).first().waitFor({ timeout: 30000 });
  const standinProblems = text(await page.locator('.markers-panel').innerText());
  fs.writeFileSync(path.join(OUT, 'redhat-yaml-standin.txt'), standinProblems);
  const problemRows = (await page.locator('.markers-panel .monaco-list-row').allInnerTexts()).map(text).filter((r) => /\[Ln \d+/.test(r));
  check(/KS1104/.test(standinProblems) && !/is not allowed|yaml-schema/i.test(standinProblems), 'with Red Hat YAML active, the Kyverno file shows our diagnostics (KS1104) and none of its own');
  check(problemRows.length > 0 && problemRows.every((r) => /kyverno\s*\(?KS\d+/.test(r)), `every problem comes from kyverno (${JSON.stringify(problemRows)})`);
  await shot('redhat-yaml-standin.png');
  await palette('View: Show Explorer');

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

  // 6. Coverage: the same tests run with coverage; the Test Coverage view lists the policy files
  // with the share of their rules, preconditions and CEL validations the tests reached.
  await palette('Test: Run All Tests with Coverage');
  const coverageRow = page.locator('.test-coverage-list-item', { hasText: 'require-team-label.yaml' }).first();
  await coverageRow.waitFor({ timeout: 60000 });
  const coverageText = text(await page.locator('.test-coverage-list-item').allInnerTexts().then((t) => t.join('\n')));
  fs.writeFileSync(path.join(OUT, 'coverage.txt'), coverageText);
  check(/require-team-label\.yaml/.test(coverageText) && /\d+(\.\d+)?%/.test(coverageText), 'Test Coverage lists the policy files with percentages');
  // The file's row opens it with the covered lines marked.
  await coverageRow.click();
  await page.locator('.tabs-container .tab.active', { hasText: 'require-team-label.yaml' }).waitFor({ timeout: 15000 });
  await page.waitForTimeout(800);
  await shot('coverage.png');

  // 7. Expressions that know the resource: completion of a Pod's fields inside {{ }}, hover on a
  // CEL path, and the warning on a field no matched kind has.
  fs.mkdirSync(path.join(FOLDER, 'expressions'), { recursive: true });
  fs.writeFileSync(path.join(FOLDER, 'expressions', 'check-containers.yaml'), EXPRESSION_POLICY);
  await openFile('expressions/check-containers.yaml', 'run-as-non-root');
  await goTo(19, 22); // inside `key: "{{ }}"`, after `{{ `
  await page.keyboard.type('request.object.spec.containers[].securityContext.', { delay: 15 });
  const suggest = page.locator('.editor-widget.suggest-widget');
  await suggest.locator('.monaco-list-row', { hasText: 'runAsNonRoot' }).first().waitFor({ timeout: 30000 });
  await page.keyboard.type('runAs', { delay: 15 });
  await suggest.locator('.monaco-list-row.focused', { hasText: 'runAs' }).first().waitFor({ timeout: 10000 });
  // Show the details side (type and documentation of the focused field).
  if (!(await suggest.locator('.suggest-details').isVisible().catch(() => false))) await page.keyboard.press('Control+Space');
  await page.waitForTimeout(500);
  const suggestText = text(await suggest.innerText());
  fs.writeFileSync(path.join(OUT, 'expression-completion.txt'), suggestText);
  check(/runAsNonRoot/.test(suggestText) && /runAsUser/.test(suggestText), 'completion offers the securityContext fields of a Pod container');
  await shot('expression-completion.png');
  await page.keyboard.press('Enter'); // accept the focused field: the path is complete and valid again
  await goTo(34, 75); // on `runAsNonRoot` in the CEL expression
  await page.keyboard.press('Control+K');
  await page.keyboard.press('Control+I');
  const hoverWidget = page.locator('.monaco-hover', { hasText: 'runAsNonRoot' }).first();
  await hoverWidget.waitFor({ timeout: 20000 });
  const hoverText = text(await hoverWidget.innerText());
  fs.writeFileSync(path.join(OUT, 'expression-hover.txt'), hoverText);
  check(/runAsNonRoot/.test(hoverText) && /boolean/.test(hoverText), 'hover on a CEL path shows the field type and documentation');
  await palette('View: Focus Problems');
  const unknownRow = page.locator('.markers-panel .monaco-list-row', { hasText: "Unknown field 'containrs'" }).first();
  await unknownRow.waitFor({ timeout: 30000 });
  const unknownText = text(await unknownRow.innerText());
  check(/KS1212/.test(unknownText) && /Pod has no such field/.test(unknownText), `Problems shows the unknown field warning (${unknownText.replace(/\s+/g, ' ')})`);
  await page.keyboard.press('Escape');
  await goTo(34, 75);
  await page.keyboard.press('Control+K');
  await page.keyboard.press('Control+I');
  await hoverWidget.waitFor({ timeout: 20000 });
  await page.waitForTimeout(600); // the hover fades in
  await shot('expression-hover.png');

  // 8. Add Policy Pack: the Pod Security baseline pack, Audit, kube-system excluded.
  await page.keyboard.press('Escape');
  await palette('Kyverno: Add Policy Pack to Workspace');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'pss-baseline' }).first().waitFor({ timeout: 15000 });
  await page.locator('.quick-input-widget input.input').fill('pss-baseline');
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Audit' }).first().waitFor({ timeout: 15000 });
  await page.locator('.quick-input-widget input.input').fill('Audit');
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget', { hasText: 'Namespaces to exclude' }).waitFor({ timeout: 15000 });
  await page.keyboard.press('Enter');
  const added = page.locator('.notifications-toasts', { hasText: /Added \d+ pss-baseline policies \(Audit\)/ }).first();
  await added.waitFor({ timeout: 30000 });
  const addedText = text(await added.innerText());
  await openFile('pss-baseline/disallow-privileged-containers.yaml', 'privileged');
  await palette('View: Show Explorer');
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'disallow-host-namespaces.yaml' }).first().waitFor({ timeout: 20000 });
  const packFile = fs.readFileSync(path.join(FOLDER, 'pss-baseline', 'disallow-privileged-containers.yaml'), 'utf8');
  fs.writeFileSync(path.join(OUT, 'policy-pack.txt'), addedText);
  check(/failureAction: Audit|validationFailureAction: Audit/.test(packFile) && /kube-system/.test(packFile), `the pack is written with Audit and kube-system excluded (${addedText.split('\n')[0]})`);
  await shot('policy-pack.png');
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
