// Generated files are fresh: the schemas and validators regenerated from the CRDs kept in the
// repo (deploy/crds) into a temporary folder equal the committed ones, byte for byte, and the
// generators read nothing outside the repo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..');

// The Kubernetes API types come from scripts/gen-kube-schemas.mjs, checked in test/server/resource-schema.test.ts.
function sameFolder(generated: string, committed: string): string[] {
  const differences: string[] = [];
  const names = new Set([...readdirSync(generated), ...readdirSync(committed).filter((n) => n !== 'generate.mjs' && !n.startsWith('kubernetes-types'))]);
  for (const name of names) {
    let a: Buffer | undefined;
    let b: Buffer | undefined;
    try {
      a = readFileSync(join(generated, name));
    } catch {
      differences.push(`${name}: committed but no longer generated`);
      continue;
    }
    try {
      b = readFileSync(join(committed, name));
    } catch {
      differences.push(`${name}: generated but not committed`);
      continue;
    }
    if (!a.equals(b)) differences.push(`${name}: differs (run npm run gen:schemas)`);
  }
  return differences;
}

test('schemas/ and server/src/generated/ are what scripts/gen-schemas.mjs makes from deploy/crds', () => {
  const out = mkdtempSync(join(tmpdir(), 'ks-gen-'));
  try {
    const r = spawnSync(process.execPath, [join(root, 'scripts/gen-schemas.mjs'), '--out', out], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(sameFolder(join(out, 'schemas'), join(root, 'schemas')), []);
    assert.deepEqual(sameFolder(join(out, 'generated'), join(root, 'server/src/generated')), []);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the generators read no path outside the repo', () => {
  for (const file of ['scripts/gen-schemas.mjs', 'deploy/crds/generate.mjs']) {
    const text = readFileSync(join(root, file), 'utf8');
    assert.doesNotMatch(text, /\.\.\/shared|'\/work\/|"\/work\//, file);
  }
});
