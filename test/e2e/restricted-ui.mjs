// Restricted-mode UI test: the packaged extension in a workbench whose folder is NOT trusted
// (code-server started with workspace trust on, see restricted.sh). Declines the startup trust
// prompt, checks what still works and what is withheld, then trusts the folder and checks that
// deploy becomes available and the workspace's kubeconfig setting takes effect.
// Usage: node restricted-ui.mjs <baseUrl> <workspace> <screenshotDir>
import { openWorkbenchBrowser } from './workbench-browser.mjs';
import fs from 'node:fs';
import path from 'node:path';

const [BASE, FOLDER, OUT] = process.argv.slice(2);
if (!OUT) {
  console.error('usage: node restricted-ui.mjs <baseUrl> <workspace> <screenshotDir>');
  process.exit(2);
}
const DECOY = 'decoy-from-workspace-settings'; // the context of the workspace-chosen kubeconfig
const { browser, page, log, check, counter, consoleLines, text, shot, openFile } = await openWorkbenchBrowser('restricted', OUT);
const quickInput = page.locator('.quick-input-widget input.input');
const quickRows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
const statusbar = page.locator('.part.statusbar');

/** Opens the command palette filtered by `label` and returns the labels it lists (left open). */
async function paletteRows(label) {
  await page.keyboard.press('F1');
  await quickInput.waitFor({ state: 'visible', timeout: 15000 });
  await quickInput.fill('>' + label);
  // The list refilters as the filter changes; let it settle before reading it.
  await page.waitForTimeout(700);
  return (await quickRows.allInnerTexts()).map(text);
}

async function palette(label) {
  await paletteRows(label);
  await quickRows.filter({ hasText: label }).first().waitFor({ timeout: 15000 });
  await page.keyboard.press('Enter');
}

const hasDeploy = (rows) => rows.some((r) => /Kyverno: Deploy to Cluster/.test(r));
const hasUndeploy = (rows) => rows.some((r) => /Kyverno: Undeploy from Cluster/.test(r));

try {
  await page.goto(`${BASE}/?folder=${encodeURIComponent(path.resolve(FOLDER))}`, { waitUntil: 'domcontentloaded' });
  await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });

  // 1. The startup prompt asks whether to trust the folder: decline.
  const prompt = page.locator('.monaco-dialog-box', { hasText: /trust the authors/i });
  await prompt.waitFor({ timeout: 60000 });
  await shot('restricted-trust-prompt.png');
  await prompt.locator('.monaco-button', { hasText: /No, I don.t trust/i }).click();
  await prompt.waitFor({ state: 'hidden', timeout: 15000 });
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'manifests' }).waitFor({ timeout: 60000 });
  const banner = page.locator('.monaco-workbench .part.banner');
  await banner.waitFor({ timeout: 15000 });
  check(/Restricted Mode/i.test(await banner.innerText()), 'the Restricted Mode banner is shown');
  log('workbench ready in restricted mode');

  // 2. The engine still works: diagnostics in the Problems panel and the run command.
  await openFile('manifests/pod-bad.yaml', 'docker.io');
  await palette('View: Focus Problems');
  const problems = page.locator('.markers-panel');
  await problems.locator('.monaco-list-row', { hasText: 'restrict-registries/approved-registry' }).first().waitFor({ timeout: 60000 });
  await problems.locator('.monaco-list-row', { hasText: 'require-team-label/check-team' }).first().waitFor({ timeout: 30000 });
  const problemsText = text(await problems.innerText());
  fs.writeFileSync(path.join(OUT, 'restricted-problems.txt'), problemsText);
  check(/Images must come from registry\.example\.com/.test(problemsText) && /Pods need a team label/.test(problemsText), 'untrusted: Problems shows both policy violations');
  await shot('restricted-problems.png');

  await openFile('manifests/pod-bad.yaml', 'docker.io');
  await palette('Kyverno: Run Workspace Policies on Current File');
  const panel = page.locator('.part.panel');
  await panel.locator('.monaco-list-row', { hasText: 'restrict-registries › approved-registry' }).waitFor({ timeout: 30000 });
  check(/require-team-label › check-team/.test(text(await panel.innerText())), 'untrusted: the run command lists the failing rules');

  // 3. The status bar shows the HOME kubeconfig's context, not the workspace-chosen one.
  await statusbar.locator('.statusbar-item', { hasText: 'policies' }).first().waitFor({ timeout: 30000 });
  let status = text(await statusbar.innerText());
  fs.writeFileSync(path.join(OUT, 'restricted-statusbar.txt'), status);
  check(status.includes('EKS demo (eu-west-1)'), 'untrusted: the status bar shows the user kubeconfig context (EKS demo)');
  check(!status.includes(DECOY), 'untrusted: the status bar ignores the kubeconfig chosen in .vscode/settings.json');
  check(/Restricted Mode/.test(status), 'untrusted: the status bar shows "Restricted Mode"');
  await shot('restricted-mode.png');
  const contextItem = statusbar.locator('.statusbar-item', { hasText: 'EKS demo (eu-west-1)' }).first();
  await contextItem.hover();
  const hover = page.locator('.monaco-hover, .workbench-hover', { hasText: 'Untrusted workspace' }).first();
  const hoverShown = await hover.waitFor({ timeout: 10000 }).then(() => true, () => false);
  check(hoverShown, 'untrusted: the context tooltip says cluster actions are disabled');
  if (hoverShown) await shot('restricted-context-tooltip.png');
  await page.mouse.move(700, 400);

  // 4. Deploy/Undeploy are not offered: absent from the palette (enablement isWorkspaceTrusted),
  //    while the other Kyverno commands are.
  await openFile('policies/require-team-label.yaml', 'check-team');
  const kyvernoRows = await paletteRows('Kyverno: ');
  fs.writeFileSync(path.join(OUT, 'restricted-palette.txt'), kyvernoRows.join('\n'));
  await shot('restricted-palette.png');
  check(kyvernoRows.some((r) => /Run Workspace Policies on Current File/.test(r)), 'untrusted: the palette offers the run commands');
  check(!hasDeploy(kyvernoRows) && !hasUndeploy(kyvernoRows), 'untrusted: the palette does not offer Deploy/Undeploy');
  const deployRows = await paletteRows('Kyverno: Deploy to Cluster');
  check(!hasDeploy(deployRows), `untrusted: filtering for "Deploy to Cluster" finds nothing (${JSON.stringify(deployRows)})`);
  const undeployRows = await paletteRows('Kyverno: Undeploy from Cluster');
  check(!hasUndeploy(undeployRows), `untrusted: filtering for "Undeploy from Cluster" finds nothing (${JSON.stringify(undeployRows)})`);
  await page.keyboard.press('Escape');

  // 4b. The Policy Reports view reads a cluster: not before trust. It says so and offers trust.
  const reportsPane = page.locator('.part.panel .pane', { has: page.locator('.pane-header', { hasText: /^Policy Reports/ }) });
  await palette('Focus on Policy Reports View');
  const withheld = await reportsPane.getByText('only in a trusted workspace').first().waitFor({ timeout: 20000 }).then(() => true, () => false);
  const reportsText = text(await reportsPane.innerText().catch(() => ''));
  fs.writeFileSync(path.join(OUT, 'restricted-reports.txt'), reportsText);
  check(withheld && /Manage Workspace Trust/.test(reportsText), 'untrusted: the Policy Reports view reads no cluster and offers to manage trust');
  await shot('restricted-reports.png');

  // 5. Trust the folder through the Workspace Trust editor.
  await palette('Workspaces: Manage Workspace Trust');
  const trustEditor = page.locator('.workspace-trust-editor');
  await trustEditor.waitFor({ timeout: 15000 });
  await shot('restricted-trust-editor.png');
  await trustEditor.locator('.monaco-button', { hasText: /^Trust( Folder)?$/ }).first().click();
  await banner.waitFor({ state: 'hidden', timeout: 30000 });
  log('folder trusted');

  // 6. Trusted: the workspace's kubeconfig setting now applies, and deploy is offered.
  await statusbar.locator('.statusbar-item', { hasText: DECOY }).first().waitFor({ timeout: 30000 }).catch(() => {});
  status = text(await statusbar.innerText());
  fs.writeFileSync(path.join(OUT, 'trusted-statusbar.txt'), status);
  check(status.includes(DECOY), 'trusted: the status bar now shows the context of the workspace-chosen kubeconfig');
  check(!/Restricted Mode/.test(status), 'trusted: "Restricted Mode" is gone from the status bar');
  // The Policy Reports view, shown before, now reads the (decoy, unreachable) context.
  const reading = await reportsPane.getByText(DECOY).first().waitFor({ timeout: 30000 }).then(() => true, () => false);
  check(reading, 'trusted: the Policy Reports view now reads the kube context');
  await palette('View: Close Editor'); // the Workspace Trust editor
  await openFile('policies/require-team-label.yaml', 'check-team');
  const trustedRows = await paletteRows('Kyverno: ');
  fs.writeFileSync(path.join(OUT, 'trusted-palette.txt'), trustedRows.join('\n'));
  check(hasDeploy(trustedRows) && hasUndeploy(trustedRows), 'trusted: the palette offers Deploy and Undeploy');
  await shot('trusted-palette.png');
  // Deploy's first step is a local quick pick of the policies: reaching it proves the command
  // passed the trust and context checks. Dismissing it ends the command before any cluster call.
  await quickInput.fill('>Kyverno: Deploy to Cluster');
  await quickRows.filter({ hasText: 'Deploy to Cluster' }).first().waitFor({ timeout: 15000 });
  await page.keyboard.press('Enter');
  const pick = page.locator('.quick-input-widget', { hasText: 'Kyverno: policies to deploy' });
  const picked = await pick.waitFor({ timeout: 20000 }).then(() => true, () => false);
  check(picked, 'trusted: Deploy to Cluster runs and asks which policies to deploy');
  if (picked) {
    await page.waitForTimeout(300);
    await shot('trusted-deploy.png');
  }
  await page.keyboard.press('Escape');
} catch (e) {
  counter.failures++;
  console.error('ERROR', e);
  await page.screenshot({ path: path.join(OUT, 'restricted-failure.png') }).catch(() => {});
} finally {
  fs.writeFileSync(path.join(OUT, 'restricted-browser-console.log'), consoleLines.join('\n'));
  await browser.close();
}
log(counter.failures ? `restricted-mode UI test FAILED (${counter.failures})` : 'restricted-mode UI test OK');
process.exit(counter.failures ? 1 : 0);
