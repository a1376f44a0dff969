/** Rollback of a failed deploy against the in-memory API server: deletes what the run created, restores what it changed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDeploy, type DeployUI } from '../../deploy/run';
import { DeployJournal, rollback } from '../../deploy/rollback';
import { makeCertificates } from '../../tls/certificates';
import { KubeError, type JsonObject } from '../../kube-api/client';
import { MUTATING_CONFIG, VALIDATING_CONFIG } from '../../deploy/plan';
import { POLICY_MUTATING_CONFIG, POLICY_VALIDATING_CONFIG, TTL_VALIDATING_CONFIG, VERIFY_MUTATING_CONFIG } from '../../webhook/configurations';
import { ADD_LABEL, AUDIT_OWNER, REQUIRE_TEAM } from '../cluster/fixtures';
import { FakeKube, asFound } from './fake-kube';

const LOCAL_URL = 'https://127.0.0.1:9443';
const CRDS = ['clusterpolicies.kyverno.io', 'policyreports.wgpolicyk8s.io', 'clusterpolicyreports.wgpolicyk8s.io', 'updaterequests.kyverno.io', 'policyexceptions.kyverno.io', 'policyexceptions.policies.kyverno.io'];

function ui(): DeployUI & { lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (l) => lines.push(l), step: (t) => lines.push(`==> ${t}`), confirm: async () => true, offerPoliciesOnly: async () => false };
}

function withMessage(policy: JsonObject, message: string): JsonObject {
  const copy = JSON.parse(JSON.stringify(policy)) as JsonObject;
  const rule = ((copy.spec as JsonObject).rules as JsonObject[])[0];
  (rule.validate as JsonObject).message = message;
  return copy;
}

/** A cluster with our CRDs, a first successful local-mode deploy of REQUIRE_TEAM, and someone else's audit-owner-annotation. */
async function deployedOnce(): Promise<FakeKube> {
  const kube = new FakeKube();
  for (const name of CRDS) kube.seed({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name } });
  kube.seed(withMessage(AUDIT_OWNER, 'owner, please'), 'kubectl-client-side-apply');
  kube.dryRunCreate = () => new KubeError(403, 'Forbidden', 'POST: admission webhook "validate.kyverno.svc-fail" denied the request: require-team-label: label team is required');
  const first = await runDeploy({ client: kube, ui: ui(), mode: 'local', policies: [REQUIRE_TEAM], localUrl: LOCAL_URL, certs: makeCertificates({ hosts: ['127.0.0.1'] }) });
  assert.equal(first.outcome, 'deployed', first.error);
  kube.writes.length = 0;
  return kube;
}

const KINDS = [['ValidatingWebhookConfiguration', VALIDATING_CONFIG], ['MutatingWebhookConfiguration', MUTATING_CONFIG], ['ClusterPolicy', 'require-team-label'], ['ClusterPolicy', 'audit-owner-annotation'], ['ClusterPolicy', 'add-managed-label']];
const state = (kube: FakeKube) => KINDS.map(([kind, name]) => asFound(kube.object(kind, name)));

/** The second deploy: a changed policy, someone else's policy of the same name, a new policy, new certificates, and a smoke check that fails. */
function secondDeploy(kube: FakeKube, display = ui()) {
  kube.dryRunCreate = undefined; // the probe is admitted: the smoke check fails
  const policies = [withMessage(REQUIRE_TEAM, 'team label, second version'), AUDIT_OWNER, ADD_LABEL];
  return runDeploy({ client: kube, ui: display, mode: 'local', policies, localUrl: LOCAL_URL, certs: makeCertificates({ hosts: ['127.0.0.1'] }), smokeTimeoutMs: 0 });
}

test('rollback: a failed second deploy restores every object it changed and deletes what it created, webhook configurations first', async () => {
  const kube = await deployedOnce();
  const before = state(kube);
  assert.equal(before[1], undefined, 'no mutating configuration yet');
  const display = ui();
  const r = await secondDeploy(kube, display);
  assert.equal(r.outcome, 'failed');
  assert.match(r.error ?? '', /smoke check failed/);
  assert.deepEqual(r.created.map((x) => x.name), [MUTATING_CONFIG, 'add-managed-label']);
  assert.deepEqual(r.updated.map((x) => x.name), ['kyverno-studio', VALIDATING_CONFIG, POLICY_VALIDATING_CONFIG, POLICY_MUTATING_CONFIG, VERIFY_MUTATING_CONFIG, TTL_VALIDATING_CONFIG, 'require-team-label', 'audit-owner-annotation']);

  assert.deepEqual(state(kube), before, 'content, labels and managedFields are as before the second deploy');
  const managers = (kube.object('ClusterPolicy', 'audit-owner-annotation')!.metadata as JsonObject).managedFields as JsonObject[];
  assert.deepEqual(managers.map((m) => m.manager), ['kubectl-client-side-apply'], "kyverno-studio no longer owns someone else's policy");

  const rollbackWrites = kube.writes.slice(kube.writes.findIndex((w) => w.startsWith('DELETE') || w.startsWith('PUT')));
  assert.deepEqual(rollbackWrites, [
    `PUT ValidatingWebhookConfiguration ${TTL_VALIDATING_CONFIG}`,
    `PUT ValidatingWebhookConfiguration ${TTL_VALIDATING_CONFIG}`,
    `PUT MutatingWebhookConfiguration ${VERIFY_MUTATING_CONFIG}`,
    `PUT MutatingWebhookConfiguration ${VERIFY_MUTATING_CONFIG}`,
    `PUT MutatingWebhookConfiguration ${POLICY_MUTATING_CONFIG}`,
    `PUT MutatingWebhookConfiguration ${POLICY_MUTATING_CONFIG}`,
    `PUT ValidatingWebhookConfiguration ${POLICY_VALIDATING_CONFIG}`,
    `PUT ValidatingWebhookConfiguration ${POLICY_VALIDATING_CONFIG}`,
    `DELETE MutatingWebhookConfiguration ${MUTATING_CONFIG}`,
    `PUT ValidatingWebhookConfiguration ${VALIDATING_CONFIG}`,
    `PUT ValidatingWebhookConfiguration ${VALIDATING_CONFIG}`,
    'DELETE ClusterPolicy add-managed-label',
    'PUT ClusterPolicy audit-owner-annotation',
    'PUT ClusterPolicy audit-owner-annotation',
    'PUT ClusterPolicy require-team-label',
    'PUT ClusterPolicy require-team-label',
  ], 'webhook configurations, then deletes, then restores, newest first; a second PUT hands the fields back to their managers');
  assert.deepEqual(r.restored.map((x) => x.name), [TTL_VALIDATING_CONFIG, VERIFY_MUTATING_CONFIG, POLICY_MUTATING_CONFIG, POLICY_VALIDATING_CONFIG, VALIDATING_CONFIG, 'audit-owner-annotation', 'require-team-label']);
  assert.deepEqual(r.rolledBack.map((x) => x.name), [MUTATING_CONFIG, 'add-managed-label', TTL_VALIDATING_CONFIG, VERIFY_MUTATING_CONFIG, POLICY_MUTATING_CONFIG, POLICY_VALIDATING_CONFIG, VALIDATING_CONFIG, 'audit-owner-annotation', 'require-team-label']);
  assert.ok(display.lines.includes('  rolled back: restored ClusterPolicy require-team-label to its previous version'), display.lines.join('\n'));
  assert.ok(display.lines.includes('  rolled back: deleted ClusterPolicy add-managed-label'));
  assert.deepEqual(r.rollbackFailures, []);
});

test('rollback: a restore that fails is named, the others still run, and the error says what was left', async () => {
  const kube = await deployedOnce();
  const before = state(kube);
  kube.failReplace = (o) => ((o.metadata as JsonObject).name === 'require-team-label' ? new KubeError(403, 'Forbidden', 'PUT /apis/kyverno.io/v1/clusterpolicies/require-team-label: clusterpolicies "require-team-label" is forbidden: User "dev" cannot update') : undefined);
  const display = ui();
  const r = await secondDeploy(kube, display);
  assert.equal(r.outcome, 'failed');
  assert.deepEqual(r.rollbackFailures, ['ClusterPolicy require-team-label: could not restore its previous version (clusterpolicies "require-team-label" is forbidden: User "dev" cannot update)']);
  assert.match(r.error ?? '', /^smoke check failed: .*\nThe rollback could not put back 1 object\(s\):\n  ClusterPolicy require-team-label: could not restore/);
  assert.doesNotMatch(r.error ?? '', /\n\s+at /, 'no stack trace');
  const after = state(kube);
  assert.deepEqual([after[0], after[1], after[3], after[4]], [before[0], before[1], before[3], before[4]], 'everything else is back');
  assert.equal(((((after[2]!.spec as JsonObject).rules as JsonObject[])[0].validate as JsonObject).message), 'team label, second version', 'the one that failed is left changed');
  assert.ok(display.lines.includes('Rollback incomplete: 1 object(s) are not as they were before this deploy:'));
});

test('rollback: an apply that timed out may have landed and is undone; one the server refused is not touched', async () => {
  const kube = new FakeKube();
  kube.seed({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'clusterpolicies.kyverno.io' } });
  const existing = asFound(kube.seed(REQUIRE_TEAM, 'kubectl'));
  const refused = kube.seed({ ...ADD_LABEL, metadata: { name: 'refused' } }, 'kubectl');
  kube.failApply = (o) => {
    const name = (o.metadata as JsonObject).name;
    if (name === 'audit-owner-annotation') return new Error('PATCH /apis/kyverno.io/v1/clusterpolicies/audit-owner-annotation: no answer within 60000 ms');
    if (name === 'refused') return new KubeError(422, 'Invalid', 'PATCH: spec.rules: Required value');
    return undefined;
  };
  const unchangedPolicy = { ...withMessage(REQUIRE_TEAM, 'changed'), metadata: { name: 'require-team-label' } };
  const first = await runDeploy({ client: kube, ui: ui(), mode: 'policies-only', policies: [unchangedPolicy, AUDIT_OWNER] });
  assert.equal(first.outcome, 'failed');
  assert.match(first.error ?? '', /no answer within/);
  assert.equal(kube.object('ClusterPolicy', 'audit-owner-annotation'), undefined, 'the timed-out create was deleted');
  assert.deepEqual(asFound(kube.object('ClusterPolicy', 'require-team-label')), existing);
  assert.deepEqual(first.created, [], 'a timed-out apply is not reported as created');

  kube.writes.length = 0;
  const second = await runDeploy({ client: kube, ui: ui(), mode: 'policies-only', policies: [{ ...ADD_LABEL, metadata: { name: 'refused' } }] });
  assert.equal(second.outcome, 'failed');
  assert.deepEqual(kube.writes, [], 'a refused apply changed nothing, so nothing is rolled back');
  assert.deepEqual(kube.object('ClusterPolicy', 'refused'), refused);
});

test('rollback: an object that disappeared since is re-created as it was; an unchanged one is not written', async () => {
  const kube = new FakeKube();
  const gone = kube.seed(REQUIRE_TEAM, 'kubectl');
  const same = kube.seed(AUDIT_OWNER, 'kubectl');
  const journal = new DeployJournal();
  for (const name of ['require-team-label', 'audit-owner-annotation']) {
    const entry = await journal.before(kube, 'policies', { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name });
    entry.confirmed = true;
  }
  await kube.delete({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'require-team-label' });
  kube.writes.length = 0;
  const lines: string[] = [];
  const report = await rollback(kube, journal, (l) => lines.push(l));
  assert.deepEqual(kube.writes, ['CREATE ClusterPolicy require-team-label']);
  assert.deepEqual(report.restored.map((r) => r.name), ['require-team-label']);
  const back = kube.object('ClusterPolicy', 'require-team-label')!;
  assert.deepEqual(back.spec, gone.spec);
  assert.deepEqual((back.metadata as JsonObject).managedFields, (gone.metadata as JsonObject).managedFields);
  assert.deepEqual(kube.object('ClusterPolicy', 'audit-owner-annotation'), same);
  assert.match(lines.join('\n'), /re-created ClusterPolicy require-team-label as it was/);
});

test('rollback: an object someone deleted and re-created meanwhile is left alone and reported', async () => {
  const kube = new FakeKube();
  kube.seed(REQUIRE_TEAM, 'kubectl');
  const journal = new DeployJournal();
  (await journal.before(kube, 'policies', { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'require-team-label' })).confirmed = true;
  await kube.delete({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'require-team-label' });
  const theirs = kube.seed(withMessage(REQUIRE_TEAM, 'theirs'), 'someone');
  const report = await rollback(kube, journal, () => {});
  assert.deepEqual(kube.object('ClusterPolicy', 'require-team-label'), theirs);
  assert.deepEqual(report.failures, ['ClusterPolicy require-team-label: could not restore its previous version (someone deleted and re-created it during the deploy; left as it is)']);
});
