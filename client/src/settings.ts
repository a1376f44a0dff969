/** The `kyverno.*` settings, with the defaults package.json documents. */
import * as vscode from 'vscode';

export interface Settings {
  policies: string;
  validateEnable: boolean;
  manifestsEnable: boolean;
  codeLensEnable: boolean;
  debounceMs: number;
  /** Manifest diagnostics may read OCI registries (only ever used in a trusted workspace). */
  registryAccess: boolean;
  kubeconfig: string;
  webhookImage: string;
  webhookNamespace: string;
}

export function readSettings(scope?: vscode.ConfigurationScope): Settings {
  const c = vscode.workspace.getConfiguration('kyverno', scope);
  return {
    policies: c.get<string>('policies') || '**/*.{yaml,yml}',
    validateEnable: c.get<boolean>('validate.enable', true),
    manifestsEnable: c.get<boolean>('manifests.enable', true),
    codeLensEnable: c.get<boolean>('codeLens.enable', true),
    debounceMs: c.get<number>('debounceMs', 30),
    registryAccess: c.get<boolean>('registryAccess', false),
    kubeconfig: c.get<string>('kubeconfig', ''),
    webhookImage: c.get<string>('webhook.image', 'public.ecr.aws/docker/library/node:20-alpine'),
    webhookNamespace: c.get<string>('webhook.namespace', 'kyverno-studio'),
  };
}

/** Folders and files never worth scanning for policies. */
export const EXCLUDE_GLOB = '**/{node_modules,.git,dist,out,.vscode-test}/**';
