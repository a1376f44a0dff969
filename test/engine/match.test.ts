// Match/exclude semantics; cases ported from kyverno/kyverno pkg/engine/utils (TestMatchesResourceDescription,
// TestCheckNameSpace) and pkg/utils/match (labels, subjects, annotations).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AdmissionRequest, JsonObject, RequestInfo } from '../../engine/core/types';
import { checkSelector, checkSubjects, ruleMatchesRequest } from '../../engine/match';

const noUser: RequestInfo = { roles: [], clusterRoles: [], userInfo: {} };
const clusterRoles = (...r: string[]): RequestInfo => ({ roles: [], clusterRoles: r, userInfo: {} });

function pod(name: string, namespace?: string, extra: JsonObject = {}): JsonObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, ...(namespace ? { namespace } : {}), ...extra }, spec: {} };
}

function req(object: JsonObject, info: RequestInfo = noUser, more: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return { operation: 'CREATE', object, oldObject: null, requestInfo: info, ...more };
}

function matches(rule: JsonObject, r: AdmissionRequest, nsLabels: Record<string, Record<string, string>> = {}, policyNs?: string) {
  return ruleMatchesRequest({ name: 'r', ...rule }, r, { namespaceLabels: nsLabels }, policyNs).matched;
}

const kindsPod = { resources: { kinds: ['Pod'] } };

test('match: any/all and exclude any/all (Kyverno TestMatchesResourceDescription)', () => {
  const admin = clusterRoles('admin');
  const anyRule = {
    match: { any: [{ resources: { kinds: ['Pod'], names: ['dev'] } }, { resources: { kinds: ['Pod'], namespaces: ['prod'] } }] },
  };
  assert.equal(matches(anyRule, req(pod('abc', 'prod'), admin)), true, 'match any matches');
  assert.equal(matches(anyRule, req(pod('abc', 'default'), admin)), false, 'match any does not match');

  const allRule = (name: string) => ({
    match: { all: [{ resources: { kinds: ['Pod'], names: [name] } }, { resources: { kinds: ['Pod'], namespaces: ['prod'] } }] },
  });
  assert.equal(matches(allRule('abc'), req(pod('abc', 'prod'), admin)), true, 'match all matches');
  assert.equal(matches(allRule('xyz'), req(pod('abc', 'prod'), admin)), false, 'match all does not match');

  const excludeAny = {
    match: { all: [kindsPod] },
    exclude: { any: [{ resources: { kinds: ['Pod'], names: ['dev'] } }, { resources: { kinds: ['Pod'], namespaces: ['default'] } }] },
  };
  assert.equal(matches(excludeAny, req(pod('dev', 'prod'), admin)), false, 'exclude any excludes');
  assert.equal(matches(excludeAny, req(pod('abc', 'prod'), admin)), true, 'exclude any does not exclude');

  const excludeAll = (name: string, ns: string) => ({
    match: { all: [kindsPod] },
    exclude: { all: [{ resources: { kinds: ['Pod'], names: [name] } }, { resources: { kinds: ['Pod'], namespaces: [ns] } }] },
  });
  assert.equal(matches(excludeAll('dev', 'prod'), req(pod('dev', 'prod'), admin)), false, 'exclude all excludes');
  assert.equal(matches(excludeAll('abc', 'default'), req(pod('abc', 'prod'), admin)), true, 'exclude all needs every filter');
});

test('match: legacy resources form with user info', () => {
  const rule = { match: kindsPod, exclude: { resources: { name: 'hello-world' }, clusterRoles: ['system:node'] } };
  const hello = pod('hello-world', undefined, { labels: { name: 'hello-world' } });
  assert.equal(matches(rule, req(hello, clusterRoles('admin'))), true, 'not excluded: role differs');
  assert.equal(matches(rule, req(hello, clusterRoles('system:node'))), false, 'excluded: name and role match');
  assert.equal(matches(rule, req(hello, noUser)), true, 'no request info: exclude user info cannot hold');
  assert.equal(matches(rule, req(pod('hello-world2'), clusterRoles('system:node'))), true, 'name differs');
  const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'hello-world' } };
  assert.equal(matches(rule, req(service, clusterRoles('admin'))), false, 'kind differs');

  // Without request info, user info in match is ignored (CLI without a userinfo file).
  const namesRule = (names: string[]) => ({ match: { resources: { kinds: ['Pod'], names }, clusterRoles: ['system:node'] } });
  assert.equal(matches(namesRule(['dev-*']), req(hello, noUser)), false);
  assert.equal(matches(namesRule(['dev-*', 'hello-world']), req(hello, clusterRoles('system:node'))), true);
  assert.equal(matches(namesRule(['hello-world']), req(hello, clusterRoles('admin'))), false, 'role required once info exists');
  assert.equal(matches({ match: { resources: { kinds: ['Pod'] }, clusterRoles: ['x'] } }, req(hello, noUser)), true);

  const excludeNames = { match: kindsPod, exclude: { resources: { names: ['dev-*', 'hello-*'] } } };
  assert.equal(matches(excludeNames, req(hello)), false);
  assert.equal(matches(excludeNames, req(pod('bye-world'))), true);
});

test('match: group/version/kind selectors against the resource apiVersion', () => {
  const deploy = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'qos-demo', labels: { test: 'qos' } } };
  const rule = (kind: string) => ({ match: { resources: { kinds: [kind], selector: { matchLabels: { test: 'qos' } } } } });
  assert.equal(matches(rule('apps/v1/Deployment'), req(deploy)), true);
  assert.equal(matches(rule('apps/v1/Deployment'), req({ ...deploy, apiVersion: 'apps/v1beta1' })), false, 'version differs');
  assert.equal(matches(rule('apps/v1/deployment'), req(deploy)), false, 'kinds are case sensitive');
  assert.equal(matches({ match: { resources: { kinds: ['v1/Pod'] } } }, req(pod('p'))), true);
  assert.equal(matches({ match: { resources: { kinds: ['pod'] } } }, req(pod('p'))), false);
  const role = { kind: 'ClusterRole', apiVersion: 'rbac.authorization.k8s.io/v1', metadata: { name: 'x' } };
  assert.equal(matches({ match: { resources: { kinds: ['rbac.authorization.k8s.io/v1beta1/ClusterRole'] } } }, req(role)), false);
  // request.kind wins over the object's own apiVersion/kind (subresource requests).
  const scale = { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'd', namespace: 'ns' } };
  const scaleReq = req(scale, noUser, { kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, subResource: 'scale' });
  assert.equal(matches({ match: { resources: { kinds: ['Deployment/scale'] } } }, scaleReq), true);
  assert.equal(matches({ match: { resources: { kinds: ['Deployment'] } } }, scaleReq), false);
  assert.equal(matches({ match: { resources: { kinds: ['Pod'] } } }, req(pod('p'), noUser, { subResource: 'ephemeralcontainers' })), true);
  assert.equal(matches({ match: { resources: { kinds: ['Pod'] } } }, req(pod('p'), noUser, { subResource: 'exec' })), false);
  assert.equal(matches({ match: { resources: { kinds: ['Pod/exec'] } } }, req(pod('p'), noUser, { subResource: 'exec' })), true);
});

test('match: names use generateName when name is empty', () => {
  const generated = { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'abc', namespace: 'prod' } };
  assert.equal(matches({ match: { resources: { kinds: ['Pod'], names: ['abc'] } } }, req(generated)), true);
  assert.equal(matches({ match: { resources: { kinds: ['Pod'], name: 'ab*' } } }, req(generated)), true);
});

test('match: namespaces with wildcards; a Namespace is matched by its own name (Kyverno TestCheckNameSpace)', () => {
  const rule = (namespaces: string[]) => ({ match: { resources: { kinds: ['*'], namespaces } } });
  assert.equal(matches(rule(['default']), req(pod('p', 'default'))), true);
  assert.equal(matches(rule(['production', 'staging']), req(pod('p', 'default'))), false);
  assert.equal(matches(rule(['prod-*']), req(pod('p', 'prod-us-east'))), true);
  assert.equal(matches(rule(['dev-*', 'test-*']), req(pod('p', 'test-environment'))), true);
  assert.equal(matches(rule(['kube-*-system']), req(pod('p', 'kube-test-system'))), true);
  const ns = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  assert.equal(matches(rule(['kube-system']), req(ns('kube-system'))), true);
  assert.equal(matches(rule(['default']), req(ns('production'))), false);
  const clusterRole = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'admin' } };
  assert.equal(matches(rule(['']), req(clusterRole)), true, 'cluster-scoped resources have the empty namespace');
});

test('match: label selectors with wildcards and expressions', () => {
  const labels = { 'test.io/scale': 'foo', 'test.io/functional': 'bar' };
  assert.deepEqual(checkSelector({}, {}), { matched: true });
  assert.deepEqual(checkSelector({}, { foo: 'bar' }), { matched: true });
  assert.equal(checkSelector({ matchLabels: { 'test.io/*': 'bar' } }, { foo: 'bar' }).matched, false);
  assert.equal(checkSelector({ matchLabels: { 'scale.test.io/*': 'bar' } }, { foo: 'bar' }).matched, false);
  assert.equal(checkSelector({ matchLabels: { 'test.io/*': 'bar' } }, labels).matched, true);
  assert.equal(checkSelector({ matchLabels: { 'test.io/*': '*' } }, labels).matched, true);
  assert.equal(checkSelector({ matchLabels: { 'test.io/*': 'a*' } }, labels).matched, false);
  assert.equal(checkSelector({ matchLabels: { 'test.io/scale': 'f??' } }, labels).matched, true);
  assert.equal(checkSelector({ matchLabels: { '*': '*' } }, labels).matched, true);
  assert.equal(checkSelector({ matchLabels: { 'test.io/functional': 'foo' } }, labels).matched, false);
  assert.equal(checkSelector({ matchLabels: { '*': '*' } }, {}).matched, false);
  assert.ok(checkSelector({ matchLabels: { 'abc/def/ghi': '*' } }, {}).error);
  assert.equal(checkSelector(undefined, labels).matched, false);

  const expr = (operator: string, values?: string[]) => ({ matchExpressions: [{ key: 'env', operator, ...(values ? { values } : {}) }] });
  assert.equal(checkSelector(expr('In', ['prod', 'dev']), { env: 'dev' }).matched, true);
  assert.equal(checkSelector(expr('In', ['prod']), { env: 'dev' }).matched, false);
  assert.equal(checkSelector(expr('NotIn', ['prod']), {}).matched, true);
  assert.equal(checkSelector(expr('NotIn', ['prod']), { env: 'prod' }).matched, false);
  assert.equal(checkSelector(expr('Exists'), { env: '' }).matched, true);
  assert.equal(checkSelector(expr('DoesNotExist'), { env: 'x' }).matched, false);
  assert.ok(checkSelector(expr('In', []), { env: 'x' }).error, 'In needs values');
  assert.ok(checkSelector(expr('Exists', ['x']), { env: 'x' }).error, 'Exists takes no values');
  assert.ok(checkSelector(expr('Equals', ['x']), { env: 'x' }).error, 'unknown operator');
  assert.ok(checkSelector(expr('In', ['prod-*']), { env: 'prod-1' }).error, 'no wildcards in expressions');

  const rule = { match: { resources: { kinds: ['Pod'], selector: { matchLabels: { app: 'web' } } } } };
  assert.equal(matches(rule, req(pod('p', 'ns', { labels: { app: 'web' } }))), true);
  assert.equal(matches(rule, req(pod('p', 'ns'))), false);
  const bad = { match: { resources: { kinds: ['Pod'], selector: { matchLabels: { 'a/b/c': 'x' } } } } };
  const out = ruleMatchesRequest({ name: 'bad', ...bad }, req(pod('p')), { namespaceLabels: {} });
  assert.equal(out.matched, false);
  assert.match(out.reason ?? '', /failed to parse selector/);
});

test('match: namespaceSelector uses the labels of the resource namespace', () => {
  const rule = { match: { any: [{ resources: { kinds: ['Pod'], namespaceSelector: { matchLabels: { env: 'prod' } } } }] } };
  const labels = { prod: { env: 'prod' }, dev: { env: 'dev' } };
  assert.equal(matches(rule, req(pod('p', 'prod')), labels), true);
  assert.equal(matches(rule, req(pod('p', 'dev')), labels), false);
  assert.equal(matches(rule, req(pod('p', 'unknown')), labels), false);
  const star = { match: { any: [{ resources: { kinds: ['*'], namespaceSelector: { matchExpressions: [{ key: 'freeze', operator: 'In', values: ['true'] }] } } }] } };
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'frozen', labels: { freeze: 'true' } } };
  assert.equal(matches(star, req(ns), { frozen: { freeze: 'true' } }), false, 'not applicable to Namespace resources');
  assert.equal(matches(star, req(pod('p', 'frozen')), { frozen: { freeze: 'true' } }), true);
  const excludeRule = { match: kindsPod, exclude: { any: [{ resources: { namespaceSelector: { matchLabels: { skip: 'yes' } } } }] } };
  assert.equal(matches(excludeRule, req(pod('p', 'a')), { a: { skip: 'yes' } }), false);
  assert.equal(matches(excludeRule, req(pod('p', 'b')), { b: { skip: 'no' } }), true);
});

test('match: operations, annotations, subjects and roles', () => {
  const ops = { match: { any: [{ resources: { kinds: ['Pod'], operations: ['CREATE', 'UPDATE'] } }] } };
  assert.equal(matches(ops, req(pod('p'))), true);
  assert.equal(matches(ops, { operation: 'DELETE', object: null, oldObject: pod('p'), requestInfo: noUser }), false);
  const del = { match: { any: [{ resources: { kinds: ['Pod'], operations: ['DELETE'] } }] } };
  assert.equal(matches(del, { operation: 'DELETE', object: null, oldObject: pod('p'), requestInfo: noUser }), true, 'old object on DELETE');

  const ann = { match: { any: [{ resources: { kinds: ['Pod'], annotations: { 'team.io/*': 'a*' } } }] } };
  assert.equal(matches(ann, req(pod('p', 'ns', { annotations: { 'team.io/owner': 'alice' } }))), true);
  assert.equal(matches(ann, req(pod('p', 'ns', { annotations: { 'team.io/owner': 'bob' } }))), false);
  assert.equal(matches(ann, req(pod('p', 'ns'))), false);

  const subj = {
    match: { any: [{ resources: { kinds: ['Pod'] }, subjects: [{ kind: 'ServiceAccount', name: 'kyverno', namespace: 'kyverno*' }] }] },
  };
  const sa: RequestInfo = { roles: [], clusterRoles: [], userInfo: { username: 'system:serviceaccount:kyverno-system:kyverno' } };
  const other: RequestInfo = { roles: [], clusterRoles: [], userInfo: { username: 'alice' } };
  assert.equal(matches(subj, req(pod('p'), sa)), true);
  assert.equal(matches(subj, req(pod('p'), other)), false);

  const roles = { match: { any: [{ resources: { kinds: ['Pod'] }, roles: ['ns:editor'] }] } };
  assert.equal(matches(roles, req(pod('p'), { roles: ['ns:editor'], clusterRoles: [], userInfo: { username: 'u' } })), true);
  assert.equal(matches(roles, req(pod('p'), { roles: ['ns:viewer'], clusterRoles: [], userInfo: { username: 'u' } })), false);
});

test('match: CheckSubjects (Kyverno TestCheckSubjects)', () => {
  const sa = (name: string, namespace: string) => ({ kind: 'ServiceAccount', name, namespace });
  const user = (name: string) => ({ kind: 'User', name });
  const group = (name: string) => ({ kind: 'Group', name });
  assert.equal(checkSubjects([], { username: 'admin' }), false);
  assert.equal(checkSubjects([sa('default', 'kube-system')], { username: 'system:serviceaccount:kube-system:default' }), true);
  assert.equal(checkSubjects([sa('default', 'kube-system')], { username: 'system:serviceaccount:default:default' }), false);
  assert.equal(checkSubjects([sa('*', 'kube-system')], { username: 'system:serviceaccount:kube-system:any-sa' }), true);
  assert.equal(checkSubjects([user('admin-*')], { username: 'admin-alice' }), true);
  assert.equal(checkSubjects([user('admin-*')], { username: 'user-alice' }), false);
  assert.equal(checkSubjects([group('system:masters')], { username: 'a', groups: ['system:authenticated', 'system:masters'] }), true);
  assert.equal(checkSubjects([group('system:*')], { username: 'u', groups: ['developers', 'system:authenticated'] }), true);
  assert.equal(checkSubjects([group('admin')], { username: 'u' }), false);
  assert.equal(checkSubjects([user('alice'), user('bob')], { username: 'bob' }), true);
  assert.equal(checkSubjects([{ kind: 'UnknownKind', name: 'test' }], { username: 'test' }), false);
  assert.equal(checkSubjects([sa('default', '')], { username: 'system:serviceaccount::default' }), true);
});

test('match: policy namespace, empty match, empty resource and reasons', () => {
  assert.equal(matches({ match: kindsPod }, req(pod('p', 'production')), {}, 'development'), false);
  assert.equal(matches({ match: kindsPod }, req(pod('p', 'development')), {}, 'development'), true);
  const empty = ruleMatchesRequest({ name: 'e', match: {} }, req(pod('p')), { namespaceLabels: {} });
  assert.equal(empty.matched, false);
  assert.match(empty.reason ?? '', /match cannot be empty/);
  const none = ruleMatchesRequest({ name: 'n', match: kindsPod }, { operation: 'DELETE', object: null, oldObject: null, requestInfo: noUser }, { namespaceLabels: {} });
  assert.deepEqual(none, { matched: false, reason: 'resource is empty' });
  const excluded = ruleMatchesRequest(
    { name: 'x', match: kindsPod, exclude: { resources: { namespaces: ['kube-system'] } } },
    req(pod('p', 'kube-system')),
    { namespaceLabels: {} },
  );
  assert.equal(excluded.matched, false);
  assert.match(excluded.reason ?? '', /^rule x not matched:\n 1\. resource excluded since one of the criteria excluded it/);
  // An empty exclude filter never excludes.
  assert.equal(matches({ match: kindsPod, exclude: { any: [{}] } }, req(pod('p'))), true);
  assert.equal(matches({ match: kindsPod, exclude: { all: [{}, { resources: { kinds: ['Pod'] } }] } }, req(pod('p'))), true);
  // A kind mismatch in match means exclude is not looked at.
  const kindMiss = ruleMatchesRequest({ name: 'k', match: { resources: { kinds: ['Service'] } } }, req(pod('p')), { namespaceLabels: {} });
  assert.match(kindMiss.reason ?? '', /kind does not match \[Service\]/);
});
