// Runs every *.test.ts under test/ with node's built-in runner (TypeScript through tsx).
// Node 20's --test takes no globs, so the file list is built here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    // e2e, cluster and registry suites need a real VS Code, API server or OCI registry, and
    // integrations runs pre-commit: npm run test:e2e / test:cluster / test:registry / test:integrations.
    if (['e2e', 'cluster', 'registry', 'integrations', 'fixtures', 'node_modules'].includes(name)) continue;
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const only = process.argv.slice(2);
const files = only.length ? only : find('test').sort();
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
