// Patched/generated resource comparison and the run order of a Test, with a scripted engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTestDocument } from '../../engine/testing';
import type { JsonObject } from '../../engine/core/types';
import type { ApplyOptions } from '../../engine/apply';
import { clusterPolicy, pod, rule, scriptedEngine, suite, TEST_PATH, yamlDocs, type Script } from './helpers';

const mutatePolicy = clusterPolicy('add-team', [{ name: 'add-label', mutate: {} }]);
const addTeam: Script = (_p, r) => {
  const patched = structuredClone(r);
  const meta = patched.metadata as JsonObject;
  meta.labels = { ...((meta.labels as object) ?? {}), team: 'a' };
  return { rules: [rule('add-label', 'pass', { type: 'Mutation' })], patched };
};

function runPatched(expected: JsonObject, extra: JsonObject = {}) {
  return runTestDocument(
    TEST_PATH,
    {
      policies: ['policy.yaml'],
      resources: ['resource.yaml'],
      results: [{ policy: 'add-team', rule: 'add-label', kind: 'Pod', resources: ['web'], result: 'pass', patchedResources: 'patched.yaml', ...extra }],
    },
    suite({ 'policy.yaml': yamlDocs(mutatePolicy), 'resource.yaml': yamlDocs(pod('web')), 'patched.yaml': yamlDocs(expected) }),
    { engine: scriptedEngine(addTeam) },
  );
}

test('patched resources are compared after tidying empty and null fields', () => {
  const expected = pod('web', undefined, { team: 'a' });
  (expected.metadata as JsonObject).annotations = {};
  (expected.spec as JsonObject).volumes = [];
  (expected.spec as JsonObject).nodeName = null;
  const res = runPatched(expected);
  assert.deepEqual(res.rows.map((r) => [r.ok, r.reason]), [[true, 'Ok']]);
});

test('a differing patched resource fails the row with a resource diff', () => {
  const res = runPatched(pod('web', undefined, { team: 'b' }));
  assert.equal(res.rows.length, 1);
  assert.equal(res.rows[0].ok, false);
  assert.match(res.rows[0].reason, /^Resource diff/);
});

test('a patched file that does not describe the resource skips the comparison, visibly (kyverno: "not found in manifest")', () => {
  // Kyverno skips such a resource silently unless failOnMissingResources is set; the row says so.
  const res = runPatched(pod('other', undefined, { team: 'a' }));
  assert.equal(res.rows.length, 1);
  assert.equal(res.rows[0].ok, true);
  assert.match(res.rows[0].reason, /^Skipped: .*not found in manifest patched\.yaml/);
});

test('failOnMissingResources turns "not found in manifest" into a failed row', () => {
  const res = runPatched(pod('other', undefined, { team: 'a' }), { failOnMissingResources: true });
  assert.equal(res.rows.length, 1);
  assert.equal(res.rows[0].ok, false);
  assert.match(res.rows[0].reason, /Pod\/default\/web not found in manifest patched\.yaml|not found in manifest/);
});

test('generatedResources: the generated resource may be in any of the files', () => {
  const generated = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'ns' }, data: { a: '1' } };
  const policy = clusterPolicy('gen', [{ name: 'make-cm', match: { any: [{ resources: { kinds: ['Namespace'] } }] }, generate: { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', namespace: 'ns', data: {} } }]);
  const run = (second: JsonObject) =>
    runTestDocument(
      TEST_PATH,
      {
        policies: ['policy.yaml'],
        resources: ['resource.yaml'],
        results: [{ policy: 'gen', rule: 'make-cm', kind: 'Namespace', resources: ['ns'], result: 'pass', generatedResources: ['a.yaml', 'b.yaml'] }],
      },
      suite({
        'policy.yaml': yamlDocs(policy),
        'resource.yaml': yamlDocs({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } }),
        'a.yaml': yamlDocs({ ...generated, data: { a: 'other' } }),
        'b.yaml': yamlDocs(second),
      }),
      { engine: scriptedEngine(() => ({ rules: [rule('make-cm', 'pass', { type: 'Generation', generatedResources: [generated] })] })) },
    );
  assert.deepEqual(run(generated).rows.map((r) => [r.ok, r.reason]), [[true, 'Ok']]);
  assert.equal(run({ ...generated, data: { a: 'x' } }).rows[0].ok, false);
});

test('generated resources are compared one by one, generate labels normalised', () => {
  const generated = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cm', namespace: 'ns', labels: { 'generate.kyverno.io/policy-name': 'gen', keep: 'x' } },
    data: { a: '1' },
  };
  const expected = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'ns', labels: { keep: 'x' } }, data: { a: '1' } };
  const policy = clusterPolicy('gen', [{ name: 'make-cm', match: { any: [{ resources: { kinds: ['Namespace'] } }] }, generate: { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', namespace: 'ns', data: {} } }]);
  const res = runTestDocument(
    TEST_PATH,
    {
      policies: ['policy.yaml'],
      resources: ['resource.yaml'],
      results: [{ policy: 'gen', rule: 'make-cm', kind: 'Namespace', resources: ['ns'], result: 'pass', generatedResource: 'generated.yaml' }],
    },
    suite({
      'policy.yaml': yamlDocs(policy),
      'resource.yaml': yamlDocs({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } }),
      'generated.yaml': yamlDocs(expected),
    }),
    { engine: scriptedEngine(() => ({ rules: [rule('make-cm', 'pass', { type: 'Generation', generatedResources: [generated] })] })) },
  );
  assert.deepEqual(res.rows.map((r) => [r.kind, r.resource, r.ok, r.reason]), [['ConfigMap', 'cm', true, 'Ok']]);
});

test('mutations chain into later policies; validation sees the mutated resource', () => {
  const validate = clusterPolicy('needs-team', [{ name: 'team', validate: {} }]);
  const calls: string[] = [];
  const seen: JsonObject[] = [];
  const script: Script = (p, r) => {
    if ((p.metadata as JsonObject).name === 'add-team') return addTeam(p, r, {} as ApplyOptions);
    seen.push(r);
    const labels = ((r.metadata as JsonObject).labels ?? {}) as Record<string, string>;
    return { rules: [rule('team', labels.team ? 'pass' : 'fail')] };
  };
  // The validating policy is listed first: Kyverno still mutates before it validates.
  const res = runTestDocument(
    TEST_PATH,
    {
      policies: ['validate.yaml', 'mutate.yaml'],
      resources: ['resource.yaml'],
      results: [{ policy: 'needs-team', rule: 'team', kind: 'Pod', resources: ['web'], result: 'pass' }],
    },
    suite({ 'validate.yaml': yamlDocs(validate), 'mutate.yaml': yamlDocs(mutatePolicy), 'resource.yaml': yamlDocs(pod('web')) }),
    { engine: scriptedEngine(script, calls) },
  );
  assert.deepEqual(calls, ['add-team:web', 'needs-team:web']);
  assert.deepEqual(res.rows.map((r) => r.ok), [true]);
});

test('image-validating policies see the resource as loaded, not as mutated', () => {
  const ivpol = { apiVersion: 'policies.kyverno.io/v1', kind: 'ImageValidatingPolicy', metadata: { name: 'iv' }, spec: { attestors: [], validations: [] } };
  let labelsSeen: unknown = 'unset';
  const script: Script = (p, r) => {
    if (p.kind === 'ImageValidatingPolicy') {
      labelsSeen = (r.metadata as JsonObject).labels;
      return { rules: [rule('iv', 'pass')] };
    }
    return addTeam(p, r, {} as ApplyOptions);
  };
  runTestDocument(
    TEST_PATH,
    { policies: ['p.yaml'], resources: ['r.yaml'], results: [] },
    suite({ 'p.yaml': yamlDocs(ivpol, mutatePolicy), 'r.yaml': yamlDocs(pod('web')) }),
    { engine: scriptedEngine(script) },
  );
  assert.equal(labelsSeen, undefined);
});

test('values, namespace labels, operation and user info reach the engine', () => {
  let options: ApplyOptions | undefined;
  const res = runTestDocument(
    TEST_PATH,
    { policies: ['p.yaml'], resources: ['r.yaml'], variables: 'values.yaml', userinfo: 'user.yaml', results: [] },
    suite({
      'p.yaml': yamlDocs(mutatePolicy),
      'r.yaml': yamlDocs(pod('web', 'shop')),
      'values.yaml': yamlDocs({
        apiVersion: 'cli.kyverno.io/v1alpha1',
        kind: 'Values',
        globalValues: { 'request.operation': 'DELETE' },
        namespaceSelector: [{ name: 'shop', labels: { tier: 'gold' } }],
        namespaces: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', annotations: { a: 'b' } } }],
      }),
      'user.yaml': yamlDocs({ apiVersion: 'cli.kyverno.io/v1alpha1', kind: 'UserInfo', clusterRoles: ['admin'], userInfo: { username: 'ann' } }),
    }),
    {
      engine: scriptedEngine((_p, _r, o) => {
        options = o;
        return { rules: [] };
      }),
    },
  );
  assert.equal(res.error, null);
  assert.equal(options?.request.operation, 'DELETE');
  assert.equal(options?.request.object, null);
  assert.equal((options?.request.oldObject?.metadata as JsonObject).name, 'web');
  // A declared Namespace object wins over a namespaceSelector entry (the CLI's NamespaceSelectors).
  assert.deepEqual(options?.cluster.namespaceLabels, { shop: {} });
  // The fake cluster holds the Values namespaces and the test's own resources, as in the CLI.
  assert.deepEqual(
    options?.cluster.resources.map((r) => `${r.kind}/${(r.metadata as JsonObject).name}`).sort(),
    ['Namespace/shop', 'Pod/web'],
  );
  assert.deepEqual(options?.request.requestInfo, { roles: [], clusterRoles: ['admin'], userInfo: { username: 'ann' } });
});

test('the default operation is CREATE', () => {
  let op = '';
  runTestDocument(
    TEST_PATH,
    { policies: ['p.yaml'], resources: ['r.yaml'], results: [] },
    suite({ 'p.yaml': yamlDocs(mutatePolicy), 'r.yaml': yamlDocs(pod('web')) }),
    {
      engine: scriptedEngine((_p, _r, o) => {
        op = o.request.operation;
        return { rules: [] };
      }),
    },
  );
  assert.equal(op, 'CREATE');
});

test('a Context file adds its resources and image metadata to the cluster state', () => {
  let cluster: (ApplyOptions['cluster'] & { images?: JsonObject[] }) | undefined;
  const res = runTestDocument(
    TEST_PATH,
    { policies: ['p.yaml'], resources: ['r.yaml'], context: 'context.yaml', results: [] },
    suite({
      'p.yaml': yamlDocs(mutatePolicy),
      'r.yaml': yamlDocs(pod('web', 'shop')),
      'context.yaml': yamlDocs({
        apiVersion: 'cli.kyverno.io/v1alpha1',
        kind: 'Context',
        spec: {
          resources: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'default' } }],
          images: [{ image: 'ghcr.io/x/y:1', config: { created: '2020-01-01T00:00:00Z' } }],
        },
      }),
    }),
    {
      engine: scriptedEngine((_p, _r, o) => {
        cluster = o.cluster;
        return { rules: [] };
      }),
    },
  );
  assert.equal(res.error, null);
  assert.deepEqual(cluster?.images?.map((i) => i.image), ['ghcr.io/x/y:1']);
  assert.ok(cluster?.resources.some((r) => r.kind === 'ConfigMap'));
});

test('paramResources are loaded (namespace defaulted) as the only objects a binding paramRef searches', () => {
  let seen: unknown;
  const capture: Script = (_p, r, options) => {
    seen = { params: options.cluster.parameters, inCluster: options.cluster.resources.some((o) => (o.metadata as JsonObject).name === 'limits') };
    return { rules: [rule('map', 'pass', { type: 'Mutation' })], patched: r };
  };
  const map = { apiVersion: 'admissionregistration.k8s.io/v1beta1', kind: 'MutatingAdmissionPolicy', metadata: { name: 'map' }, spec: {} };
  const param = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'limits' }, data: { max: '3' } };
  const res = runTestDocument(
    TEST_PATH,
    {
      policies: ['policy.yaml'],
      resources: ['resource.yaml'],
      paramResources: ['params.yaml'],
      results: [{ policy: 'map', kind: 'Pod', resources: ['web'], result: 'pass', isMutatingAdmissionPolicy: true }],
    },
    suite({ 'policy.yaml': yamlDocs(map), 'resource.yaml': yamlDocs(pod('web')), 'params.yaml': yamlDocs(param) }),
    { engine: scriptedEngine(capture) },
  );
  assert.equal(res.error, null);
  assert.deepEqual(seen, { params: [{ ...param, metadata: { name: 'limits', namespace: 'default' } }], inCluster: true });
});

test('values subresources: a resource of a subresource kind is requested as that subresource of its parent', () => {
  const seen: unknown[] = [];
  const capture: Script = (_p, r, options) => {
    seen.push([r.kind, options.request.kind, options.request.subResource]);
    return { rules: [rule('check', 'pass')] };
  };
  const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'b', namespace: 'default' }, target: { kind: 'Node', name: 'n' } };
  const subresources = [
    { parentResource: { kind: 'Pod', name: 'pods', version: 'v1' }, subresource: { kind: 'Binding', name: 'pods/binding', version: 'v1' } },
    // Group and version count: this entry is for another Binding kind.
    { parentResource: { kind: 'Other', name: 'others', version: 'v1' }, subresource: { group: 'x.io', kind: 'Binding', name: 'others/binding', version: 'v1' } },
  ];
  const res = runTestDocument(
    TEST_PATH,
    {
      policies: ['policy.yaml'],
      resources: ['resources.yaml'],
      values: { subresources },
      results: [{ policy: 'check-all', rule: 'check', kind: 'Binding', resources: ['b'], result: 'pass' }],
    },
    suite({ 'policy.yaml': yamlDocs(clusterPolicy('check-all', [{ name: 'check', validate: {} }])), 'resources.yaml': yamlDocs(binding, pod('web')) }),
    { engine: scriptedEngine(capture) },
  );
  assert.equal(res.error, null);
  assert.deepEqual(seen, [
    ['Binding', { group: '', version: 'v1', kind: 'Pod' }, 'binding'],
    ['Pod', undefined, undefined],
  ]);
});

test('MutatingAdmissionPolicies run before MutatingPolicies; every MutatingPolicy answer carries the final patched resource', () => {
  const cel = (kind: string, name: string, apiVersion = 'policies.kyverno.io/v1'): JsonObject => ({ apiVersion, kind, metadata: { name }, spec: {} });
  const label = (key: string): Script => (_p, r) => {
    const patched = structuredClone(r);
    const meta = patched.metadata as JsonObject;
    meta.labels = { ...((meta.labels as object) ?? {}), [key]: 'set' };
    return { rules: [rule('', 'pass', { type: 'Mutation' })], patched };
  };
  const calls: string[] = [];
  const script: Script = (p, r, o) => label(String((p.metadata as JsonObject).name))(p, r, o);
  const all = pod('web', 'default', { first: 'set', second: 'set', map: 'set' });
  const run = (expected: JsonObject) =>
    runTestDocument(
      TEST_PATH,
      {
        policies: ['policies.yaml'],
        resources: ['resource.yaml'],
        results: [{ policy: 'first', kind: 'Pod', resources: ['web'], result: 'pass', isMutatingPolicy: true, patchedResources: 'patched.yaml' }],
      },
      suite({
        'policies.yaml': yamlDocs(cel('MutatingPolicy', 'first'), cel('MutatingPolicy', 'second'), cel('MutatingAdmissionPolicy', 'map', 'admissionregistration.k8s.io/v1beta1')),
        'resource.yaml': yamlDocs(pod('web')),
        'patched.yaml': yamlDocs(expected),
      }),
      { engine: scriptedEngine(script, calls) },
    );
  // The first policy's row is compared with what both policies (and the MAP before them) produced.
  assert.deepEqual(run(all).rows.map((r) => [r.ok, r.reason]), [[true, 'Ok']]);
  assert.deepEqual(calls.slice(0, 3), ['map:web', 'first:web', 'second:web']);
  assert.equal(run(pod('web', 'default', { first: 'set', map: 'set' })).rows[0].ok, false);
});
