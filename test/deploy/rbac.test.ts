/** The webhook's RBAC is derived from the policies it serves (deploy/rbac.ts); local-mode key storage. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generatedKinds } from '../../engine/generate/kinds';
import { foldGrants, rbacAllows, webhookRbac } from '../../deploy/rbac';
import { policyGrants, resourceOfPath } from '../../webhook/policy-grants';
import { knownKindTable } from '../../engine/kube';

type Json = Record<string, unknown>;
const kinds = knownKindTable();
const policy = (rules: unknown[], kind = 'ClusterPolicy', namespace?: string) => ({ apiVersion: 'kyverno.io/v1', kind, metadata: { name: 'p', ...(namespace ? { namespace } : {}) }, spec: { rules } });
const match = (kind: string) => ({ any: [{ resources: { kinds: [kind] } }] });
const rulesOf = (objects: Json[], kind: string, namespace?: string) =>
  objects.find((o) => o.kind === kind && (o.metadata as Json).namespace === namespace)?.rules as Json[] | undefined;

test('generated kinds: data, clone, cloneList and foreach targets; variables and non-generate rules are skipped', () => {
  const policies = [
    policy([
      { name: 'netpol', generate: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', name: 'default-deny', data: {} } },
      { name: 'secrets', generate: { namespace: '{{request.object.metadata.name}}', cloneList: { namespace: 'src', kinds: ['v1/Secret', 'v1/ConfigMap'] } } },
      { name: 'each', generate: { foreach: [{ list: 'request.object.spec.x', apiVersion: 'v1', kind: 'ServiceAccount', data: {} }] } },
      { name: 'dynamic', generate: { apiVersion: 'v1', kind: '{{ request.object.kind }}', data: {} } },
      { name: 'validate-only', validate: { pattern: {} } },
    ]),
    { apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy', metadata: { name: 'v' }, spec: {} },
  ];
  assert.deepEqual(generatedKinds(policies), ['networking.k8s.io/v1/NetworkPolicy', 'v1/ConfigMap', 'v1/Secret', 'v1/ServiceAccount']);
});

test('reads follow what a policy matches; no read on */* and no Secret access unless a policy asks', () => {
  const { objects } = webhookRbac('ks', [policy([{ name: 'v', match: match('Pod'), validate: { pattern: {} } }])], kinds);
  const cluster = rulesOf(objects, 'ClusterRole')!;
  assert.ok(!cluster.some((r) => (r.resources as string[]).includes('*')), JSON.stringify(cluster));
  assert.ok(!cluster.some((r) => (r.resources as string[]).includes('secrets')), 'no Secret access');
  assert.ok(cluster.some((r) => (r.apiGroups as string[])[0] === '' && (r.resources as string[]).includes('pods') && (r.verbs as string[]).join() === 'get,list,watch'));
  const own = rulesOf(objects, 'Role', 'ks')!;
  assert.deepEqual(own.find((r) => (r.resources as string[])[0] === 'secrets')?.resourceNames, ['kyverno-svc.ks.svc.kyverno-tls-ca', 'kyverno-svc.ks.svc.kyverno-tls-pair'], 'only its own TLS Secrets');
  assert.deepEqual(own.find((r) => (r.resources as string[])[0] === 'secrets')?.verbs, ['get', 'update', 'patch', 'delete']);
  // Making a missing one again needs create, which a name cannot limit (namespace-local, as Kyverno's chart).
  assert.deepEqual(own.filter((r) => (r.resources as string[])[0] === 'secrets' && !r.resourceNames).map((r) => r.verbs), [['create']]);
});

test('a background-only policy (admission: false) has no webhook but its scan still reads what it matches', () => {
  const backgroundOnly = { ...policy([{ name: 'v', match: match('Pod'), validate: { deny: {} } }]), spec: { admission: false, background: true, rules: [{ name: 'v', match: match('Pod'), validate: { deny: {} } }] } };
  const cluster = rulesOf(webhookRbac('ks', [backgroundOnly], kinds).objects, 'ClusterRole')!;
  assert.ok(cluster.some((r) => (r.apiGroups as string[])[0] === '' && (r.resources as string[]).includes('pods') && (r.verbs as string[]).join() === 'get,list,watch'), JSON.stringify(cluster));
});

test('a namespaced Policy gets a Role in its namespace, never cluster-wide writes', () => {
  const p = policy([{ name: 'g', match: match('ConfigMap'), generate: { apiVersion: 'v1', kind: 'Secret', name: 'x', namespace: 'team-a', data: {} } }], 'Policy', 'team-a');
  const { objects } = webhookRbac('ks', [p], kinds);
  const cluster = rulesOf(objects, 'ClusterRole')!;
  assert.ok(!cluster.some((r) => (r.resources as string[]).includes('secrets') || (r.resources as string[]).includes('configmaps')), JSON.stringify(cluster));
  assert.deepEqual(rulesOf(objects, 'Role', 'team-a'), [
    { apiGroups: [''], resources: ['secrets'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
    // The generated kind is read too: its webhook rules (Kyverno's) bring downstream edits to us.
    { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['get', 'list', 'watch'] },
  ]);
  assert.ok(objects.some((o) => o.kind === 'RoleBinding' && (o.metadata as Json).namespace === 'team-a'));
});

test('context entries, apiCalls and CEL resource calls become reads; variables are reported, not guessed', () => {
  const p = policy([{
    name: 'c', match: match('Pod'),
    context: [
      { name: 'cm', configMap: { name: 'settings', namespace: 'platform' } },
      { name: 'deps', apiCall: { urlPath: '/apis/apps/v1/namespaces/{{request.namespace}}/deployments' } },
      { name: 'dyn', apiCall: { urlPath: '/api/v1/{{ request.object.spec.kind }}' } },
    ],
    validate: { cel: { expressions: [{ expression: 'resource.List("networking.k8s.io/v1", "ingresses", "").items.size() > 0' }] } },
  }]);
  const { grants, unknown } = policyGrants(p, kinds);
  const has = (group: string, resource: string, verb: string) => grants.some((g) => g.group === group && g.resource === resource && g.verbs.includes(verb));
  assert.ok(has('', 'configmaps', 'get'));
  assert.deepEqual(grants.find((g) => g.resource === 'configmaps')?.resourceNames, ['settings']);
  assert.ok(has('apps', 'deployments', 'list'));
  assert.ok(has('networking.k8s.io', 'ingresses', 'list'));
  assert.equal(unknown.length, 1);
  assert.match(unknown[0], /apiCall .*variable/);
});

test('what the live context watches is granted: named reads list and watch by resourceNames, foreach context, the global context entries', () => {
  const p = policy([{
    name: 'c', match: match('Pod'),
    context: [{ name: 'g', globalReference: { name: 'images' } }],
    validate: { foreach: [{ list: 'request.object.spec.containers', context: [{ name: 'cm', configMap: { name: 'per-image', namespace: 'platform' } }], deny: {} }] },
  }]);
  const { objects } = webhookRbac('ks', [p], kinds);
  const cluster = rulesOf(objects, 'ClusterRole')!;
  assert.ok(cluster.some((r) => (r.resources as string[]).includes('configmaps') && (r.resourceNames as string[] | undefined)?.join() === 'per-image' && (r.verbs as string[]).join() === 'get,list,watch'), JSON.stringify(cluster));
  assert.ok(cluster.some((r) => (r.apiGroups as string[])[0] === 'kyverno.io' && (r.resources as string[]).includes('globalcontextentries') && (r.verbs as string[]).includes('watch')), JSON.stringify(cluster));
  // A GlobalContextEntry deployed with the policies: what its kubernetesResource lists.
  const gce = { apiVersion: 'kyverno.io/v2', kind: 'GlobalContextEntry', metadata: { name: 'images' }, spec: { kubernetesResource: { group: 'apps', version: 'v1', resource: 'deployments' } } };
  assert.deepEqual(policyGrants(gce, kinds).grants.map((g) => [g.group, g.resource, g.verbs.join()]), [['apps', 'deployments', 'get,list,watch']]);
  // An apiCall GET of a resource the cluster does not serve is granted nothing (the API server refuses it, as for Kyverno).
  const unserved = { ...gce, metadata: { name: 'odd' }, spec: { apiCall: { urlPath: '/apis/apps/v1/namespaces/default/unknown' } } };
  assert.deepEqual(policyGrants(unserved, kinds), { grants: [], unknown: ['GlobalContextEntry/odd: reads unknown.apps, which this cluster does not serve'] });
  // Without a global reference, no access to the entries.
  assert.ok(!policyGrants(policy([{ name: 'v', match: match('Pod'), validate: { pattern: {} } }]), kinds).grants.some((g) => g.resource === 'globalcontextentries'));
});

test('API paths resolve to group and resource', () => {
  assert.deepEqual(resourceOfPath('/api/v1/namespaces/default/configmaps'), { group: '', resource: 'configmaps', namespace: 'default' });
  assert.deepEqual(resourceOfPath('/apis/apps/v1/deployments?labelSelector=a'), { group: 'apps', resource: 'deployments', namespace: undefined });
  assert.equal(resourceOfPath('/healthz'), undefined);
});

test('grants fold into one rule per group and verbs; a named read is dropped when the whole resource is read', () => {
  const folded = foldGrants([
    { group: '', resource: 'pods', verbs: ['get', 'list', 'watch'], reason: 'a' },
    { group: '', resource: 'configmaps', verbs: ['watch', 'get', 'list'], reason: 'b' },
    { group: '', resource: 'configmaps', verbs: ['get'], resourceNames: ['x'], reason: 'c' },
  ]);
  assert.deepEqual(folded, [{ apiGroups: [''], resources: ['configmaps', 'pods'], verbs: ['get', 'list', 'watch'] }]);
});

test('local mode keeps its keys outside the workspace and never reuses a key found inside it', async () => {
  const { defaultTlsDir, insideWorkspace, localCertificates } = await import('../../deploy/cli');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  assert.equal(defaultTlsDir({ XDG_STATE_HOME: '/state' }), '/state/kyverno-studio/local-webhook');
  const ws = mkdtempSync(join(tmpdir(), 'ks-ws-'));
  assert.equal(insideWorkspace(join(ws, '.kyverno-studio'), ws), true);
  assert.equal(insideWorkspace(join(tmpdir(), 'elsewhere'), ws), false);
  const outside = mkdtempSync(join(tmpdir(), 'ks-state-'));
  const url = 'https://127.0.0.1:9443';
  assert.equal(localCertificates(outside, url, ws).ca.keyPem, localCertificates(outside, url, ws).ca.keyPem, 'reused outside the workspace');
  const inside = join(ws, 'keys');
  assert.notEqual(localCertificates(inside, url, ws).ca.keyPem, localCertificates(inside, url, ws).ca.keyPem, 'never reused inside it');
});

test('certificates last at most a year', async () => {
  const { makeCertificates } = await import('../../tls/certificates');
  const { X509Certificate } = await import('node:crypto');
  const set = makeCertificates({ hosts: ['svc.ns.svc'] });
  for (const pem of [set.ca.certPem, set.serving.certPem]) {
    const c = new X509Certificate(pem);
    assert.ok(new Date(c.validTo).getTime() - new Date(c.validFrom).getTime() <= 366 * 86_400_000);
  }
});

test('during a rotation the old CA stays in the trust bundle beside the new one', async () => {
  const { makeCertificates, trustBundle } = await import('../../tls/certificates');
  const old = makeCertificates({ hosts: ['svc.ns.svc'] });
  const rotated = { ...makeCertificates({ hosts: ['svc.ns.svc'] }), previousCaPem: old.ca.certPem };
  // Kyverno's order (the CA Secret's tls.crt): the previous CA first, the current one last.
  assert.equal(trustBundle(rotated), `${old.ca.certPem}${rotated.ca.certPem}`);
  assert.equal(trustBundle(old), old.ca.certPem);
});

test('rbacAllows decides as the RBAC authorizer: wildcards, whole subresource names, Roles only in their namespace, no resourceNames rules', () => {
  const gpol = {
    apiVersion: 'policies.kyverno.io/v1beta1', kind: 'GeneratingPolicy', metadata: { name: 'g' },
    spec: { matchConstraints: { resourceRules: [
      { apiGroups: ['networking.k8s.io'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['networkpolicies'] },
      { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['deployments'] },
    ] } },
  };
  const { objects } = webhookRbac('kyverno', [gpol], knownKindTable());
  assert.equal(rbacAllows(objects, { verb: 'list', group: 'networking.k8s.io', resource: 'networkpolicies' }), true, 'a generating policy’s triggers are read');
  assert.equal(rbacAllows(objects, { verb: 'list', group: '', resource: 'deployments' }), false, 'core/deployments is not served: not granted');
  const roles = [
    { kind: 'ClusterRole', rules: [{ apiGroups: [''], resources: ['pods', 'secrets'], verbs: ['get'], resourceNames: ['one'] }, { apiGroups: ['*'], resources: ['nodes'], verbs: ['*'] }] },
    { kind: 'Role', metadata: { namespace: 'a' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] },
  ];
  assert.equal(rbacAllows(roles, { verb: 'get', group: '', resource: 'secrets' }), false);
  assert.equal(rbacAllows(roles, { verb: 'watch', group: 'x', resource: 'nodes' }), true);
  assert.equal(rbacAllows(roles, { verb: 'watch', group: '', resource: 'nodes/status' }), false);
  assert.equal(rbacAllows(roles, { verb: 'list', group: '', resource: 'pods', namespace: 'a' }), true);
  assert.equal(rbacAllows(roles, { verb: 'list', group: '', resource: 'pods' }), false);
  assert.equal(rbacAllows(roles, { verb: 'list', group: '', resource: 'pods', namespace: 'b' }), false);
});

test('a generated subresource (Policy/status) is granted by its own name, as the policy admission check asks about it', () => {
  const p = policy([{ name: 'g', match: match('Namespace'), generate: { synchronize: true, apiVersion: 'kyverno.io/v1', kind: 'Policy/status', name: 'x', namespace: 'n', data: { spec: {} } } }]);
  const { objects } = webhookRbac('kyverno', [p], knownKindTable());
  for (const verb of ['list', 'get', 'create', 'update', 'delete']) {
    assert.equal(rbacAllows(objects, { verb, group: 'kyverno.io', resource: 'policies/status', namespace: 'n' }), true, verb);
  }
});
