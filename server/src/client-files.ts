/**
 * The workspace index's files in the browser build: the language server runs in a Web Worker
 * without a file system, so it asks the extension, which lists and reads them through VS Code's
 * workspace file system (`client/src/language/workspace-files.ts`). Works for any URI scheme
 * the workspace folders use (vscode-vfs on github.dev, vscode-remote, file).
 */
import type { Connection } from 'vscode-languageserver';
import { READ_FILE, WORKSPACE_FILES, type ReadFileParams, type WorkspaceFilesParams } from './protocol';
import { MAX_FILE_BYTES, relativeToFolders, scannedPath, type WorkspaceFiles } from './workspace';

/** `folders`: the workspace folders' URIs, as the client sent them. */
export function clientFiles(connection: Connection, folders: string[]): WorkspaceFiles {
  const relative = (uri: string) => relativeToFolders(folders, uri);
  return {
    async list(keep, max) {
      if (!folders.length) return [];
      const params: WorkspaceFilesParams = { max };
      const uris = await connection.sendRequest<string[] | null>(WORKSPACE_FILES, params);
      return (uris ?? []).filter((uri) => {
        const rel = relative(uri);
        return rel !== undefined && scannedPath(rel) && keep(rel);
      });
    },
    async read(uri) {
      const params: ReadFileParams = { uri, maxBytes: MAX_FILE_BYTES };
      const text = await connection.sendRequest<string | null>(READ_FILE, params);
      return typeof text === 'string' ? text : undefined;
    },
    relative,
  };
}
