/**
 * The classic policies' resource webhook rules against Kyverno's own expectations: the cases
 * of pkg/controllers/webhook/utils_test.go (TestBuildRulesWithOperations,
 * Test_collectResourceDescriptions, TestSortedRules) and the webhook configurations asserted
 * by its chainsaw scenarios (test/conformance/chainsaw/webhooks), carried over as data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { policyNeeds, rulesWithOperations, webhookNeeds, webhookRules } from '../../webhook/rules';
import { findResources, knownKindTable, type KindTable } from '../../engine/kube';
import { webhookConfigurations } from '../../webhook/configurations';
import { kindTable } from '../../kube-api/discovery';
import type { KubeClient } from '../../kube-api/client';

type Json = Record<string, unknown>;
const ALL = ['CONNECT', 'CREATE', 'DELETE', 'UPDATE'];

const entry = (group: string, version: string, resource: string, subresource: string, scope: string, operation: string) => ({ group, version, resource, subresource, scope, operation });

test('rules from entries: one rule per group, version, scope and operation set, pods/ephemeralcontainers beside pods (TestBuildRulesWithOperations)', () => {
  assert.deepEqual(rulesWithOperations([entry('', 'v1', 'configmaps', '', 'Namespaced', 'CREATE'), entry('', 'v1', 'pods', '', 'Namespaced', 'CREATE')]), [
    { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps', 'pods', 'pods/ephemeralcontainers'], scope: 'Namespaced' },
  ]);
  assert.deepEqual(
    rulesWithOperations([entry('', 'v1', 'configmaps', '', 'Namespaced', 'CREATE'), entry('', 'v1', 'pods', '', 'Namespaced', 'CREATE'), entry('', 'v1', 'pods', '', 'Namespaced', 'UPDATE')]),
    [
      { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'], scope: 'Namespaced' },
      { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods', 'pods/ephemeralcontainers'], scope: 'Namespaced' },
    ],
  );
});

test('rules from entries: what a broader entry covers is dropped (hasRule)', () => {
  const rules = rulesWithOperations([
    entry('*', '*', '*', '', '*', 'CREATE'),
    entry('', 'v1', 'pods', '', 'Namespaced', 'CREATE'),
    entry('apps', 'v1', 'deployments', 'scale', 'Namespaced', 'CREATE'),
    entry('*', '*', '*', 'scale', '*', 'UPDATE'),
    entry('apps', 'v1', 'deployments', 'scale', 'Namespaced', 'UPDATE'),
  ]);
  assert.deepEqual(rules, [
    { apiGroups: ['*'], apiVersions: ['*'], operations: ['UPDATE'], resources: ['*/scale'], scope: '*' },
    { apiGroups: ['*'], apiVersions: ['*'], operations: ['CREATE'], resources: ['*', 'pods/ephemeralcontainers'], scope: '*' },
    // `*` (no subresource) does not cover `deployments/scale`; `*/scale` covers it for UPDATE.
    { apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['deployments/scale'], scope: 'Namespaced' },
  ]);
});

test('rule order: groups, versions, resources (shorter lists first), operations, scope (TestSortedRules)', () => {
  const order = (entries: ReturnType<typeof entry>[]) => rulesWithOperations(entries).map((r) => [r.apiGroups, r.apiVersions, r.resources, r.operations, r.scope]);
  assert.deepEqual(order([entry('batch', 'v1', 'jobs', '', 'Namespaced', 'CREATE'), entry('apps', 'v1', 'deployments', '', 'Namespaced', 'UPDATE')]).map((r) => r[0]), [['apps'], ['batch']]);
  assert.deepEqual(order([entry('apps', 'v1beta1', 'deployments', '', 'Namespaced', 'CREATE'), entry('apps', 'v1', 'deployments', '', 'Namespaced', 'CREATE')]).map((r) => r[1]), [['v1'], ['v1beta1']]);
  assert.deepEqual(
    order([entry('batch', 'v1', 'jobs', '', 'Namespaced', 'CREATE'), entry('batch', 'v1', 'cronjobs', '', 'Namespaced', 'DELETE'), entry('batch', 'v1', 'zjobs', '', 'Namespaced', 'DELETE')]).map((r) => r[2]),
    [['jobs'], ['cronjobs', 'zjobs']],
  );
  assert.deepEqual(order([entry('apps', 'v1', 'deployments', '', 'Namespaced', 'CREATE'), entry('apps', 'v1', 'deployments', '', 'Cluster', 'CREATE')]).map((r) => r[4]), ['Cluster', 'Namespaced']);
});

const classic = (rule: Json, kind = 'ClusterPolicy', spec: Json = {}): Json => ({
  apiVersion: 'kyverno.io/v1',
  kind,
  metadata: { name: 'p', ...(kind === 'Policy' ? { namespace: 'team' } : {}), annotations: { 'pod-policies.kyverno.io/autogen-controllers': 'none' } },
  spec: { ...spec, rules: [{ name: 'r', ...rule }] },
});
/** Per kind, the operations policyNeeds asks of `path` (sorted). */
const kindOps = (p: Json, path: 'validate' | 'mutate') =>
  Object.fromEntries(policyNeeds(p).filter((n) => n.path === path).flatMap((n) => n.kinds.map((k) => [k, [...n.operations].sort()])));
const any = (...blocks: Json[]) => ({ any: blocks.map((resources) => ({ resources })) });

test('operations per kind from match and exclude (Test_collectResourceDescriptions)', () => {
  const validate = { pattern: {} };
  const mutate = { patchStrategicMerge: { metadata: { labels: { a: 'b' } } } };
  // Defaults: every operation for the validating webhook, CREATE and UPDATE for the mutating one.
  assert.deepEqual(kindOps(classic({ match: any({ kinds: ['ConfigMap'] }), validate }), 'validate'), { ConfigMap: ALL });
  assert.deepEqual(kindOps(classic({ match: any({ kinds: ['ConfigMap'] }), mutate }), 'mutate'), { ConfigMap: ['CREATE', 'UPDATE'] });
  assert.deepEqual(kindOps(classic({ match: { all: [{ resources: { kinds: ['ConfigMap'] } }] }, mutate }), 'mutate'), { ConfigMap: ['CREATE', 'UPDATE'] });
  assert.deepEqual(kindOps(classic({ match: { resources: { kinds: ['ConfigMap'], operations: ['DELETE'] } }, validate }), 'validate'), { ConfigMap: ['DELETE'] });
  const two = any({ kinds: ['ConfigMap'], operations: ['CREATE'] }, { kinds: ['Secret'], operations: ['UPDATE'] });
  assert.deepEqual(kindOps(classic({ match: two, validate }), 'validate'), { ConfigMap: ['CREATE'], Secret: ['UPDATE'] });
  const matchAll = any({ kinds: ['ConfigMap'], operations: ALL }, { kinds: ['Secret'], operations: ['UPDATE'] });
  // An exclude naming a kind without operations takes every operation away.
  assert.deepEqual(kindOps(classic({ match: matchAll, exclude: any({ kinds: ['ConfigMap'] }), validate }), 'validate'), { ConfigMap: [], Secret: ['UPDATE'] });
  assert.deepEqual(kindOps(classic({ match: matchAll, exclude: any({ kinds: ['ConfigMap'], operations: ['CONNECT'] }), validate }), 'validate'), { ConfigMap: ['CREATE', 'DELETE', 'UPDATE'], Secret: ['UPDATE'] });
  // An exclude without kinds applies to every matched kind.
  assert.deepEqual(kindOps(classic({ match: any({ kinds: ['ConfigMap'] }), exclude: any({ operations: ['DELETE'] }), validate }), 'validate'), { ConfigMap: ['CONNECT', 'CREATE', 'UPDATE'] });
  // Excludes that narrow by anything else (names, namespaces, annotations, selectors, subjects) are left to the engine.
  for (const narrowing of [{ annotations: { foo: 'bar' } }, { name: 'foo' }, { names: ['foo'] }, { namespaces: ['foo'] }, { selector: { matchLabels: { foo: 'bar' } } }, { namespaceSelector: { matchLabels: { foo: 'bar' } } }]) {
    const exclude = any({ kinds: ['ConfigMap'], operations: ['CONNECT'], ...narrowing });
    assert.deepEqual(kindOps(classic({ match: matchAll, exclude, validate }), 'validate'), { ConfigMap: ALL, Secret: ['UPDATE'] }, JSON.stringify(narrowing));
  }
  const bySubject = { any: [{ resources: { kinds: ['ConfigMap'] }, subjects: [{ kind: 'User', name: 'u' }] }] };
  assert.deepEqual(kindOps(classic({ match: matchAll, exclude: bySubject, validate }), 'validate'), { ConfigMap: ALL, Secret: ['UPDATE'] });
});

test('which webhook: validate, generate, mutate-existing and image checks on the validating one; mutate and verifyImages on the mutating one; admission: false on none', () => {
  const paths = (rule: Json, spec: Json = {}) => [...new Set(policyNeeds(classic({ match: any({ kinds: ['Pod'] }), ...rule }, 'ClusterPolicy', spec)).map((n) => n.path))];
  assert.deepEqual(paths({ validate: { pattern: {} } }), ['validate']);
  assert.deepEqual(paths({ mutate: { patchStrategicMerge: {} } }), ['mutate']);
  assert.deepEqual(paths({ mutate: { targets: [{ apiVersion: 'v1', kind: 'ConfigMap' }], patchStrategicMerge: {} } }), ['validate']);
  // verifyDigest and required default to true: both webhooks.
  assert.deepEqual(paths({ verifyImages: [{ imageReferences: ['*'] }] }), ['validate', 'mutate']);
  assert.deepEqual(paths({ verifyImages: [{ imageReferences: ['*'], verifyDigest: false, required: false }] }), ['mutate']);
  assert.deepEqual(paths({ validate: { pattern: {} } }, { admission: false }), []);
  assert.deepEqual(paths({ validate: { pattern: {} } }, { admission: true, background: false }), ['validate']);
  // Background-only: no webhook, yet its scan and reports still read the kinds it matches.
  const backgroundOnly = classic({ match: any({ kinds: ['Pod'] }), validate: { deny: {} } }, 'ClusterPolicy', { admission: false, background: true });
  assert.deepEqual(policyNeeds(backgroundOnly, 'reads').map((n) => [n.path, n.kinds]), [['validate', ['Pod']]]);
  // The failure action decides the answer, not the webhook: Audit and Enforce share `-fail`.
  const failurePolicies = (spec: Json) => policyNeeds(classic({ match: any({ kinds: ['Pod'] }), validate: { pattern: {} } }, 'ClusterPolicy', spec)).map((n) => n.failurePolicy);
  assert.deepEqual(failurePolicies({ validationFailureAction: 'Audit' }), ['Fail']);
  assert.deepEqual(failurePolicies({ validationFailureAction: 'Enforce' }), ['Fail']);
  assert.deepEqual(failurePolicies({ webhookConfiguration: { failurePolicy: 'Ignore' }, failurePolicy: 'Fail' }), ['Ignore']);
});

/** The `validate.kyverno.svc-*` webhooks' rules for these policies, as the chainsaw scenarios assert them. */
const validatingRules = (policies: Json[], table: KindTable = knownKindTable()) =>
  webhookNeeds(policies, table).filter((n) => n.path === 'validate').map((n) => webhookRules(n));

test('chainsaw webhooks scenarios: kinds resolve to served versions and scopes', () => {
  const validate = { validate: { failureAction: 'Audit', pattern: { metadata: { labels: { team: '?*' } } } } };
  // only-pod
  assert.deepEqual(validatingRules([classic({ match: any({ kinds: ['Pod'] }), ...validate })]), [
    [{ apiGroups: [''], apiVersions: ['v1'], operations: ALL, resources: ['pods', 'pods/ephemeralcontainers'], scope: 'Namespaced' }],
  ]);
  // policy: a Policy's `*` stays namespaced; policy-clusterpolicy-wildcard-resource: a ClusterPolicy's `*` covers it.
  const star = { match: any({ kinds: ['*'] }), ...validate };
  assert.deepEqual(validatingRules([classic(star, 'Policy')]), [[{ apiGroups: ['*'], apiVersions: ['*'], operations: ALL, resources: ['*', 'pods/ephemeralcontainers'], scope: 'Namespaced' }]]);
  assert.deepEqual(validatingRules([classic(star, 'Policy'), classic(star)]), [[{ apiGroups: ['*'], apiVersions: ['*'], operations: ALL, resources: ['*', 'pods/ephemeralcontainers'], scope: '*' }]]);
  // policy-clusterpolicy-namespaced-clusterscoped-resources: a cluster-scoped kind is registered with scope `*`.
  assert.deepEqual(validatingRules([classic({ match: any({ kinds: ['ConfigMap', 'CustomResourceDefinition'] }), ...validate })]), [
    [
      { apiGroups: [''], apiVersions: ['v1'], operations: ALL, resources: ['configmaps'], scope: 'Namespaced' },
      { apiGroups: ['apiextensions.k8s.io'], apiVersions: ['v1'], operations: ALL, resources: ['customresourcedefinitions'], scope: '*' },
    ],
  ]);
  // double-wildcard, all-scale
  assert.deepEqual(validatingRules([classic({ match: any({ kinds: ['*/*'] }), ...validate })]), [[{ apiGroups: ['*'], apiVersions: ['*'], operations: ALL, resources: ['*/*'], scope: '*' }]]);
  assert.deepEqual(validatingRules([classic({ match: any({ kinds: ['*/scale'] }), ...validate })]), [[{ apiGroups: ['*'], apiVersions: ['*'], operations: ALL, resources: ['*/scale'], scope: '*' }]]);
  // dyn-op-validate-multiple: an exclude of DELETE for every kind, and a second policy.
  const configMaps = classic({ match: any({ kinds: ['ConfigMap'] }), exclude: any({ operations: ['DELETE'] }), ...validate });
  const scale = classic({ match: any({ kinds: ['*/scale'], operations: ['CREATE'] }), ...validate });
  assert.deepEqual(validatingRules([configMaps, scale]), [
    [
      { apiGroups: [''], apiVersions: ['v1'], operations: ['CONNECT', 'CREATE', 'UPDATE'], resources: ['configmaps'], scope: 'Namespaced' },
      { apiGroups: ['*'], apiVersions: ['*'], operations: ['CREATE'], resources: ['*/scale'], scope: '*' },
    ],
  ]);
  // pod-all-subresources: `Pod/*` is each of pods' subresources.
  const [[podSubs]] = validatingRules([classic({ match: any({ kinds: ['Pod/*'] }), ...validate })]);
  for (const sub of ['status', 'log', 'attach', 'ephemeralcontainers', 'eviction', 'exec', 'portforward', 'binding', 'proxy']) assert.ok((podSubs.resources as string[]).includes(`pods/${sub}`), sub);
  assert.ok(!(podSubs.resources as string[]).includes('pods'));
  assert.equal(podSubs.scope, 'Namespaced');
});

test('chainsaw webhooks scenarios: the mutating webhook (pod-exec-subresource, dyn-op-mutate-multiple)', () => {
  const mutate = { mutate: { patchStrategicMerge: { metadata: { annotations: { a: 'b' } } } } };
  const mutating = (policies: Json[]) => webhookNeeds(policies, knownKindTable()).filter((n) => n.path === 'mutate').map((n) => webhookRules(n));
  assert.deepEqual(mutating([classic({ match: any({ kinds: ['Pod/exec'], operations: ['CONNECT'] }), ...mutate })]), [
    [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CONNECT'], resources: ['pods/exec'], scope: 'Namespaced' }],
  ]);
  assert.deepEqual(mutating([classic({ match: any({ kinds: ['*/scale'], operations: ['CREATE'] }), ...mutate }), classic({ match: any({ kinds: ['Secret'], operations: ['UPDATE'] }), ...mutate })]), [
    [
      { apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['secrets'], scope: 'Namespaced' },
      { apiGroups: ['*'], apiVersions: ['*'], operations: ['CREATE'], resources: ['*/scale'], scope: '*' },
    ],
  ]);
});

test('every served version of a kind, group/version/kind selectors, wildcard kinds, and CRD kinds from discovery', () => {
  const validate = { validate: { pattern: {} } };
  // HorizontalPodAutoscaler is served as autoscaling/v1 and autoscaling/v2: both are registered.
  assert.deepEqual(validatingRules([classic({ match: any({ kinds: ['HorizontalPodAutoscaler'] }), ...validate })]), [
    [
      { apiGroups: ['autoscaling'], apiVersions: ['v1'], operations: ALL, resources: ['horizontalpodautoscalers'], scope: 'Namespaced' },
      { apiGroups: ['autoscaling'], apiVersions: ['v2'], operations: ALL, resources: ['horizontalpodautoscalers'], scope: 'Namespaced' },
    ],
  ]);
  assert.deepEqual(validatingRules([classic({ match: any({ kinds: ['autoscaling/v2/HorizontalPodAutoscaler'] }), ...validate })])[0].map((r) => r.apiVersions), [['v2']]);
  // A wildcard in a kind name is looked up like any other (Kyverno's FindResources), not registered as `*`.
  const podStar = validatingRules([classic({ match: any({ kinds: ['Pod*'] }), ...validate })])[0].flatMap((r) => r.resources as string[]);
  assert.deepEqual(podStar.sort(), ['poddisruptionbudgets', 'pods', 'pods/ephemeralcontainers', 'podtemplates']);
  // A CRD kind: discovery's entry gives its group, versions, scope and subresources.
  const table = knownKindTable();
  table.set('Widget', [{ group: 'acme.io', version: 'v1', otherVersions: ['v1beta1'], resource: 'widgets', namespaced: false, subresources: ['status'] }]);
  assert.deepEqual(validatingRules([classic({ match: any({ kinds: ['Widget', 'Widget/status'] }), ...validate })], table), [
    [
      { apiGroups: ['acme.io'], apiVersions: ['v1'], operations: ALL, resources: ['widgets', 'widgets/status'], scope: '*' },
      { apiGroups: ['acme.io'], apiVersions: ['v1beta1'], operations: ALL, resources: ['widgets', 'widgets/status'], scope: '*' },
    ],
  ]);
  assert.deepEqual(findResources(table, '*', '*', 'Widget', 'missing'), []);
  const [need] = webhookNeeds([classic({ match: any({ kinds: ['Gadget'] }), ...validate })], table);
  assert.deepEqual([need.unresolved, need.rules], [['Gadget'], []]);
});

test('webhook configurations: classic rules, fine-grained webhooks, IfNeeded reinvocation and timeouts as Kyverno sets them', () => {
  const pods = classic({ match: any({ kinds: ['Pod'] }), mutate: { patchStrategicMerge: {} } }, 'ClusterPolicy', { webhookTimeoutSeconds: 45 });
  const fine = { ...classic({ match: any({ kinds: ['ConfigMap'] }), validate: { pattern: {} } }, 'Policy', { failurePolicy: 'Ignore', webhookConfiguration: { matchConditions: [{ name: 'm', expression: 'true' }] } }) };
  const [vwc, mwc] = webhookConfigurations({ namespace: 'kyverno', caPem: '', needs: webhookNeeds([pods, fine], knownKindTable()), keepEmpty: false });
  const [fineHook] = vwc.webhooks as Json[];
  assert.equal(fineHook.name, 'validate.kyverno.svc-ignore-finegrained-team-p');
  assert.deepEqual(fineHook.rules, [{ apiGroups: [''], apiVersions: ['v1'], operations: ALL, resources: ['configmaps'], scope: 'Namespaced' }]);
  assert.deepEqual(fineHook.matchConditions, [{ name: 'm', expression: 'true' }]);
  assert.equal(fineHook.timeoutSeconds, 10);
  const [podsHook] = mwc.webhooks as Json[];
  assert.equal(podsHook.name, 'mutate.kyverno.svc-fail');
  assert.equal(podsHook.reinvocationPolicy, 'IfNeeded');
  assert.equal(podsHook.timeoutSeconds, 30, 'capped at 30 s');
});

test('discovery reads every served version of a CRD group, with scope and subresources', async () => {
  const answers: Record<string, unknown> = {
    '/apis': { groups: [{ name: 'acme.io', versions: [{ groupVersion: 'acme.io/v1beta1' }, { groupVersion: 'acme.io/v1' }], preferredVersion: { groupVersion: 'acme.io/v1' } }] },
    '/api/v1': { resources: [{ name: 'pods', kind: 'Pod', namespaced: true }] },
    '/apis/acme.io/v1': { resources: [{ name: 'widgets', kind: 'Widget', namespaced: false }, { name: 'widgets/status', kind: 'Widget', namespaced: false }] },
    '/apis/acme.io/v1beta1': { resources: [{ name: 'widgets', kind: 'Widget', namespaced: false }] },
  };
  const client = { request: async ({ path }: { path: string }) => answers[path] ?? {} } as unknown as KubeClient;
  const policy = classic({ match: any({ kinds: ['Widget/status'] }), validate: { pattern: {} } });
  const table = await kindTable(client, [policy]);
  assert.deepEqual(table.get('Widget'), [{ group: 'acme.io', version: 'v1', resource: 'widgets', namespaced: false, subresources: ['status'], otherVersions: ['v1beta1'] }]);
  assert.deepEqual(validatingRules([policy], table), [
    [
      { apiGroups: ['acme.io'], apiVersions: ['v1'], operations: ALL, resources: ['widgets/status'], scope: '*' },
      { apiGroups: ['acme.io'], apiVersions: ['v1beta1'], operations: ALL, resources: ['widgets/status'], scope: '*' },
    ],
  ]);
  // The built-in description of a well-known kind is kept.
  assert.deepEqual(table.get('Pod'), knownKindTable().get('Pod'));
});
