/**
 * The CEL policies' webhook layout against what Kyverno's webhook controller builds
 * (pkg/controllers/webhook/validating.go buildWebhookRules; controller.go
 * buildForJSONPoliciesValidation/Mutation; pkg/cel/autogen/match.go CreateMatchConditions),
 * with the expected values worked out from that code, and the server's routes for the paths
 * (pkg/webhooks/server.go `/vpol/*policies`, resource/vpol/handler.go MatchNames).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { celRoute, celWebhooks, sortedUniqueRules } from '../../webhook/cel-webhooks';
import { defaultNamespaceSelector, webhookConfigurations } from '../../webhook/configurations';
import { evaluateReview } from '../../webhook/evaluate';
import { PolicyIndex } from '../../webhook/prefilter';
import { classicWebhookNeeds } from '../../webhook/rules';
import { knownKindTable } from '../../engine/kube';

type Json = Record<string, unknown>;

const selector = defaultNamespaceSelector('kyverno');
const layout = (policies: Json[]) => celWebhooks({ policies, namespaceSelector: selector, clientConfig: (path) => ({ service: { name: 'kyverno-svc', namespace: 'kyverno', path, port: 443 } }) });
const pathOf = (w: Json) => String(((w.clientConfig as Json).service as Json).path);
const deployments = { apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'] };
const pods = { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'] };
const vpol = (name: string, spec: Json = {}, kind = 'ValidatingPolicy', namespace?: string): Json => ({
  apiVersion: 'policies.kyverno.io/v1beta1',
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
  spec: { matchConstraints: { resourceRules: [deployments] }, validations: [{ expression: 'true' }], ...spec },
});

test('basic validating policies share one webhook per failurePolicy, on a path naming all of them (sorted)', () => {
  const { validating, mutating } = layout([vpol('b'), vpol('a', { failurePolicy: 'Ignore' })]);
  assert.deepEqual(mutating, []);
  assert.deepEqual(validating.map((w) => [w.name, pathOf(w), w.failurePolicy]), [
    ['vpol.validate.kyverno.svc-fail', '/vpol/a/b', 'Fail'],
    ['vpol.validate.kyverno.svc-ignore', '/vpol/a/b', 'Ignore'],
  ]);
  const [fail] = validating;
  assert.deepEqual(fail.rules, [{ ...deployments, scope: '*' }]);
  assert.equal(fail.sideEffects, 'NoneOnDryRun');
  assert.equal(fail.timeoutSeconds, 10);
  assert.equal(fail.matchPolicy, 'Equivalent');
  assert.deepEqual(fail.namespaceSelector, selector);
  assert.deepEqual(fail.objectSelector, {});
  assert.equal(fail.matchConditions, undefined);
});

test('matchConditions the API server can evaluate make a fine-grained webhook with autogen conditions', () => {
  const policy = vpol('priv', { matchConstraints: { resourceRules: [pods] }, matchConditions: [{ name: 'prod', expression: "object.metadata.labels.prod == 'true'" }] });
  const [w] = layout([policy]).validating;
  assert.equal(w.name, 'vpol.validate.kyverno.svc-fail-finegrained-priv');
  assert.equal(pathOf(w), '/vpol/priv');
  assert.deepEqual((w.matchConditions as Json[]).map((c) => [c.name, c.expression]), [
    ['autogen-prod', "!((object.apiVersion == 'v1' && object.kind =='Pod')) || (object.metadata.labels.prod == 'true')"],
    ['autogen-cronjobs-prod', "!((object.apiVersion == 'batch/v1' && object.kind =='CronJob')) || (object.spec.jobTemplate.spec.template.metadata.labels.prod == 'true')"],
    ['autogen-defaults-prod', "!((object.apiVersion == 'apps/v1' && object.kind =='DaemonSet') || (object.apiVersion == 'apps/v1' && object.kind =='Deployment') || (object.apiVersion == 'apps/v1' && object.kind =='ReplicaSet') || (object.apiVersion == 'apps/v1' && object.kind =='StatefulSet') || (object.apiVersion == 'batch/v1' && object.kind =='Job')) || (object.spec.template.metadata.labels.prod == 'true')"],
  ]);
  // sortedRules: groups of equal length by value ('' < apps < batch), then resources.
  assert.deepEqual((w.rules as Json[]).map((r) => [r.apiGroups, r.resources]), [
    [[''], ['pods']],
    [['apps'], ['daemonsets', 'deployments', 'replicasets', 'statefulsets']],
    [['batch'], ['cronjobs']],
    [['batch'], ['jobs']],
  ]);
});

test('a timeout or matchPolicy Exact makes a fine-grained webhook; conditions Kubernetes cannot evaluate do not', () => {
  const { validating } = layout([
    vpol('slow', { webhookConfiguration: { timeoutSeconds: 20 } }),
    vpol('exact', { matchConstraints: { resourceRules: [deployments], matchPolicy: 'Exact' } }),
    vpol('kyverno-lib', { matchConditions: [{ name: 'v', expression: 'variables.x == 1' }] }),
  ]);
  assert.deepEqual(validating.map((w) => [w.name, pathOf(w), w.timeoutSeconds, w.matchPolicy]), [
    ['vpol.validate.kyverno.svc-fail-finegrained-exact', '/vpol/exact', 10, 'Exact'],
    ['vpol.validate.kyverno.svc-fail-finegrained-slow', '/vpol/slow', 20, 'Equivalent'],
    ['vpol.validate.kyverno.svc-fail', '/vpol/kyverno-lib', 10, 'Equivalent'],
  ]);
});

test("match conditions are judged in Kubernetes' CEL environment (CompileMatchConditionsWithKubernetesEnv): its libraries and authorizer, none of Kyverno's", () => {
  const conditionsOf = (expression: string, name = 'c') => {
    const { validating } = layout([vpol('p', { matchConstraints: { resourceRules: [pods] }, matchConditions: [{ name, expression }] })]);
    return validating.flatMap((w) => ((w.matchConditions as Json[] | undefined) ?? []).map((c) => c.name));
  };
  for (const expression of ["quantity('1Gi').isGreaterThan(quantity('1Mi'))", "authorizer.group('').resource('pods').check('get').allowed()", "image('nginx').registry() != ''", "object.metadata.labels.exists(k, v, k == 'a')"]) {
    assert.ok(conditionsOf(expression).includes('autogen-c'), expression);
  }
  for (const expression of ['math.greatest(1, 2) == 2', "json.unmarshal('{}') == {}", "base64.encode(b'x') == ''", 'size(exceptions) == 0', "parseImageReference('nginx').tag() == ''", 'params.x == 1', '1 + 1']) {
    assert.deepEqual(conditionsOf(expression), [], expression);
  }
  // The name must be a qualified name too.
  assert.deepEqual(conditionsOf('true', 'not a name'), []);
});

test('namespaced policies are pinned to their namespace; different selectors get their own webhook (sha256 suffix)', () => {
  const { validating } = layout([vpol('x', {}, 'NamespacedValidatingPolicy', 'team-a'), vpol('y', {}, 'NamespacedValidatingPolicy', 'team-b')]);
  // Go's json.Marshal of [namespaceSelector, objectSelector]: the policy's In first, then the configured ones.
  const key = (ns: string) => createHash('sha256').update(
    `[{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"In","values":["${ns}"]},{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["kube-system"]},{"key":"kubernetes.io/metadata.name","operator":"NotIn","values":["kyverno"]}]},null]`,
  ).digest('hex').slice(0, 8);
  const expected = [['team-a', 'x'], ['team-b', 'y']].map(([ns, name]) => [key(ns), `nvpol.validate.kyverno.svc-fail-${key(ns)}`, `/nvpol/${name}`]).sort();
  assert.deepEqual(validating.map((w) => [String(w.name).slice(-8), w.name, pathOf(w)]).sort(), expected);
  const a = validating.find((w) => pathOf(w) === '/nvpol/x')!;
  assert.deepEqual(((a.namespaceSelector as Json).matchExpressions as Json[])[0], { key: 'kubernetes.io/metadata.name', operator: 'In', values: ['team-a'] });
});

test('generating policies: always Ignore, every operation, a synchronized one keeps UPDATE and DELETE past its conditions', () => {
  const gpol = (name: string, extra: Json = {}): Json => ({
    apiVersion: 'policies.kyverno.io/v1beta1', kind: 'GeneratingPolicy', metadata: { name },
    spec: { matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['namespaces'] }] }, generate: [{ expression: 'true' }], ...extra },
  });
  const { validating } = layout([gpol('plain'), gpol('synced', { matchConditions: [{ name: 'red', expression: "object.metadata.labels['color'] == 'red'" }], evaluation: { synchronize: { enabled: true } } })]);
  assert.deepEqual(validating.map((w) => [w.name, w.failurePolicy, (w.rules as Json[])[0].operations]), [
    ['gpol.validate.kyverno.svc-ignore-finegrained-synced', 'Ignore', ['CONNECT', 'CREATE', 'DELETE', 'UPDATE']],
    ['gpol.validate.kyverno.svc-ignore', 'Ignore', ['CONNECT', 'CREATE', 'DELETE', 'UPDATE']],
  ]);
  assert.deepEqual(validating[0].matchConditions, [{ name: 'red', expression: "request.operation != 'CREATE' || (object.metadata.labels['color'] == 'red')" }]);
});

test('mutating policies go to the mutating configuration; admission-disabled policies nowhere', () => {
  const mpol = { apiVersion: 'policies.kyverno.io/v1beta1', kind: 'MutatingPolicy', metadata: { name: 'm' }, spec: { matchConstraints: { resourceRules: [deployments] }, mutations: [] } };
  const off = vpol('off', { evaluation: { admission: { enabled: false } } });
  const { validating, mutating } = layout([mpol, off]);
  assert.deepEqual(validating, []);
  assert.deepEqual(mutating.map((w) => [w.name, pathOf(w)]), [['mpol.validate.kyverno.svc-fail', '/mpol/m']]);
  const config = webhookConfigurations({ namespace: 'kyverno', caPem: '', needs: [], policies: [mpol], keepEmpty: false });
  const mwc = config.find((c) => c.kind === 'MutatingWebhookConfiguration')!;
  assert.equal(((mwc.webhooks as Json[])[0]).reinvocationPolicy, 'Never');
  assert.deepEqual((mwc.metadata as Json).annotations, { 'admissions.enforcer/disabled': 'true' });
});

test('sortedUniqueRules orders by list length first, then values, and drops duplicates', () => {
  const r = (groups: string[], resources: string[]) => ({ apiGroups: groups, apiVersions: ['v1'], operations: ['UPDATE', 'CREATE'], resources, scope: '*' });
  assert.deepEqual(sortedUniqueRules([r(['b', 'a'], ['x']), r(['z'], ['y']), r(['z'], ['y'])]).map((x) => [x.apiGroups, x.operations]), [
    [['z'], ['CREATE', 'UPDATE']],
    [['a', 'b'], ['CREATE', 'UPDATE']],
  ]);
});

test('routes: a CEL path names its kind and policies, as Kyverno serves /vpol/*policies', () => {
  assert.deepEqual(celRoute('/vpol/a/b'), { phase: 'validate', kinds: ['ValidatingPolicy'], names: ['a', 'b'], base: '/vpol' });
  assert.deepEqual(celRoute('/ivpol/mutate/x'), { phase: 'mutate', kinds: ['ImageValidatingPolicy'], names: ['x'], base: '/ivpol/mutate' });
  assert.deepEqual(celRoute('/nmpol/y')?.kinds, ['NamespacedMutatingPolicy']);
  assert.equal(celRoute('/validate/fail'), undefined);
  assert.equal(celRoute('/vpolx'), undefined);
});

test('a review on /vpol/<name> runs only that policy, and the classic paths run only the classic policies', () => {
  const deny = (name: string): Json => vpol(name, { validationActions: ['Deny'], validations: [{ expression: 'false', message: `${name} denies` }] });
  const classic = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'classic' },
    spec: { validationFailureAction: 'Enforce', rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Deployment'] } }] }, validate: { message: 'classic denies', deny: {} } }] },
  };
  const index = new PolicyIndex([deny('one'), deny('two'), classic] as never);
  const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
  const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
    uid: 'u', operation: 'CREATE', kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, resource: { group: 'apps', version: 'v1', resource: 'deployments' },
    namespace: 'a', userInfo: {}, object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'a' }, spec: {} } } });
  const policiesRun = (req: { kinds?: string[]; only?: string[]; failurePolicy?: 'Fail' }) =>
    [...new Set(evaluateReview({ path: 'validate', body, reports: false, ...req }, index, cluster as never).outcomes.map((o) => o.policy))].sort();
  const route = celRoute('/vpol/two')!;
  assert.deepEqual(policiesRun({ kinds: route.kinds, only: route.names }), ['two']);
  assert.deepEqual(policiesRun({ kinds: ['ClusterPolicy', 'Policy'], failurePolicy: 'Fail' }), ['classic']);
  assert.deepEqual(policiesRun({}), ['classic', 'one', 'two']);
});

test('a classic policy with webhookConfiguration.matchConditions gets its own webhook (newWebhookPerPolicy, webhookNameAndPath)', () => {
  const cpol = (name: string, extra: Json = {}, namespace?: string): Json => ({
    apiVersion: 'kyverno.io/v1', kind: namespace ? 'Policy' : 'ClusterPolicy', metadata: { name, ...(namespace ? { namespace } : {}) },
    spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, validate: { message: 'm', pattern: { data: { a: '?*' } } } }], ...extra },
  });
  const conditions = [{ name: 'no-nodes', expression: '!("system:nodes" in request.userInfo.groups)' }];
  const policies = [cpol('shared'), cpol('own', { webhookConfiguration: { failurePolicy: 'Ignore', matchConditions: conditions } }), cpol('mine', { webhookConfiguration: { matchConditions: conditions } }, 'team')];
  const [vwc] = webhookConfigurations({ namespace: 'kyverno', caPem: '', needs: classicWebhookNeeds(policies, knownKindTable()), keepEmpty: false });
  assert.deepEqual((vwc.webhooks as Json[]).map((w) => [w.name, pathOf(w), w.failurePolicy, w.matchConditions]), [
    ['validate.kyverno.svc-fail', '/validate/fail', 'Fail', undefined],
    ['validate.kyverno.svc-fail-finegrained-team-mine', '/validate/fail/finegrained/team/mine', 'Fail', conditions],
    ['validate.kyverno.svc-ignore-finegrained-own', '/validate/ignore/finegrained/own', 'Ignore', conditions],
  ]);
});

test('local mode: a CEL path joins the URL with one slash', () => {
  const policies = [vpol('p')];
  const [vwc] = webhookConfigurations({ namespace: 'kyverno', caPem: '', localUrl: 'https://127.0.0.1:9443/', needs: [], policies, keepEmpty: false });
  assert.deepEqual((vwc.webhooks as Json[]).map((w) => (w.clientConfig as Json).url), ['https://127.0.0.1:9443/vpol/p']);
});
