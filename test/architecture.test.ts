// The architecture's dependency rules (ARCHITECTURE.md, "Invariants"), checked on the import
// statements of every TypeScript file, as rust-analyzer's tidy tests check theirs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(__dirname, '..');

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(join(root, dir))) {
    const p = join(dir, name);
    if (statSync(join(root, p)).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Every module a file imports (static imports, re-exports and dynamic imports), as written. */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** The top-level folder a relative import lands in (null for a package). */
function folderOf(file: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  return relative(root, resolve(root, dirname(file), spec)).split(/[\\/]/)[0];
}

function violations(folder: string, rule: (spec: string, target: string | null) => string | null): string[] {
  const found: string[] = [];
  for (const file of sources(folder)) {
    for (const spec of importsOf(readFileSync(join(root, file), 'utf8'))) {
      const why = rule(spec, folderOf(file, spec));
      if (why) found.push(`${file}: imports '${spec}' (${why})`);
    }
  }
  return found;
}

test('importsOf finds static, re-exported, side-effect and dynamic imports', () => {
  const text = "import { a } from './a';\nexport { b } from '../b';\nimport 'c';\nconst d = await import('node:fs');\nimport type {\n  E,\n} from 'e';\n";
  assert.deepEqual(importsOf(text).sort(), ['../b', './a', 'c', 'e', 'node:fs'].sort());
});

test('the engine is pure: no node: modules, no vscode, nothing from outside engine/', () => {
  const found = violations('engine', (spec, target) => {
    if (spec.startsWith('node:') || ['fs', 'path', 'os', 'crypto', 'zlib', 'http', 'https', 'child_process'].includes(spec)) return 'a Node.js module';
    if (spec === 'vscode' || spec.startsWith('vscode-languageserver')) return 'an editor API';
    if (target !== null && target !== 'engine') return `outside engine/: ${target}/`;
    return null;
  });
  assert.deepEqual(found, []);
});

test('the webhook does not import deploy/, the editor or the CLI', () => {
  const found = violations('webhook', (_spec, target) => (target && ['deploy', 'client', 'server', 'cli'].includes(target) ? `${target}/` : null));
  assert.deepEqual(found, []);
});

test('the Kubernetes API client is shared code: it imports neither the webhook nor deploy/', () => {
  const found = violations('kube-api', (_spec, target) => (target && ['deploy', 'webhook', 'client', 'server', 'cli'].includes(target) ? `${target}/` : null));
  assert.deepEqual(found, []);
});

test('the language server does not import the extension, deploy/ or the webhook', () => {
  const found = violations('server', (_spec, target) => (target && ['client', 'deploy', 'webhook'].includes(target) ? `${target}/` : null));
  assert.deepEqual(found, []);
});

/** The files a bundle of `entry` evaluates at start-up that reach the Kubernetes client, each with its import chain. */
async function startupKubeClient(entry: string, external: string[] = []): Promise<{ chains: string[]; bundled: boolean }> {
  const { build } = await import('esbuild');
  const result = await build({ entryPoints: [join(root, entry)], bundle: true, platform: 'node', format: 'cjs', write: false, metafile: true, external, outfile: join(root, 'dist/.startup-probe.js'), logLevel: 'silent' });
  const inputs = result.metafile.inputs;
  // Walk the imports that run at start-up; `await import()` is the on-demand edge.
  const parent = new Map<string, string | null>([[entry, null]]);
  const queue = [entry];
  while (queue.length) {
    const file = queue.shift()!;
    for (const imp of inputs[file]?.imports ?? []) {
      if (imp.kind === 'dynamic-import' || parent.has(imp.path)) continue;
      parent.set(imp.path, file);
      queue.push(imp.path);
    }
  }
  const loaded = [...parent.keys()].filter((f) => f.includes('node_modules/@kubernetes/client-node/') || f === 'kube-api/client.ts');
  const chain = (f: string): string => { const path: string[] = []; for (let p: string | null | undefined = f; p; p = parent.get(p)) path.unshift(p); return path.join(' -> '); };
  // `bundled`: the on-demand edge exists, so the test would notice the client vanishing from the bundle.
  return { chains: loaded.map(chain), bundled: Object.keys(inputs).includes('kube-api/client.ts') };
}

test('the CLI loads the Kubernetes client only on demand (commands without a cluster start fast)', async () => {
  assert.deepEqual(await startupKubeClient('cli/main.ts'), { chains: [], bundled: true });
});

test('the extension loads the Kubernetes client only on demand (deploy, the reports view), not at activation', async () => {
  assert.deepEqual(await startupKubeClient('client/src/extension.ts', ['vscode']), { chains: [], bundled: true });
});
