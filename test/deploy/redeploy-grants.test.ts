/** A cluster-mode deploy derives its RBAC from everything the webhook will serve or read, installed ones included (deploy/run.ts servedPolicies). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDeploy } from '../../deploy/run';
import { makeCertificates } from '../../tls/certificates';
import { DEFAULT_NAMESPACE } from '../../deploy/plan';
import { ROLE_NAME } from '../../deploy/rbac';
import { SERVICE_NAME } from '../../webhook/configurations';
import { REQUIRE_TEAM } from '../cluster/fixtures';
import { FakeKube } from './fake-kube';

const CRDS = ['clusterpolicies.kyverno.io', 'policyreports.wgpolicyk8s.io', 'clusterpolicyreports.wgpolicyk8s.io', 'updaterequests.kyverno.io', 'policyexceptions.kyverno.io', 'policyexceptions.policies.kyverno.io'];

test('a GlobalContextEntry installed before (kubectl) keeps the read it needs when the policies are deployed again', async () => {
  const kube = new FakeKube();
  for (const name of CRDS) kube.seed({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name } });
  kube.seed({ apiVersion: 'kyverno.io/v2', kind: 'GlobalContextEntry', metadata: { name: 'deploys' }, spec: { apiCall: { urlPath: '/apis/apps/v1/namespaces/team/deployments', refreshInterval: '1h' } } });
  const r = await runDeploy({
    client: kube, ui: { log: () => undefined, step: () => undefined, confirm: async () => true, offerPoliciesOnly: async () => false }, mode: 'cluster', policies: [REQUIRE_TEAM],
    webhookCode: Buffer.from('// webhook'), certs: makeCertificates({ hosts: [`${SERVICE_NAME}.${DEFAULT_NAMESPACE}.svc`] }),
    imageDigest: async () => `sha256:${'0'.repeat(64)}`, readiness: async () => undefined, smokeCheck: false,
  });
  assert.equal(r.outcome, 'deployed', r.error);
  const role = kube.object('ClusterRole', ROLE_NAME);
  assert.ok((role!.rules as Array<Record<string, string[]>>).some((rule) => rule.apiGroups.includes('apps') && rule.resources.includes('deployments') && rule.verbs.includes('list')), JSON.stringify(role!.rules));
});
