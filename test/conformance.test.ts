// Regression guard over both conformance corpora (Kyverno's sample policies and Kyverno's own
// CLI test suite): a test that passed when the baseline was written
// (npm run conformance -- --write-baseline) must still pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { runTestPaths } from '../cli/commands/test-run';

const root = resolve(__dirname, '..');
const shared = resolve(root, '../shared/conformance');
const baselinePath = join(root, 'test/conformance-baseline.json');

type State = 'pass' | 'fail' | 'needs-network' | 'missing-input';
interface Baseline {
  corpora: Record<string, { tests: Record<string, State> }>;
}

const baseline = JSON.parse(readFileSync(baselinePath, 'utf8')) as Baseline;

test('the baseline covers both corpora', () => {
  assert.deepEqual(Object.keys(baseline.corpora).sort(), ['kyverno-cli', 'kyverno-policies']);
});

for (const [name, { tests }] of Object.entries(baseline.corpora)) {
  test(`conformance (${name}): tests passing in the baseline still pass`, (t) => {
    const corpus = join(shared, name);
    if (!existsSync(corpus)) {
      t.skip(`conformance corpus not found at ${corpus} (../shared is absent): nothing to compare`);
      return;
    }
    // Speed is measured by `npm run bench:engine`, not asserted here.
    const report = runTestPaths([corpus], { now: new Date() });
    const keyOf = (f: { path: string; document?: number }) => `${relative(corpus, f.path).split('\\').join('/')}${f.document !== undefined ? `#${f.document}` : ''}`;
    const now = new Map(report.files.map((f) => [keyOf(f), f]));
    const regressions = Object.entries(tests)
      .filter(([key, was]) => was === 'pass' && now.get(key)?.ok !== true)
      .map(([key]) => {
        const f = now.get(key);
        const why = !f ? 'missing' : (f.error ?? f.rows.filter((r) => !r.ok).map((r) => `${r.policy}/${r.rule} ${r.kind}/${r.resource}: ${r.reason}`)[0] ?? f.reason);
        return `${key}: ${why}`;
      });
    assert.deepEqual(regressions, [], `${regressions.length} test(s) regressed`);
  });
}
