// Conformance cases from the Kyverno policies corpus: a generate rule applied to a suite's
// trigger must create its generatedResource (compared as kyverno test does: generate labels
// normalised, nulls and empty values dropped). Rules are picked by kind only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { applyGenerateRule } from '../../engine/generate';
import { evaluateConditions } from '../../engine/conditions';
import type { JsonObject } from '../../engine/core/types';
import { fixupGenerateLabels, tidy } from '../../engine/testing';

const CORPUS = '/work/shared/conformance/kyverno-policies';
const SUITES = [
  'best-practices/add-network-policy',
  'best-practices/add-ns-quota',
  'other/create-default-pdb',
  'kubevirt/add-services',
  'kasten/kasten-generate-example-backup-policy',
  'kasten/kasten-generate-policy-by-preset-label',
];

const readDocs = (path: string): JsonObject[] =>
  parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJSON() as JsonObject).filter((d) => d && typeof d === 'object');
const asList = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);
const meta = (r: JsonObject): JsonObject => (r.metadata ?? {}) as JsonObject;

function matchKinds(rule: JsonObject): string[] {
  const match = (rule.match ?? {}) as JsonObject;
  const blocks = [...((match.any ?? []) as JsonObject[]), ...((match.all ?? []) as JsonObject[]), match];
  return blocks.flatMap((b) => asList(((b.resources ?? {}) as JsonObject).kinds));
}

/** kyverno test: generate bookkeeping labels normalised, then tidied (nulls/empties dropped). */
/** As kyverno test compares generated resources: Kyverno's labels normalised, then tidied. */
const comparable = (r: JsonObject): unknown => tidy(fixupGenerateLabels(r));

for (const suite of SUITES) {
  const testFile = join(CORPUS, suite, '.kyverno-test', 'kyverno-test.yaml');
  if (!existsSync(testFile)) continue;
  const base = dirname(testFile);
  const spec = readDocs(testFile)[0];
  const policies = asList(spec.policies).flatMap((p) => readDocs(resolve(base, p)));
  const resources = asList(spec.resources).flatMap((p) => readDocs(resolve(base, p)));
  for (const expected of (spec.results ?? []) as JsonObject[]) {
    if (typeof expected.generatedResource !== 'string') continue;
    const policy = policies.find((p) => meta(p).name === expected.policy);
    const rule = ((((policy?.spec ?? {}) as JsonObject).rules ?? []) as JsonObject[]).find((r) => r.name === expected.rule);
    const want = readDocs(resolve(base, expected.generatedResource));
    const sources = typeof expected.cloneSourceResource === 'string' ? readDocs(resolve(base, expected.cloneSourceResource)) : [];
    for (const name of asList(expected.resources)) {
      const trigger = resources.find((r) => meta(r).name === name.split('/').pop() && (!expected.kind || r.kind === expected.kind));
      if (!rule || !trigger || !matchKinds(rule).some((k) => k === trigger.kind) || JSON.stringify(rule).includes('"context"')) continue;
      test(`${suite}: ${String(expected.rule)} on ${name}`, () => {
        const scope = { data: { request: { operation: 'CREATE', object: trigger } } as JsonObject };
        if (rule.preconditions) assert.ok(evaluateConditions(rule.preconditions, scope).passed, 'rule preconditions');
        const out = applyGenerateRule(rule, trigger, scope, sources, { policyName: String(expected.policy) });
        assert.equal(out.result.status, 'pass', out.result.message);
        assert.deepEqual(out.generated.map(comparable), want.map(comparable));
      });
    }
  }
}
