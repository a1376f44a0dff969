/** Kyverno's resource filters (pkg/config parseKinds/ToFilter) and the reviews they let through unevaluated. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultResourceFilters, isFiltered, namespacesFilteredWhole, parseResourceFilters } from '../../webhook/resource-filters';
import { evaluateReview } from '../../webhook/evaluate';
import { PolicyIndex } from '../../webhook/prefilter';

const req = (kind: string, namespace = '', name = 'x', extra: Partial<{ group: string; version: string; subresource: string }> = {}) => ({ group: '', version: 'v1', subresource: '', kind, namespace, name, ...extra });

test("Kyverno's default filters: events, system namespaces, nodes, ReplicaSets, bindings, our namespace; reports and update requests always", () => {
  const f = parseResourceFilters(defaultResourceFilters('kyverno-studio'));
  assert.equal(isFiltered(f, req('Event', 'default')), true);
  assert.equal(isFiltered(f, req('ConfigMap', 'kube-system')), true);
  assert.equal(isFiltered(f, req('Pod', 'kube-node-lease')), true);
  assert.equal(isFiltered(f, req('ConfigMap', 'kyverno-studio')), true);
  assert.equal(isFiltered(f, req('Namespace', '', 'kube-system')), true, 'the namespace itself');
  assert.equal(isFiltered(f, req('Node')), true);
  assert.equal(isFiltered(f, req('Node', '', 'n', { subresource: 'status' })), true);
  assert.equal(isFiltered(f, req('ReplicaSet', 'default', 'r', { group: 'apps' })), true);
  assert.equal(isFiltered(f, req('Pod', 'default', 'p', { subresource: 'binding' })), true);
  assert.equal(isFiltered(f, req('UpdateRequest', 'kyverno')), true);
  assert.equal(isFiltered(f, req('Pod', 'default')), false);
  assert.equal(isFiltered(f, req('Namespace', '', 'team')), false);
  assert.equal(isFiltered(f, req('ClusterPolicy', '', 'p', { group: 'kyverno.io' })), false, 'Kyverno does not filter its policies');
});

test('filter syntax: group/version/Kind, names with wildcards, one- and two-part entries', () => {
  const f = parseResourceFilters('[apps/v1/Deployment,team-*,web-*][Secret,prod] [Lease]');
  assert.equal(isFiltered(f, req('Deployment', 'team-a', 'web-1', { group: 'apps' })), true);
  assert.equal(isFiltered(f, req('Deployment', 'team-a', 'db', { group: 'apps' })), false);
  assert.equal(isFiltered(f, req('Secret', 'prod', '')), true, 'two parts: name empty');
  assert.equal(isFiltered(f, req('Secret', 'prod', 's')), false);
  assert.equal(isFiltered(f, req('Lease', '', '')), true);
});

test('a filtered review is admitted without evaluating any policy', () => {
  const policy = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'deny-all' }, spec: { validationFailureAction: 'Enforce', rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, validate: { message: 'no', deny: {} } }] } };
  const body = (namespace: string) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
    uid: 'u', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' }, namespace, name: 'c', userInfo: {},
    object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace } } } });
  const filters = parseResourceFilters(defaultResourceFilters('kyverno-studio'));
  const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
  const index = new PolicyIndex([policy]);
  assert.equal(evaluateReview({ path: 'validate', body: body('default'), filters }, index, cluster).allowed, false);
  const filtered = evaluateReview({ path: 'validate', body: body('kube-system'), filters }, index, cluster);
  assert.equal(filtered.allowed, true);
  assert.deepEqual(filtered.outcomes, []);
});

test("a subresource request is filtered by the kind it belongs to, as Kyverno's withTopLevelGVK gives it: [Pod/binding] filters a Binding, [Binding] does not", () => {
  const policy = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'deny-binding' }, spec: { validationFailureAction: 'Enforce', background: false, rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod/binding'] } }] }, validate: { message: 'no', deny: {} } }] } };
  const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
    uid: 'u', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Binding' }, resource: { group: '', version: 'v1', resource: 'pods' }, subResource: 'binding', namespace: 'default', name: 'p', userInfo: {},
    object: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p', namespace: 'default' }, target: { kind: 'Node', name: 'n' } } } });
  const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
  const index = new PolicyIndex([policy]);
  assert.equal(evaluateReview({ path: 'validate', body, filters: parseResourceFilters(defaultResourceFilters('kyverno-studio')) }, index, cluster).allowed, true);
  assert.equal(evaluateReview({ path: 'validate', body, filters: parseResourceFilters('[Binding,*,*]') }, index, cluster).allowed, false);
});

test('the filters kept for the last kind answer as a fresh look at the whole list, whatever the order of kinds and lists', () => {
  const lists = [parseResourceFilters(defaultResourceFilters('kyverno-studio')), parseResourceFilters('[apps/v1/Deployment,team-*,web-*][Secret,prod][*/status,*,*][Pod/exec,*,*]')];
  const requests = [
    req('Pod', 'default'), req('Pod', 'kube-system'), req('Pod', 'default', 'p', { subresource: 'binding' }), req('Pod', 'a', 'p', { subresource: 'exec' }),
    req('Deployment', 'team-a', 'web-1', { group: 'apps' }), req('Deployment', 'team-a', 'web-1', { group: 'apps', version: 'v1beta1' }), req('Deployment', 'team-a', 'web-1'),
    req('Secret', 'prod', ''), req('Secret', 'prod', 's'), req('Namespace', '', 'kube-system'), req('Node', '', 'n', { subresource: 'status' }), req('ReplicaSet', 'x', 'r', { group: 'apps' }),
  ];
  // Every pair in both orders, so each request follows each other one (same kind, other group, other subresource…).
  // The answers of a fresh copy of each list, taken before the sequence (each copy is new, so nothing kept applies).
  const fresh = lists.map((list) => requests.map((r) => isFiltered([...list], r)));
  let compared = 0;
  for (const l of [0, 1, 1, 0]) {
    for (let a = 0; a < requests.length; a++) {
      for (let b = 0; b < requests.length; b++) {
        for (const i of [a, b, b]) {
          assert.equal(isFiltered(lists[l], requests[i]), fresh[l][i], JSON.stringify(requests[i]));
          compared++;
        }
      }
    }
  }
  assert.equal(compared, 4 * requests.length * requests.length * 3);
  assert.ok(fresh.flat().includes(true) && fresh.flat().includes(false));
});

test('namespaces filtered whole: only [*/*,NS,*] entries with a literal namespace', () => {
  assert.deepEqual(namespacesFilteredWhole(defaultResourceFilters('kyverno-studio')), ['kyverno-studio', 'kube-system', 'kube-public', 'kube-node-lease']);
  assert.deepEqual(namespacesFilteredWhole('[Pod,a,*][*/*,b,web-*][*/*,team-*,*][*,c,*][*/*,d,*][*/*,d]'), ['d']);
});

test('property: a request in a namespace filtered whole is filtered, whatever its kind, subresource or name (the webhook selector may skip it)', async () => {
  const fc = (await import('fast-check')).default;
  const word = fc.constantFrom('a', 'b', 'kube-node-lease', 'team-a', '*', 'team-*', '?', '');
  const kind = fc.constantFrom('*', '*/*', 'Pod', 'Pod/*', 'apps/v1/Deployment', 'Namespace', '*/status', 'Node/?*');
  const entry = fc.tuple(kind, word, word).map(([k, ns, n]) => `[${k},${ns},${n}]`);
  const request = fc.record({
    group: fc.constantFrom('', 'apps', 'x.io'), version: fc.constantFrom('v1', 'v2'), kind: fc.constantFrom('Pod', 'Deployment', 'Namespace', 'Thing'),
    subresource: fc.constantFrom('', 'status', 'exec'), namespace: fc.constantFrom('a', 'b', 'kube-node-lease', 'team-a'), name: fc.constantFrom('x', 'web-1', ''),
  });
  fc.assert(fc.property(fc.array(entry, { maxLength: 6 }).map((e) => e.join('')), request, (text, r) => {
    if (namespacesFilteredWhole(text).includes(r.namespace)) assert.equal(isFiltered(parseResourceFilters(text), r), true, `${text} ${JSON.stringify(r)}`);
  }), { numRuns: 2000 });
});
