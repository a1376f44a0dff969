/**
 * The language server in a browser's Web Worker (vscode.dev, github.dev): LSP over
 * postMessage with the extension's browser build (client/src/browser.ts). No Node API here
 * (the bundle's invariant test checks it): workspace files are listed and read by the
 * extension through VS Code's file system, and registries are not read.
 */
import { BrowserMessageReader, BrowserMessageWriter, createConnection } from 'vscode-languageserver/browser';
import { clientFiles } from './client-files';
import { runServer } from './server';

// The worker's global scope is the message port to the extension.
const port = globalThis as never;
const connection = createConnection(new BrowserMessageReader(port), new BrowserMessageWriter(port));
runServer(connection, { files: (folders, conn) => clientFiles(conn, folders) });
