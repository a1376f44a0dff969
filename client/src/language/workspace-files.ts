/**
 * Answers the browser language server's file requests (server/src/client-files.ts): the
 * worker has no file system, so the extension lists and reads the workspace's YAML files
 * through VS Code's (any scheme: vscode-vfs on github.dev, vscode-remote, file). Open
 * editors are not consulted: the server keeps open buffers itself.
 */
import * as vscode from 'vscode';
import type { BaseLanguageClient } from 'vscode-languageclient';
import { READ_FILE, WORKSPACE_FILES, type ReadFileParams, type WorkspaceFilesParams } from '../../../server/src/protocol';

/** Folders no scan enters (the server skips them too, and hidden folders). */
const EXCLUDE = '**/{node_modules,.git,dist,out,.vscode-test}/**';

export async function workspaceYamlFiles(params: WorkspaceFilesParams): Promise<string[]> {
  const max = Math.max(0, Math.min(Number(params?.max) || 0, 100_000));
  if (!max) return [];
  const uris = await vscode.workspace.findFiles('**/*.{yaml,yml}', EXCLUDE, max);
  return uris.map((u) => u.toString());
}

export async function readWorkspaceFile(params: ReadFileParams): Promise<string | null> {
  try {
    const uri = vscode.Uri.parse(params.uri, true);
    const stat = await vscode.workspace.fs.stat(uri);
    if (stat.type !== vscode.FileType.File || stat.size > params.maxBytes) return null;
    return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  } catch {
    return null; // gone or unreadable: the server treats it as holding nothing
  }
}

export function serveWorkspaceFiles(client: BaseLanguageClient): vscode.Disposable {
  const handlers = [
    client.onRequest(WORKSPACE_FILES, (p: WorkspaceFilesParams) => workspaceYamlFiles(p)),
    client.onRequest(READ_FILE, (p: ReadFileParams) => readWorkspaceFile(p)),
  ];
  return vscode.Disposable.from(...handlers);
}
