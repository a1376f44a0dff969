// Packages the extension (`npm run package`, after the build): kyverno-studio.vsix at the root,
// or the path given as the first argument.
//
// package.json's `files` list is the npm package (CLI, language server, webhook, schemas, CRDs);
// the .vsix also needs the extension bundle, the grammar and the media, chosen by .vscodeignore.
// vsce refuses a folder that has both, so it runs in a staging folder holding a copy of the
// manifest without `files` and the folders .vscodeignore selects from (source maps left out).
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(root, 'kyverno-studio.vsix'));
const STAGED = ['.vscodeignore', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist', 'schemas', 'syntaxes', 'client/media', 'deploy/crds', 'examples/policies', 'packs'];

if (!existsSync(join(root, 'dist', 'cli.js'))) {
  console.error('dist/ is missing: run `npm run build` first');
  process.exit(1);
}
const stage = mkdtempSync(join(tmpdir(), 'kyverno-studio-vsix-'));
try {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  delete manifest.files;
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const entry of STAGED) {
    cpSync(join(root, entry), join(stage, entry), { recursive: true, filter: (src) => !src.endsWith('.map') });
  }
  const vsce = join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
  const r = spawnSync(process.execPath, [vsce, 'package', '--no-dependencies', '--no-rewrite-relative-links', '-o', out], { cwd: stage, stdio: 'inherit' });
  process.exitCode = r.status ?? 1;
} finally {
  rmSync(stage, { recursive: true, force: true });
}
