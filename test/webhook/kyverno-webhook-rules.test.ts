/**
 * The classic policies' resource webhook rules against Kyverno's own expectations: the cases
 * of pkg/controllers/webhook/utils_test.go (TestBuildRulesWithOperations,
 * Test_collectResourceDescriptions, TestSortedRules) and the webhook configurations asserted
 * by its chainsaw scenarios (test/conformance/chainsaw/webhooks), carried over as data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classicWebhookNeeds, failurePolicyOf, policyNeeds, reviewDeadlinesMs, rulesWithOperations, webhookNeeds, webhookRules, withFailurePolicyIgnore } from '../../webhook/rules';
import { WebhookController } from '../../webhook/controller';
import { FakeKube } from '../deploy/fake-kube';
import { findResources, knownKindTable, type KindTable } from '../../engine/kube';
import { ALL_CONFIGS, webhookConfigurations } from '../../webhook/configurations';
import { evaluatePolicyMutation, evaluateVerifyMutation } from '../../webhook/evaluate';
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

test("--webhook-timeout (Kyverno's --webhookTimeout): the resource webhooks start there and policies raise it up to 30; the policy and verify webhooks get it as it is; the ttl and CEL webhooks keep 10; review deadlines follow", () => {
  const plain = classic({ match: any({ kinds: ['Pod'] }), validate: { pattern: {} } });
  const slower = classic({ match: any({ kinds: ['ConfigMap'] }), mutate: { patchStrategicMerge: {} } }, 'ClusterPolicy', { webhookTimeoutSeconds: 20 });
  const vpol: Json = { apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy', metadata: { name: 'vp' }, spec: { matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['secrets'] }] }, validations: [{ expression: 'true' }] } };
  const timeouts = (webhookTimeoutSeconds?: number) => {
    const configs = webhookConfigurations({ namespace: 'kyverno', caPem: '', needs: classicWebhookNeeds([plain, slower, vpol], knownKindTable(), webhookTimeoutSeconds), policies: [plain, slower, vpol], keepEmpty: true, webhookTimeoutSeconds });
    return Object.fromEntries(configs.flatMap((c) => (c.webhooks as Json[]).map((w) => [w.name, w.timeoutSeconds])));
  };
  const expected = (base: number, raised: number) => ({
    'validate.kyverno.svc-fail': base, 'vpol.validate.kyverno.svc-fail': 10, 'mutate.kyverno.svc-fail': raised,
    'validate-policy.kyverno.svc': base, 'mutate-policy.kyverno.svc': base, 'monitor-webhooks.kyverno.svc': base, 'kyverno-cleanup-controller.kyverno.svc': 10,
  });
  assert.deepEqual(timeouts(), expected(10, 20), "Kyverno's default, 10");
  assert.deepEqual(timeouts(5), expected(5, 20), 'a lower default: the policy still raises its webhook');
  assert.deepEqual(timeouts(25), expected(25, 25), 'a higher default: a policy asking less does not lower it');
  assert.equal(classicWebhookNeeds([classic({ match: any({ kinds: ['Pod'] }), validate: { pattern: {} } }, 'ClusterPolicy', { webhookTimeoutSeconds: 45 })], knownKindTable(), 5)[0].timeoutSeconds, 30, 'capped at 30');
  // The server answers within 80% of the smallest timeout serving a path.
  assert.deepEqual(reviewDeadlinesMs([plain, slower]), { validate: 8000, mutate: 16000 });
  assert.deepEqual(reviewDeadlinesMs([plain, slower], 5), { validate: 4000, mutate: 16000 });
});

test('the in-cluster controller writes the configurations with --webhook-timeout', async () => {
  const kube = new FakeKube();
  for (const c of webhookConfigurations({ namespace: 'kyverno', caPem: 'CA', needs: [], policies: [], keepEmpty: true })) kube.seed(c);
  const controller = new WebhookController({ client: kube, namespace: 'kyverno', caPem: 'CA', log: () => undefined, webhookTimeoutSeconds: 15 });
  await controller.sync([classic({ match: any({ kinds: ['Pod'] }), validate: { pattern: {} } })]);
  const stored = async (name: string) => ((await kube.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name }))!.webhooks as Json[])[0];
  assert.equal((await stored('kyverno-resource-validating-webhook-cfg')).timeoutSeconds, 15);
  assert.equal((await stored('kyverno-policy-validating-webhook-cfg')).timeoutSeconds, 15);
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
  const table = await kindTable(client);
  assert.deepEqual(table.get('Widget'), [{ group: 'acme.io', version: 'v1', resource: 'widgets', namespaced: false, subresources: ['status'], otherVersions: ['v1beta1'] }]);
  assert.deepEqual(validatingRules([policy], table), [
    [
      { apiGroups: ['acme.io'], apiVersions: ['v1'], operations: ALL, resources: ['widgets/status'], scope: '*' },
      { apiGroups: ['acme.io'], apiVersions: ['v1beta1'], operations: ALL, resources: ['widgets/status'], scope: '*' },
    ],
  ]);
  // A well-known kind is described by discovery too.
  assert.deepEqual(table.get('Pod'), [{ group: '', version: 'v1', resource: 'pods', namespaced: true, subresources: [] }]);
});

test('a well-known kind gets the versions the cluster serves; the built-in table answers where discovery is silent', async () => {
  // The built-in table names IPAddress at networking.k8s.io/v1beta1; this cluster serves it at v1 (preferred) and v1beta1.
  const answers: Record<string, unknown> = {
    '/apis': { groups: [{ name: 'networking.k8s.io', versions: [{ groupVersion: 'networking.k8s.io/v1' }, { groupVersion: 'networking.k8s.io/v1beta1' }], preferredVersion: { groupVersion: 'networking.k8s.io/v1' } }] },
    '/apis/networking.k8s.io/v1': { resources: [{ name: 'ipaddresses', kind: 'IPAddress', namespaced: false }, { name: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true }] },
    '/apis/networking.k8s.io/v1beta1': { resources: [{ name: 'ipaddresses', kind: 'IPAddress', namespaced: false }] },
  };
  const client = { request: async ({ path }: { path: string }) => { if (path === '/api/v1') throw new Error('unavailable'); return answers[path] ?? {}; } } as unknown as KubeClient;
  const policy = classic({ match: any({ kinds: ['IPAddress'] }), validate: { pattern: {} } });
  const table = await kindTable(client);
  assert.deepEqual(table.get('IPAddress'), [{ group: 'networking.k8s.io', version: 'v1', resource: 'ipaddresses', namespaced: false, subresources: [], otherVersions: ['v1beta1'] }]);
  assert.deepEqual(validatingRules([policy], table), [
    [
      { apiGroups: ['networking.k8s.io'], apiVersions: ['v1'], operations: ALL, resources: ['ipaddresses'], scope: '*' },
      { apiGroups: ['networking.k8s.io'], apiVersions: ['v1beta1'], operations: ALL, resources: ['ipaddresses'], scope: '*' },
    ],
  ]);
  // Offline (no discovery), the built-in table's version.
  assert.deepEqual(validatingRules([policy], knownKindTable()), [[{ apiGroups: ['networking.k8s.io'], apiVersions: ['v1beta1'], operations: ALL, resources: ['ipaddresses'], scope: '*' }]]);
  // The core group's discovery failed: its kinds keep the built-in description.
  assert.deepEqual(table.get('Pod'), knownKindTable().get('Pod'));
});

test('withFailurePolicyIgnore: every policy answers Ignore as Spec.GetFailurePolicy does under --forceFailurePolicyIgnore', () => {
  const rule = { match: any({ kinds: ['ConfigMap'] }), validate: { pattern: {} } };
  const cases: Json[] = [
    classic(rule),
    classic(rule, 'ClusterPolicy', { failurePolicy: 'Fail' }),
    classic(rule, 'ClusterPolicy', { webhookConfiguration: { failurePolicy: 'Fail', timeoutSeconds: 12 } }),
    classic(rule, 'Policy', { failurePolicy: 'Fail', webhookConfiguration: { timeoutSeconds: 12 } }),
    { apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy', metadata: { name: 'v' }, spec: { failurePolicy: 'Fail', matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'], operations: ['CREATE'] }] } } },
  ];
  for (const p of cases) {
    const forced = withFailurePolicyIgnore(p);
    assert.equal(failurePolicyOf(p), 'Fail', JSON.stringify(p.spec));
    assert.equal(failurePolicyOf(forced), 'Ignore', JSON.stringify(p.spec));
    assert.ok(webhookNeeds([forced], knownKindTable()).every((n) => n.failurePolicy === 'Ignore'));
  }
  // Nothing else of the spec changes (the timeout stays), and the policy itself is not edited.
  assert.deepEqual(withFailurePolicyIgnore(cases[2]).spec, { ...(cases[2].spec as Json), webhookConfiguration: { failurePolicy: 'Ignore', timeoutSeconds: 12 } });
  assert.deepEqual((cases[2].spec as Json).webhookConfiguration, { failurePolicy: 'Fail', timeoutSeconds: 12 });
  // A policy with the deprecated field only keeps to it (no second field the admission check refuses).
  assert.deepEqual(withFailurePolicyIgnore(cases[1]).spec, { ...(cases[1].spec as Json), failurePolicy: 'Ignore' });
});

test("Kyverno's policy mutating and verify webhooks: configured as Kyverno's controller builds them, answered as its handlers do", () => {
  const configs = webhookConfigurations({ namespace: 'kyverno', caPem: 'CA', needs: [], keepEmpty: true });
  const byName = new Map(configs.map((c) => [String((c.metadata as Json).name), c]));
  for (const [kind, name] of ALL_CONFIGS) assert.equal(byName.get(name)?.kind, kind, name);
  const [policyHook] = byName.get('kyverno-policy-mutating-webhook-cfg')!.webhooks as Json[];
  assert.equal(policyHook.name, 'mutate-policy.kyverno.svc');
  assert.deepEqual(policyHook.rules, [{ apiGroups: ['kyverno.io'], apiVersions: ['v1', 'v2beta1'], resources: ['clusterpolicies', 'policies'], operations: ['CREATE', 'UPDATE'] }]);
  assert.equal(((policyHook.clientConfig as Json).service as Json).path, '/policymutate');
  const [verifyHook] = byName.get('kyverno-verify-mutating-webhook-cfg')!.webhooks as Json[];
  assert.equal(verifyHook.name, 'monitor-webhooks.kyverno.svc');
  assert.deepEqual(verifyHook.rules, [{ apiGroups: ['coordination.k8s.io'], apiVersions: ['v1'], resources: ['leases'], operations: ['UPDATE'] }]);
  assert.deepEqual(verifyHook.objectSelector, { matchLabels: { 'app.kubernetes.io/name': 'kyverno' } });
  assert.equal(verifyHook.failurePolicy, 'Ignore');
  assert.equal(((verifyHook.clientConfig as Json).service as Json).path, '/verifymutate');

  const review = (request: Json) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', ...request } });
  const response = (body: string) => (JSON.parse(body) as Json).response as Json;
  assert.deepEqual(response(evaluatePolicyMutation(review({ name: 'p', object: { kind: 'ClusterPolicy' } })).body), { uid: 'u', allowed: true });
  const now = new Date('2026-01-02T03:04:05.678Z');
  const lease = response(evaluateVerifyMutation(review({ name: 'kyverno-health', namespace: 'kyverno' }), 'kyverno', now).body);
  assert.equal(lease.patchType, 'JSONPatch');
  assert.deepEqual(JSON.parse(Buffer.from(String(lease.patch), 'base64').toString()), [{ op: 'replace', path: '/metadata/annotations/kyverno.io~1last-request-time', value: '2026-01-02T03:04:05Z' }]);
  // Another Lease, or the health Lease of another namespace, passes unchanged.
  assert.deepEqual(response(evaluateVerifyMutation(review({ name: 'other', namespace: 'kyverno' }), 'kyverno', now).body), { uid: 'u', allowed: true });
  assert.deepEqual(response(evaluateVerifyMutation(review({ name: 'kyverno-health', namespace: 'elsewhere' }), 'kyverno', now).body), { uid: 'u', allowed: true });
  assert.equal(evaluateVerifyMutation('{', 'kyverno').status, 400);
});
