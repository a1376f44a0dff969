/**
 * The language server in Node: the extension's server process (IPC), `node dist/server.js
 * --stdio` and `kyverno-studio lsp --stdio`. The workspace is read from disk and, when the
 * user turns it on in a trusted workspace, registries are read for image verification. The
 * browser build starts the same server from `browser-main.ts`.
 */
import { createConnection, ProposedFeatures, type Connection } from 'vscode-languageserver/node';
import { fileURLToPath } from 'node:url';
import { imagesToVerify, prefetchImageRegistry, RegistryClient } from '../../registry';
import { statSync } from 'node:fs';
import { diskFiles } from './disk-files';
import { ScanCache, diskEntryCache } from './scan-cache';
import { DiskResultStore } from './result-store';
import { ScanWorkers } from './scan-workers';
import type { WorkspaceFiles } from './workspace';
import { runServer, type ServerHost } from './server';

export type { ServerSettings } from './server';

/** File system paths of the `file:` workspace folders (the others cannot be read from disk). */
function diskFolders(folders: string[]): string[] {
  return folders.filter((u) => u.startsWith('file:')).map((u) => fileURLToPath(u));
}

/** This build of the server (its bundle's stat): a scan cache written by another build is not used. */
function buildId(): string {
  const file = typeof __filename === 'string' ? __filename : process.argv[1] ?? '';
  try {
    const st = statSync(file);
    return `${file}:${st.size}:${st.mtimeMs}`;
  } catch {
    return file;
  }
}

export function nodeHost(): ServerHost {
  const client = new RegistryClient({ timeoutMs: 10_000, ttlMs: 5 * 60_000 });
  return {
    files: (folders, connection, cacheDir) => {
      const paths = diskFolders(folders);
      // A scan with many files to parse parses them in worker threads.
      const parsers = () => ScanWorkers.start();
      if (!cacheDir) return { ...diskFiles(paths), parsers } satisfies WorkspaceFiles;
      const results = DiskResultStore.open(cacheDir, paths, buildId());
      results.onError = (e) => connection.console.error(`writing the stored manifest results failed: ${e.message}`);
      return { ...diskFiles(paths, diskEntryCache(ScanCache.open(cacheDir, paths, buildId()))), results, parsers };
    },
    registry: {
      images: (policies, resources) => new Set(imagesToVerify(policies, resources).keys()),
      prefetch: (policies, resources) => prefetchImageRegistry(policies, resources, client),
    },
  };
}

export function startServer(connection: Connection = createConnection(ProposedFeatures.all)): void {
  runServer(connection, nodeHost());
}

// `node dist/server.js --stdio` (or a tsx run of this file) starts the server directly; the
// CLI bundles this module too and must not start it on import.
if (/(^|[\\/])(server\.js|server[\\/]src[\\/]main\.ts)$/.test(process.argv[1] ?? '')) startServer();
