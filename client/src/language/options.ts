/**
 * The language client's options, the same for the Node server process and the browser's Web
 * Worker: the server owns diagnostics, completion and hover; the settings that switch
 * diagnostic families off are applied here, so they work whatever the server supports.
 */
import * as vscode from 'vscode';
import type { DocumentSelector, LanguageClientOptions } from 'vscode-languageclient';
import type { Log } from '../log';
import { readSettings } from '../settings';

export const CLIENT_ID = 'kyverno';

function codeOf(d: vscode.Diagnostic): string {
  const c = d.code;
  return typeof c === 'object' && c !== null ? String(c.value) : String(c ?? '');
}

/** Policy checks are KS1xxx, manifest evaluations KS2xxx (server/src/service/codes.ts). */
export function keepDiagnostic(d: vscode.Diagnostic, validate: boolean, manifests: boolean): boolean {
  const code = codeOf(d);
  if (!validate && code.startsWith('KS1')) return false;
  if (!manifests && code.startsWith('KS2')) return false;
  return true;
}

export function languageClientOptions(log: Log, documentSelector: DocumentSelector): LanguageClientOptions {
  const settings = readSettings();
  return {
    documentSelector,
    outputChannel: log.channel,
    // The server reads registries only when the user turned it on and the workspace is trusted.
    initializationOptions: { settings: { policies: settings.policies, debounceMs: settings.debounceMs, registryAccess: settings.registryAccess }, trusted: vscode.workspace.isTrusted },
    synchronize: { configurationSection: 'kyverno' },
    middleware: {
      handleDiagnostics(uri, diagnostics, next) {
        const s = readSettings(uri);
        next(uri, diagnostics.filter((d) => keepDiagnostic(d, s.validateEnable, s.manifestsEnable)));
      },
    },
  };
}
