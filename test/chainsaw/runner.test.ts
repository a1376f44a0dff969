/** The offline chainsaw runner: its assertion matching, its store and one scenario end to end. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { assertionMismatch, evaluate, templateResource, Unsupported } from './assert';
import { ObjectStore, serviceAccountAdmission } from './store';
import { denialMessage, runScenario, Scenario } from './runner';
import { CLI_BUNDLE } from './shell';

test('assertions: partial objects, same-length arrays, expressions and bindings', () => {
  const actual = { metadata: { name: 'a', labels: { x: '1', y: '2' } }, spec: { items: [1, 2] } };
  assert.equal(assertionMismatch(actual, { metadata: { labels: { x: '1' } } }, {}), null);
  assert.match(assertionMismatch(actual, { metadata: { labels: { x: 1 } } }, {}) ?? '', /\.metadata\.labels\.x: got "1", expected 1/);
  assert.match(assertionMismatch(actual, { spec: { items: [1] } }, {}) ?? '', /lengths of slices/);
  assert.equal(assertionMismatch(actual, { '(length(spec.items))': 2 }, {}), null);
  assert.equal(assertionMismatch(actual, { metadata: { name: '($name)' } }, { name: 'a' }), null);
  assert.notEqual(assertionMismatch(actual, { metadata: { name: '($name)' } }, { name: 'b' }), null);
  assert.throws(() => assertionMismatch(actual, { metadata: { name: '($unknown)' } }, {}), Unsupported);
  assert.throws(() => assertionMismatch(actual, { '~.(spec.items)': 1 }, {}), Unsupported);
});

test('templating evaluates only binding expressions', () => {
  assert.deepEqual(templateResource({ ns: '($namespace)', cel: '(object.x > 1)' }, { namespace: 'n1' }), { ns: 'n1', cel: '(object.x > 1)' });
});

test('the store: uids, generations, namespaced lookups, namespace deletion', () => {
  const store = new ObjectStore();
  const ns = store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } });
  assert.deepEqual(ns.status, { phase: 'Active' });
  const cm = store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n' }, data: { a: '1' } });
  assert.ok((cm.metadata as { uid?: string }).uid);
  assert.throws(() => store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n' } }), /already exists/);
  assert.equal(store.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'c', namespace: 'other' }), undefined);
  const updated = store.replace({ ...cm, data: { a: '2' } });
  assert.equal((updated.metadata as { uid?: string }).uid, (cm.metadata as { uid?: string }).uid);
  store.delete({ apiVersion: 'v1', kind: 'Namespace', name: 'n' });
  assert.equal(store.list('v1', 'ConfigMap').length, 0);
});

test('the store establishes a CustomResourceDefinition as kube-apiserver\'s own controllers do: names defaulted and accepted, storage versions kept', () => {
  const store = new ObjectStore();
  const crd = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' }, spec: { group: 'example.com', scope: 'Namespaced', names: { kind: 'Widget', plural: 'widgets' }, versions: [{ name: 'v1', served: true, storage: true }] } };
  const created = store.create(crd) as { spec: { names: Record<string, string> }; status: { acceptedNames: Record<string, string>; conditions: Array<{ type: string; status: string; reason: string }>; storedVersions: string[] } };
  assert.deepEqual(created.spec.names, { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' });
  assert.deepEqual(created.status.acceptedNames, created.spec.names);
  assert.deepEqual(created.status.conditions.map((c) => [c.type, c.status, c.reason]), [['NamesAccepted', 'True', 'NoConflicts'], ['Established', 'True', 'InitialNamesAccepted']]);
  assert.deepEqual(created.status.storedVersions, ['v1']);
  const updated = store.replace({ ...crd, spec: { ...crd.spec, versions: [{ name: 'v1', served: true, storage: false }, { name: 'v2', served: true, storage: true }] } }) as typeof created;
  assert.deepEqual(updated.status.storedVersions, ['v1', 'v2'], 'a version once stored stays listed');
});

test('denial messages compare without the webhook name', () => {
  assert.equal(denialMessage(' admission webhook "vpol.validate.kyverno.svc-fail" denied the request: Policy p failed: m'), 'Policy p failed: m');
});

test('a scenario runs through the webhook: the policy gets its status, a violation is refused, a compliant object stored', async () => {
  const dir = join(import.meta.dirname, '../fixtures/chainsaw/deny-label');
  const result = await runScenario(join(dir, 'chainsaw-test.yaml'), 'deny-label');
  assert.equal(result.status, 'passed', result.reason);
  const scenario = new Scenario(dir);
  try {
    assert.equal(await scenario.write('create', { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' }, spec: { validationFailureAction: 'Enforce', rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, validate: { message: 'm', pattern: { data: { a: 'b' } } } }] } }), undefined);
    const refused = await scenario.write('apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 'c' } });
    assert.match(refused ?? '', /^admission webhook "validate\.kyverno\.svc-fail" denied the request: [\s\S]*p:\n {2}r: /);
    assert.equal(scenario.store.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', namespace: scenario.namespace }), undefined);
  } finally {
    await scenario.close();
  }
});

test('mutate-existing targets: a literal name in a namespace given by a variable is found', async () => {
  const { targetCandidates } = await import('../../webhook/mutate-existing');
  const { StoreClient } = await import('./store');
  const store = new ObjectStore();
  store.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'secret-1', namespace: 'staging' } });
  const policy = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' },
    spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, mutate: { targets: [{ apiVersion: 'v1', kind: 'Secret', name: 'secret-1', namespace: '{{ request.object.metadata.namespace }}' }], patchStrategicMerge: { metadata: { labels: { foo: 'bar' } } } } }] },
  };
  const found = await targetCandidates(new StoreClient(store).asKubeClient(), policy, () => {});
  assert.deepEqual(found.resources.map((o) => [(o.metadata as { namespace?: string }).namespace, (o.metadata as { name?: string }).name]), [['staging', 'secret-1']]);
});

test('a binding holding backticks (a denial quoting `false`) is a valid JMESPath literal', () => {
  const error = 'admission webhook "x" denied the request: must be set to `false`, not `true`.';
  assert.equal(evaluate('$error != null', null, { error }), true);
  assert.equal(evaluate('$error', null, { error }), error);
});

test('the store keeps objects as the API server serves them: no empty lists in built-in kinds, a CRD\'s kept', () => {
  const store = new ObjectStore();
  const pod = store.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'n' }, spec: { containers: [{ name: 'c', env: [] }], volumes: [{ name: 'v', emptyDir: {} }] } });
  assert.deepEqual(pod.spec, { containers: [{ name: 'c' }], volumes: [{ name: 'v', emptyDir: {} }] });
  store.create({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' }, spec: { group: 'example.com', scope: 'Namespaced', names: { kind: 'Widget', plural: 'widgets' } } });
  assert.deepEqual(store.create({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'n' }, spec: { items: [] } }).spec, { items: [] });
});

test('the ServiceAccount admission plugin: default account, a kube-api-access volume mounted in every container unless automounting is off', () => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a' }, { name: 'b', volumeMounts: [{ name: 'x', mountPath: '/x' }] }], volumes: [{ name: 'x', emptyDir: {} }] } };
  const admitted = serviceAccountAdmission(pod, 'abcde') as { spec: { serviceAccountName: string; volumes: Array<{ name: string }>; containers: Array<{ volumeMounts: Array<{ name: string; mountPath: string }> }> } };
  assert.equal(admitted.spec.serviceAccountName, 'default');
  assert.deepEqual(admitted.spec.volumes.map((v) => v.name), ['x', 'kube-api-access-abcde']);
  assert.deepEqual(admitted.spec.containers.map((c) => c.volumeMounts.map((m) => m.name)), [['kube-api-access-abcde'], ['x', 'kube-api-access-abcde']]);
  const off = serviceAccountAdmission({ ...pod, spec: { ...pod.spec, automountServiceAccountToken: false } }, 'abcde') as { spec: { volumes: unknown[] } };
  assert.equal(off.spec.volumes.length, 1);
});

test('GlobalContextEntry objects reach admission through the webhook\'s LiveContext: an apiCall entry stored at v2alpha1, its projection read by a ValidatingPolicy', async () => {
  const scenario = new Scenario(join(import.meta.dirname, '../fixtures/chainsaw/deny-label'));
  try {
    const ns = scenario.namespace;
    assert.equal(await scenario.write('apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'seed', namespace: ns } }), undefined);
    assert.equal(await scenario.write('apply', {
      apiVersion: 'kyverno.io/v2alpha1', kind: 'GlobalContextEntry', metadata: { name: 'cms' },
      spec: { apiCall: { urlPath: `/api/v1/namespaces/${ns}/configmaps`, refreshInterval: '1h' }, projections: [{ name: 'count', jmesPath: 'items | length(@)' }] },
    }), undefined);
    assert.equal(await scenario.write('create', {
      apiVersion: 'policies.kyverno.io/v1beta1', kind: 'ValidatingPolicy', metadata: { name: 'at-most-one' },
      spec: {
        validationActions: ['Deny'],
        matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['secrets'] }] },
        variables: [{ name: 'count', expression: 'globalContext.get("cms", "count")' }],
        validations: [{ expression: 'variables.count == 0', messageExpression: "'configmaps: ' + string(variables.count)" }],
      },
    }), undefined);
    const refused = await scenario.write('create', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: ns } });
    assert.match(refused ?? '', /Policy at-most-one failed: configmaps: 1$/);
  } finally {
    await scenario.close();
  }
});

test('the store as the API server: events served by both groups, cluster-scoped objects without a namespace, a reserved identity', async () => {
  const { convertEvent } = await import('./store');
  const store = new ObjectStore();
  store.create({ apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'e.1', namespace: 'default' }, regarding: { kind: 'Pod', name: 'p' }, note: 'n', reportingController: 'kyverno-admission', reason: 'PolicyViolation' });
  const core = store.list('v1', 'Event', 'default');
  assert.equal(core.length, 1);
  assert.deepEqual([core[0].apiVersion, core[0].involvedObject, core[0].message, core[0].reportingComponent, core[0].reason], ['v1', { kind: 'Pod', name: 'p' }, 'n', 'kyverno-admission', 'PolicyViolation']);
  assert.equal(core[0].regarding, undefined);
  assert.equal(store.list('events.k8s.io/v1', 'Event').length, 1);
  assert.deepEqual(convertEvent(core[0], 'events.k8s.io').regarding, { kind: 'Pod', name: 'p' }, 'and back');
  const cpol = store.create({ apiVersion: 'policies.kyverno.io/v1', kind: 'MutatingPolicy', metadata: { name: 'm', namespace: 'ignored' }, spec: {} });
  assert.equal((cpol.metadata as { namespace?: string }).namespace, undefined);
  const id = store.reserveIdentity();
  const cm = store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n' } }, id);
  assert.equal((cm.metadata as { uid?: string }).uid, id.uid, 'validating admission saw the uid the object is stored with');
});

test('reports and events are written by the webhook\'s own controllers before they are asserted', async () => {
  const scenario = new Scenario(join(import.meta.dirname, '../fixtures/chainsaw/deny-label'));
  try {
    const policy = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'audit-a' }, spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, validate: { failureAction: 'Audit', message: 'm', pattern: { data: { a: 'b' } } } }] } };
    await scenario.write('apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'before' }, data: { a: 'c' } });
    assert.equal(await scenario.write('create', policy), undefined);
    await scenario.write('apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after' }, data: { a: 'b' } });
    await scenario.controllersCatchUp();
    const reports = scenario.store.list('wgpolicyk8s.io/v1alpha2', 'PolicyReport', scenario.namespace);
    const byName = new Map(reports.map((r) => [String((r.scope as { name: string }).name), r]));
    const uidOf = (name: string) => String((scenario.store.get({ apiVersion: 'v1', kind: 'ConfigMap', name, namespace: scenario.namespace })!.metadata as { uid: string }).uid);
    // The existing ConfigMap was found by the background scan, the new one reported by admission.
    assert.deepEqual((byName.get('before')!.results as Array<{ result: string }>).map((r) => r.result), ['fail']);
    assert.deepEqual((byName.get('after')!.results as Array<{ result: string }>).map((r) => r.result), ['pass']);
    assert.equal((byName.get('after')!.metadata as { name: string }).name, uidOf('after'), 'named by the uid the object is stored with');
    const events = scenario.store.list('v1', 'Event');
    assert.ok(events.some((e) => e.reportingComponent === 'kyverno-scan' && e.reason === 'PolicyViolation' && (e.involvedObject as { name: string }).name === 'before'));
    // A deleted resource's report goes with it (the garbage collector's work, by ownerReference).
    await scenario.remove({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'before' } });
    await scenario.controllersCatchUp();
    assert.deepEqual(scenario.store.list('wgpolicyk8s.io/v1alpha2', 'PolicyReport', scenario.namespace).map((r) => (r.scope as { name: string }).name), ['after']);
  } finally {
    await scenario.close();
  }
});

test('the cluster starts as kind leaves it: a background scan reports on the storage provisioner\'s Deployment', async () => {
  const scenario = new Scenario(join(import.meta.dirname, '../fixtures/chainsaw/deny-label'));
  try {
    assert.ok(scenario.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'local-path-provisioner', namespace: 'local-path-storage' }));
    assert.equal(await scenario.write('create', {
      apiVersion: 'policies.kyverno.io/v1beta1', kind: 'ValidatingPolicy', metadata: { name: 'env-label' },
      spec: {
        validationActions: ['Deny'],
        matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'] }] },
        validations: [{ expression: "has(object.metadata.labels) && object.metadata.labels[?'env'].orValue('') == 'prod'", message: 'env=prod' }],
      },
    }), undefined);
    await scenario.controllersCatchUp();
    const scanned = scenario.store.list('v1', 'Event').filter((e) => e.reportingComponent === 'kyverno-scan' && e.reason === 'PolicyViolation');
    assert.ok(scanned.some((e) => (e.involvedObject as { kind: string; name: string }).kind === 'ValidatingPolicy' && (e.involvedObject as { name: string }).name === 'env-label'), JSON.stringify(scanned));
  } finally {
    await scenario.close();
  }
});

test('the API server evaluates a fine-grained webhook\'s matchConditions: an error refuses the request under failurePolicy Fail, not under Ignore', async () => {
  const scenario = new Scenario(join(import.meta.dirname, '../fixtures/chainsaw/deny-label'));
  const policy = (name: string, failurePolicy: string, resource: string) => ({
    apiVersion: 'policies.kyverno.io/v1beta1', kind: 'ValidatingPolicy', metadata: { name },
    spec: {
      failurePolicy,
      matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: [resource] }] },
      matchConditions: [{ name: 'broken', expression: '1 / 0 == 1' }],
      validations: [{ expression: 'false', message: 'never' }],
    },
  });
  try {
    assert.equal(await scenario.write('create', policy('fails-closed', 'Fail', 'configmaps')), undefined);
    assert.equal(await scenario.write('create', policy('fails-open', 'Ignore', 'secrets')), undefined);
    const refused = await scenario.write('create', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } });
    assert.equal(refused, 'configmaps "c" is forbidden: expression \'1 / 0 == 1\' resulted in error: division by zero');
    assert.equal(await scenario.write('create', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } }), undefined);
  } finally {
    await scenario.close();
  }
});

test('a file document holding an items array stands for its items, as chainsaw loads it (with or without a kind)', async () => {
  const dir = join(import.meta.dirname, '../fixtures/chainsaw/list-assert');
  const result = await runScenario(join(dir, 'chainsaw-test.yaml'), 'list-assert');
  assert.equal(result.status, 'passed', result.reason);
  const scenario = new Scenario(dir);
  try {
    await scenario.run({ apiVersion: 'chainsaw.kyverno.io/v1alpha1', kind: 'Test', metadata: { name: 'l' }, spec: { steps: [{ try: [{ apply: { file: 'configmaps.yaml' } }] }] } });
    assert.deepEqual(scenario.store.list('v1', 'ConfigMap', scenario.namespace).map((c) => (c.metadata as { name: string }).name).sort(), ['first', 'second']);
    await assert.rejects(scenario.run({ apiVersion: 'chainsaw.kyverno.io/v1alpha1', kind: 'Test', metadata: { name: 'l' }, spec: { steps: [{ try: [{ assert: { file: 'listed-wrong.yaml' } }] }] } }), /ConfigMap "second"/);
  } finally {
    await scenario.close();
  }
});

test('chainsaw\'s $test binding: the running test\'s metadata', async () => {
  const scenario = new Scenario(join(import.meta.dirname, '../fixtures/chainsaw/deny-label'));
  try {
    await scenario.run({
      apiVersion: 'chainsaw.kyverno.io/v1alpha1', kind: 'Test', metadata: { name: 'named-by-test' },
      spec: { steps: [{ try: [{ apply: { resource: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: '($test.metadata.name)' } } } }] }] },
    });
    assert.ok(scenario.store.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'named-by-test', namespace: scenario.namespace }));
  } finally {
    await scenario.close();
  }
});

test('background writes go through admission as the background controller: a generated object triggers a rule with skipBackgroundRequests: false, not one that skips them', async () => {
  const scenario = new Scenario(join(import.meta.dirname, '../fixtures/chainsaw/deny-label'));
  try {
    const ns = scenario.namespace;
    const generateFor = (rule: string, trigger: string, target: string, skip: boolean) => ({
      name: rule,
      skipBackgroundRequests: skip,
      match: { any: [{ resources: { kinds: ['ConfigMap'], names: [trigger] } }] },
      generate: { apiVersion: 'v1', kind: 'ConfigMap', name: target, namespace: '{{request.object.metadata.namespace}}', data: { data: { a: 'b' } } },
    });
    assert.equal(await scenario.write('create', {
      apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'chain' },
      spec: { rules: [generateFor('first', 'seed', 'second', true), generateFor('second', 'second', 'third', false), generateFor('third', 'third', 'fourth', true)] },
    }), undefined);
    assert.equal(await scenario.write('apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'seed', namespace: ns } }), undefined);
    const names = scenario.store.list('v1', 'ConfigMap', ns).map((o) => (o.metadata as { name: string }).name).sort();
    // `second` (written by the background controller) triggers the rule that does not skip
    // background requests; `third` (also written by it) does not trigger the one that does.
    assert.deepEqual(names, ['second', 'seed', 'third']);
    const third = scenario.store.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'third', namespace: ns });
    assert.equal((third?.metadata as { labels?: Record<string, string> }).labels?.['generate.kyverno.io/rule-name'], 'second');
  } finally {
    await scenario.close();
  }
});

test('background generation reads the live context: a GeneratingPolicy projects a GlobalContextEntry into what it generates', async () => {
  const scenario = new Scenario(join(import.meta.dirname, '../fixtures/chainsaw/deny-label'));
  try {
    const ns = scenario.namespace;
    assert.equal(await scenario.write('apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'source', namespace: ns, labels: { app: 'from-gce' } } }), undefined);
    assert.equal(await scenario.write('apply', {
      apiVersion: 'kyverno.io/v2alpha1', kind: 'GlobalContextEntry', metadata: { name: 'apps' },
      spec: { apiCall: { urlPath: `/api/v1/namespaces/${ns}/configmaps`, refreshInterval: '1h' }, projections: [{ name: 'app', jmesPath: "items[?metadata.name=='source'].metadata.labels.app" }] },
    }), undefined);
    assert.equal(await scenario.write('create', {
      apiVersion: 'policies.kyverno.io/v1beta1', kind: 'GeneratingPolicy', metadata: { name: 'copy-label' },
      spec: {
        matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['namespaces'] }] },
        variables: [
          { name: 'app', expression: 'globalContext.get("apps", "app")[0]' },
          { name: 'cm', expression: '[{"kind": dyn("ConfigMap"), "apiVersion": dyn("v1"), "metadata": dyn({"name": "out", "namespace": string(object.metadata.name)}), "data": dyn({"app": string(variables.app)})}]' },
        ],
        generate: [{ expression: 'generator.apply(object.metadata.name, variables.cm)' }],
      },
    }), undefined);
    assert.equal(await scenario.write('apply', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'target-ns' } }), undefined);
    const out = scenario.store.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'out', namespace: 'target-ns' });
    assert.deepEqual(out?.data, { app: 'from-gce' }, scenario.log.join('\n'));
  } finally {
    await scenario.close();
  }
});

test('chainsaw\'s trim_space around an expression trims Go\'s white space', () => {
  assert.equal(evaluate('trim_space($stderr)', null, { stderr: '\n  No resources found.\t\n' }), 'No resources found.');
  assert.equal(assertionMismatch({}, { '(trim_space($stderr))': 'a b' }, { stderr: ' a b ' }), null);
  assert.throws(() => evaluate('trim_space($x)', null, { x: 1 }), Unsupported);
});

test('the install\'s TLS Secrets are our deploy\'s, in Kyverno\'s layout, with its admissionController.tlsKeyAlgorithm; cert-manager\'s are not offline', async () => {
  const { X509Certificate } = await import('node:crypto');
  const dir = join(import.meta.dirname, '../fixtures/chainsaw/deny-label');
  const install = (admissionController: Record<string, unknown>) => ({ testsPath: 'tls', configs: ['standard'], values: { admissionController }, quarantined: [] });
  const keyTypes = async (admissionController: Record<string, unknown>) => {
    const scenario = new Scenario(dir, 'chainsaw-offline', install(admissionController));
    try {
      return ['ca', 'pair'].map((which) => {
        const secret = scenario.store.get({ apiVersion: 'v1', kind: 'Secret', name: `kyverno-svc.kyverno.svc.kyverno-tls-${which}`, namespace: 'kyverno' });
        assert.equal(secret?.type, 'kubernetes.io/tls');
        const cert = new X509Certificate(Buffer.from(String((secret!.data as Record<string, string>)['tls.crt']), 'base64').toString());
        return cert.publicKey.asymmetricKeyType;
      });
    } finally {
      await scenario.close();
    }
  };
  assert.deepEqual(await keyTypes({ tlsKeyAlgorithm: 'Ed25519' }), ['ed25519', 'ed25519']);
  assert.deepEqual(await keyTypes({ tlsKeyAlgorithm: 'ECDSA' }), ['ec', 'ec']);
  assert.deepEqual(await keyTypes({}), ['rsa', 'rsa'], 'the chart\'s default, RSA');
  assert.throws(() => new Scenario(dir, 'chainsaw-offline', install({ certManager: { enabled: true, algorithm: 'ECDSA' } })), (e: Error) => e instanceof Unsupported && /cert-manager/.test(e.message));
});

test('admission policy generation in a scenario: the install\'s feature decides, the API server enforces the generated policy, deleting the policy collects it', async () => {
  const dir = join(import.meta.dirname, '../fixtures/chainsaw/deny-label');
  const policy = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' },
    spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['ConfigMap'], operations: ['CREATE'] } }] }, validate: { failureAction: 'Enforce', cel: { generate: true, expressions: [{ expression: "object.data.a == 'b'", message: 'a must be b' }] } } }] },
  };
  const vap = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', name: 'cpol-p' };
  const off = new Scenario(dir, 'chainsaw-offline', { testsPath: 'x', configs: [], values: { features: { generateValidatingAdmissionPolicy: { enabled: false } } }, quarantined: [] });
  try {
    assert.equal(await off.write('create', policy), undefined);
    assert.equal(off.store.get(vap), undefined);
    // Kyverno's own webhook evaluates the rule.
    assert.match((await off.write('apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 'c' } })) ?? '', /^admission webhook "validate\.kyverno\.svc-fail" denied the request/);
  } finally {
    await off.close();
  }
  const on = new Scenario(dir);
  try {
    assert.equal(await on.write('create', policy), undefined);
    const stored = on.store.get(vap);
    assert.equal((stored?.spec as Record<string, unknown>).failurePolicy, 'Fail');
    assert.deepEqual((on.store.get({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'p' })?.status as Record<string, unknown>).validatingadmissionpolicy, { generated: true, message: '' });
    assert.equal(await on.write('apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 'c' } }),
      "The configmaps \"x\" is invalid: : ValidatingAdmissionPolicy 'cpol-p' with binding 'cpol-p-binding' denied request: a must be b");
    assert.equal(await on.write('apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'y' }, data: { a: 'b' } }), undefined);
    assert.equal(await on.remove({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' } }), undefined);
    assert.equal(on.store.get(vap), undefined);
    assert.equal(on.store.get({ ...vap, kind: 'ValidatingAdmissionPolicyBinding', name: 'cpol-p-binding' }), undefined);
  } finally {
    await on.close();
  }
});

test('the API server applies a bound MutatingAdmissionPolicy before the webhooks; with MAP reports installed, the scan reports an object created before it as not mutated', async () => {
  const install = { testsPath: 'x', configs: ['standard', 'mutating-admission-policy-reports'], values: { features: { mutatingAdmissionPolicyReports: { enabled: true } } }, quarantined: [] };
  const scenario = new Scenario(join(import.meta.dirname, '../fixtures/chainsaw/deny-label'), 'chainsaw-offline', install);
  try {
    const ns = scenario.namespace;
    const configMap = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { a: '1' } });
    assert.equal(await scenario.write('apply', configMap('before')), undefined);
    assert.equal(await scenario.write('apply', {
      apiVersion: 'admissionregistration.k8s.io/v1beta1', kind: 'MutatingAdmissionPolicy', metadata: { name: 'add-label', labels: { 'reports.kyverno.io/enabled': 'true' } },
      spec: {
        matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }] },
        failurePolicy: 'Fail',
        mutations: [{ patchType: 'ApplyConfiguration', applyConfiguration: { expression: 'object.metadata.?labels["team"].hasValue() ? Object{} : Object{metadata: Object.metadata{labels: {"team": "a"}}}' } }],
      },
    }), undefined);
    // Without a binding the API server applies nothing.
    assert.equal(await scenario.write('apply', configMap('unbound')), undefined);
    assert.equal(asLabels(scenario, 'unbound'), undefined);
    assert.equal(await scenario.write('apply', { apiVersion: 'admissionregistration.k8s.io/v1beta1', kind: 'MutatingAdmissionPolicyBinding', metadata: { name: 'add-label-binding' }, spec: { policyName: 'add-label' } }), undefined);
    assert.equal(await scenario.write('apply', configMap('after')), undefined);
    assert.deepEqual(asLabels(scenario, 'after'), { team: 'a' });
    await scenario.controllersCatchUp();
    const results = Object.fromEntries(scenario.store.list('wgpolicyk8s.io/v1alpha2', 'PolicyReport', ns).map((r) => [(r.scope as { name: string }).name, (r.results as Array<{ result: string; message: string }>).map((x) => [x.result, x.message])]));
    assert.deepEqual(results.before, [['fail', 'mutation is not applied']]);
    assert.deepEqual(results.after, [['pass', 'mutation is successfully applied']]);
  } finally {
    await scenario.close();
  }
});

function asLabels(scenario: Scenario, name: string): unknown {
  return (scenario.store.get({ apiVersion: 'v1', kind: 'ConfigMap', name, namespace: scenario.namespace })?.metadata as { labels?: unknown }).labels;
}

test('the API server validates a generated custom resource against its stored CRD: the refused generation is Kyverno\'s PolicyError event', async () => {
  const scenario = new Scenario(join(import.meta.dirname, '../fixtures/chainsaw/deny-label'));
  try {
    const writes = [
      {
        apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'roles.iam.example.io' },
        spec: { group: 'iam.example.io', scope: 'Cluster', names: { kind: 'Role', plural: 'roles' }, versions: [{ name: 'v1beta1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', required: ['spec'], properties: { spec: { type: 'object' } } } } }] },
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'kyverno:iam', labels: { 'rbac.kyverno.io/aggregate-to-background-controller': 'true', 'rbac.kyverno.io/aggregate-to-admission-controller': 'true' } },
        rules: [{ apiGroups: ['iam.example.io'], resources: ['roles'], verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'] }],
      },
      {
        apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'iam' },
        spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Namespace'], names: ['team-a'] } }] }, generate: { apiVersion: 'iam.example.io/v1beta1', kind: 'Role', name: 'superuser', synchronize: true, data: { rules: [] } } }] },
      },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } },
    ];
    for (const w of writes) assert.equal(await scenario.write('apply', w), undefined);
    await scenario.controllersCatchUp();
    assert.equal(scenario.store.list('iam.example.io/v1beta1', 'Role').length, 0);
    const events = scenario.store.list('v1', 'Event').filter((e) => (e.involvedObject as { name?: string }).name === 'iam');
    assert.deepEqual(events.map((e) => [e.reason, e.reportingComponent]), [['PolicyError', 'kyverno-generate']]);
  } finally {
    await scenario.close();
  }
});

test('an expected Pod that only an unmodelled controller or Kyverno\'s install would create is unsupported, not failed; a Job\'s runs; otherwise missing is a failure', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chainsaw-pods-'));
  const run = async (steps: unknown[]) => {
    writeFileSync(join(dir, 'chainsaw-test.yaml'), JSON.stringify({ apiVersion: 'chainsaw.kyverno.io/v1alpha1', kind: 'Test', metadata: { name: 'pods' }, spec: { steps } }));
    return runScenario(join(dir, 'chainsaw-test.yaml'), 'pods');
  };
  const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'job' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'bash:5' }] } } } };
  const runningPod = { apiVersion: 'v1', kind: 'Pod', status: { phase: 'Running' } };
  try {
    // The job controller and the kubelet are modelled (controllers.ts): its Pod runs once time passes.
    const fromJob = await run([{ try: [{ create: { resource: job } }] }, { try: [{ assert: { resource: runningPod } }] }]);
    assert.equal(fromJob.status, 'passed', fromJob.reason);
    const statefulSet = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' }, spec: { selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'main', image: 'postgres' }] } } } };
    const fromStatefulSet = await run([{ try: [{ create: { resource: statefulSet } }] }, { try: [{ assert: { resource: { ...runningPod, metadata: { labels: { app: 'db' } } } } }] }]);
    assert.equal(fromStatefulSet.status, 'unsupported');
    assert.match(fromStatefulSet.reason ?? '', /Pods of a StatefulSet \(db\) are created by a kube-controller-manager controller the offline runner does not model/);
    const kyverno = await run([{ try: [{ assert: { resource: { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'kyverno', labels: { 'app.kubernetes.io/part-of': 'kyverno' } } } } }] }]);
    assert.equal(kyverno.status, 'unsupported');
    assert.match(kyverno.reason ?? '', /Kyverno's own install/);
    const missing = await run([{ try: [{ assert: { resource: runningPod } }] }]);
    assert.equal(missing.status, 'failed');
    assert.match(missing.reason ?? '', /no Pod "\(any\)" found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a script\'s kyverno is our CLI run for real against the store; a policy reading registry data makes the call unsupported', async () => {
  assert.ok(existsSync(CLI_BUNDLE), 'dist/cli.js is missing: run `npm run build` first');
  const dir = mkdtempSync(join(tmpdir(), 'chainsaw-cli-'));
  try {
    writeFileSync(join(dir, 'pods.yaml'), ['good', 'bad'].map((name) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  labels:\n    team: ${name === 'good' ? 'blue' : 'red'}\nspec:\n  containers:\n  - name: c\n    image: nginx:1.27\n`).join('---\n'));
    writeFileSync(join(dir, 'policy.yaml'), 'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: blue-team\nspec:\n  rules:\n  - name: team\n    match:\n      any:\n      - resources:\n          kinds: [Pod]\n    validate:\n      message: only the blue team\n      pattern:\n        metadata:\n          labels:\n            team: blue\n');
    writeFileSync(join(dir, 'images.yaml'), 'apiVersion: policies.kyverno.io/v1beta1\nkind: ImageValidatingPolicy\nmetadata:\n  name: signed\nspec:\n  matchConstraints:\n    resourceRules:\n    - apiGroups: [""]\n      apiVersions: ["v1"]\n      operations: ["CREATE"]\n      resources: ["pods"]\n  attestors:\n  - name: cosign\n    cosign:\n      key:\n        data: x\n  validations:\n  - expression: images.containers.all(i, verifyImageSignatures(i, [attestors.cosign]) > 0)\n');
    const script = (content: string, check: string) => `  - try:\n    - script:\n        timeout: 60s\n        content: ${content}\n        check:\n          ${check}\n`;
    writeFileSync(join(dir, 'chainsaw-test.yaml'), [
      'apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Test\nmetadata:\n  name: cli\nspec:\n  steps:\n  - try:\n    - create:\n        file: pods.yaml\n',
      // The namespace is the scenario's, a variable of the script's environment.
      script('kyverno apply policy.yaml --cluster -n $NAMESPACE', `(contains($stdout, join('', ['policy blue-team -> resource ', $namespace, '/Pod/bad failed:']))): true\n          ($error): exit status 1`),
      script('kubectl-kyverno apply policy.yaml --cluster -n $NAMESPACE --audit-warn --warn-exit-code 3', "($error): exit status 3"),
    ].join(''));
    const passed = await runScenario(join(dir, 'chainsaw-test.yaml'), 'cli');
    assert.equal(passed.status, 'passed', passed.reason);
    writeFileSync(join(dir, 'chainsaw-test.yaml'), 'apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Test\nmetadata:\n  name: cli\nspec:\n  steps:\n' + script('kyverno apply images.yaml --cluster || true', '($error): ~'));
    const unsupported = await runScenario(join(dir, 'chainsaw-test.yaml'), 'cli');
    assert.equal(unsupported.status, 'unsupported');
    assert.match(unsupported.reason ?? '', /kyverno apply images\.yaml --cluster: the policy signed reads image data from a registry/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kube-scheduler binds a new Pod to kind\'s node through pods/binding once time passes (a CREATE of the Binding, which the default resource filters skip); a Pod it cannot place stays unbound', async () => {
  const scenario = new Scenario(join(import.meta.dirname, '../fixtures/chainsaw/deny-label'));
  try {
    const ns = scenario.namespace;
    const pod = (name: string, spec: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: { containers: [{ name: 'c', image: 'nginx' }], ...spec } });
    const nodeName = (name: string) => (scenario.store.get({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name })?.spec as { nodeName?: string }).nodeName;
    const denyBinding = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'no-binding' }, spec: { background: false, rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod/binding'] } }] }, validate: { failureAction: 'Enforce', message: 'not to {{ request.object.target.name }} for {{ request.name }}', deny: {} } }] } };
    assert.equal(await scenario.write('create', denyBinding), undefined);
    assert.equal(await scenario.write('create', pod('a')), undefined);
    await scenario.clock.advance(1_000);
    assert.equal(nodeName('a'), 'kind-control-plane', 'the binding is filtered ([Pod/binding,*,*]): no policy sees it');
    assert.equal(await scenario.write('create', pod('elsewhere', { nodeSelector: { 'kubernetes.io/os': 'windows' } })), undefined);
    await scenario.clock.advance(1_000);
    assert.equal(nodeName('elsewhere'), undefined);
    const config = scenario.store.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kyverno', name: 'kyverno' })!;
    assert.equal(await scenario.write('apply', { ...config, data: { ...(config.data as object), resourceFilters: '[Event,*,*]' } }), undefined);
    assert.equal(await scenario.write('create', pod('b')), undefined);
    await scenario.clock.advance(1_000);
    assert.equal(nodeName('b'), undefined, 'the binding was refused');
    assert.ok(scenario.log.some((l) => l.startsWith(`scheduler: binding Pod ${ns}/b:`) && l.includes('not to kind-control-plane for b')), scenario.log.join('\n'));
  } finally {
    await scenario.close();
  }
});

test('an exec is a CONNECT of pods/exec: it triggers a generate rule on Pod/exec (its PodExecOptions in the Pod\'s namespace); a script reading what the command printed is unsupported', async () => {
  const scenario = new Scenario(join(import.meta.dirname, '../fixtures/chainsaw/deny-label'));
  try {
    const ns = scenario.namespace;
    assert.equal(await scenario.write('create', {
      apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'on-exec' },
      spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod/exec'] } }] }, generate: { apiVersion: 'v1', kind: 'ConfigMap', name: 'exec-seen', namespace: '{{request.namespace}}', data: { data: { pod: '{{ request.name }}' } } } }] },
    }), undefined);
    const test = (step: Record<string, unknown>) => ({ apiVersion: 'chainsaw.kyverno.io/v1alpha1', kind: 'Test', metadata: { name: 't' }, spec: { steps: [{ try: [step] }] } });
    await scenario.run(test({ command: { entrypoint: 'kubectl', args: ['run', 'web', '--image=nginx', '-n', ns] } }));
    await scenario.run(test({ command: { entrypoint: 'kubectl', args: ['exec', 'web', '-n', ns, '--', 'ls'] } }));
    const generated = scenario.store.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'exec-seen' });
    assert.deepEqual(generated?.data, { pod: 'web' });
    const labels = (generated?.metadata as { labels: Record<string, string> }).labels;
    assert.deepEqual([labels['generate.kyverno.io/trigger-kind'], labels['generate.kyverno.io/trigger-namespace'], labels['generate.kyverno.io/trigger-version']], ['PodExecOptions', ns, 'v1']);
    await assert.rejects(scenario.run(test({ script: { content: `kubectl exec web -n ${ns} -- cat /etc/hostname` } })), (e: Error) => e instanceof Unsupported && /kubectl exec ran `cat \/etc\/hostname`/.test(e.message));
  } finally {
    await scenario.close();
  }
});

test('kind\'s Node is in the cluster: a mutate-existing target Node/status with an empty namespace is found and written through /status', async () => {
  const scenario = new Scenario(join(import.meta.dirname, '../fixtures/chainsaw/deny-label'));
  try {
    assert.equal(await scenario.write('create', {
      apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'advertise' },
      spec: { background: false, rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, mutate: { targets: [{ apiVersion: 'v1', kind: 'Node/status', name: 'kind-control-plane', namespace: '' }], patchStrategicMerge: { status: { capacity: { 'example.com/dongle': '41' } } } } }] },
    }), undefined);
    assert.equal(await scenario.write('apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'trigger', namespace: scenario.namespace } }), undefined);
    const node = scenario.store.get({ apiVersion: 'v1', kind: 'Node', name: 'kind-control-plane' });
    assert.equal((node?.status as { capacity: Record<string, string> }).capacity['example.com/dongle'], '41');
    assert.equal((node?.status as { capacity: Record<string, string> }).capacity.cpu, '4');
  } finally {
    await scenario.close();
  }
});

test('the store client lists across namespaces when the namespace is empty, as the API server (a cluster-scoped mutate target names namespace "")', async () => {
  const { StoreClient } = await import('./store');
  const store = new ObjectStore();
  store.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'kind-control-plane' } });
  const client = new StoreClient(store);
  assert.deepEqual((await client.list('v1', 'Node', '')).map((n) => (n.metadata as { name: string }).name), ['kind-control-plane']);
});
