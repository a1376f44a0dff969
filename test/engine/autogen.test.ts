// Autogen; cases ported from kyverno/kyverno pkg/autogen/v1/autogen_test.go and pkg/autogen/autogen_test.go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../engine/core/types';
import {
  AUTOGEN_ANNOTATION,
  autogenControllers,
  autogenRuleName,
  canAutoGen,
  computeRules,
  describeAutogen,
  isAutogenRuleName,
  rewriteText,
  shiftReferences,
} from '../../engine/autogen';

// Autogen rules name their kinds fully qualified (Kyverno's ConvertKindsToGVK).
const CONTROLLERS = ['apps/v1/DaemonSet', 'apps/v1/Deployment', 'batch/v1/Job', 'apps/v1/ReplicaSet', 'v1/ReplicationController', 'apps/v1/StatefulSet'];

function policy(rules: JsonObject[], annotations?: Record<string, string>): JsonObject {
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'p', ...(annotations ? { annotations } : {}) },
    spec: { rules },
  };
}

const podPattern = (name = 'check'): JsonObject => ({
  name,
  match: { any: [{ resources: { kinds: ['Pod'] } }] },
  validate: { message: 'need label', pattern: { metadata: { labels: { foo: 'bar' } } } },
});

function names(rules: JsonObject[]): string[] {
  return rules.map((r) => String(r.name));
}

test('autogen: rule names and truncation (Test_getAutogenRuleName, Test_isAutogenRule)', () => {
  const long = 'too-long-this-rule-name-will-be-truncated-to-63-characters';
  assert.equal(autogenRuleName('autogen', 'valid-rule-name'), 'autogen-valid-rule-name');
  assert.equal(autogenRuleName('autogen', long), 'autogen-too-long-this-rule-name-will-be-truncated-to-63-charact');
  assert.equal(autogenRuleName('autogen-cronjob', 'valid-rule-name'), 'autogen-cronjob-valid-rule-name');
  assert.equal(autogenRuleName('autogen-cronjob', long), 'autogen-cronjob-too-long-this-rule-name-will-be-truncated-to-63');
  assert.equal(isAutogenRuleName('valid-rule-name'), false);
  assert.equal(isAutogenRuleName('autogen-simple'), true);
  assert.equal(isAutogenRuleName('autogen-cronjob-simple'), true);
});

test('autogen: CanAutoGen (Test_CanAutoGen)', () => {
  const none = (rules: JsonObject[]) => {
    const s = canAutoGen(policy(rules));
    return s.apply ? s.controllers : ['none'];
  };
  const podMatch = { resources: { kinds: ['Pod'] } };
  assert.deepEqual(none([{ name: 't', match: { resources: { kinds: ['Namespace'], name: '*' } } }]), ['none']);
  assert.deepEqual(none([{ name: 't', match: { resources: { kinds: ['Pod'], selector: { matchLabels: { foo: 'bar' } } } } }]), ['none']);
  assert.deepEqual(none([{ name: 't', match: podMatch, exclude: { resources: { name: 'test' } } }]), ['none']);
  assert.deepEqual(none([{ name: 't', match: podMatch, exclude: { resources: { names: ['test'] } } }]), ['none']);
  assert.deepEqual(none([{ name: 't', match: podMatch, exclude: { resources: { selector: { matchLabels: { a: 'b' } } } } }]), ['none']);
  assert.deepEqual(none([{ name: 't', match: { any: [{ resources: { kinds: ['Pod'], annotations: { a: 'b' } } }] } }]), ['none']);
  const deny = { name: 't', match: podMatch, validate: { deny: { conditions: [{ key: '{{request.object.metadata.labels.foo}}', operator: 'Equals', value: 'bar' }] } } };
  assert.deepEqual(none([deny]), ['DaemonSet', 'Deployment', 'Job', 'StatefulSet', 'ReplicaSet', 'ReplicationController', 'CronJob']);
  const psm = { patchStrategicMerge: { metadata: { labels: { '+(service)': '{{request.object.spec.template.metadata.labels.app}}' } } } };
  assert.deepEqual(none([{ name: 't', match: { resources: { kinds: ['Pod', 'Deployment'] } }, mutate: psm }]), ['none']);
  assert.deepEqual(none([{ name: 't', match: podMatch, exclude: { resources: { kinds: ['Pod', 'Deployment'] } }, mutate: psm }]), ['none']);
  assert.equal(canAutoGen(policy([podPattern()])).apply, true);
  assert.equal(canAutoGen(policy([{ ...podPattern(), exclude: { resources: { kinds: ['Pod'], namespaces: ['test'] } } }])).apply, true);
  assert.deepEqual(none([{ name: 't', match: podMatch, mutate: { patchesJson6902: '- op: add' } }]), ['none']);
  assert.deepEqual(none([{ name: 't', match: podMatch, mutate: { foreach: [{ list: 'x', patchesJson6902: '- op: add' }] } }]), ['none']);
  assert.deepEqual(none([podPattern(), { name: 'g', match: { resources: { kinds: ['Namespace'] } }, generate: { kind: 'NetworkPolicy' } }]), ['none']);
  const podSecurity = { name: 't', match: podMatch, validate: { podSecurity: { level: 'baseline', version: 'v1.24' } } };
  assert.equal(canAutoGen(policy([podSecurity])).apply, true);
  // Only exact kind names ask for autogen.
  assert.equal(canAutoGen(policy([{ ...podPattern(), match: { resources: { kinds: ['v1/Pod'] } } }])).apply, false);
});

test('autogen: updateFields rewrites (TestUpdateGenRuleByte, TestUpdateCELFields)', () => {
  assert.equal(rewriteText('request.object.spec', 'Pod', false), 'request.object.spec.template.spec');
  assert.equal(rewriteText('request.oldObject.spec', 'Pod', false), 'request.oldObject.spec.template.spec');
  assert.equal(rewriteText('request.object.spec', 'Cronjob', false), 'request.object.spec.jobTemplate.spec.template.spec');
  assert.equal(rewriteText('request.oldObject.spec', 'Cronjob', false), 'request.oldObject.spec.jobTemplate.spec.template.spec');
  assert.equal(rewriteText('request.object.metadata', 'Pod', false), 'request.object.spec.template.metadata');
  assert.equal(rewriteText('object.spec', 'Pod', true), 'object.spec.template.spec');
  assert.equal(rewriteText('oldObject.spec', 'Pod', true), 'oldObject.spec.template.spec');
  assert.equal(rewriteText('object.spec', 'Cronjob', true), 'object.spec.jobTemplate.spec.template.spec');
  assert.equal(rewriteText('oldObject.spec', 'Cronjob', true), 'oldObject.spec.jobTemplate.spec.template.spec');
  assert.equal(rewriteText('object.metadata', 'Pod', true), 'object.spec.template.metadata');
  assert.equal(rewriteText('object.spec', 'Pod', false), 'object.spec', 'CEL names only for CEL rules');
});

test('autogen: verifyImages rule yields both controller rules (Test_ComputeRules)', () => {
  const vi = [{ imageReferences: ['*'], attestors: [{ count: 1, entries: [{ keyless: { roots: 'CERT' } }] }] }];
  const p = policy([{ name: 'check-image', match: { resources: { kinds: ['Pod'] } }, verifyImages: vi }]);
  const rules = computeRules(p);
  assert.deepEqual(names(rules), ['check-image', 'autogen-check-image', 'autogen-cronjob-check-image']);
  assert.deepEqual(rules[1], { name: 'autogen-check-image', match: { resources: { kinds: CONTROLLERS } }, verifyImages: vi });
  assert.deepEqual(rules[2], { name: 'autogen-cronjob-check-image', match: { resources: { kinds: ['batch/v1/CronJob'] } }, verifyImages: vi });
  // With the resource kind, as Kyverno's validate computes them.
  assert.deepEqual(names(computeRules(p, 'CronJob')), ['check-image', 'autogen-cronjob-check-image']);
  assert.deepEqual(computeRules(p, 'CronJob')[1], rules[2]);
  assert.deepEqual(names(computeRules(p, 'Deployment')), ['check-image', 'autogen-check-image']);
  assert.deepEqual((computeRules(p, 'Deployment')[1].match as JsonObject).resources, { kinds: ['apps/v1/Deployment'] });
  assert.deepEqual(names(computeRules(p, 'Pod')), ['check-image']);
});

test('autogen: podSecurity, CEL and assert rules (Test_PodSecurityWithNoExceptions, Test_ValidateWithCELExpressions, Test_ValidateWithAssertion)', () => {
  const ps = policy([{ name: 'restricted', match: { all: [{ resources: { kinds: ['Pod'] } }] }, validate: { failureAction: 'enforce', podSecurity: { level: 'restricted', version: 'v1.24' } } }]);
  assert.equal(computeRules(ps, 'Deployment').length, 2);
  assert.equal(computeRules(ps).length, 3);

  const cel = policy([
    {
      name: 'host-path',
      match: { any: [{ resources: { kinds: ['Pod'] } }] },
      validate: {
        failureAction: 'Enforce',
        cel: { expressions: [{ expression: '!has(object.spec.volumes) || object.spec.volumes.all(volume, !has(volume.hostPath))', message: 'no hostPath' }] },
      },
    },
  ]);
  const celRules = computeRules(cel, 'DaemonSet');
  assert.equal(celRules.length, 2);
  const expr = (r: JsonObject) => ((((r.validate as JsonObject).cel as JsonObject).expressions as JsonObject[])[0]).expression;
  assert.equal(expr(celRules[1]), '!has(object.spec.template.spec.volumes) || object.spec.template.spec.volumes.all(volume, !has(volume.hostPath))');
  assert.equal(expr(computeRules(cel)[2]), '!has(object.spec.jobTemplate.spec.template.spec.volumes) || object.spec.jobTemplate.spec.template.spec.volumes.all(volume, !has(volume.hostPath))');

  const assertion = policy([
    { name: 'default-sa', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { assert: { object: { spec: { "(serviceAccountName == 'default')": false } } } } },
  ]);
  const ar = computeRules(assertion);
  assert.equal(ar.length, 3);
  assert.deepEqual((ar[1].validate as JsonObject).assert, { object: { spec: { template: { spec: { "(serviceAccountName == 'default')": false } } } } });
  assert.deepEqual((ar[2].validate as JsonObject).assert, {
    object: { spec: { jobTemplate: { spec: { template: { spec: { "(serviceAccountName == 'default')": false } } } } } },
  });
});

test('autogen: patterns, messages, preconditions and context are moved under the template', () => {
  const p = policy([
    {
      name: 'check',
      match: { any: [{ resources: { kinds: ['Pod'] } }] },
      exclude: { any: [{ resources: { kinds: ['Pod'], namespaces: ['kube-system'] } }] },
      context: [{ name: 'img', variable: { jmesPath: 'request.object.spec.containers[0].image' } }],
      preconditions: { all: [{ key: '{{ request.object.metadata.labels.app }}', operator: 'Equals', value: 'x' }] },
      validate: {
        failureAction: 'Enforce',
        message: 'bad {{ request.object.metadata.name }} at $(./../pattern/spec/x)',
        pattern: { spec: { containers: [{ image: '!*:latest' }] } },
      },
      imageExtractors: { Pod: [] },
    },
  ]);
  const [, gen, cron] = computeRules(p);
  assert.deepEqual(gen, {
    name: 'autogen-check',
    match: { any: [{ resources: { kinds: CONTROLLERS } }] },
    exclude: { any: [{ resources: { kinds: CONTROLLERS, namespaces: ['kube-system'] } }] },
    context: [{ name: 'img', variable: { jmesPath: 'request.object.spec.template.spec.containers[0].image' } }],
    preconditions: { all: [{ key: '{{ request.object.spec.template.metadata.labels.app }}', operator: 'Equals', value: 'x' }] },
    validate: {
      message: 'bad {{ request.object.spec.template.metadata.name }} at $(./../pattern/spec/template/spec/x)',
      failureAction: 'Enforce',
      pattern: { spec: { template: { spec: { containers: [{ image: '!*:latest' }] } } } },
    },
  });
  assert.deepEqual(cron.exclude, { any: [{ resources: { kinds: ['batch/v1/CronJob'], namespaces: ['kube-system'] } }] });
  assert.deepEqual((cron.validate as JsonObject).pattern, {
    spec: { jobTemplate: { spec: { template: { spec: { containers: [{ image: '!*:latest' }] } } } } },
  });
  assert.equal(
    (cron.validate as JsonObject).message,
    'bad {{ request.object.spec.jobTemplate.spec.template.metadata.name }} at $(./../pattern/spec/jobTemplate/spec/template/spec/template/spec/x)',
  );
});

test('autogen: anyPattern, deny, foreach and mutate shapes', () => {
  const any = computeRules(policy([{ name: 'a', match: { resources: { kinds: ['Pod'] } }, validate: { anyPattern: [{ spec: { a: 1 } }, { spec: { b: 2 } }] } }]));
  assert.deepEqual((any[1].validate as JsonObject).anyPattern, [{ spec: { template: { spec: { a: 1 } } } }, { spec: { template: { spec: { b: 2 } } } }]);
  assert.deepEqual((any[1].match as JsonObject).resources, { kinds: CONTROLLERS });

  const deny = computeRules(policy([{ name: 'd', match: { resources: { kinds: ['Pod'] } }, validate: { message: 'm', deny: { conditions: { any: [{ key: '{{ request.object.spec.hostNetwork }}', operator: 'Equals', value: true }] } } } }]));
  assert.deepEqual((deny[1].validate as JsonObject).deny, { conditions: { any: [{ key: '{{ request.object.spec.template.spec.hostNetwork }}', operator: 'Equals', value: true }] } });

  const foreachMutate = computeRules(
    policy([{ name: 'f', match: { resources: { kinds: ['Pod'] } }, mutate: { foreach: [{ list: 'request.object.spec.containers', patchStrategicMerge: { spec: { containers: [{ '(name)': '{{ element.name }}', imagePullPolicy: 'Always' }] } } }] } }]),
  );
  assert.deepEqual(foreachMutate[1].mutate, {
    foreach: [
      {
        list: 'request.object.spec.template.spec.containers',
        patchStrategicMerge: { spec: { template: { spec: { containers: [{ '(name)': '{{ element.name }}', imagePullPolicy: 'Always' }] } } } },
      },
    ],
  });
  // A rule whose body Kyverno cannot move produces no autogen rule.
  const manifests = policy([{ name: 'm', match: { resources: { kinds: ['Pod'] } }, validate: { manifests: { attestors: [] } } }]);
  assert.deepEqual(names(computeRules(manifests)), ['m']);
  assert.match(describeAutogen(manifests, 'm').reason ?? '', /does not match Pod|nothing Kyverno moves/);
});

test('autogen: annotation selects controllers', () => {
  const rules = [podPattern()];
  assert.deepEqual(names(computeRules(policy(rules, { [AUTOGEN_ANNOTATION]: 'none' }))), ['check']);
  const dep = computeRules(policy(rules, { [AUTOGEN_ANNOTATION]: 'Deployment' }));
  assert.deepEqual(names(dep), ['check', 'autogen-check']);
  assert.deepEqual(((dep[1].match as JsonObject).any as JsonObject[])[0], { resources: { kinds: ['apps/v1/Deployment'] } });
  const cronOnly = computeRules(policy(rules, { [AUTOGEN_ANNOTATION]: 'CronJob' }));
  assert.deepEqual(names(cronOnly), ['check', 'autogen-cronjob-check']);
  const both = computeRules(policy(rules, { [AUTOGEN_ANNOTATION]: 'StatefulSet,Deployment,CronJob' }));
  assert.deepEqual(names(both), ['check', 'autogen-check', 'autogen-cronjob-check']);
  assert.deepEqual(((both[1].match as JsonObject).any as JsonObject[])[0], { resources: { kinds: ['apps/v1/Deployment', 'apps/v1/StatefulSet'] } });
  assert.deepEqual(autogenControllers(policy(rules, { [AUTOGEN_ANNOTATION]: 'StatefulSet,Deployment,CronJob' })), ['Deployment', 'StatefulSet', 'CronJob']);
  assert.deepEqual(names(computeRules(policy(rules, { [AUTOGEN_ANNOTATION]: 'Deployment' }), 'DaemonSet')), ['check']);
  // The annotation cannot re-enable autogen that the rule shapes forbid.
  const withSelector = [{ ...podPattern(), match: { resources: { kinds: ['Pod'], selector: { matchLabels: { a: 'b' } } } } }];
  assert.deepEqual(names(computeRules(policy(withSelector, { [AUTOGEN_ANNOTATION]: 'Deployment' }))), ['check']);
  assert.deepEqual(autogenControllers(policy(withSelector)), []);
  assert.match(describeAutogen(policy(withSelector), 'check').reason ?? '', /label selector/);
});

test('autogen: evaluation order, non-Pod rules and existing autogen rules', () => {
  const ns = { name: 'ns-rule', match: { resources: { kinds: ['Namespace'] } }, validate: { pattern: { metadata: { name: '?*' } } } };
  const rules = computeRules(policy([podPattern('a'), ns, podPattern('b'), { ...podPattern('autogen-old') }]));
  assert.deepEqual(names(rules), ['a', 'ns-rule', 'b', 'autogen-a', 'autogen-cronjob-a', 'autogen-b', 'autogen-cronjob-b']);
  // Exclude naming only other kinds blocks autogen for that rule.
  const excl = { ...podPattern('c'), exclude: { resources: { kinds: ['Deployment'] } } };
  assert.deepEqual(names(computeRules(policy([excl]))), ['c']);
  const d = describeAutogen(policy([podPattern('a')]), 'a');
  assert.deepEqual(d, {
    rules: [
      { name: 'autogen-a', kinds: CONTROLLERS },
      { name: 'autogen-cronjob-a', kinds: ['batch/v1/CronJob'] },
    ],
  });
  assert.match(describeAutogen(policy([podPattern('a')]), 'zzz').reason ?? '', /no rule named/);
  assert.deepEqual(computeRules({ kind: 'ValidatingPolicy', spec: {} }), []);
});

test('autogen: FindAndShiftReferences', () => {
  assert.equal(shiftReferences('$(./../pattern/spec/x)', 'spec/template', 'pattern'), '$(./../pattern/spec/template/spec/x)');
  assert.equal(shiftReferences('v is $(./../anyPattern/0/spec/x)', 'spec/template', 'anyPattern'), 'v is $(./../anyPattern/0/spec/template/spec/x)');
  assert.equal(shiftReferences('escaped \\$(./../pattern/x)', 'spec/template', 'pattern'), 'escaped \\$(./../pattern/x)');
  assert.equal(shiftReferences('no refs', 'spec/template', 'pattern'), 'no refs');
});

test('autogen: reportProperties are carried to the controller rules and rewritten for the template (createRule, convertRule)', () => {
  const p = policy([{ name: 'r', match: { resources: { kinds: ['Pod'] } }, reportProperties: { image: '{{ request.object.spec.containers[0].image }}' }, validate: { deny: {} } }]);
  const rules = computeRules(p);
  assert.deepEqual(rules[1].reportProperties, { image: '{{ request.object.spec.template.spec.containers[0].image }}' });
  assert.deepEqual(rules[2].reportProperties, { image: '{{ request.object.spec.jobTemplate.spec.template.spec.containers[0].image }}' });
  const none = computeRules(policy([{ name: 'r', match: { resources: { kinds: ['Pod'] } }, reportProperties: {}, validate: { deny: {} } }]));
  assert.equal('reportProperties' in none[1], false, 'an empty map is left out');
});
