// applyGenerateRule: data, clone, cloneList and foreach against known cluster resources,
// following Kyverno's generate controller (only created resources are reported).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyGenerateRule } from '../../engine/generate';
import type { JsonObject } from '../../engine/core/types';

const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', labels: { env: 'prod' } } };
const scopeFor = (r: JsonObject) => ({ data: { request: { operation: 'CREATE', object: r } } as JsonObject });
const labels = (r: JsonObject) => ((r.metadata as JsonObject).labels ?? {}) as JsonObject;

test('data: substituted, identity from the rule, Kyverno labels added', () => {
  const out = applyGenerateRule({ name: 'quota', generate: {
    apiVersion: 'v1', kind: 'ResourceQuota', name: 'default', namespace: '{{ request.object.metadata.name }}', synchronize: true,
    data: { spec: { hard: { pods: '10' } }, metadata: { labels: { env: '{{ request.object.metadata.labels.env }}' } } },
  } }, ns, scopeFor(ns), [], { policyName: 'add-quota' });
  assert.equal(out.result.status, 'pass');
  assert.equal(out.synchronize, true);
  assert.equal(out.generated.length, 1);
  const r = out.generated[0];
  assert.deepEqual([r.apiVersion, r.kind, (r.metadata as JsonObject).name, (r.metadata as JsonObject).namespace], ['v1', 'ResourceQuota', 'default', 'team-a']);
  assert.deepEqual(r.spec, { hard: { pods: '10' } });
  assert.equal(labels(r).env, 'prod');
  assert.equal(labels(r)['app.kubernetes.io/managed-by'], 'kyverno');
  assert.equal(labels(r)['generate.kyverno.io/rule-name'], 'quota');
  assert.equal(labels(r)['generate.kyverno.io/policy-name'], 'add-quota');
  assert.deepEqual(out.result.generatedResources, out.generated);
});

test('data: an existing target is not generated again', () => {
  const existing = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'team-a' }, data: { a: '1' } };
  const rule = (synchronize: boolean) => ({ name: 'r', generate: { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', namespace: 'team-a', synchronize, data: { data: { a: '2' } } } });
  for (const sync of [false, true]) {
    const out = applyGenerateRule(rule(sync), ns, scopeFor(ns), [existing]);
    assert.equal(out.result.status, 'pass');
    assert.deepEqual(out.generated, []);
  }
});

test('clone: copies the source without server fields into the target', () => {
  const source = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'regcred', namespace: 'default', uid: 'u1', resourceVersion: '7', creationTimestamp: 't', ownerReferences: [{ uid: 'x' }] }, data: { k: 'dg==' } };
  const out = applyGenerateRule({ name: 'clone', generate: {
    apiVersion: 'v1', kind: 'Secret', name: 'regcred', namespace: '{{ request.object.metadata.name }}', clone: { namespace: 'default', name: 'regcred' },
  } }, ns, scopeFor(ns), [source]);
  assert.equal(out.result.status, 'pass', out.result.message);
  const r = out.generated[0];
  assert.deepEqual(r.data, { k: 'dg==' });
  const m = r.metadata as JsonObject;
  assert.equal(m.namespace, 'team-a');
  for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'ownerReferences']) assert.equal(m[k], undefined, k);
  assert.equal((source.metadata as JsonObject).uid, 'u1', 'the source is not modified');
});

test('clone: the copy carries the source\'s labels, clone-source, the source-* labels naming the source (not its name) and the trigger labels', () => {
  const source = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'templates', uid: 'src-uid', labels: { app: 'web' } }, spec: { replicas: 1 } };
  const trigger = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', uid: 'ns-uid' } };
  const out = applyGenerateRule({ name: 'copy', generate: {
    apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-copy', namespace: 'team-a', clone: { namespace: 'templates', name: 'web' },
  } }, trigger, scopeFor(trigger), [source], { policyName: 'copy-web' });
  assert.equal(out.result.status, 'pass', out.result.message);
  assert.deepEqual(labels(out.generated[0]), {
    app: 'web',
    'generate.kyverno.io/clone-source': '',
    'generate.kyverno.io/source-group': 'apps',
    'generate.kyverno.io/source-version': 'v1',
    'generate.kyverno.io/source-kind': 'Deployment',
    'generate.kyverno.io/source-namespace': 'templates',
    'generate.kyverno.io/source-uid': 'src-uid',
    'app.kubernetes.io/managed-by': 'kyverno',
    'generate.kyverno.io/policy-name': 'copy-web',
    'generate.kyverno.io/policy-namespace': '',
    'generate.kyverno.io/rule-name': 'copy',
    'generate.kyverno.io/trigger-group': '',
    'generate.kyverno.io/trigger-version': 'v1',
    'generate.kyverno.io/trigger-kind': 'Namespace',
    'generate.kyverno.io/trigger-namespace': '',
    'generate.kyverno.io/trigger-uid': 'ns-uid',
  });
  // A source without a uid (a test file) gives an empty source-uid, as the CLI's fake client does.
  const bare = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' } };
  const listed = applyGenerateRule({ name: 'list', generate: { namespace: 'team-a', cloneList: { namespace: 'default', kinds: ['v1/ConfigMap'] } } }, trigger, scopeFor(trigger), [bare]);
  const l = labels(listed.generated[0]);
  assert.deepEqual([l['generate.kyverno.io/source-kind'], l['generate.kyverno.io/source-namespace'], l['generate.kyverno.io/source-uid'], l['generate.kyverno.io/source-version']], ['ConfigMap', 'default', '', 'v1']);
  // Data downstream objects carry no source labels.
  const data = applyGenerateRule({ name: 'd', generate: { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', namespace: 'team-a', data: { data: { a: '1' } } } }, trigger, scopeFor(trigger), []);
  assert.deepEqual(Object.keys(labels(data.generated[0])).filter((k) => k.includes('source')), []);
});

test('clone: a missing source fails the controller (the CLI logs it and generates nothing); a namespaced policy must clone from its namespace', () => {
  const rule = { name: 'clone', generate: { apiVersion: 'v1', kind: 'Secret', name: 's', namespace: 'team-a', clone: { namespace: 'default', name: 'nope' } } };
  const elsewhere = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'nope', namespace: 'other' } };
  const missing = applyGenerateRule(rule, ns, scopeFor(ns), [elsewhere]);
  assert.equal(missing.result.status, 'pass');
  assert.deepEqual(missing.result.generatedResources, []);
  assert.equal(missing.controllerError, 'source resource v1/Secret/team-a/s not found: secrets "nope" not found');
  assert.equal(missing.result.message, `failed to apply generate policy: ${missing.controllerError}`);
  const apps = applyGenerateRule({ name: 'c', generate: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'd', namespace: 'team-a', clone: { namespace: 'x', name: 'd' } } }, ns, scopeFor(ns), []);
  assert.match(apps.controllerError ?? '', /: deployments\.apps "d" not found$/);
  const scoped = applyGenerateRule(rule, ns, scopeFor(ns), [], { policyNamespace: 'team-a' });
  assert.equal(scoped.result.status, 'error');
  assert.equal(scoped.result.message, 'generate.clone.namespace "default" must equal policy namespace "team-a"');
});

test('cloneList: every selected source of each kind is cloned into the target namespace', () => {
  const mk = (kind: string, name: string, namespace: string, l: JsonObject = {}) => ({ apiVersion: 'v1', kind, metadata: { name, namespace, labels: l } });
  const sources = [mk('Secret', 's1', 'default', { sync: 'yes' }), mk('Secret', 's2', 'default'), mk('ConfigMap', 'c1', 'default', { sync: 'yes' }), mk('ConfigMap', 'c2', 'other', { sync: 'yes' })];
  const out = applyGenerateRule({ name: 'list', generate: {
    namespace: 'team-a', cloneList: { namespace: 'default', kinds: ['v1/Secret', 'v1/ConfigMap'], selector: { matchLabels: { sync: 'yes' } } },
  } }, ns, scopeFor(ns), sources);
  assert.equal(out.result.status, 'pass', out.result.message);
  assert.deepEqual(out.generated.map((r) => [r.kind, (r.metadata as JsonObject).name, (r.metadata as JsonObject).namespace]), [['Secret', 's1', 'team-a'], ['ConfigMap', 'c1', 'team-a']]);
});

test('foreach: one resource per element, with per-element preconditions', () => {
  const trigger = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'list', namespace: 'default' }, data: { namespaces: 'a,b,c' } };
  const out = applyGenerateRule({ name: 'fe', generate: { generateExisting: true, foreach: [{
    list: "split(request.object.data.namespaces, ',')",
    preconditions: { all: [{ key: '{{ element }}', operator: 'NotEquals', value: 'b' }] },
    apiVersion: 'v1', kind: 'ConfigMap', name: 'copy-{{ elementIndex }}', namespace: '{{ element }}', data: { data: { from: '{{ request.object.metadata.name }}' } },
  }] } }, trigger, scopeFor(trigger), []);
  assert.equal(out.result.status, 'pass', out.result.message);
  assert.equal(out.generateExisting, true);
  assert.deepEqual(out.generated.map((r) => [(r.metadata as JsonObject).namespace, (r.metadata as JsonObject).name, (r.data as JsonObject).from]), [['a', 'copy-0', 'list'], ['c', 'copy-2', 'list']]);
});

test('labels: exactly Kyverno ManageLabels (managed-by, policy info, trigger info with uid even when empty)', () => {
  const trigger = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'team-a', uid: 'u-1' } };
  const rule = { name: 'cm', generate: { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', namespace: 'team-a', data: { metadata: { labels: { own: 'x', 'app.kubernetes.io/managed-by': 'helm' } } } } };
  const out = applyGenerateRule(rule, trigger, scopeFor(trigger), [], { policyName: 'p', policyNamespace: 'team-a' });
  assert.deepEqual(labels(out.generated[0]), {
    own: 'x',
    'app.kubernetes.io/managed-by': 'kyverno',
    'generate.kyverno.io/policy-name': 'p',
    'generate.kyverno.io/policy-namespace': 'team-a',
    'generate.kyverno.io/rule-name': 'cm',
    'generate.kyverno.io/trigger-group': 'apps',
    'generate.kyverno.io/trigger-version': 'v1',
    'generate.kyverno.io/trigger-kind': 'Deployment',
    'generate.kyverno.io/trigger-namespace': 'team-a',
    'generate.kyverno.io/trigger-uid': 'u-1',
  });
  const noUid = applyGenerateRule(rule, ns, scopeFor(ns), []);
  assert.equal(labels(noUid.generated[0])['generate.kyverno.io/trigger-uid'], '');
  assert.equal(labels(noUid.generated[0])['generate.kyverno.io/trigger-group'], '');
});

test('flags: synchronize, generateExisting (rule wins over policy), orphanDownstreamOnPolicyDelete', () => {
  const rule = (extra: JsonObject) => ({ name: 'r', generate: { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', namespace: 'team-a', data: {}, ...extra } });
  const plain = applyGenerateRule(rule({}), ns, scopeFor(ns), [], { policyGenerateExisting: true });
  assert.deepEqual([plain.synchronize, plain.generateExisting, plain.orphanDownstreamOnPolicyDelete], [false, true, undefined]);
  const own = applyGenerateRule(rule({ generateExisting: false, synchronize: true, orphanDownstreamOnPolicyDelete: true }), ns, scopeFor(ns), [], { policyGenerateExisting: true });
  assert.deepEqual([own.synchronize, own.generateExisting, own.orphanDownstreamOnPolicyDelete], [true, false, true]);
  assert.equal(applyGenerateRule(rule({}), ns, scopeFor(ns), []).generateExisting, undefined);
});

test('applyPolicy: a controller failure on one rule drops the generated resources of every generate rule of the policy', async () => {
  const { applyPolicy } = await import('../../engine/apply');
  const matchNs = { any: [{ resources: { kinds: ['Namespace'] } }] };
  const policy = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' }, spec: { rules: [
    { name: 'ok', match: matchNs, generate: { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', namespace: 'team-a', data: { data: { a: 'b' } } } },
    { name: 'broken', match: matchNs, generate: { apiVersion: 'v1', kind: 'Secret', name: 's', namespace: 'team-a', clone: { namespace: 'missing-ns', name: 's' } } },
  ] } };
  const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
  const rules = applyPolicy(policy, { request: { operation: 'CREATE', object: ns, oldObject: null, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } }, cluster }).rules;
  assert.deepEqual(rules.map((r) => [r.name, r.status, r.generatedResources?.length]), [['ok', 'pass', 0], ['broken', 'pass', 0]]);
  assert.match(rules[1].message, /^failed to apply generate policy: source resource v1\/Secret\/team-a\/s not found/);
  const alone = applyPolicy({ ...policy, spec: { rules: [policy.spec.rules[0]] } }, { request: { operation: 'CREATE', object: ns, oldObject: null, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } }, cluster }).rules;
  assert.equal(alone[0].generatedResources?.length, 1);
});

test('applyPolicy: generate preconditions as ApplyBackgroundChecks decides them (skip without message, "failed to evaluate conditions")', async () => {
  const { applyPolicy } = await import('../../engine/apply');
  const rule = (preconditions: JsonObject) => ({ name: 'g', match: { any: [{ resources: { kinds: ['Namespace'] } }] }, preconditions,
    generate: { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', namespace: 'team-a', data: {} } });
  const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
  const run = (preconditions: JsonObject) => applyPolicy({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' }, spec: { rules: [rule(preconditions)] } },
    { request: { operation: 'CREATE', object: ns, oldObject: null, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } }, cluster }).rules[0];
  const notMet = run({ all: [{ key: '{{ request.object.metadata.name }}', operator: 'Equals', value: 'other' }] });
  assert.deepEqual([notMet.status, notMet.message], ['skip', '']);
  const broken = run({ all: [{ key: 'a', operator: 'Frobnicates', value: 'b' }] });
  assert.equal(broken.status, 'error');
  assert.match(broken.message, /^failed to evaluate conditions: /);
});

test('data: a rule without data creates its target bare (Kyverno\'s typed nil data is not a nil interface)', () => {
  const out = applyGenerateRule({ name: 'sa', generate: { apiVersion: 'v1', kind: 'ServiceAccount', name: 'builder', namespace: '{{ request.object.metadata.name }}' } }, ns, scopeFor(ns), []);
  assert.equal(out.result.status, 'pass');
  assert.equal(out.generated.length, 1);
  const r = out.generated[0];
  assert.deepEqual([r.apiVersion, r.kind, (r.metadata as JsonObject).name, (r.metadata as JsonObject).namespace], ['v1', 'ServiceAccount', 'builder', 'team-a']);
  assert.deepEqual(Object.keys(r).sort(), ['apiVersion', 'kind', 'metadata']);
});
