// describeAutogen / describeAutogenRules / describeAutogenRule: one rule described without computing the whole
// policy, the same answer as the whole computeRules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../engine/core/types';
import { AUTOGEN_ANNOTATION, autogenSetting, computeRules, describeAutogen, describeAutogenRule, describeAutogenRules } from '../../engine/autogen';

function rule(i: number, kinds = ['Pod'], extra: JsonObject = {}): JsonObject {
  return {
    name: `rule-${i}`,
    match: { any: [{ resources: { kinds } }] },
    validate: { message: `m ${i} $(./../pattern/metadata)`, pattern: { metadata: { labels: { [`l${i}`]: '?*' } } } },
    ...extra,
  };
}

function policy(rules: JsonObject[], annotations?: Record<string, string>): JsonObject {
  return { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p', ...(annotations ? { annotations } : {}) }, spec: { rules } };
}

/** What computeRules generated for a rule, found by the generated names. */
function fromCompute(p: JsonObject, name: string): string[] {
  const own = new Set((p.spec as { rules: JsonObject[] }).rules);
  return computeRules(p)
    .filter((r) => !own.has(r))
    .map((r) => String(r.name))
    .filter((n) => n === `autogen-${name}` || n === `autogen-cronjob-${name}`);
}

const cases: Array<[string, JsonObject]> = [
  ['plain Pod rules', policy([rule(0), rule(1), rule(2, ['ConfigMap'])])],
  ['annotation limits controllers', policy([rule(0), rule(1)], { [AUTOGEN_ANNOTATION]: 'Deployment,CronJob' })],
  ['annotation none', policy([rule(0)], { [AUTOGEN_ANNOTATION]: 'none' })],
  ['a selector blocks autogen for the whole policy', policy([rule(0), { ...rule(1), match: { any: [{ resources: { kinds: ['Pod'], selector: { matchLabels: { a: 'b' } } } }] } }])],
  ['v1/Pod with a Deployment rule', policy([rule(0, ['v1/Pod']), rule(1, ['Deployment'])])],
  ['generate rule disables autogen', policy([rule(0), { name: 'g', match: { any: [{ resources: { kinds: ['Namespace'] } }] }, generate: { kind: 'ConfigMap', name: 'x' } }])],
];

for (const [name, p] of cases) {
  test(`describeAutogenRules agrees with describeAutogen and computeRules: ${name}`, () => {
    const rules = (p.spec as { rules: JsonObject[] }).rules;
    const all = describeAutogenRules(p);
    const setting = autogenSetting(p);
    assert.equal(all.length, rules.length);
    rules.forEach((r, i) => {
      const one = describeAutogen(p, String(r.name));
      assert.deepEqual(all[i], one);
      assert.deepEqual(describeAutogenRule(r, setting), one);
      assert.deepEqual(one.rules.map((x) => x.name), fromCompute(p, String(r.name)));
      if (one.rules.length === 0) assert.ok(one.reason, 'a reason when nothing is generated');
    });
  });
}

test('a 500-rule policy: every rule described, generated rules independent of the source', () => {
  const p = policy(Array.from({ length: 500 }, (_, i) => rule(i)));
  const all = describeAutogenRules(p);
  assert.equal(all.length, 500);
  assert.deepEqual(all[499].rules, [
    { name: 'autogen-rule-499', kinds: ['apps/v1/DaemonSet', 'apps/v1/Deployment', 'batch/v1/Job', 'apps/v1/ReplicaSet', 'v1/ReplicationController', 'apps/v1/StatefulSet'] },
    { name: 'autogen-cronjob-rule-499', kinds: ['batch/v1/CronJob'] },
  ]);
  const generated = computeRules(p).slice(500);
  assert.equal(generated.length, 1000);
  // Mutating a generated rule must not reach the policy it came from.
  const first = generated[0] as { validate: { pattern: { spec: { template: { metadata: { labels: Record<string, string> } } } } } };
  first.validate.pattern.spec.template.metadata.labels.l0 = 'changed';
  assert.equal(((p.spec as { rules: Array<{ validate: { pattern: { metadata: { labels: Record<string, string> } } } }> }).rules[0].validate.pattern.metadata.labels.l0), '?*');
  assert.match(String((generated[0].validate as JsonObject).message), /\$\(\.\/\.\.\/pattern\/spec\/template\/metadata\)/);
});
