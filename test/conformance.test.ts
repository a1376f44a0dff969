// Regression guard over the Kyverno policies corpus: a test file that passed when the
// baseline was written (npm run conformance -- --write-baseline) must still pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { runTestPaths } from '../cli/commands/test-run';

const root = resolve(__dirname, '..');
const corpus = resolve(root, '../shared/conformance/kyverno-policies');
const baselinePath = join(root, 'test/conformance-baseline.json');

test('conformance: files passing in the baseline still pass', (t) => {
  if (!existsSync(corpus)) {
    t.skip(`conformance corpus not found at ${corpus} (../shared is absent): nothing to compare`);
    return;
  }
  const baseline = JSON.parse(readFileSync(baselinePath, 'utf8')) as { files: Record<string, 'pass' | 'fail'> };
  // Speed is measured by `npm run bench:engine`, not asserted here.
  const report = runTestPaths([corpus], { now: new Date() });
  const now = new Map(
    report.files.map((f) => [relative(corpus, f.path).split('\\').join('/'), f.error === null && f.rows.every((r) => r.ok)]),
  );
  const regressions = Object.entries(baseline.files)
    .filter(([path, was]) => was === 'pass' && now.get(path) !== true)
    .map(([path]) => {
      const f = report.files.find((x) => relative(corpus, x.path).split('\\').join('/') === path);
      const why = !f ? 'missing' : f.error ?? f.rows.filter((r) => !r.ok).map((r) => `${r.policy}/${r.rule} ${r.kind}/${r.resource}: ${r.reason}`)[0];
      return `${path}: ${why}`;
    });
  assert.deepEqual(regressions, [], `${regressions.length} file(s) regressed`);
});
