/** Pure parts of deploy: certificates, EKS detection, planning, readiness, smoke probes (no cluster). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { makeCertificates, certificatesCover } from '../../tls/certificates';
import { detectEks, targetSummary } from '../../deploy/context';
import { planDeploy, sha256, PHASES, VALIDATING_CONFIG, MUTATING_CONFIG } from '../../deploy/plan';
import { deploymentReady } from '../../deploy/ready';
import { findSmokeProbe } from '../../deploy/smoke';
import { changedFields, summaryText } from '../../deploy/diff';
import { crdIndex, crdsFor } from '../../deploy/crds';
import { knownKindTable } from '../../engine/kube';
import { asObject } from '../../engine/core/json';
import { FakeKube } from './fake-kube';
import { undeployPlan } from '../../deploy/undeploy';
import { REQUIRE_TEAM, ADD_LABEL } from '../cluster/fixtures';
import { parseServeArgs } from '../../webhook/serve';

type Json = Record<string, unknown>;

test('certificates: a CA and a serving certificate for DNS names and IPs, made without openssl', () => {
  const set = makeCertificates({ hosts: ['svc.ns.svc', '10.0.0.7', '::1'] });
  const ca = new X509Certificate(set.ca.certPem);
  const leaf = new X509Certificate(set.serving.certPem);
  assert.equal(ca.ca, true);
  assert.equal(leaf.ca, false);
  assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
  assert.equal(leaf.checkHost('svc.ns.svc'), 'svc.ns.svc');
  assert.equal(leaf.checkIP('10.0.0.7'), '10.0.0.7');
  assert.equal(leaf.checkHost('other.ns.svc'), undefined);
  assert.ok(certificatesCover(set, ['svc.ns.svc', '10.0.0.7']));
  assert.ok(!certificatesCover(set, ['other.ns.svc']), 'a missing host means new certificates');
  const other = makeCertificates({ hosts: ['svc.ns.svc'] });
  assert.ok(!certificatesCover({ ca: other.ca, serving: set.serving }, ['svc.ns.svc']), 'a foreign CA is rejected');
  assert.throws(() => makeCertificates({ hosts: ['bad host!'] }), /neither a DNS name nor an IP/);
  assert.throws(() => makeCertificates({ hosts: [] }), /at least one host/);
});

test('EKS: recognised from ARN names, exec credentials, the server host and the -eks- version', () => {
  const arn = detectEks({ contextName: 'arn:aws:eks:eu-west-1:123456789012:cluster/prod', clusterName: 'x', server: 'https://1.2.3.4' });
  assert.deepEqual([arn?.cluster, arn?.region, arn?.account], ['prod', 'eu-west-1', '123456789012']);
  const exec = detectEks({
    contextName: 'dev', clusterName: 'dev', server: 'https://ABC.gr7.us-east-2.eks.amazonaws.com',
    exec: { command: 'aws', args: ['--region', 'us-east-2', 'eks', 'get-token', '--cluster-name', 'dev-cluster', '--role-arn', 'arn:aws:iam::210987654321:role/admin'] },
  });
  assert.deepEqual([exec?.cluster, exec?.region, exec?.account], ['dev-cluster', 'us-east-2', '210987654321']);
  assert.equal(exec?.evidence.length, 2);
  const version = detectEks({ contextName: 'a', clusterName: 'b', server: 'https://10.0.0.1', serverVersion: 'v1.29.3-eks-adc7111' });
  assert.deepEqual(version?.evidence, ['server version v1.29.3-eks-adc7111']);
  assert.equal(detectEks({ contextName: 'kind-kind', clusterName: 'kind-kind', server: 'https://127.0.0.1:6443', serverVersion: 'v1.30.0' }), undefined);
  const text = targetSummary({ context: 'c', cluster: 'k', server: 's', user: 'u', eks: { cluster: 'prod', region: 'eu-west-1', evidence: ['x'] } });
  assert.match(text, /EKS:.*cluster prod, region eu-west-1, account \(unknown/);
});

// One set for every plan below (RSA key generation costs about 0.3 s of CPU each time).
const PLAN_CERTS = makeCertificates({ hosts: ['127.0.0.1'] });

function plan(mode: 'cluster' | 'local' | 'policies-only', extra: Json = {}) {
  return planDeploy({
    mode, policies: [REQUIRE_TEAM, ADD_LABEL], kinds: knownKindTable(), certs: PLAN_CERTS,
    webhookCode: Buffer.from('console.log("webhook")'), pdbApiVersion: 'policy/v1beta1', localUrl: 'https://127.0.0.1:9443', ...extra,
  });
}

test('plan: cluster mode objects come in the safe order with pinned code, probes, PDB and caBundle', () => {
  const p = plan('cluster');
  const phases = p.objects.map((o) => o.phase);
  assert.deepEqual([...new Set(phases)], PHASES.filter((x) => x !== 'crds'));
  const kinds = p.objects.map((o) => o.object.kind);
  assert.deepEqual(kinds, ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', ...Array(8).fill('ClusterRole'), 'Secret', 'Secret', 'ConfigMap', 'Deployment', 'Service', 'Service', 'PodDisruptionBudget',
    'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'ClusterPolicy', 'ClusterPolicy']);
  const cm = p.objects.find((o) => o.object.kind === 'ConfigMap')!.object;
  const code = gunzipSync(Buffer.from(((cm.binaryData as Json)['webhook.js.gz'] as string), 'base64'));
  assert.equal(sha256(code), p.codeSha256);
  const dep = p.objects.find((o) => o.object.kind === 'Deployment')!.object as Json;
  const spec = (((dep.spec as Json).template as Json).spec as Json);
  const c = (spec.containers as Json[])[0];
  assert.equal((dep.spec as Json).replicas, 2);
  assert.equal(((c.readinessProbe as Json).httpGet as Json).path, '/readyz');
  assert.equal(((c.livenessProbe as Json).httpGet as Json).path, '/healthz');
  assert.equal((spec.securityContext as Json).runAsNonRoot, true);
  assert.ok((c.resources as Json).requests);
  assert.equal(c.image, 'public.ecr.aws/docker/library/node:22-alpine');
  assert.deepEqual((c.env as Json[]).find((e) => e.name === 'KS_CODE_SHA256'), { name: 'KS_CODE_SHA256', value: p.codeSha256 });
  assert.deepEqual((c.env as Json[]).find((e) => e.name === 'KYVERNO_POD_NAME'), { name: 'KYVERNO_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, 'the Lease identity is the pod name');
  const role = p.objects.find((o) => o.object.kind === 'Role')!.object;
  assert.deepEqual((role.rules as Json[]).filter((r) => (r.resources as string[])[0] === 'leases').map((r) => [r.verbs, r.resourceNames]), [
    [['create'], undefined],
    [['get', 'update', 'patch', 'delete'], ['kyverno', 'kyverno-background-controller', 'kyverno-reports-controller', 'kyverno-cleanup-controller']],
  ], 'leases only in our namespace, by name except create');
  assert.equal(p.objects.find((o) => o.object.kind === 'PodDisruptionBudget')!.object.apiVersion, 'policy/v1beta1');
  const vwc = p.objects.find((o) => o.object.kind === 'ValidatingWebhookConfiguration')!.object;
  const hook = (vwc.webhooks as Json[])[0];
  assert.equal(hook.name, 'validate.kyverno.svc-fail', "Kyverno's webhook name");
  assert.deepEqual(((hook.clientConfig as Json).service as Json).path, '/validate/fail');
  assert.deepEqual((vwc.metadata as Json).labels, { 'app.kubernetes.io/managed-by': 'kyverno-studio', 'webhook.kyverno.io/managed-by': 'kyverno' });
  assert.equal(hook.failurePolicy, 'Fail');
  assert.equal(hook.sideEffects, 'NoneOnDryRun', "Kyverno's with admission reports on");
  assert.equal(hook.matchPolicy, 'Equivalent');
  assert.equal(hook.timeoutSeconds, 10);
  // The rules Kyverno's webhook controller would register (webhook/rules.ts), not `*` versions and scopes.
  assert.deepEqual(hook.rules, [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CONNECT', 'CREATE', 'DELETE', 'UPDATE'], resources: ['configmaps'], scope: 'Namespaced' }]);
  const mutating = p.objects.find((o) => o.object.kind === 'MutatingWebhookConfiguration')!.object;
  assert.equal(((mutating.webhooks as Json[])[0]).reinvocationPolicy, 'IfNeeded');
  assert.deepEqual(hook.namespaceSelector, {
    matchExpressions: [
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] },
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kyverno-studio'] },
    ],
  }, "Kyverno's chart default: kube-system, then its own namespace");
  assert.deepEqual(hook.objectSelector, {});
  assert.deepEqual((vwc.metadata as Json).annotations, { 'admissions.enforcer/disabled': 'true' }, "Kyverno's default webhookAnnotations");
  // The Service the webhooks call is Kyverno's kyverno-svc, and the serving certificate names it.
  assert.equal(((hook.clientConfig as Json).service as Json).name, 'kyverno-svc');
  assert.ok(p.objects.some((o) => o.object.kind === 'Service' && (o.object.metadata as Json).name === 'kyverno-svc'));
  assert.match(Buffer.from(String((hook.clientConfig as Json).caBundle), 'base64').toString(), /BEGIN CERTIFICATE/);
  assert.equal(((p.objects.at(-1)!.object.metadata as Json).labels as Json)['app.kubernetes.io/managed-by'], 'kyverno-studio');
});

test('plan: metrics on their own port and Service, and a ServiceMonitor on request', () => {
  const objects = (extra = {}) => plan('cluster', extra).objects.map((o) => o.object);
  const c = ((((objects().find((o) => o.kind === 'Deployment')!.spec as Json).template as Json).spec as Json).containers as Json[])[0];
  assert.deepEqual((c.args as string[]).slice(-2), ['--metrics-port', '8000']);
  assert.deepEqual((c.ports as Json[]).map((p) => [p.name, p.containerPort]), [['https', 9443], ['metrics', 8000]]);
  const svc = objects().find((o) => o.kind === 'Service' && (o.metadata as Json).name === 'kyverno-svc-metrics')!;
  assert.deepEqual((svc.spec as Json).ports, [{ name: 'metrics', port: 8000, targetPort: 8000, protocol: 'TCP' }]);
  assert.equal(objects().some((o) => o.kind === 'ServiceMonitor'), false, 'no ServiceMonitor unless asked');
  const monitor = objects({ serviceMonitor: true }).find((o) => o.kind === 'ServiceMonitor')!;
  assert.equal(monitor.apiVersion, 'monitoring.coreos.com/v1');
  const spec = monitor.spec as Json;
  // The monitor selects the metrics Service by its labels, and scrapes its named port.
  for (const [k, v] of Object.entries((spec.selector as Json).matchLabels as Json)) assert.equal(((svc.metadata as Json).labels as Json)[k], v, k);
  assert.deepEqual((spec.endpoints as Json[]).map((e) => [e.port, e.path]), [['metrics', '/metrics']]);
  assert.deepEqual(spec.namespaceSelector, { matchNames: ['kyverno-studio'] });
});

test('plan: --force-failure-policy-ignore puts every policy on the Ignore webhooks, runs the webhook with it, and applies the policies as written', () => {
  const objects = (extra = {}) => plan('cluster', extra).objects.map((o) => o.object);
  const hooks = (os: Json[]) => os.filter((o) => o.kind === 'ValidatingWebhookConfiguration' || o.kind === 'MutatingWebhookConfiguration')
    .filter((o) => ['validate.kyverno.svc', 'mutate.kyverno.svc'].some((n) => ((o.webhooks ?? []) as Json[]).some((w) => String(w.name).startsWith(n))))
    .flatMap((o) => (o.webhooks as Json[]).map((w) => [w.name, w.failurePolicy, ((w.clientConfig as Json).service as Json).path]));
  const args = (os: Json[]) => ((((os.find((o) => o.kind === 'Deployment')!.spec as Json).template as Json).spec as Json).containers as Json[])[0].args as string[];
  const plain = objects();
  assert.ok(hooks(plain).some(([, fp]) => fp === 'Fail'), 'the fixtures have Fail policies');
  assert.equal(args(plain).includes('--force-failure-policy-ignore'), false);
  const forced = objects({ forceFailurePolicyIgnore: true });
  assert.ok(hooks(forced).length > 0);
  for (const [name, fp, path] of hooks(forced)) {
    assert.equal(fp, 'Ignore', String(name));
    assert.match(String(name), /-ignore$/);
    assert.match(String(path), /\/ignore$/);
  }
  assert.deepEqual(args(forced).slice(-1), ['--force-failure-policy-ignore']);
  assert.deepEqual(forced.filter((o) => o.kind === 'ClusterPolicy'), plain.filter((o) => o.kind === 'ClusterPolicy'), 'the cluster stores the policies as written');
});

test('plan: local mode registers URLs and skips the in-cluster workload (its namespace holds the Leases and UpdateRequests); policies-only applies just policies', () => {
  const local = plan('local');
  assert.deepEqual(local.objects.map((o) => o.object.kind), ['Namespace', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'ClusterPolicy', 'ClusterPolicy']);
  const policyHook = ((local.objects[3].object.webhooks as Json[])[0]);
  assert.equal(policyHook.name, 'validate-policy.kyverno.svc');
  assert.equal((policyHook.clientConfig as Json).url, 'https://127.0.0.1:9443/policyvalidate');
  const hook = ((local.objects[2].object.webhooks as Json[])[0]);
  assert.deepEqual(Object.keys(hook.clientConfig as Json).sort(), ['caBundle', 'url']);
  assert.equal((hook.clientConfig as Json).url, 'https://127.0.0.1:9443/mutate/fail');
  assert.equal(hook.name, 'mutate.kyverno.svc-fail');
  assert.deepEqual(plan('policies-only').objects.map((o) => o.object.kind), ['ClusterPolicy', 'ClusterPolicy']);
  assert.throws(() => plan('local', { localUrl: undefined, certs: undefined }), /CA|URL/);
  assert.throws(() => plan('cluster', { webhookCode: undefined }), /webhook bundle/);
  const big = randomBytes(1_100_000); // incompressible: still over 1 MiB gzipped
  assert.throws(() => plan('cluster', { webhookCode: big }), /at most 1 MiB/);
  assert.throws(() => plan('cluster', { policies: [{ kind: 'Policy', apiVersion: 'kyverno.io/v1', metadata: { name: 'p' }, spec: {} }] }), /metadata.namespace/);
});

test('plan: cluster mode installs Kyverno\'s aggregated admin and view ClusterRoles for people, bound to nobody', () => {
  const roles = plan('cluster').objects.filter((o) => o.object.kind === 'ClusterRole' && String((o.object.metadata as Json).name).startsWith('kyverno:rbac:')).map((o) => o.object);
  assert.deepEqual(roles.map((r) => (r.metadata as Json).name), ['admin', 'view'].flatMap((l) => ['policies', 'policyreports', 'reports', 'updaterequests'].map((n) => `kyverno:rbac:${l}:${n}`)));
  const admin = roles[0];
  assert.deepEqual((admin.metadata as Json).labels, { 'app.kubernetes.io/managed-by': 'kyverno-studio', 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' });
  assert.deepEqual((admin.rules as Json[]).map((r) => [r.apiGroups, (r.resources as string[]).includes('clusterpolicies') || (r.resources as string[]).includes('validatingpolicies'), r.verbs]), [
    [['kyverno.io'], true, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']],
    [['policies.kyverno.io'], true, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']],
  ]);
  const view = roles.find((r) => (r.metadata as Json).name === 'kyverno:rbac:view:policyreports')!;
  assert.equal(((view.metadata as Json).labels as Json)['rbac.authorization.k8s.io/aggregate-to-view'], 'true');
  assert.deepEqual(view.rules, [{ apiGroups: ['wgpolicyk8s.io'], resources: ['policyreports', 'clusterpolicyreports'], verbs: ['get', 'list', 'watch'] }]);
  // Not the webhook's access: no binding names them, and the other modes leave them out.
  assert.ok(!plan('cluster').objects.some((o) => String(asObject(asObject(o.object).roleRef).name).startsWith('kyverno:rbac:')));
  for (const mode of ['local', 'policies-only'] as const) assert.ok(!plan(mode).objects.some((o) => String((o.object.metadata as Json).name).startsWith('kyverno:rbac:')), mode);
});

test('plan: configurations and names used by undeploy are stable', () => {
  assert.equal(VALIDATING_CONFIG, 'kyverno-resource-validating-webhook-cfg');
  assert.equal(MUTATING_CONFIG, 'kyverno-resource-mutating-webhook-cfg');
});

test('readiness: rolled out means observed generation, updated, ready and available replicas', () => {
  const d = (status: Json, generation = 2) => ({ metadata: { generation }, spec: { replicas: 2 }, status });
  assert.equal(deploymentReady(d({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 })).ready, true);
  assert.equal(deploymentReady(d({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 })).ready, false);
  assert.equal(deploymentReady(d({ observedGeneration: 2, replicas: 3, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 })).ready, false, 'old pods still running');
  assert.match(deploymentReady(d({ observedGeneration: 2, readyReplicas: 1 })).detail, /1\/2 ready/);
});

test('smoke probe: an object the deployed Enforce policy denies, found with the engine', () => {
  const probe = findSmokeProbe([REQUIRE_TEAM]);
  assert.equal(probe?.object.kind, 'ConfigMap');
  assert.equal(probe?.policy, 'require-team-label');
  assert.equal(findSmokeProbe([ADD_LABEL]), undefined, 'mutate-only policies deny nothing');
  const requireStamp = { ...REQUIRE_TEAM, metadata: { name: 'require-stamp' }, spec: { validationFailureAction: 'Enforce', rules: [{ name: 'stamp', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, validate: { message: 'stamp it', pattern: { metadata: { labels: { stamped: '?*' } } } } }] } };
  assert.equal(findSmokeProbe([requireStamp])?.object.kind, 'ConfigMap');
  assert.equal(findSmokeProbe([requireStamp, ADD_LABEL]), undefined, 'the deployed set as the API server runs it: the mutation adds what the validation requires');
});

test('diff: server-managed metadata is ignored, real changes are named', () => {
  const before = { metadata: { name: 'a', resourceVersion: '1', managedFields: [] }, data: { a: '1' } };
  assert.deepEqual(changedFields(before, { metadata: { name: 'a', resourceVersion: '2' }, data: { a: '1' } }), []);
  assert.deepEqual(changedFields(before, { metadata: { name: 'a' }, data: { a: '2' } }), ['data']);
  const text = summaryText([{ phase: 'policies', ref: { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', namespace: 'n' }, kind: 'update', fields: ['data'], existed: true }]);
  assert.match(text, /~ update\s+ConfigMap n\/x \(data\)/);
  assert.match(text, /0 to create, 1 to change, 0 unchanged/);
});

test('CRDs: shipped in deploy/crds with an index; a policy pulls in its own CRD, and the webhook the report CRDs, UpdateRequests and the PolicyExceptions it honours', () => {
  const index = crdIndex();
  const names = crdsFor([REQUIRE_TEAM], index, true).map((e) => e.name).sort();
  assert.deepEqual(names, ['clusterpolicies.kyverno.io', 'clusterpolicyreports.wgpolicyk8s.io', 'policyexceptions.kyverno.io', 'policyexceptions.policies.kyverno.io', 'policyreports.wgpolicyk8s.io', 'updaterequests.kyverno.io']);
  assert.deepEqual(crdsFor([REQUIRE_TEAM], index, false).map((e) => e.name), ['clusterpolicies.kyverno.io']);
  // A GlobalContextEntry deployed beside the policies brings its CRD, as Kyverno's install serves it.
  const gce = { apiVersion: 'kyverno.io/v2alpha1', kind: 'GlobalContextEntry', metadata: { name: 'deploys' }, spec: { kubernetesResource: { group: 'apps', version: 'v1', resource: 'deployments' } } };
  assert.deepEqual(crdsFor([gce], index, false).map((e) => [e.name, e.versions]), [['globalcontextentries.kyverno.io', ['v2', 'v2alpha1', 'v2beta1']]]);
});

test('undeploy removes Kyverno\'s user-facing ClusterRoles only when our deploy wrote them', async () => {
  const kube = new FakeKube();
  kube.seed({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'kyverno:rbac:admin:policies', labels: { 'app.kubernetes.io/managed-by': 'kyverno-studio' } }, rules: [] });
  // A real Kyverno's role of the same name (helm's labels) stays.
  kube.seed({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'kyverno:rbac:view:policies', labels: { 'app.kubernetes.io/managed-by': 'Helm' } }, rules: [] });
  const names = (await undeployPlan(kube, 'kyverno-studio')).objects.filter((o) => o.kind === 'ClusterRole').map((o) => o.name);
  assert.ok(names.includes('kyverno:rbac:admin:policies'), names.join(', '));
  assert.ok(!names.includes('kyverno:rbac:view:policies'), names.join(', '));
});

test('plan: the webhook runs with the admission policy generation flags that differ from serve\'s defaults', () => {
  const args = (extra = {}) => (((((plan('cluster', extra).objects.map((o) => o.object).find((o) => o.kind === 'Deployment')!.spec as Json).template as Json).spec as Json).containers as Json[])[0].args as string[]);
  assert.equal(args().some((a) => a.startsWith('--generate-')), false);
  assert.equal(args({ admissionPolicyGeneration: { validating: true, mutating: false } }).some((a) => a.startsWith('--generate-')), false);
  assert.deepEqual(args({ admissionPolicyGeneration: { validating: false, mutating: true } }).filter((a) => a.startsWith('--generate-')), ['--generate-validating-admission-policy=false', '--generate-mutating-admission-policy']);
  // The ClusterRole lets it write what it generates, as Kyverno's chart always does.
  const role = plan('cluster').objects.map((o) => o.object).find((o) => o.kind === 'ClusterRole' && !(o as Json).aggregationRule)!;
  const rule = (role.rules as Json[]).find((r) => (r.resources as string[]).includes('mutatingadmissionpolicybindings'))!;
  assert.deepEqual([...(rule.verbs as string[])].sort(), ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']);
});

test('deploy --exclude-bootstrap-resources: the planned Fail webhooks skip Nodes and CSRs and the webhook runs with the flag', () => {
  const certs = makeCertificates({ hosts: ['kyverno-svc.ks.svc'] });
  const plan = (excludeBootstrapResources?: boolean) => planDeploy({ mode: 'cluster', namespace: 'ks', policies: [REQUIRE_TEAM], kinds: knownKindTable(), certs, webhookCode: Buffer.from('x'), excludeBootstrapResources });
  const failHook = (p: ReturnType<typeof plan>) => ((p.objects.find((o) => asObject(o.object.metadata).name === VALIDATING_CONFIG)!.object.webhooks as Array<Record<string, unknown>>).find((w) => w.failurePolicy === 'Fail'))!;
  const args = (p: ReturnType<typeof plan>) => ((asObject(asObject(asObject(p.objects.find((o) => o.object.kind === 'Deployment')!.object.spec).template).spec).containers as Array<Record<string, unknown>>)[0].args as string[]);
  const on = plan(true);
  assert.deepEqual((failHook(on).matchConditions as Array<{ name: string }>).map((c) => c.name), ['kyverno-exclude-bootstrap-resources']);
  assert.ok(args(on).includes('--exclude-bootstrap-resources'));
  const off = plan();
  assert.equal(failHook(off).matchConditions, undefined);
  assert.ok(!args(off).includes('--exclude-bootstrap-resources'));
});

test('deploy --webhook-timeout: the planned configurations carry it and the webhook runs with it, under the one name serve reads', () => {
  const certs = makeCertificates({ hosts: ['kyverno-svc.ks.svc'] });
  const plan = (webhookTimeoutSeconds?: number) => planDeploy({ mode: 'cluster', namespace: 'ks', policies: [REQUIRE_TEAM], kinds: knownKindTable(), certs, webhookCode: Buffer.from('x'), webhookTimeoutSeconds });
  const hook = (p: ReturnType<typeof plan>, config: string) => ((p.objects.find((o) => asObject(o.object.metadata).name === config)!.object.webhooks as Array<Record<string, unknown>>)[0]);
  const args = (p: ReturnType<typeof plan>) => ((asObject(asObject(asObject(p.objects.find((o) => o.object.kind === 'Deployment')!.object.spec).template).spec).containers as Array<Record<string, unknown>>)[0].args as string[]);
  const set = plan(15);
  assert.equal(hook(set, VALIDATING_CONFIG).timeoutSeconds, 15);
  assert.equal(hook(set, 'kyverno-policy-validating-webhook-cfg').timeoutSeconds, 15);
  assert.ok(set.needs.every((n) => n.timeoutSeconds === 15));
  const given = args(set);
  assert.equal(given[given.indexOf('--webhook-timeout') + 1], '15');
  assert.equal(parseServeArgs(given).webhookTimeoutSeconds, 15, 'serve reads what deploy passes');
  const unset = plan();
  assert.equal(hook(unset, VALIDATING_CONFIG).timeoutSeconds, 10);
  assert.ok(!args(unset).includes('--webhook-timeout'));
});
