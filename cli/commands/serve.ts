/** `kyverno-studio serve`: the admission webhook (webhook/serve.ts); workers run dist/webhook.js. */
import { join } from 'node:path';
import { serveCommand, SERVE_FLAGS } from '../../webhook/serve';
import type { Command } from './command';

export const serveCommandEntry: Command = {
  name: 'serve',
  summary: 'run the admission webhook (local files or --in-cluster)',
  usage: 'kyverno-studio serve --policy PATH... --tls-cert FILE --tls-key FILE [--port N] | --in-cluster ...',
  flags: SERVE_FLAGS,
  run: (argv) => serveCommand(argv, join(__dirname, 'webhook.js')),
};
