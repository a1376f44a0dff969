/**
 * `apply --cluster` reads what the policies read from the cluster, as Kyverno's CLI does with its
 * cluster client: a ValidatingPolicy's resource.Get, a MutatingAdmissionPolicy binding's
 * params (with the policy's own matchConstraints matched first). The API server here is the
 * chainsaw runner's store served over loopback HTTPS (test/chainsaw/api-http.ts). Also: the
 * rule count `apply` announces includes autogen rules (Kyverno's ComputeRules).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main';
import { knownKindTable } from '../../engine/kube';
import { ObjectStore } from '../chainsaw/store';
import { startApiEndpoint } from '../chainsaw/api-http';
import { kubeconfigText } from '../chainsaw/shell';

async function cli(...args: string[]) {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

const TEAM_POLICY = `apiVersion: policies.kyverno.io/v1beta1
kind: ValidatingPolicy
metadata:
  name: team-from-configmap
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["pods"]
  variables:
  - name: allowed
    expression: resource.Get("v1", "configmaps", object.metadata.namespace, "allowed-team")
  validations:
  - expression: object.metadata.labels.team == variables.allowed.data.team
    message: the team is not the namespace's
`;

const REPLICAS_POLICY = `apiVersion: admissionregistration.k8s.io/v1alpha1
kind: MutatingAdmissionPolicy
metadata:
  name: set-replicas
spec:
  paramKind:
    apiVersion: v1
    kind: ConfigMap
  matchConstraints:
    resourceRules:
    - apiGroups: ["apps"]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["deployments"]
      resourceNames: ["web"]
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: 'Object{spec: Object.spec{replicas: int(params.data.replicas)}}'
---
apiVersion: admissionregistration.k8s.io/v1alpha1
kind: MutatingAdmissionPolicyBinding
metadata:
  name: set-replicas-binding
spec:
  policyName: set-replicas
  paramRef:
    name: replicas
    namespace: settings
  matchResources:
    resourceRules:
    - apiGroups: ["apps"]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["deployments"]
`;

function deployment(name: string, namespace: string) {
  const labels = { app: name };
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace }, spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } } } };
}

/** A cluster holding the objects, its kubeconfig and a folder with the policy files. */
async function withCluster(objects: Array<Record<string, unknown>>, files: Record<string, string>, run: (dir: string, kubeconfig: string) => Promise<void>): Promise<void> {
  const store = new ObjectStore();
  for (const o of objects) store.create(o);
  const api = await startApiEndpoint(store, () => knownKindTable());
  const dir = mkdtempSync(join(tmpdir(), 'ks-apply-cluster-'));
  try {
    writeFileSync(join(dir, 'kubeconfig'), kubeconfigText(api));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    await run(dir, join(dir, 'kubeconfig'));
  } finally {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const ns = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

test('apply --cluster: a ValidatingPolicy\'s resource.Get reads the cluster\'s ConfigMap, not only the resources evaluated', async () => {
  const pod = (name: string, team: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'apps', labels: { team } }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } });
  const objects = [ns('apps'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'allowed-team', namespace: 'apps' }, data: { team: 'blue' } }, pod('good', 'blue'), pod('bad', 'red')];
  await withCluster(objects, { 'policy.yaml': TEAM_POLICY }, async (dir, kubeconfig) => {
    const r = await cli('apply', join(dir, 'policy.yaml'), '--cluster', '--kubeconfig', kubeconfig);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /Applying 1 policy rule\(s\) to 2 resource\(s\)\.\.\./);
    assert.match(r.out, /policy team-from-configmap -> resource apps\/Pod\/bad failed:\n1 - .*the team is not the namespace's/);
    assert.doesNotMatch(r.out, /resource apps\/Pod\/good failed/);
    assert.match(r.out, /pass: 1, fail: 1, warn: 0, error: 0, skip: 0/);
  });
});

test('apply --cluster: a MutatingAdmissionPolicy binding\'s params come from the cluster, and the policy\'s resourceNames are matched first', async () => {
  const objects = [ns('settings'), ns('apps'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'replicas', namespace: 'settings' }, data: { replicas: '5' } }, deployment('web', 'apps'), deployment('other', 'apps')];
  await withCluster(objects, { 'policy.yaml': REPLICAS_POLICY }, async (dir, kubeconfig) => {
    const r = await cli('apply', join(dir, 'policy.yaml'), '--cluster', '--kubeconfig', kubeconfig);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /policy set-replicas applied to apps\/Deployment\/web:\n[\s\S]*replicas: 5\n/);
    assert.doesNotMatch(r.out, /applied to apps\/Deployment\/other/);
    assert.match(r.out, /Mutation has been applied successfully\./);
    assert.match(r.out, /pass: 1, fail: 0, warn: 0, error: 0, skip: 0/);
  });
});

test('apply announces a classic policy\'s rules with its autogen rules, as Kyverno\'s ComputeRules counts them', async () => {
  const policy = (annotations: string) => `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-team${annotations}
spec:
  rules:
  - name: team
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      message: a team label is needed
      pattern:
        metadata:
          labels:
            team: "?*"
`;
  const pod = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: default\n  labels:\n    team: blue\nspec:\n  containers:\n  - name: c\n    image: nginx:1.27\n';
  const noAutogen = '\n  annotations:\n    pod-policies.kyverno.io/autogen-controllers: none';
  await withCluster([], { 'autogen.yaml': policy(''), 'none.yaml': policy(noAutogen), 'pod.yaml': pod }, async (dir) => {
    const withAutogen = await cli('apply', join(dir, 'autogen.yaml'), '-r', join(dir, 'pod.yaml'));
    assert.match(withAutogen.out, /^\nApplying 3 policy rule\(s\) to 1 resource\(s\)\.\.\./);
    const without = await cli('apply', join(dir, 'none.yaml'), '-r', join(dir, 'pod.yaml'));
    assert.match(without.out, /^\nApplying 1 policy rule\(s\) to 1 resource\(s\)\.\.\./);
  });
});

test('apply --cluster: a classic policy\'s configMap context entry reads the cluster\'s ConfigMap', async () => {
  const policy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: allowed-registry
spec:
  validationFailureAction: Enforce
  rules:
  - name: registry
    match:
      any:
      - resources:
          kinds: [Pod]
    context:
    - name: settings
      configMap:
        name: registry
        namespace: settings
    validate:
      message: "images come from {{ settings.data.prefix }}"
      pattern:
        spec:
          containers:
          - image: "{{ settings.data.prefix }}/*"
`;
  const pod = (name: string, image: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'apps' }, spec: { containers: [{ name: 'c', image }] } });
  const objects = [ns('settings'), ns('apps'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'registry', namespace: 'settings' }, data: { prefix: 'ghcr.io' } }, pod('good', 'ghcr.io/app:1'), pod('bad', 'docker.io/app:1')];
  await withCluster(objects, { 'policy.yaml': policy }, async (dir, kubeconfig) => {
    const r = await cli('apply', join(dir, 'policy.yaml'), '--cluster', '--kubeconfig', kubeconfig);
    assert.match(r.out, /policy allowed-registry -> resource apps\/Pod\/bad failed:\n1 - registry validation error: images come from ghcr\.io/);
    assert.doesNotMatch(r.out, /apps\/Pod\/good failed/);
    assert.match(r.out, /pass: 1, fail: 1, warn: 0, error: 0, skip: 0/);
  });
});
