import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyFiles } from '../../cli/commands/apply';
import { WITHOUT_CORPUS } from '../fixtures/corpus-cases';

const corpus = '../shared/conformance/kyverno-cli/test-cleanup-policy';

function run(folder: string) {
  const errors: string[] = [];
  const r = applyFiles({ policyPaths: [`${corpus}/${folder}/policy.yaml`], resourcePaths: [`${corpus}/${folder}/resource.yaml`] }, { err: (t) => errors.push(t) });
  assert.deepEqual(errors, []);
  return r.payloadResponses.flat().map((x) => [`${String((x.resource.metadata as Record<string, unknown>).namespace ?? '')}/${String((x.resource.metadata as Record<string, unknown>).name)}`, x.rules[0].type, x.rules[0].status, x.rules[0].message]);
}

test('kyverno apply reports cleanup policies per resource (Test_Apply_CleanupPolicies)', { skip: WITHOUT_CORPUS }, () => {
  // A namespaced CleanupPolicy: the Pod in its namespace would be deleted, the other not.
  assert.deepEqual(run('cleanup-pod-by-name'), [
    ['test/cleanup-pod-1', 'Deletion', 'pass', 'resource matched'],
    ['other/cleanup-pod-2', 'Deletion', 'fail', 'resource did not match'],
  ]);
  assert.deepEqual(run('cluster-cleanup-namespace'), [['/cleanup-ns', 'Deletion', 'pass', 'resource matched']]);
});
