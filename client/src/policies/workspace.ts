/**
 * Reading YAML files of the workspace for the commands: open editors win over the disk, and
 * the `kyverno.policies` glob says which files hold the workspace's policies.
 */
import * as vscode from 'vscode';
import { EXCLUDE_GLOB, readSettings } from '../settings';
import type { Sourced } from '../run/report';
import { readFileContents, type FileContents } from './documents';

const MAX_FILES = 5000;

export async function readUriText(uri: vscode.Uri): Promise<string> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) return open.getText();
  return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
}

export interface LoadedFile {
  uri: vscode.Uri;
  contents: FileContents;
}

export async function loadFile(uri: vscode.Uri): Promise<LoadedFile> {
  return { uri, contents: readFileContents(await readUriText(uri)) };
}

export function sourced(file: LoadedFile, pick: 'policies' | 'resources' | 'exceptions' | 'bindings'): Sourced[] {
  return file.contents[pick].map((o) => ({ ...o, file: file.uri.toString() }));
}

/** YAML files of the workspace matching `kyverno.policies`. */
export async function yamlFilesInWorkspace(glob = readSettings().policies, token?: vscode.CancellationToken): Promise<vscode.Uri[]> {
  const uris = await vscode.workspace.findFiles(glob, EXCLUDE_GLOB, MAX_FILES, token);
  return uris.sort((a, b) => a.fsPath.localeCompare(b.fsPath));
}

/**
 * Every file of the workspace that holds at least one policy, with its contents; with
 * `companions`, also files holding only PolicyExceptions or admission policy bindings (the
 * language server's workspace is made of all three).
 */
export async function workspacePolicyFiles(token?: vscode.CancellationToken, companions = false): Promise<LoadedFile[]> {
  const out: LoadedFile[] = [];
  for (const uri of await yamlFilesInWorkspace(undefined, token)) {
    try {
      const file = await loadFile(uri);
      const { policies, exceptions, bindings } = file.contents;
      if (policies.length > 0 || (companions && exceptions.length + bindings.length > 0)) out.push(file);
    } catch {
      // unreadable files are not policies
    }
  }
  return out;
}

/** Workspace YAML files that hold Kubernetes resources (not policies or tests). */
export async function workspaceResourceFiles(token?: vscode.CancellationToken): Promise<LoadedFile[]> {
  const uris = await vscode.workspace.findFiles('**/*.{yaml,yml,json}', EXCLUDE_GLOB, MAX_FILES, token);
  const out: LoadedFile[] = [];
  for (const uri of uris.sort((a, b) => a.fsPath.localeCompare(b.fsPath))) {
    try {
      const file = await loadFile(uri);
      if (file.contents.resources.length > 0) out.push(file);
    } catch {
      // skipped
    }
  }
  return out;
}
