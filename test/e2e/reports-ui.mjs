// The Policy Reports view in the real workbench (code-server + chromium), against the real
// kube-apiserver of reports.sh: the tree of the cluster's reports with counts, the summary
// chart, a result opened read-only from the cluster at the failing field, the policy opened in
// the workspace, grouping by policy, a filter, and a resource created while the view is open.
// Usage: KUBECTL="kubectl --kubeconfig X" node reports-ui.mjs <baseUrl> <workspace> <outDir> <ready.json>
import { openWorkbenchBrowser } from './workbench-browser.mjs';
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const [BASE, FOLDER, OUT, READY] = process.argv.slice(2);
if (!READY || !process.env.KUBECTL) {
  console.error('usage: KUBECTL="kubectl --kubeconfig X" node reports-ui.mjs <baseUrl> <workspace> <outDir> <ready.json>');
  process.exit(2);
}
const ready = JSON.parse(fs.readFileSync(READY, 'utf8'));
const kubectl = (args) => execSync(`${process.env.KUBECTL} ${args}`, { encoding: 'utf8' });
const { browser, page, log, check, counter, consoleLines, text, shot, openFile } = await openWorkbenchBrowser('reports', OUT);

async function palette(label) {
  const input = page.locator('.quick-input-widget input.input');
  // Focus may sit in the chart's webview, which keeps F1 to itself: the title bar takes it back.
  // A webview that finishes loading just after F1 takes the focus again and closes the palette
  // (seen once in CI): then the palette is opened again, at most three times.
  for (let attempt = 1; ; attempt++) {
    await page.locator('.part.titlebar').click({ position: { x: 600, y: 10 } }).catch(() => {});
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ state: 'visible', timeout: 15000 });
      await input.fill('>' + label, { timeout: 5000 });
      break;
    } catch (e) {
      if (attempt === 3) throw e;
      log(`palette closed before "${label}" was typed (attempt ${attempt}): opening it again`);
      await page.keyboard.press('Escape').catch(() => {});
    }
  }
  await page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first().waitFor({ timeout: 15000 });
  await page.keyboard.press('Enter');
}

// The Policy Reports pane of the panel, and a tree row of it by its label.
const pane = page.locator('.part.panel .pane', { has: page.locator('.pane-header', { hasText: /^Policy Reports/ }) });
const row = (label) => pane.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`) }) }).first();
async function expand(label) {
  const r = row(label);
  await r.waitFor({ timeout: 30000 });
  if ((await r.getAttribute('aria-expanded')) !== 'true') await r.click();
  await page.waitForTimeout(200);
}

try {
  await page.goto(`${BASE}/?folder=${encodeURIComponent(path.resolve(FOLDER))}`, { waitUntil: 'domcontentloaded' });
  await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'manifests' }).waitFor({ timeout: 60000 });
  log(`workbench ready; the cluster holds ${ready.reports} reports ${JSON.stringify(ready.totals)}`);
  // Activate the extension (a YAML file), then show the view: its first showing starts the watch.
  await openFile('policies/restrict-registries.yaml', 'approved-registry');
  // Both views start collapsed (no cluster is read until the user opens one): open them.
  await palette('Focus on Policy Report Summary View');
  await palette('Focus on Policy Reports View');
  await palette('View: Toggle Maximized Panel');
  await pane.waitFor({ timeout: 20000 });

  // 1. The tree: namespaces (the cluster-scoped reports as "(cluster)") with counts.
  await row('shop').waitFor({ timeout: 60000 });
  await row('(cluster)').waitFor({ timeout: 30000 });
  const header = text(await pane.locator('.pane-header').innerText());
  fs.writeFileSync(path.join(OUT, 'reports-header.txt'), header);
  check(/\d+ reports · fail \d+/.test(header), `the view's title shows the report count and totals (${JSON.stringify(header)})`);
  const shopText = text(await row('shop').innerText());
  check(/fail \d+/.test(shopText) && /pass \d+/.test(shopText), `the namespace row shows its counts (${JSON.stringify(shopText)})`);
  await expand('shop');
  await expand('restrict-registries');
  await expand('approved-registry');
  const legacy = pane.locator('.monaco-list-row', { hasText: 'Pod shop/legacy' }).first();
  await legacy.waitFor({ timeout: 15000 });
  check(/Images must come from registry\.example\.com/.test(text(await legacy.innerText())), 'the failing result shows its message');
  const treeText = text(await pane.innerText());
  fs.writeFileSync(path.join(OUT, 'reports-tree.txt'), treeText);
  check(/Pod shop\/web/.test(treeText), 'passing results are listed too');

  // 2. The summary chart (a webview of inline SVG).
  let chart = '';
  for (let i = 0; i < 40 && !chart; i++) {
    for (const f of page.frames()) {
      const html = await f.content().catch(() => '');
      if (/aria-label="policy report results"/.test(html)) chart = html;
    }
    if (!chart) await page.waitForTimeout(500);
  }
  check(/<title>fail: \d+<\/title>/.test(chart) && /top namespaces by failures/.test(chart), 'the summary chart shows the results of the cluster and the top namespaces');
  await shot('reports-tree.png');

  // 3. Click the failing result: the Pod opens read-only from the cluster, image field selected.
  await legacy.click();
  await page.locator('.tabs-container .tab.active', { hasText: 'legacy.yaml' }).waitFor({ timeout: 20000 });
  await page.locator('.monaco-editor .view-lines', { hasText: 'docker.io/library/nginx' }).first().waitFor({ timeout: 15000 });
  await page.waitForTimeout(800);
  const selection = await page.locator('#status\\.editor\\.selection').innerText().catch(() => '');
  const editorText = text(await page.locator('.monaco-editor .view-lines').first().innerText());
  const imageLine = editorText.split('\n').findIndex((l) => l.includes('docker.io/library/nginx')) + 1;
  check(/read from the cluster \(read-only\)/.test(editorText), 'the document is the live object, marked read-only');
  check(/\(2\d selected\)/.test(selection), `the failing field (the image, 28 characters) is selected (${JSON.stringify(selection)})`);
  log(`image on visible line ${imageLine}, selection ${selection}`);
  await shot('reports-resource.png');
  // Typing changes nothing: a virtual document of a content provider cannot be edited.
  await page.keyboard.press('End');
  await page.keyboard.type('zzz');
  await page.waitForTimeout(300);
  const afterTyping = text(await page.locator('.monaco-editor .view-lines').first().innerText());
  check(!afterTyping.includes('zzz'), 'the resource cannot be edited (read-only)');

  // 4. Open the policy that owns the rule, from the rule's inline action.
  const ruleRow = row('approved-registry');
  await ruleRow.hover();
  await ruleRow.locator('.action-label[aria-label="Open Policy in Workspace"]').click();
  await page.locator('.tabs-container .tab.active', { hasText: 'restrict-registries.yaml' }).waitFor({ timeout: 20000 });
  await page.waitForTimeout(500);
  const policySelection = await page.locator('#status\\.editor\\.selection').innerText().catch(() => '');
  check(/Ln 7, Col 30 \(17 selected\)/.test(policySelection), `the rule's name is selected in the policy file (${JSON.stringify(policySelection)})`);

  // 5. Group by policy first.
  await palette('Kyverno: Group Policy Reports by Policy');
  await row('namespaces-need-team').waitFor({ timeout: 15000 });
  await expand('restrict-registries');
  await expand('approved-registry');
  await row('staging').waitFor({ timeout: 15000 });
  check(true, 'grouped by policy: policy → rule → namespace');
  await shot('reports-by-policy.png');
  await palette('Kyverno: Group Policy Reports by Namespace');

  // 6. A filter: failures in the shop namespace only.
  await palette('Kyverno: Filter Policy Reports');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible' });
  await input.fill('fail ns:shop');
  await page.keyboard.press('Enter');
  await pane.locator('.message', { hasText: 'Filter: fail ns:shop' }).first().waitFor({ timeout: 15000 }).catch(() => {});
  await page.waitForTimeout(800);
  const filtered = text(await pane.innerText());
  fs.writeFileSync(path.join(OUT, 'reports-filtered.txt'), filtered);
  check(/Filter: fail ns:shop/.test(filtered), 'the filter is shown above the tree');
  check(!/\bpayments\b/.test(filtered) && !/\(cluster\)/.test(filtered), 'other namespaces are filtered out');
  check(!/pass \d/.test(text(await row('shop').innerText())), 'only failures are counted');
  await shot('reports-filtered.png');
  await palette('Kyverno: Clear Policy Reports Filter');

  // 7. The watch: a namespace and a ConfigMap created now appear without a reload.
  kubectl('create namespace late');
  kubectl('create configmap late-settings -n late --from-literal=a=b');
  await row('late').waitFor({ timeout: 60000 });
  check(true, 'a namespace created while the view is open appears (watch)');
  await expand('late');
  await row('configmaps-need-owner').waitFor({ timeout: 15000 });
  await shot('reports-live.png');
} catch (e) {
  counter.failures++;
  console.error('ERROR', e);
  await page.screenshot({ path: path.join(OUT, 'reports-failure.png') }).catch(() => {});
} finally {
  fs.writeFileSync(path.join(OUT, 'reports-browser-console.log'), consoleLines.join('\n'));
  await browser.close();
}
log(counter.failures ? `Policy Reports UI test FAILED (${counter.failures})` : 'Policy Reports UI test OK');
process.exit(counter.failures ? 1 : 0);
