/**
 * `kyverno-studio lsp --stdio`: the language server (server/src/main.ts) on stdin/stdout,
 * for editors that launch a command (Neovim, Helix). stdout carries the protocol, so this
 * command writes nothing else there.
 */
import type { Command } from './command';

const USAGE = 'kyverno-studio lsp --stdio';

export const lspCommand: Command = {
  name: 'lsp',
  summary: 'run the Kyverno language server over stdio (for Neovim, Helix, ...)',
  usage: USAGE,
  flags: { values: [], booleans: ['stdio', 'help'], aliases: { h: 'help' } },
  run: async (argv, io) => {
    if (argv.includes('--help') || argv.includes('-h')) {
      io.err(`Usage: ${USAGE}\n\nSpeaks the Language Server Protocol on stdin/stdout; see server/README.md.`);
      return 0;
    }
    const unknown = argv.filter((a) => a !== '--stdio');
    if (unknown.length > 0 || !argv.includes('--stdio')) {
      io.err(`Error: lsp: ${unknown.length ? `unsupported argument "${unknown[0]}"` : 'missing --stdio'} (the only transport is --stdio)\nUsage: ${USAGE}`);
      return 2;
    }
    // Loaded on demand: the other commands need neither the server nor its LSP library.
    const { startServer } = await import('../../server/src/main');
    const { createConnection, ProposedFeatures } = await import('vscode-languageserver/node');
    startServer(createConnection(ProposedFeatures.all, process.stdin, process.stdout));
    // The connection keeps the process alive; the client's `exit` notification ends it.
    return 0;
  },
};
