/**
 * The documented JSON Schemas (schemas/*.json) in Node: read from disk on first use. They sit
 * next to dist/ (bundles) or three levels above this file (sources). The browser build swaps
 * in `schema-files.browser.ts`, which carries them in the bundle.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let schemaDir: string | undefined;
function findSchemaDir(): string {
  if (schemaDir) return schemaDir;
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'schemas');
    if (existsSync(join(candidate, 'index.json'))) return (schemaDir = candidate);
    dir = dirname(dir);
  }
  throw new Error('schemas/ directory not found');
}

/** The parsed schema file `file` (a name from the schema index, such as `kyverno.io_ClusterPolicy_v1.json`). */
export function readSchemaFile(file: string): unknown {
  return JSON.parse(readFileSync(join(findSchemaDir(), file), 'utf8'));
}
