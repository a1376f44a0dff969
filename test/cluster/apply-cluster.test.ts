/**
 * `kyverno-studio apply --cluster` against a real kube-apiserver: the resources of the kinds
 * the policies match are read from the cluster (all namespaces, `-n`, `-r` names,
 * `--cluster-wide-resources`), namespace labels come from the cluster, and bad kubeconfig or
 * context and unknown names fail as Kyverno does. No kube-controller-manager is needed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main';
import { startCluster, type TestCluster } from './harness';

process.env.KS_KUBE_NO_KCM ??= '1';

let cluster: TestCluster;
let dir = '';

const POD_LABEL_POLICY = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-app-label
spec:
  validationFailureAction: Enforce
  rules:
  - name: app-label
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      message: pods need an app label
      pattern:
        metadata:
          labels:
            app: "?*"
`;

const TEAM_NAMESPACE_POLICY = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: team-a-configmaps
spec:
  validationFailureAction: Enforce
  rules:
  - name: owner
    match:
      any:
      - resources:
          kinds: [ConfigMap]
          namespaceSelector:
            matchLabels:
              team: a
    validate:
      message: configmaps of team a need an owner
      pattern:
        metadata:
          labels:
            owner: "?*"
`;

const CLUSTER_ROLE_POLICY = `apiVersion: policies.kyverno.io/v1beta1
kind: ValidatingPolicy
metadata:
  name: no-wildcard-verbs
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
    - apiGroups: [rbac.authorization.k8s.io]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [clusterroles]
  validations:
  - expression: "!has(object.rules) || object.rules.all(r, !('*' in r.verbs))"
    message: no wildcard verbs
`;

async function cli(...args: string[]) {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

const pod = (name: string, namespace: string, labels: Record<string, string>) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] },
});

before(async () => {
  cluster = startCluster();
  dir = mkdtempSync(join(tmpdir(), 'ks-apply-cluster-'));
  writeFileSync(join(dir, 'pods.yaml'), POD_LABEL_POLICY);
  writeFileSync(join(dir, 'configmaps.yaml'), TEAM_NAMESPACE_POLICY);
  writeFileSync(join(dir, 'clusterroles.yaml'), CLUSTER_ROLE_POLICY);
  const c = cluster.client;
  await c.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'a' } } });
  await c.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'lab', labels: { team: 'b' } } });
  // The API server has no ServiceAccount controller here: pods must not ask for a token.
  const noToken = (p: ReturnType<typeof pod>) => ({ ...p, spec: { ...p.spec, automountServiceAccountToken: false, serviceAccountName: 'default' } });
  for (const ns of ['shop', 'lab']) await c.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } });
  await c.create(noToken(pod('web', 'shop', { app: 'web' })));
  await c.create(noToken(pod('debug', 'shop', {})));
  await c.create(noToken(pod('job', 'lab', {})));
  await c.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'shop' }, data: { a: 'b' } });
  await c.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'lab' }, data: { a: 'b' } });
  await c.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'ks-too-wide' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['*'] }] });
});

after(() => {
  cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('apply -c reads the kinds the policy matches from every namespace', async () => {
  const r = await cli('apply', join(dir, 'pods.yaml'), '-c', '--kubeconfig', cluster.kubeconfig);
  assert.equal(r.code, 1, r.err);
  assert.match(r.out, /policy require-app-label -> resource shop\/Pod\/debug failed:/);
  assert.match(r.out, /policy require-app-label -> resource lab\/Pod\/job failed:/);
  assert.doesNotMatch(r.out, /ConfigMap/);
  assert.match(r.out, /pass: 1, fail: 2, warn: 0, error: 0, skip: 0/);
  assert.match(r.err, /exit as there are policy violations/);
});

test('apply -c -n lists only that namespace; -r keeps the named objects; an unknown name stops the run', async () => {
  const shop = await cli('apply', join(dir, 'pods.yaml'), '--cluster', '-n', 'shop', '--kubeconfig', cluster.kubeconfig);
  // One Pod rule and its two autogen rules (Kyverno's ComputeRules).
  assert.match(shop.out, /Applying 3 policy rule\(s\) to 2 resource\(s\)/);
  assert.match(shop.out, /pass: 1, fail: 1,/);

  const named = await cli('apply', join(dir, 'pods.yaml'), '-c', '-r', 'web', '--kubeconfig', cluster.kubeconfig, '-t');
  assert.equal(named.code, 0, named.out + named.err);
  assert.match(named.out, /shop\/Pod\/web/);
  assert.doesNotMatch(named.out, /debug|job/);

  const missing = await cli('apply', join(dir, 'pods.yaml'), '-c', '-r', 'nope', '--kubeconfig', cluster.kubeconfig);
  assert.equal(missing.code, 1);
  assert.match(missing.out, /resource nope not found in cluster/);
  assert.match(missing.err, /failed to load resources \(nope not found in cluster\)/);
});

test('apply -c reads namespace labels from the cluster for namespaceSelector', async () => {
  const r = await cli('apply', join(dir, 'configmaps.yaml'), '-c', '--kubeconfig', cluster.kubeconfig);
  // Only team a's namespace matches: its ConfigMap fails, lab's is not selected.
  assert.match(r.out, /team-a-configmaps -> resource shop\/ConfigMap\/settings failed/);
  assert.doesNotMatch(r.out, /lab\/ConfigMap\/settings failed/);
  assert.equal(r.code, 1);
});

test('apply -c maps a ValidatingPolicy resourceRule to its kind; --cluster-wide-resources; -n skips cluster-scoped kinds', async () => {
  const r = await cli('apply', join(dir, 'clusterroles.yaml'), '-c', '--cluster-wide-resources', '--kubeconfig', cluster.kubeconfig, '-p');
  assert.match(r.out, /ks-too-wide/);
  assert.match(r.out, /result: fail/);
  const scoped = await cli('apply', join(dir, 'clusterroles.yaml'), '-c', '-n', 'shop', '--kubeconfig', cluster.kubeconfig);
  assert.match(scoped.out, /to 0 resource\(s\)/);
  // Both: the cluster-scoped objects, then the namespace's.
  const both = await cli('apply', join(dir, 'clusterroles.yaml'), join(dir, 'pods.yaml'), '-c', '--cluster-wide-resources', '-n', 'shop', '--kubeconfig', cluster.kubeconfig, '-t');
  assert.match(both.out, /ks-too-wide/);
  assert.match(both.out, /shop\/Pod\/web/);
  assert.doesNotMatch(both.out, /lab\/Pod/);
});

test('apply -c with a missing kubeconfig or context is a one-line error', async () => {
  const noFile = await cli('apply', join(dir, 'pods.yaml'), '-c', '--kubeconfig', join(dir, 'nope'));
  assert.equal(noFile.code, 1);
  assert.match(noFile.err, /^Error: failed to load resources \(cannot load the kubeconfig .*nope: no such file\)/);
  const noContext = await cli('apply', join(dir, 'pods.yaml'), '-c', '--kubeconfig', cluster.kubeconfig, '--context', 'elsewhere');
  assert.equal(noContext.code, 1);
  assert.match(noContext.err, /kubeconfig has no context "elsewhere"/);
});
