/** The "Kyverno: Install CLI on PATH" command and the shim refresh on activation (./install). */
import * as vscode from 'vscode';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Log } from '../log';
import { planCliInstall, refreshCliShim, writeShim, type CliInstallEnvironment, type CliInstallPlan } from './install';

function environment(context: vscode.ExtensionContext): CliInstallEnvironment {
  return {
    platform: process.platform,
    home: homedir(),
    env: process.env,
    cliScript: join(context.extensionPath, 'dist', 'cli.js'),
    runtime: process.execPath,
    electron: process.versions.electron !== undefined,
  };
}

/** What the command did, for the e2e suite: the plan it followed. */
export type InstallCliResult = CliInstallPlan;

export function registerInstallCli(context: vscode.ExtensionContext, log: Log): vscode.Disposable {
  try {
    if (refreshCliShim(environment(context))) log.info('updated the kyverno-studio shim to this extension version');
  } catch (e) {
    log.error('could not update the kyverno-studio shim', e);
  }
  return vscode.commands.registerCommand('kyverno.installCli', (): InstallCliResult => {
    const plan = planCliInstall(environment(context));
    if (plan.kind === 'instructions') {
      log.info(`${plan.message}\n${plan.detail}`);
      // Not awaited: the command returns while the notification waits for the user.
      void vscode.window.showInformationMessage(plan.message, { modal: true, detail: plan.detail }, 'Copy').then((pick) => {
        if (pick === 'Copy') void vscode.env.clipboard.writeText(plan.copy);
      });
      return plan;
    }
    try {
      writeShim(plan);
    } catch (e) {
      log.error(`could not write ${plan.file}`, e);
      void vscode.window.showErrorMessage(`Kyverno: could not write ${plan.file}: ${(e as Error).message}`);
      return plan;
    }
    log.info(`wrote ${plan.file}`);
    if (plan.onPath) {
      void vscode.window.showInformationMessage(`Kyverno: installed ${plan.file}. Run \`kyverno-studio --help\` in a new terminal.`);
    } else {
      const line = `export PATH="${plan.dir}:$PATH"`;
      void vscode.window
        .showInformationMessage(`Kyverno: installed ${plan.file}, but ${plan.dir} is not on your PATH. Add this line to your shell profile (~/.profile, ~/.bashrc or ~/.zshrc): ${line}`, 'Copy')
        .then((pick) => {
          if (pick === 'Copy') void vscode.env.clipboard.writeText(line);
        });
    }
    return plan;
  });
}
