import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileContents, ruleAnchors, policyWithOnlyRule } from '../../client/src/policies/documents';
import { countStatuses, generatedOf, isMutated, rowsOf, runPolicies, summarize, type Sourced } from '../../client/src/run/report';
import { ADD_ENV, PODS, REQUIRE_TEAM } from './fixtures';

const sourcedOf = (text: string, file: string, pick: 'policies' | 'resources'): Sourced[] =>
  readFileContents(text)[pick].map((o) => ({ ...o, file }));

test('files are sorted into policies and resources with their document index', () => {
  const c = readFileContents(`${REQUIRE_TEAM}---\n${PODS}`);
  assert.equal(c.policies.length, 1);
  assert.deepEqual(c.resources.map((r) => r.location.docIndex), [1, 2]);
  assert.deepEqual(c.errors, []);
});

test('a YAML error is reported, not thrown', () => {
  const c = readFileContents('a: [1, 2\nb: c\n');
  assert.equal(c.policies.length + c.resources.length, 0);
  assert.ok(c.errors.length > 0);
});

test('validate results per rule and resource, with the failing field path', () => {
  const report = runPolicies('t', { policies: sourcedOf(REQUIRE_TEAM, 'p', 'policies'), resources: sourcedOf(PODS, 'r', 'resources') });
  assert.equal(report.runs.length, 2);
  const good = rowsOf(report.runs[0]);
  assert.deepEqual(good.map((r) => `${r.rule}:${r.status}`), ['check-team:pass', 'check-image:pass']);
  const bad = rowsOf(report.runs[1]);
  assert.deepEqual(bad.map((r) => `${r.rule}:${r.status}`), ['check-team:fail', 'check-image:fail']);
  const image = bad.find((r) => r.rule === 'check-image');
  assert.deepEqual(image?.path?.slice(0, 3), ['spec', 'containers', 0]);
  assert.equal(summarize(countStatuses([...good, ...bad])), '2 fail, 2 pass');
  assert.equal(report.runs[1].location.docIndex, 1);
});

test('mutations are visible as a patched resource; mutate runs before validate', () => {
  const report = runPolicies('t', {
    policies: [...sourcedOf(REQUIRE_TEAM, 'p', 'policies'), ...sourcedOf(ADD_ENV, 'q', 'policies')],
    resources: sourcedOf(PODS, 'r', 'resources'),
  });
  const bad = report.runs[1];
  assert.ok(isMutated(bad));
  assert.equal((bad.patched.metadata as { labels: Record<string, string> }).labels.env, 'dev');
  assert.equal(rowsOf(bad)[0].rule, 'add-env-label');
  assert.deepEqual(generatedOf(bad), []);
});

test('a policy restricted to one rule only reports that rule', () => {
  const policy = sourcedOf(REQUIRE_TEAM, 'p', 'policies')[0];
  const only = { ...policy, value: policyWithOnlyRule(policy.value, 'check-image') };
  const report = runPolicies('t', { policies: [only], resources: sourcedOf(PODS, 'r', 'resources') });
  assert.deepEqual(report.runs.flatMap(rowsOf).map((r) => r.rule), ['check-image', 'check-image']);
});

test('rule anchors point at each rule name; CEL policies get one anchor', () => {
  const anchors = ruleAnchors(REQUIRE_TEAM);
  assert.deepEqual(anchors.map((a) => a.ruleName), ['check-team', 'check-image']);
  assert.equal(REQUIRE_TEAM.slice(anchors[0].span.start, anchors[0].span.end), 'name');
  const cel = ruleAnchors(`apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata:
  name: vp
spec:
  validations:
    - expression: "true"
`);
  assert.deepEqual(cel.map((a) => [a.policyName, a.ruleName]), [['vp', undefined]]);
});
