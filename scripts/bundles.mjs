// The bundles esbuild makes (scripts/build.mjs builds them; test/browser/bundles.test.ts
// checks the browser ones). Node bundles: CommonJS for Node 20, which VS Code's extension host
// and plain `node` both load, with ESM-only dependencies bundled in. Browser bundles
// (package.json's `browser` entry, for vscode.dev and github.dev): the extension for VS Code's
// web worker extension host and the language server for a Web Worker, with platform
// 'browser', where a module `x.ts` with a sibling `x.browser.ts` is replaced by it and any Node
// built-in reached is a build error.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

/** `./x` → `./x.browser.ts` when that file exists (browser bundles only). */
export const browserSwaps = {
  name: 'browser-swaps',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const swap = `${resolve(args.resolveDir, args.path)}.browser.ts`;
      return existsSync(swap) ? { path: swap } : undefined;
    });
  },
};

/**
 * Node bundles stay ASCII: V8 keeps a script's source for the process's life, two bytes per
 * character once one character is not Latin-1 (the server's 2.6 MB source took 5.2 MB of heap).
 * esbuild escapes strings but leaves regular expression literals as written, so a dependency's
 * non-ASCII characters are escaped as it is loaded (\uXXXX reads the same in a regular expression,
 * string, template or comment); this repository's own sources write them escaped.
 */
export const asciiDependencies = {
  name: 'ascii-dependencies',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/].*\.[cm]?js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!/[^\x00-\x7f]/.test(text)) return undefined;
      return { contents: text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`), loader: 'js' };
    });
  },
};

// Minified (names kept, for readable errors): the .vsix carries them under its 5 MB budget, and a
// smaller bundle also compiles faster at start-up. Source maps sit beside them. whatwg-url is
// replaced by the platform's URL (scripts/shims/whatwg-url.cjs says why).
const node = { platform: 'node', target: 'node20', format: 'cjs', minify: true, keepNames: true, plugins: [asciiDependencies], alias: { 'whatwg-url': './scripts/shims/whatwg-url.cjs' } };
// Browser releases VS Code for the web supports. Minified: the browser downloads them.
const browser = { platform: 'browser', target: ['chrome110', 'firefox110', 'safari16'], minify: true, plugins: [browserSwaps] };

export const ENTRIES = [
  { in: 'cli/main.ts', out: 'dist/cli.js', banner: '#!/usr/bin/env node', ...node },
  { in: 'server/src/main.ts', out: 'dist/server.js', ...node },
  // The workspace scan's parser threads (server/src/scan-workers.ts), loaded from beside dist/server.js and dist/cli.js.
  { in: 'server/src/scan-worker.ts', out: 'dist/scan-worker.js', ...node },
  { in: 'client/src/extension.ts', out: 'dist/client.js', external: ['vscode'], ...node },
  { in: 'webhook/main.ts', out: 'dist/webhook.js', ...node },
  // VS Code's web worker extension host loads the extension as CommonJS with `vscode` provided.
  { in: 'client/src/browser.ts', out: 'dist/browser/client.js', external: ['vscode'], ...browser, format: 'cjs' },
  // A classic worker script (module workers are not what vscode-languageclient/browser starts).
  { in: 'server/src/browser-main.ts', out: 'dist/browser/server.js', ...browser, format: 'iife' },
];

/** esbuild's options for one entry, relative to the repository root. */
export function esbuildOptions(entry, overrides = {}) {
  return {
    entryPoints: [entry.in],
    outfile: entry.out,
    bundle: true,
    platform: entry.platform,
    target: entry.target,
    format: entry.format,
    minify: entry.minify ?? false,
    keepNames: entry.keepNames ?? false,
    plugins: entry.plugins ?? [],
    sourcemap: 'linked',
    external: entry.external ?? [],
    alias: entry.alias ?? {},
    banner: entry.banner ? { js: entry.banner } : undefined,
    ...overrides,
  };
}
