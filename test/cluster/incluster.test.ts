/**
 * In-cluster mode against a real kube-apiserver: the webhook runs as a local process in
 * `--in-cluster` mode with a kubeconfig (no kubelet, so no pod can run it), registered by a
 * local-mode deploy. Policies come from watching the API server; the webhook controller
 * widens the configuration when a policy for a new kind appears; the background scan and
 * Audit admissions write one PolicyReport per resource, pruned when policies go.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { CertificateSet } from '../../tls/certificates';
import { KubeError, type JsonObject } from '../../kube-api/client';
import { runDeploy } from '../../deploy/run';
import { runUndeploy } from '../../deploy/undeploy';
import { VALIDATING_CONFIG } from '../../deploy/plan';
import { ReportWriter } from '../../webhook/reports';
import { bundleWebhook, kubectl, recordingUI, snapshot, startCluster, type TestCluster } from './harness';
import { AUDIT_OWNER, REQUIRE_TEAM, configMap, startInClusterWebhook, waitFor } from './fixtures';

let cluster: TestCluster;
let child: ChildProcess;
let url = '';
let certs: CertificateSet;
let pristine: string[];
let log = '';

const until = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs?: number) => waitFor(what, probe, () => log, timeoutMs);

before(async () => {
  cluster = startCluster();
  // The namespace of the leader-election Leases is created by the deploy below (local mode too);
  // until then the webhook serves and retries its Leases.
  pristine = await snapshot(cluster.client);
  const bundle = await bundleWebhook();
  ({ child, url, certs } = await startInClusterWebhook(bundle, cluster.kubeconfig, (c) => (log += c), ['--report-interval-ms', '500']));
});

after(async () => {
  child?.kill('SIGTERM');
  cluster?.stop();
});

test('policies are watched from the cluster, the controller follows new kinds, scans and audits become per-resource PolicyReports that are pruned, undeploy restores', async () => {
  const ui = recordingUI();
  const r = await runDeploy({ client: cluster.client, ui, mode: 'local', policies: [REQUIRE_TEAM], localUrl: url, certs, smokeTimeoutMs: 45_000 });
  assert.equal(r.outcome, 'deployed', `${r.error}\n${ui.lines.join('\n')}\n${log}`);
  assert.match(r.smoke ?? '', /require-team-label/, 'the in-cluster server learnt the policy by watching it');
  // Policy status as Kyverno writes it: kubectl shows READY and the rule counts.
  await until('the policy to be Ready', async () => /\bTrue\b/.test(kubectl(cluster, 'get', 'clusterpolicy', 'require-team-label')));
  const listed = kubectl(cluster, 'get', 'clusterpolicy', 'require-team-label', '-o', 'wide').split('\n');
  // kubectl aligns each value under its header (empty columns included).
  const column = (name: string) => listed[1].slice(listed[0].indexOf(name)).split(/\s+/)[0];
  assert.equal(column('READY'), 'True', listed.join('\n'));
  assert.equal(column('VALIDATE'), '1', listed.join('\n'));
  const status = (await cluster.client.get({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'require-team-label' }))!.status as JsonObject;
  assert.deepEqual(((status.conditions as JsonObject[]).find((c) => c.type === 'Ready') ?? {}).reason, 'Succeeded');

  // A resource that exists before the Audit policy: the background scan must report it.
  await cluster.client.create(configMap('existing', { team: 'a' }));
  const audit = { ...AUDIT_OWNER, metadata: { ...(AUDIT_OWNER.metadata as JsonObject), labels: { 'app.kubernetes.io/managed-by': 'kyverno-studio' } } };
  const secretsPolicy = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy',
    metadata: { name: 'secrets-need-team', labels: { 'app.kubernetes.io/managed-by': 'kyverno-studio' } },
    spec: { validationFailureAction: 'Enforce', background: false, rules: [{ name: 'team', match: { any: [{ resources: { kinds: ['Secret'] } }] }, validate: { message: 'secrets need a team', pattern: { metadata: { labels: { team: '?*' } } } } }] },
  };
  await cluster.client.apply(audit, { force: true });
  await cluster.client.apply(secretsPolicy, { force: true });

  const resources = await until('the controller to add secrets to the webhook rules', async () => {
    const vwc = await cluster.client.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: VALIDATING_CONFIG });
    const list = ((vwc?.webhooks ?? []) as JsonObject[]).flatMap((w) => (w.rules as JsonObject[]).flatMap((x) => x.resources as string[]));
    return list.includes('secrets') && list;
  });
  assert.deepEqual([...resources].sort(), ['configmaps', 'secrets']);
  const vwc = await cluster.client.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: VALIDATING_CONFIG });
  assert.equal((((vwc!.webhooks as JsonObject[])[0]).clientConfig as JsonObject).url, `${url}/validate/fail`, 'the controller kept the URL and caBundle');
  assert.equal(((vwc!.webhooks as JsonObject[])[0]).name, 'validate.kyverno.svc-fail');

  const denied = await until('a Secret without a team to be denied', async () => {
    try {
      await cluster.client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, data: {} }, { dryRun: true });
      return false;
    } catch (e) {
      return e instanceof KubeError && e.status === 403 && e.message;
    }
  });
  assert.match(String(denied), /secrets need a team/);
  // Kyverno's events: the block is a PolicyViolation on the policy (a cluster-wide one: the
  // 1.20 API server takes it in kube-system only), "Resource Blocked".
  const eventsAbout = async (kind: string, name: string) => {
    const all = [...(await cluster.client.list('events.k8s.io/v1', 'Event', 'default')), ...(await cluster.client.list('events.k8s.io/v1', 'Event', 'kube-system'))];
    return all.filter((e) => ((e.regarding ?? {}) as JsonObject).kind === kind && ((e.regarding ?? {}) as JsonObject).name === name);
  };
  const blockedEvent = await until('the PolicyViolation event of the block', async () => (await eventsAbout('ClusterPolicy', 'secrets-need-team')).find((e) => e.action === 'Resource Blocked'));
  assert.equal(blockedEvent.reason, 'PolicyViolation');
  assert.equal(blockedEvent.type, 'Warning');
  assert.equal(blockedEvent.reportingController, 'kyverno-admission');
  assert.match(String(blockedEvent.note), /^Secret default\/s: \[team\] fail \(blocked\); validation error: secrets need a team/);
  const { uid: _uid, ...related } = blockedEvent.related as JsonObject;
  assert.deepEqual(related, { apiVersion: 'v1', kind: 'Secret', name: 's', namespace: 'default' });

  // Kyverno's policy validating webhook: a policy Kyverno would reject is rejected, with its message.
  const refused = async (policy: JsonObject) => {
    try {
      await cluster.client.create(policy, { dryRun: true });
      return 'admitted';
    } catch (e) {
      return (e as Error).message;
    }
  };
  const tooSlow = { ...secretsPolicy, metadata: { name: 'too-slow' }, spec: { ...secretsPolicy.spec, webhookTimeoutSeconds: 31 } };
  assert.match(await refused(tooSlow), /admission webhook "validate-policy\.kyverno\.svc" denied the request: spec\.webhookTimeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds/);
  const noTargets = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'no-targets' },
    spec: { mutateExistingOnPolicyUpdate: true, rules: [{ name: 'm', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, mutate: { patchStrategicMerge: { metadata: { labels: { a: 'b' } } } } }] },
  };
  assert.match(await refused(noTargets), /spec\.mutateExistingOnPolicyUpdate: Forbidden: rules\[0\]\.mutate\.targets has to be specified when mutateExistingOnPolicyUpdate is set/);
  assert.equal(await refused({ ...secretsPolicy, metadata: { name: 'fine' } }), 'admitted');

  const admitted = await cluster.client.create(configMap('admitted', { team: 'b' }));
  const existing = await cluster.client.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'existing', namespace: 'default' });
  const uidOf = (o: JsonObject | undefined) => String(((o?.metadata ?? {}) as JsonObject).uid);
  const report = (name: string) => cluster.client.get({ apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport', name, namespace: 'default' });
  const results = (rep: JsonObject | undefined) => ((rep?.results ?? []) as JsonObject[]).map((x) => `${String(x.policy)}/${String(x.rule)}=${String(x.result)}`).sort();

  // One report per resource, named by its UID: the scan reports `existing`, the Audit admission `admitted`.
  const scanned = await until('the scan report of the existing ConfigMap', async () => {
    const rep = await report(uidOf(existing));
    return results(rep).includes('audit-owner-annotation/check-owner=fail') && results(rep).includes('require-team-label/check-team=pass') && rep;
  });
  await until('the admission report of the admitted ConfigMap', async () => results(await report(uidOf(admitted))).includes('audit-owner-annotation/check-owner=fail'));
  assert.equal(scanned.apiVersion, 'wgpolicyk8s.io/v1alpha2');
  assert.deepEqual(scanned.scope, { apiVersion: 'v1', kind: 'ConfigMap', name: 'existing', namespace: 'default', uid: uidOf(existing) });
  assert.deepEqual(((scanned.metadata as JsonObject).ownerReferences as JsonObject[]).map((o) => [o.apiVersion, o.kind, o.name, o.uid]), [['v1', 'ConfigMap', 'existing', uidOf(existing)]]);
  assert.deepEqual((scanned.metadata as JsonObject).labels, { 'app.kubernetes.io/managed-by': 'kyverno', 'reports.kyverno-studio.io/written-by': 'kyverno-studio' }, "Kyverno's label, and ours naming the product");
  assert.deepEqual([...new Set((scanned.results as JsonObject[]).map((r) => r.source))], ['kyverno'], 'Policy Reporter shows them as Kyverno\'s');
  assert.equal(((scanned.summary as JsonObject).fail as number) >= 1, true);
  // A background failure is an event on the resource and one on the policy (source kyverno-scan).
  const scanEvent = await until('the background-scan PolicyViolation on the ConfigMap', async () => (await eventsAbout('ConfigMap', 'existing')).find((e) => e.reportingController === 'kyverno-scan'));
  assert.match(String(scanEvent.note), /^policy audit-owner-annotation\/check-owner fail: /);
  assert.equal(((scanEvent.regarding as JsonObject).uid), uidOf(existing));
  assert.equal(((scanned.results as JsonObject[])[0]).resources, undefined, 'the scope names the resource');
  const names = async () =>
    (await cluster.client.list('wgpolicyk8s.io/v1alpha2', 'PolicyReport', 'default', 'reports.kyverno-studio.io/written-by=kyverno-studio')).map((r) => String((r.metadata as JsonObject).name));
  assert.deepEqual((await names()).filter((n) => !/^[0-9a-f-]{36}$/.test(n)), [], 'validating admission sees the UID on CREATE: no name-keyed reports');

  // A Secret whose only result comes from secrets-need-team: its report empties when that policy goes.
  const secret = await cluster.client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'teamed', namespace: 'default', labels: { team: 'c' } }, data: {} });
  await until('the admission report of the Secret', async () => results(await report(uidOf(secret))).includes('secrets-need-team/team=pass'));

  // Pruning: deleting policies removes their results everywhere; an emptied report is deleted.
  await cluster.client.delete({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'audit-owner-annotation' });
  await cluster.client.delete({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'secrets-need-team' });
  await until('results of the deleted policies to be pruned', async () => {
    const [a, b, s] = [await report(uidOf(existing)), await report(uidOf(admitted)), await report(uidOf(secret))];
    return !s && results(a).join() === 'require-team-label/check-team=pass' && results(b).join() === 'require-team-label/check-team=pass';
  });
  assert.deepEqual((await report(uidOf(existing)))!.summary, { pass: 1, fail: 0, warn: 0, error: 0, skip: 0 });

  // A deleted resource takes its report with it (the ownerReference; the sweep covers clusters without a garbage collector).
  await cluster.client.delete({ apiVersion: 'v1', kind: 'Secret', name: 'teamed', namespace: 'default' });
  for (const name of ['existing', 'admitted']) await cluster.client.delete({ apiVersion: 'v1', kind: 'ConfigMap', name, namespace: 'default' });
  await until('the reports of deleted ConfigMaps to be garbage-collected', async () => !(await report(uidOf(existing))) && !(await report(uidOf(admitted))), 120_000);
  // The writer's own passes against the real API server: the earlier per-namespace report is
  // deleted on start; a sweep re-keys a report written before the UID was known and deletes one
  // whose resource never got stored (no owner, so no garbage collector would).
  const kept = await cluster.client.create(configMap('kept', { team: 'd' }));
  await until('the admission report of the kept ConfigMap', async () => results(await report(uidOf(kept))).includes('require-team-label/check-team=pass'));
  const labels = { 'app.kubernetes.io/managed-by': 'kyverno-studio' };
  await cluster.client.apply({ apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport', metadata: { name: 'kyverno-studio', namespace: 'default', labels }, results: [] }, { force: true });
  const writer = new ReportWriter(cluster.client, (l) => (log += `${l}\n`), 60_000, { sweepIntervalMs: 0, sweepGraceMs: 0 });
  await writer.start();
  assert.equal(await report('kyverno-studio'), undefined, 'the report of the earlier layout is gone');
  const later = Date.now() / 1000 + 3600;
  writer.add([
    { policy: 'require-team-label', rule: 'check-team', status: 'fail', message: 'by name', resource: configMap('kept', { team: 'd' }), time: later },
    { policy: 'require-team-label', rule: 'check-team', status: 'fail', message: 'by name', resource: configMap('never-stored'), time: later },
  ]);
  await writer.flush();
  assert.ok(await report('configmap-kept'));
  assert.ok(await report('configmap-never-stored'));
  await writer.sweep();
  assert.deepEqual([await report('configmap-kept'), await report('configmap-never-stored')], [undefined, undefined]);
  assert.deepEqual(results(await report(uidOf(kept))), ['require-team-label/check-team=fail'], 're-keyed into the UID-named report');
  await writer.close();
  await cluster.client.delete({ apiVersion: 'v1', kind: 'ConfigMap', name: 'kept', namespace: 'default' });

  // Admission knows the namespaces' labels (the Namespace watch): a namespaceSelector rule
  // blocks a Pod only in a namespace labelled env=prod, and follows a relabelling.
  const prodOnly = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'prod-pods-need-team' },
    spec: { validationFailureAction: 'Enforce', background: false, rules: [{ name: 'team', match: { any: [{ resources: { kinds: ['Pod'], namespaceSelector: { matchLabels: { env: 'prod' } } } }] }, validate: { message: 'prod pods need a team', pattern: { metadata: { labels: { team: '?*' } } } } }] },
  };
  await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns-prod', labels: { env: 'prod' } } });
  await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns-dev' } });
  await cluster.client.apply(prodOnly, { force: true });
  const podAnswer = async (namespace: string) => {
    try {
      await cluster.client.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace }, spec: { containers: [{ name: 'c', image: 'nginx' }] } }, { dryRun: true });
      return 'admitted';
    } catch (e) {
      // Until the controller-manager creates the namespace's default ServiceAccount, the API server refuses the Pod itself.
      return e instanceof KubeError && e.status === 403 && /prod pods need a team/.test(e.message) ? 'denied' : undefined;
    }
  };
  await until('a Pod in the env=prod namespace to be denied', async () => (await podAnswer('ns-prod')) === 'denied');
  assert.equal(await until('the answer in the unlabelled namespace', () => podAnswer('ns-dev')), 'admitted');
  const relabel = (name: string, labels: Record<string, string | null>) =>
    cluster.client.request({ method: 'PATCH', path: `/api/v1/namespaces/${name}`, body: { metadata: { labels } }, contentType: 'application/merge-patch+json' });
  await relabel('ns-dev', { env: 'prod' });
  await relabel('ns-prod', { env: null });
  await until('the relabelled namespaces to swap answers', async () => (await podAnswer('ns-dev')) === 'denied' && (await podAnswer('ns-prod')) === 'admitted', 10_000);
  await cluster.client.delete({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'prod-pods-need-team' });
  for (const name of ['ns-prod', 'ns-dev']) await cluster.client.delete({ apiVersion: 'v1', kind: 'Namespace', name });
  await until('the test namespaces to be gone', async () => !(await cluster.client.get({ apiVersion: 'v1', kind: 'Namespace', name: 'ns-prod' })) && !(await cluster.client.get({ apiVersion: 'v1', kind: 'Namespace', name: 'ns-dev' })), 120_000);

  // Kubernetes' admission policies generated from a policy (the admission leader's generator,
  // on by default): the binding deleted by hand comes back, as Kyverno's controller puts it back.
  const celOwner = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'sa-need-owner' },
    spec: { background: false, rules: [{ name: 'owner', match: { any: [{ resources: { kinds: ['ServiceAccount'], operations: ['CREATE'] } }] }, validate: { failureAction: 'Enforce', cel: { generate: true, expressions: [{ expression: "has(object.metadata.labels) && 'owner' in object.metadata.labels", message: 'service accounts need an owner' }] } } }] },
  };
  const servesVap = !!(await cluster.client.resourceFor('admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicy'));
  await cluster.client.apply(celOwner, { force: true });
  const celOwnerStatus = async () => (((await cluster.client.get({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'sa-need-owner' }))?.status ?? {}) as JsonObject).validatingadmissionpolicy as JsonObject | undefined;
  const bindingRef = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', name: 'cpol-sa-need-owner-binding' };
  if (servesVap) {
    const generated = await until('the generated binding', () => cluster.client.get(bindingRef));
    await until('the policy status to say generated', async () => (await celOwnerStatus())?.generated === true);
    await cluster.client.delete(bindingRef);
    const back = await until('the deleted binding to come back', async () => {
      const b = await cluster.client.get(bindingRef);
      return !!b && (b.metadata as JsonObject).uid !== (generated.metadata as JsonObject).uid && b;
    }, 10_000);
    assert.equal((back.spec as JsonObject).policyName, 'cpol-sa-need-owner');
    assert.deepEqual((back.spec as JsonObject).validationActions, ['Deny']);
  } else {
    // An API server without ValidatingAdmissionPolicy (this suite's 1.20): nothing is generated,
    // the status says nothing was, and the webhook keeps enforcing the policy itself.
    const saDenied = await until('a ServiceAccount without an owner to be denied by the webhook', async () => {
      try {
        await cluster.client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'no-owner', namespace: 'default' } }, { dryRun: true });
        return false;
      } catch (e) {
        return e instanceof KubeError && e.status === 403 && e.message;
      }
    });
    assert.match(String(saDenied), /service accounts need an owner/);
    assert.notEqual((await celOwnerStatus())?.generated, true);
    assert.equal(await cluster.client.get(bindingRef).catch(() => undefined), undefined);
  }
  await cluster.client.delete({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'sa-need-owner' });

  const u = await runUndeploy({ client: cluster.client, ui: recordingUI(), namespaceTimeoutMs: 60_000 });
  assert.equal(u.outcome, 'undeployed', u.error);
  assert.ok(u.deleted.some((d) => d.kind === 'PolicyReport'), 'our reports are removed too');
  assert.deepEqual(await snapshot(cluster.client), pristine);
});

test('the in-cluster server survives bad requests and keeps answering probes', async () => {
  const { request } = await import('node:https');
  const call = (path: string, body?: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(`${url}${path}`, { method: body === undefined ? 'GET' : 'POST', ca: certs.ca.certPem }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
  assert.equal(await call('/validate', '{"kind":'), 400);
  assert.equal(await call('/validate', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} })), 400);
  assert.equal(await call('/healthz'), 200);
  assert.equal(await call('/readyz'), 200);
  // Kyverno's metric names for what the API server sent us in the first test.
  const metrics = await new Promise<string>((resolve, reject) => {
    request(`${url}/metrics`, { ca: certs.ca.certPem }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(text));
    }).on('error', reject).end();
  });
  assert.match(metrics, /^kyverno_admission_requests_total\{resource_kind="Secret",resource_namespace="default",resource_request_operation="create",request_allowed="false"\} [1-9]/m);
  assert.match(metrics, /^kyverno_policy_results_total\{policy_validation_mode="enforce",policy_type="cluster",policy_background_mode="false",policy_namespace="-",policy_name="secrets-need-team",resource_kind="Secret",resource_namespace="default",resource_request_operation="create",rule_name="team",rule_result="fail",rule_type="validate",rule_execution_cause="admission_request",dry_run="true"\} [1-9]/m);
  assert.match(metrics, /rule_execution_cause="background_scan"/);
  assert.match(metrics, /^process_resident_memory_bytes \d+$/m);
});
