/**
 * Kyverno's install RBAC rendered from its chart's templates (chart-rbac.ts), and what the
 * offline authorizer (authorizer.ts) then allows its controllers through aggregation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { controllerServiceAccount, renderChartTemplate, unrestrictedKyvernoRbac } from './chart-rbac';
import { rbacAuthorize } from './authorizer';
import type { JsonObject } from '../../engine/core/types';

const CLUSTER_ROLE = `{{- if .Values.backgroundController.enabled -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ template "kyverno.background-controller.roleName" . }}
  labels:
    {{- include "kyverno.background-controller.labels" . | nindent 4 }}
aggregationRule:
  clusterRoleSelectors:
    - matchLabels:
        rbac.kyverno.io/aggregate-to-background-controller: "true"
    - matchLabels:
        {{- include "kyverno.background-controller.matchLabels" . | nindent 8 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ template "kyverno.background-controller.roleName" . }}:core
  labels:
    {{- include "kyverno.background-controller.labels" . | nindent 4 }}
rules:
  - apiGroups:
      - ''
    resources:
      - namespaces
    verbs:
      - get
      {{- if .Values.backgroundController.watch | default .Values.global.watch }}
      - watch
      {{- end }}
{{- with .Values.backgroundController.rbac.coreClusterRole.extraResources }}
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.backgroundController.rbac.clusterRole.extraResources }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ template "kyverno.background-controller.roleName" $ }}:additional
  labels:
    {{- include "kyverno.background-controller.labels" $ | nindent 4 }}
rules:
  {{- range . }}
  - apiGroups:
      {{- toYaml .apiGroups | nindent 6 }}
    resources:
      {{- toYaml .resources | nindent 6 }}
    verbs:
      - get
  {{- end }}
{{- end }}
{{- end }}
`;

const BINDING = `kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  name: {{ template "kyverno.background-controller.roleName" . }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ template "kyverno.background-controller.roleName" . }}
subjects:
  - kind: ServiceAccount
    name: {{ template "kyverno.background-controller.serviceAccountName" . }}
    namespace: {{ template "kyverno.namespace" . }}
`;

const values = (over: JsonObject = {}): JsonObject => ({
  global: { watch: false },
  backgroundController: {
    enabled: true,
    rbac: { coreClusterRole: { extraResources: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['create'] }] }, clusterRole: { extraResources: [{ apiGroups: ['apps'], resources: ['deployments'] }] }, serviceAccount: {} },
    ...over,
  },
});

test('a chart template renders as helm would: if/with/range, default, toYaml | nindent, the named templates for release kyverno', () => {
  const [aggregated, core, additional] = renderChartTemplate(CLUSTER_ROLE, values());
  const labels = { 'app.kubernetes.io/name': 'kyverno-background-controller', 'app.kubernetes.io/component': 'background-controller', 'app.kubernetes.io/instance': 'kyverno', 'app.kubernetes.io/part-of': 'kyverno' };
  assert.deepEqual(aggregated, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'kyverno:background-controller', labels },
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'rbac.kyverno.io/aggregate-to-background-controller': 'true' } }, { matchLabels: { 'app.kubernetes.io/component': 'background-controller', 'app.kubernetes.io/instance': 'kyverno', 'app.kubernetes.io/part-of': 'kyverno' } }] },
  });
  assert.deepEqual(core.rules, [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get'] }, { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] }]);
  assert.deepEqual(additional, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'kyverno:background-controller:additional', labels }, rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] }] });
  // `x | default y`: the controller's own value, else the global one.
  assert.deepEqual(renderChartTemplate(CLUSTER_ROLE, values({ watch: true }))[1].rules, [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'watch'] }, { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] }]);
  assert.deepEqual(renderChartTemplate(CLUSTER_ROLE, values({ enabled: false })), []);
});

test('a construct the renderer does not model is an error naming it, never a silent guess', () => {
  assert.throws(() => renderChartTemplate('name: {{ printf "%s" .Values.x }}', {}, 'x.yaml'), /the function printf is not modelled/);
  assert.throws(() => renderChartTemplate('name: {{ template "kyverno.other" . }}', {}, 'x.yaml'), /the chart's template "kyverno.other" is not modelled/);
  assert.throws(() => renderChartTemplate('{{- if .Values.x }}\na: 1\n', {}, 'x.yaml'), /x\.yaml: a block is not closed/);
});

test('the service account a controller runs as: the chart\'s default name, or the values\' own', () => {
  assert.equal(controllerServiceAccount({}, 'cleanup-controller').username, 'system:serviceaccount:kyverno:kyverno-cleanup-controller');
  assert.equal(controllerServiceAccount({ cleanupController: { rbac: { serviceAccount: { name: 'mine' } } }, namespaceOverride: 'ops' }, 'cleanup-controller').username, 'system:serviceaccount:ops:mine');
});

test('rendered roles decide through aggregation: what the core role and a role carrying the controller\'s labels grant, nothing else', () => {
  const objects = [...renderChartTemplate(CLUSTER_ROLE, values()), ...renderChartTemplate(BINDING, values())];
  const user = 'system:serviceaccount:kyverno:kyverno-background-controller';
  const can = (verb: string, group: string, resource: string, extra: JsonObject[] = []) =>
    rbacAuthorize([...objects, ...extra], { user, groups: [], resource: { verb, group, resource, subresource: '', namespace: 'default', name: '' } }).allowed;
  assert.ok(can('get', '', 'namespaces'));
  assert.ok(can('create', '', 'configmaps'));
  assert.ok(can('get', 'apps', 'deployments'));
  assert.ok(!can('create', '', 'serviceaccounts'));
  // A scenario's ClusterRole with the controller's match labels (no rbac.kyverno.io label) is aggregated too.
  const granted = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'temp', labels: { 'app.kubernetes.io/component': 'background-controller', 'app.kubernetes.io/instance': 'kyverno', 'app.kubernetes.io/part-of': 'kyverno' } }, rules: [{ apiGroups: ['*'], resources: ['serviceaccounts'], verbs: ['create'] }] };
  assert.ok(can('create', '', 'serviceaccounts', [granted]));
  // Another controller's label grants nothing to this one.
  const other = { ...granted, metadata: { name: 'temp', labels: { 'rbac.kyverno.io/aggregate-to-cleanup-controller': 'true' } } };
  assert.ok(!can('create', '', 'serviceaccounts', [other]));
});

test('without the chart, Kyverno\'s accounts are bound to a role that allows everything', () => {
  const objects = unrestrictedKyvernoRbac({});
  for (const controller of ['admission', 'background', 'cleanup', 'reports']) {
    const user = `system:serviceaccount:kyverno:kyverno-${controller}-controller`;
    assert.ok(rbacAuthorize(objects, { user, groups: [], resource: { verb: 'delete', group: 'apps', resource: 'deployments', subresource: '', namespace: 'x', name: 'y' } }).allowed, user);
  }
  assert.ok(!rbacAuthorize(objects, { user: 'system:serviceaccount:kyverno:other', groups: [], resource: { verb: 'get', group: '', resource: 'pods', subresource: '', namespace: 'x', name: '' } }).allowed);
});
