// Bundles the extension-host mocha suites (TypeScript) into <outDir>: index.js + extension.test.js,
// and the restricted-mode suite restricted-index.js + restricted.test.js.
// mocha and vscode stay external: the extension host provides vscode, and the output lives under
// the project so `require('mocha')` resolves to its node_modules.
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error('usage: node build-suite.mjs <outDir>');
  process.exit(2);
}
await build({
  entryPoints: ['index', 'extension.test', 'restricted-index', 'restricted.test'].map((name) => path.join(here, `suite/${name}.ts`)),
  outdir: out,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'inline',
  external: ['vscode', 'mocha'],
  logLevel: 'warning',
});
