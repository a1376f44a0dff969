/**
 * Who a request comes from: Kyverno's configuration exclusions (pkg/config IsExcluded) and the
 * background controller's own writes (skipBackgroundRequests, handleNonTrigger).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../engine/core/types';
import { isExcludedUser, parseUserExclusions, serviceAccountOfToken, withoutSkippedBackgroundRules } from '../../webhook/user-filters';
import { evaluateReview } from '../../webhook/evaluate';
import { PolicyIndex } from '../../webhook/prefilter';
import { parseServeArgs } from '../../webhook/serve';

const BG = 'system:serviceaccount:kyverno-studio:kyverno-studio';
const CLUSTER = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };

test('exclusions: wildcards per username, group, role and cluster role; "!" entries keep a user in whatever else matches', () => {
  assert.equal(parseUserExclusions({}), undefined);
  assert.equal(parseUserExclusions({ excludeGroups: ' , ' }), undefined);
  const ex = parseUserExclusions({ excludeGroups: 'system:nodes, system:serviceaccounts:kube-*', excludeUsernames: 'ci-*,!ci-admin', excludeClusterRoles: 'view' });
  assert.equal(isExcludedUser(ex, { username: 'kubelet', groups: ['system:nodes'] }), true);
  assert.equal(isExcludedUser(ex, { username: 'x', groups: ['system:serviceaccounts:kube-system'] }), true);
  assert.equal(isExcludedUser(ex, { username: 'ci-bot', groups: [] }), true);
  assert.equal(isExcludedUser(ex, { username: 'ci-admin', groups: ['system:nodes'] }), false, 'an inclusion wins over every exclusion');
  assert.equal(isExcludedUser(ex, { username: 'alice', groups: ['devs'], clusterRoles: ['view'] }), true);
  assert.equal(isExcludedUser(ex, { username: 'alice', groups: ['devs'] }), false);
  assert.equal(isExcludedUser(undefined, { username: 'alice', groups: [] }), false);
});

const DENY_CM: JsonObject = {
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'deny-cm' },
  spec: { validationFailureAction: 'Enforce', rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, validate: { message: 'no', deny: {} } }] },
};

const review = (username: string, groups: string[] = [], operation = 'CREATE', oldObject?: JsonObject) => JSON.stringify({
  apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
    uid: 'u', operation, kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' }, namespace: 'apps', name: 'c', userInfo: { username, groups },
    object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'apps', labels: (oldObject?.metadata as JsonObject | undefined)?.labels ?? {} } }, ...(oldObject ? { oldObject } : {}),
  },
});

test('an excluded user\'s admission request runs no policy; a background scan of the same object still does', () => {
  const index = new PolicyIndex([DENY_CM]);
  const exclusions = parseUserExclusions({ excludeGroups: 'system:nodes' });
  assert.equal(evaluateReview({ path: 'validate', body: review('alice'), exclusions }, index, CLUSTER).allowed, false);
  const excluded = evaluateReview({ path: 'validate', body: review('kubelet', ['system:nodes']), exclusions }, index, CLUSTER);
  assert.equal(excluded.allowed, true);
  assert.deepEqual(excluded.outcomes, []);
  // Scans are evaluated without the admission settings (server-process passes none).
  assert.equal(evaluateReview({ path: 'validate', body: review('kubelet', ['system:nodes']) }, index, CLUSTER).allowed, false);
});

const STAMP: JsonObject = {
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'stamp' },
  spec: { rules: [
    { name: 'skips', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, mutate: { targets: [{ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'apps' }], patchStrategicMerge: { metadata: { labels: { s: 'y' } } } } },
    { name: 'keeps', skipBackgroundRequests: false, match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, mutate: { targets: [{ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'apps' }], patchStrategicMerge: { metadata: { labels: { k: 'y' } } } } },
  ] },
};

const GEN: JsonObject = {
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'gen' },
  spec: { rules: [{ name: 'g', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, generate: { apiVersion: 'v1', kind: 'Secret', name: 's-{{request.object.metadata.name}}', namespace: 'apps', data: { data: {} } } }] },
};

test('skipBackgroundRequests: only the background user\'s requests lose the rules that skip them (true unless the rule says false)', () => {
  assert.equal(withoutSkippedBackgroundRules(STAMP, 'alice', BG), STAMP);
  assert.equal(withoutSkippedBackgroundRules(STAMP, BG, undefined), STAMP, 'no background user known: nothing skipped');
  const own = withoutSkippedBackgroundRules(STAMP, BG, BG)!;
  assert.deepEqual(((own.spec as JsonObject).rules as JsonObject[]).map((r) => r.name), ['keeps']);
  assert.equal(withoutSkippedBackgroundRules(GEN, BG, BG), undefined);
});

test('skipBackgroundRequests of a CEL policy is spec.evaluation.skipBackgroundRequests (true unless it says false), as Kyverno\'s SkipBackgroundRequestsEnabled', () => {
  const mpol = (evaluation: JsonObject): JsonObject => ({ apiVersion: 'policies.kyverno.io/v1', kind: 'MutatingPolicy', metadata: { name: 'm' }, spec: { evaluation: { mutateExisting: { enabled: true }, ...evaluation } } });
  assert.equal(withoutSkippedBackgroundRules(mpol({}), BG, BG), undefined);
  const optIn = mpol({ skipBackgroundRequests: false });
  assert.equal(withoutSkippedBackgroundRules(optIn, BG, BG), optIn);
  // The field at spec level is not Kyverno's: it does not opt in.
  assert.equal(withoutSkippedBackgroundRules({ ...mpol({}), spec: { skipBackgroundRequests: false } }, BG, BG), undefined);
  const gpol: JsonObject = { apiVersion: 'policies.kyverno.io/v1', kind: 'GeneratingPolicy', metadata: { name: 'g' }, spec: { evaluation: { skipBackgroundRequests: false } } };
  assert.equal(withoutSkippedBackgroundRules(gpol, BG, BG), gpol);
});

test('admission: our own writes queue no background work for skipping rules, and edits of generated objects by us are not undone', () => {
  const index = new PolicyIndex([STAMP, GEN]);
  const user = evaluateReview({ path: 'validate', body: review('alice'), generate: true, backgroundUser: BG }, index, CLUSTER);
  assert.deepEqual(user.generation?.policies.map((p) => (p.metadata as JsonObject).name), ['gen']);
  assert.deepEqual(user.generation?.mutateExisting?.map((p) => ((p.spec as JsonObject).rules as JsonObject[]).length), [2]);
  const own = evaluateReview({ path: 'validate', body: review(BG), generate: true, backgroundUser: BG }, index, CLUSTER);
  assert.deepEqual(own.generation?.policies, []);
  assert.deepEqual(own.generation?.mutateExisting?.map((p) => ((p.spec as JsonObject).rules as JsonObject[]).map((r) => r.name)), [['keeps']]);
  const generated = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'apps', labels: { 'app.kubernetes.io/managed-by': 'kyverno', 'generate.kyverno.io/policy-name': 'p' } } };
  const byUser = evaluateReview({ path: 'validate', body: review('alice', [], 'UPDATE', generated), generate: true, backgroundUser: BG }, new PolicyIndex([]), CLUSTER);
  assert.equal(byUser.generation?.downstream, true, 'a hand edit of a generated object is looked at');
  const byUs = evaluateReview({ path: 'validate', body: review(BG, [], 'UPDATE', generated), generate: true, backgroundUser: BG }, new PolicyIndex([]), CLUSTER);
  assert.equal(byUs.generation, undefined);
});

test('the service account of a token: the JWT subject, for service account tokens only', () => {
  const jwt = (claims: object) => `h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.s`;
  assert.equal(serviceAccountOfToken(jwt({ sub: BG, iss: 'x' })), BG);
  assert.equal(serviceAccountOfToken(jwt({ sub: 'alice' })), undefined);
  assert.equal(serviceAccountOfToken('0123456789abcdef'), undefined, 'a static token');
  assert.equal(serviceAccountOfToken('a.%%%.b'), undefined);
  assert.equal(serviceAccountOfToken(undefined), undefined);
});

test('serve: the exclusion and background-user flags', () => {
  const args = parseServeArgs(['--in-cluster', '--tls-cert', 'c', '--tls-key', 'k', '--exclude-groups', 'system:nodes', '--exclude-usernames', '!me,ci-*', '--background-service-account', BG]);
  assert.deepEqual(args.userExclusions, { excludeUsernames: '!me,ci-*', excludeGroups: 'system:nodes', excludeRoles: undefined, excludeClusterRoles: undefined });
  assert.equal(args.backgroundUser, BG);
});
