// Bundles each entry point with esbuild. Node 20 CommonJS output: VS Code's extension host
// and plain `node` both load it, and ESM-only dependencies get bundled in.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

const entries = [
  { in: 'cli/main.ts', out: 'dist/cli.js', banner: '#!/usr/bin/env node' },
  { in: 'server/src/main.ts', out: 'dist/server.js' },
  { in: 'client/src/extension.ts', out: 'dist/client.js', external: ['vscode'] },
  { in: 'webhook/main.ts', out: 'dist/webhook.js' },
];

const watch = process.argv.includes('--watch');
await Promise.all(
  entries
    .filter((e) => existsSync(e.in))
    .map((e) =>
      build({
        entryPoints: [e.in],
        outfile: e.out,
        bundle: true,
        platform: 'node',
        target: 'node20',
        format: 'cjs',
        sourcemap: 'linked',
        external: e.external ?? [],
        banner: e.banner ? { js: e.banner } : undefined,
        logLevel: watch ? 'info' : 'warning',
      }),
    ),
);
