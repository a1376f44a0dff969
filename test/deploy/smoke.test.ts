/**
 * The deploy's smoke probe is chosen against what the webhook will serve (deploy/smoke.ts
 * servedSet): the cluster's policies with the deployed ones in place of theirs, its
 * PolicyExceptions and the probe namespace's labels, evaluated by the webhook's evaluateReview.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../engine/core/types';
import { findSmokeProbe, servedSet } from '../../deploy/smoke';
import { FakeKube } from './fake-kube';

const configMaps = { any: [{ resources: { kinds: ['ConfigMap'] } }] };

function requireLabel(name: string, label: string, extra: JsonObject = {}): JsonObject {
  return {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name },
    spec: { validationFailureAction: 'Enforce', background: false, rules: [{ name: 'label', match: configMaps, validate: { message: `${label} is required`, pattern: { metadata: { labels: { [label]: '?*' } } } }, ...extra }] },
  };
}

const addStamp: JsonObject = {
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'add-stamp' },
  spec: { rules: [{ name: 'stamp', match: configMaps, mutate: { patchStrategicMerge: { metadata: { labels: { stamped: 'yes' } } } } }] },
};

async function probeFor(kube: FakeKube, deployed: JsonObject[]) {
  const served = await servedSet(kube, deployed);
  return findSmokeProbe(served.policies, served.cluster);
}

test('smoke: a mutation by a policy already in the cluster is applied before the deployed validation', async () => {
  const deployed = [requireLabel('require-stamp', 'stamped')];
  assert.equal(findSmokeProbe(deployed)?.object.kind, 'ConfigMap', 'the deployed files alone would deny a ConfigMap');
  const kube = new FakeKube();
  kube.seed(addStamp);
  assert.equal(await probeFor(kube, deployed), undefined, 'the cluster adds the label the deployed policy requires');
  assert.equal((await probeFor(new FakeKube(), deployed))?.policy, 'require-stamp');
});

test("smoke: the cluster's PolicyExceptions apply to the deployed policies", async () => {
  const deployed = [requireLabel('require-team', 'team')];
  const kube = new FakeKube();
  kube.seed({
    apiVersion: 'kyverno.io/v2', kind: 'PolicyException', metadata: { name: 'config-maps', namespace: 'default' },
    spec: { exceptions: [{ policyName: 'require-team', ruleNames: ['label', 'autogen-label'] }], match: { any: [{ resources: { kinds: ['ConfigMap'], namespaces: ['default'] } }] } },
  });
  assert.equal(await probeFor(kube, deployed), undefined, 'the exception lets every probe ConfigMap in');
  assert.equal((await probeFor(new FakeKube(), deployed))?.object.kind, 'ConfigMap');
});

test("smoke: a namespaceSelector sees the probe namespace's labels in the cluster", async () => {
  const selected = { any: [{ resources: { kinds: ['ConfigMap'], namespaceSelector: { matchLabels: { env: 'prod' } } } }] };
  const deployed = [requireLabel('prod-team', 'team', { match: selected })];
  assert.equal(findSmokeProbe(deployed), undefined, 'without the cluster the namespace has no labels');
  const kube = new FakeKube();
  kube.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { env: 'prod' } } });
  const probe = await probeFor(kube, deployed);
  assert.equal(probe?.object.kind, 'ConfigMap');
  assert.equal(probe?.policy, 'prod-team');
});

test("smoke: a deployed policy replaces the cluster's of the same name; the cluster's other policies are served too", async () => {
  const kube = new FakeKube();
  kube.seed({ ...requireLabel('require-team', 'team'), spec: { validationFailureAction: 'Audit', rules: (requireLabel('require-team', 'team').spec as JsonObject).rules } });
  assert.equal(await probeFor(kube, []), undefined, 'the Audit policy in the cluster denies nothing');
  assert.equal((await probeFor(kube, [requireLabel('require-team', 'team')]))?.policy, 'require-team', 'the deployed Enforce version is what is served');
  kube.seed(requireLabel('require-owner', 'owner'));
  assert.equal((await probeFor(kube, []))?.policy, 'require-owner', "an Enforce policy already in the cluster denies the probe too");
});

test('smoke: the policy named is the one whose Enforce rule failed, not one whose Audit rule failed beside an Enforce rule that passed', () => {
  const mixed: JsonObject = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'a-mixed' },
    spec: {
      background: false,
      rules: [
        { name: 'owner', match: configMaps, validate: { failureAction: 'Audit', message: 'owner is recommended', pattern: { metadata: { labels: { owner: '?*' } } } } },
        { name: 'named', match: configMaps, validate: { failureAction: 'Enforce', message: 'a name is required', pattern: { metadata: { name: '?*' } } } },
      ],
    },
  };
  const probe = findSmokeProbe([mixed, requireLabel('require-team', 'team')]);
  assert.equal(probe?.object.kind, 'ConfigMap');
  assert.equal(probe?.policy, 'require-team');
  assert.equal(findSmokeProbe([mixed]), undefined, 'the mixed policy alone denies nothing');
  // A namespaced Policy is named as the denial message names it, without its namespace.
  const namespaced = { ...requireLabel('team-in-default', 'team'), kind: 'Policy', metadata: { name: 'team-in-default', namespace: 'default' } };
  assert.equal(findSmokeProbe([mixed, namespaced])?.policy, 'team-in-default');
});
