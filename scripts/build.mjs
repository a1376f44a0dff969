// Bundles each entry point with esbuild (the list and options: scripts/bundles.mjs).
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { ENTRIES, esbuildOptions } from './bundles.mjs';

const watch = process.argv.includes('--watch');
await Promise.all(
  ENTRIES.filter((e) => existsSync(e.in)).map((e) => build(esbuildOptions(e, { logLevel: watch ? 'info' : 'warning' }))),
);
