/**
 * The webhook's passing path takes shortcuts: a plain literal pattern that holds is answered
 * without the validate handler's per-rule objects, responses share their (frozen) policy and
 * resource refs, and the scope's lazy `images` uses one getter for every request. These tests
 * pin that each shortcut answers exactly what the long way answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyPolicy } from '../../engine/apply';
import { baseScope, extractImages } from '../../engine/context';
import type { AdmissionRequest, ClusterState, JsonObject, Operation } from '../../engine/core/types';

const cluster: ClusterState = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };

function pod(name: string, namespace: string, image: string, extra: JsonObject = {}): JsonObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec: { containers: [{ name: 'app', image, ...extra }] } };
}

function request(object: JsonObject, operation: Operation = 'CREATE', oldObject: JsonObject | null = null): AdmissionRequest {
  return {
    operation,
    object: operation === 'DELETE' ? null : object,
    oldObject: operation === 'DELETE' ? object : oldObject,
    kind: { group: '', version: 'v1', kind: 'Pod' },
    namespace: String((object.metadata as JsonObject).namespace),
    requestInfo: { roles: [], clusterRoles: [], userInfo: { username: 'system:serviceaccount:ci:deployer' } },
  };
}

function policy(name: string, validate: JsonObject, spec: JsonObject = {}): JsonObject {
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name },
    spec: { validationFailureAction: 'Enforce', ...spec, rules: [{ name: 'check', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate }] },
  };
}

// The same pattern twice: as written (literal), and with a variable that substitutes to the
// same text, which makes the engine take the validate handler's long way.
const literal = { message: 'tagged images only', pattern: { spec: { containers: [{ image: '*:*', '=(ports)': [{ 'X(hostPort)': 'null' }] }] } } };
const viaVariable = { message: 'tagged images only', pattern: { spec: { containers: [{ image: "{{ '*:*' }}", '=(ports)': [{ 'X(hostPort)': 'null' }] }] } } };

/** A response as JSON text: key order and every field count. */
const text = (v: unknown) => JSON.stringify(v);

test('validate fast path: a literal pattern answers as the long way, field for field and in key order', () => {
  const cases: AdmissionRequest[] = [
    request(pod('ok', 'apps', 'nginx:1.25')),
    request(pod('untagged', 'apps', 'nginx')),
    request(pod('hostport', 'apps', 'nginx:1', { ports: [{ hostPort: 80 }] })),
    request(pod('ok', 'apps', 'nginx:1.25'), 'UPDATE', pod('ok', 'apps', 'nginx')),
    request(pod('untagged', 'apps', 'nginx'), 'UPDATE', pod('untagged', 'apps', 'nginx')),
    request(pod('gone', 'apps', 'nginx:1'), 'DELETE'),
  ];
  for (const spec of [{}, { applyRules: 'One' }, { validationFailureActionOverrides: [{ action: 'Audit', namespaces: ['apps'] }] }]) {
    const fast = policy('fast', literal, spec);
    const slow = policy('fast', viaVariable, spec);
    for (const req of cases) {
      const a = applyPolicy(fast, { request: req, cluster, phases: ['validate'] });
      const b = applyPolicy(slow, { request: req, cluster, phases: ['validate'] });
      assert.equal(text(a), text(b), `${req.operation} ${(req.object ?? req.oldObject)?.metadata && JSON.stringify(spec)}`);
    }
  }
  const pass = applyPolicy(policy('fast', literal), { request: cases[0], cluster, phases: ['validate'] });
  assert.deepEqual(pass.rules, [{ name: 'check', type: 'Validation', status: 'pass', message: "validation rule 'check' passed.", failureAction: 'Enforce' }]);
  const fail = applyPolicy(policy('fast', literal), { request: cases[1], cluster, phases: ['validate'] });
  assert.equal(fail.rules[0].status, 'fail');
  assert.deepEqual(fail.rules[0].path, ['spec', 'containers', 0, 'image']);
  assert.equal(applyPolicy(policy('fast', literal), { request: cases[5], cluster, phases: ['validate'] }).rules.length, 0);
});

test('validate fast path: a policy of several literal rules answers as the long way (rules of other kinds, applyRules One, overrides, context entries, exceptions, test values)', () => {
  const rule = (name: string, kinds: string[], validate: JsonObject, extra: JsonObject = {}): JsonObject => ({ name, match: { any: [{ resources: { kinds } }] }, validate, ...extra });
  // Rule c carries a context entry in the second form, an apiCall whose mocked call fails (the
  // CLI loads those as the rule starts, not when read): the rule's context is loaded (and fails)
  // before its pattern is looked at, so such a policy is not answered by its patterns alone.
  const several = (validate: JsonObject, spec: JsonObject, context: boolean): JsonObject => ({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'several' },
    spec: {
      validationFailureAction: 'Enforce',
      ...spec,
      rules: [
        rule('a', ['Pod'], validate),
        rule('b', ['Deployment'], validate),
        rule('c', ['Pod'], { ...validate, failureAction: 'Audit' }, context ? { context: [{ name: 'down', apiCall: { urlPath: '/api/v1/down' } }] } : {}),
        rule('d', ['Pod'], { pattern: { metadata: { name: '?*' } } }),
      ],
    },
  });
  const exception: JsonObject = {
    apiVersion: 'kyverno.io/v2',
    kind: 'PolicyException',
    metadata: { name: 'skip-c', namespace: 'apps' },
    spec: { exceptions: [{ policyName: 'several', ruleNames: ['c'] }], match: { any: [{ resources: { kinds: ['Pod'], namespaces: ['apps'] } }] } },
  };
  const failingCall: ClusterState = { ...cluster, apiCallResponses: [{ request: { urlPath: '/api/v1/down' }, response: { status: 500, body: {} }, mock: true }] };
  const clusters: ClusterState[] = [failingCall, { ...failingCall, exceptions: [exception] }, { ...failingCall, namespaceLabels: { apps: { tier: 'web' } } }];
  const requests = [request(pod('ok', 'apps', 'nginx:1.25')), request(pod('untagged', 'apps', 'nginx')), request(pod('ok', 'web', 'nginx:1'), 'UPDATE', pod('ok', 'web', 'nginx'))];
  const specs: JsonObject[] = [{}, { applyRules: 'One' }, { validationFailureActionOverrides: [{ action: 'Audit', namespaces: ['apps'] }] }];
  let compared = 0;
  for (const spec of specs) {
    for (const context of [false, true]) {
      const fast = several(literal, spec, context);
      const slow = several(viaVariable, spec, context);
      for (const c of clusters) {
        for (const req of requests) {
          for (const values of [undefined, { policies: [{ name: 'several', rules: [{ name: 'a', values: { team: 'y' } }] }] }]) {
            const a = applyPolicy(fast, { request: req, cluster: c, phases: ['validate'], ...(values ? { values } : {}) });
            const b = applyPolicy(slow, { request: req, cluster: c, phases: ['validate'], ...(values ? { values } : {}) });
            assert.equal(text(a), text(b), `${JSON.stringify(spec)} context ${context} exceptions ${c.exceptions.length} ${req.operation} ${String((req.object?.metadata as JsonObject).name)}`);
            compared++;
          }
        }
      }
    }
  }
  assert.equal(compared, 108);
  // What the comparisons went through: three passing rules (b is for Deployments), the
  // exception's skip of c, and applyRules One stopping at the first pass.
  const ok = requests[0];
  assert.deepEqual(applyPolicy(several(literal, {}, false), { request: ok, cluster, phases: ['validate'] }).rules.map((r) => `${r.name}:${r.status}:${r.failureAction}`), ['a:pass:Enforce', 'c:pass:Audit', 'd:pass:Enforce']);
  assert.deepEqual(applyPolicy(several(literal, {}, false), { request: ok, cluster: clusters[1], phases: ['validate'] }).rules.map((r) => `${r.name}:${r.status}`), ['a:pass', 'c:skip', 'd:pass']);
  assert.deepEqual(applyPolicy(several(literal, { applyRules: 'One' }, false), { request: ok, cluster, phases: ['validate'] }).rules.map((r) => r.name), ['a']);
  assert.deepEqual(applyPolicy(several(literal, specs[2], false), { request: ok, cluster, phases: ['validate'] }).rules.map((r) => r.failureAction), ['Audit', 'Audit', 'Audit']);
  assert.deepEqual(applyPolicy(several(literal, {}, true), { request: ok, cluster: failingCall, phases: ['validate'] }).rules.map((r) => `${r.name}:${r.status}`), ['a:pass', 'c:error', 'd:pass']);
});

test('validate fast path: rules with preconditions, deny or variables are not answered by their pattern alone', () => {
  const req = request(pod('ok', 'apps', 'nginx:1.25'));
  const withPreconditions: JsonObject = {
    ...policy('pre', literal),
  };
  ((withPreconditions.spec as JsonObject).rules as JsonObject[])[0].preconditions = { all: [{ key: '{{ request.operation }}', operator: 'Equals', value: 'UPDATE' }] };
  assert.equal(applyPolicy(withPreconditions, { request: req, cluster, phases: ['validate'] }).rules[0].status, 'skip');
  // deny wins over a pattern in the same rule (the validator looks at deny first).
  const denyAndPattern = policy('deny', { ...literal, deny: { conditions: { any: [{ key: '{{ request.namespace }}', operator: 'Equals', value: 'apps' }] } } });
  assert.equal(applyPolicy(denyAndPattern, { request: req, cluster, phases: ['validate'] }).rules[0].status, 'fail');
  const variable = policy('var', { pattern: { metadata: { name: '{{ request.namespace }}' } } });
  assert.equal(applyPolicy(variable, { request: req, cluster, phases: ['validate'] }).rules[0].status, 'fail');
});

test('validate fast path: responses share frozen refs that still name each request resource', () => {
  const p = policy('refs', literal);
  const first = request(pod('a', 'apps', 'nginx:1'));
  const second = request(pod('b', 'web', 'nginx:2'));
  const r1 = applyPolicy(p, { request: first, cluster, phases: ['validate'] });
  const r1again = applyPolicy(p, { request: first, cluster, phases: ['validate'] });
  const r2 = applyPolicy(p, { request: second, cluster, phases: ['validate'] });
  assert.deepEqual(r1.policy, { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'refs' });
  assert.deepEqual(r1.resource, { apiVersion: 'v1', kind: 'Pod', name: 'a', namespace: 'apps' });
  assert.deepEqual(r2.resource, { apiVersion: 'v1', kind: 'Pod', name: 'b', namespace: 'web' });
  assert.equal(r1.resource, r1again.resource);
  assert.ok(Object.isFrozen(r1.policy) && Object.isFrozen(r1.resource));
  assert.throws(() => {
    (r1.resource as { name: string }).name = 'changed';
  }, TypeError);
  // A literal pattern's pass is one frozen list of one frozen result, shared by the responses:
  // nothing may change it in place (a change throws).
  assert.equal(r1.rules, r1again.rules);
  assert.ok(Object.isFrozen(r1.rules) && Object.isFrozen(r1.rules[0]));
  assert.throws(() => {
    (r1.rules as unknown[]).push({});
  }, TypeError);
});

test('validate fast path: the lazy images variable uses one getter for every scope and stays invisible as state', () => {
  const a = baseScope(request(pod('a', 'apps', 'nginx:1'))).data;
  const b = baseScope(request(pod('b', 'apps', 'redis:7'))).data;
  const getter = (o: JsonObject) => Object.getOwnPropertyDescriptor(o, 'images')?.get;
  assert.equal(typeof getter(a), 'function');
  assert.equal(getter(a), getter(b));
  assert.deepEqual(Reflect.ownKeys(a).filter((k) => typeof k === 'string'), ['request', 'images', 'serviceAccountName', 'serviceAccountNamespace']);
  assert.deepEqual(Object.getOwnPropertySymbols({ ...a }), []);
  assert.deepEqual(a.images, extractImages(pod('a', 'apps', 'nginx:1')));
  assert.deepEqual(b.images, extractImages(pod('b', 'apps', 'redis:7')));
  assert.equal(a.images, a.images);
  assert.deepEqual(JSON.parse(JSON.stringify(b)).serviceAccountName, 'deployer');
});

// Deny conditions whose variables are whole strings naming plain paths are decided in the
// request's scope when they do not hold (RulePlan.plainDeny); anything else goes the long way.
// The twin of each policy carries a PolicyException for another policy: it applies to nothing,
// but a cluster with exceptions never takes the shortcut, so the twin always goes the long way.
const otherPolicyException: JsonObject = {
  apiVersion: 'kyverno.io/v2',
  kind: 'PolicyException',
  metadata: { name: 'elsewhere', namespace: 'apps' },
  spec: { exceptions: [{ policyName: 'some-other-policy', ruleNames: ['check'] }], match: { any: [{ resources: { kinds: ['Pod'] } }] } },
};

test('validate fast path: plain deny conditions answer as the long way over generated requests and conditions', () => {
  const variables = [
    '{{ request.namespace }}', '{{request.operation}}', '{{ request.name }}', '{{ request.userInfo.username }}', '{{ request.userInfo.groups }}',
    '{{ serviceAccountName }}', '{{ serviceAccountNamespace }}', '{{ request.object.metadata.labels.app }}',
    '{{ request.object.metadata.labels."app.kubernetes.io/name" }}', '{{ request.kind.kind }}', '{{ request.dryRun }}', '{{ request.roles }}',
    '{{ request.object.spec.replicas }}', '{{ request.object.spec.containers }}', '{{ images.containers.app.tag }}', '{{ unknown.field }}',
    '{{ request.object.metadata.name.first }}', '{{ request.oldObject.metadata.name }}',
  ];
  const literals = fc.oneof(
    fc.constantFrom('apps', 'default', 'ap*', '?*', '', 'CREATE', 'UPDATE', 'Pod', 'deployer', 'ci', '1h', '30m', '100m', '2Gi', '1.2.3', '3', 'true', '["apps","web"]'),
    fc.integer({ min: -2, max: 5 }),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom(['apps', 'web'], ['default'], ['*'], [], [3, 'x'], { a: 1 }),
  );
  const operand = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...variables) }, { weight: 2, arbitrary: literals });
  const operators = fc.constantFrom('Equals', 'equal', 'NotEquals', 'In', 'NotIn', 'AnyIn', 'AllIn', 'AnyNotIn', 'AllNotIn', 'GreaterThan', 'LessThanOrEquals',
    'DurationGreaterThan', 'Bogus');
  const condition = fc.record({ key: operand, operator: operators, value: operand, message: fc.option(fc.constantFrom('no', 'not here'), { nil: undefined }) }, { requiredKeys: ['key', 'operator', 'value'] });
  const list = fc.array(condition, { minLength: 0, maxLength: 3 });
  const conditions = fc.oneof(
    fc.record({ any: list }),
    fc.record({ all: list }),
    fc.record({ any: list, all: list }),
    list,
  );
  const pods = fc.record({
    name: fc.constantFrom('web', 'db'),
    namespace: fc.constantFrom('apps', 'default', 'web'),
    labels: fc.option(fc.dictionary(fc.constantFrom('app', 'app.kubernetes.io/name', 'team'), fc.constantFrom('web', 'db', '{{ request.name }}')), { nil: undefined }),
    replicas: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
    image: fc.constantFrom('nginx:1.25', 'registry.example.com/team/app:1.2.3', 'redis'),
  });
  const requests = fc.record({
    pod: pods,
    operation: fc.constantFrom<Operation>('CREATE', 'UPDATE', 'DELETE'),
    namespace: fc.option(fc.constantFrom('apps', 'default', ''), { nil: undefined }),
    username: fc.option(fc.constantFrom('alice', 'system:serviceaccount:ci:deployer', 'system:serviceaccount:ci', 'system:serviceaccount:'), { nil: undefined }),
    groups: fc.constantFrom([], ['system:authenticated']),
    dryRun: fc.option(fc.boolean(), { nil: undefined }),
  });
  const specs = fc.constantFrom<JsonObject>({}, { applyRules: 'One' }, { validationFailureAction: 'Audit' }, { validationFailureActionOverrides: [{ action: 'Audit', namespaces: ['apps'] }] });
  let fastPasses = 0;
  let runs = 0;
  fc.assert(
    fc.property(conditions, fc.option(conditions, { nil: undefined }), requests, specs, fc.boolean(), (first, second, r, spec, withPattern) => {
      const rule = (name: string, conds: unknown): JsonObject => ({ name, match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { message: 'denied in {{ request.namespace }}', deny: { conditions: conds } } });
      const rules: JsonObject[] = [rule('check', first)];
      if (second !== undefined) rules.push(rule('again', second));
      if (withPattern) rules.push({ name: 'tagged', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { pattern: { spec: { containers: [{ image: '*:*' }] } } } });
      const p: JsonObject = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'plain-deny' }, spec: { validationFailureAction: 'Enforce', ...spec, rules } };
      const object: JsonObject = {
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name: r.pod.name, namespace: r.pod.namespace, ...(r.pod.labels ? { labels: r.pod.labels } : {}) },
        spec: { ...(r.pod.replicas !== undefined ? { replicas: r.pod.replicas } : {}), containers: [{ name: 'app', image: r.pod.image }] },
      };
      const req: AdmissionRequest = {
        operation: r.operation,
        object: r.operation === 'DELETE' ? null : object,
        oldObject: r.operation === 'CREATE' ? null : { ...object, metadata: { ...(object.metadata as JsonObject), name: 'old' } },
        kind: { group: '', version: 'v1', kind: 'Pod' },
        namespace: r.namespace,
        ...(r.dryRun !== undefined ? { dryRun: r.dryRun } : {}),
        requestInfo: { roles: [], clusterRoles: [], userInfo: { username: r.username, groups: [...r.groups] } },
      };
      const labelled: ClusterState = { ...cluster, namespaceLabels: { apps: { tier: 'web' } } };
      const fast = applyPolicy(p, { request: req, cluster: labelled, phases: ['validate'] });
      const slow = applyPolicy(p, { request: req, cluster: { ...labelled, exceptions: [otherPolicyException] }, phases: ['validate'] });
      assert.equal(text(fast), text(slow));
      assert.ok(!Object.isFrozen(slow.rules) || slow.rules.length === 0, 'the twin went the long way');
      runs++;
      // The shortcut's answers are the shared frozen pass lists.
      if (Object.isFrozen(fast.rules) && fast.rules.length > 0) fastPasses++;
    }),
    { numRuns: 3000, seed: 1207 },
  );
  // The comparison is about the shortcut: a fair share of the runs took it.
  assert.ok(fastPasses > runs / 10, `${fastPasses} of ${runs} runs answered by the shortcut`);
});

test('validate fast path: plain deny conditions decide only a pass; a denial, an error and other variables are the long way\'s', () => {
  const deny = (conditions: unknown, message = 'use a namespace'): JsonObject => policy('deny-default', { message, deny: { conditions } });
  const inNamespace = (ns: string) => request(pod('p', ns, 'nginx:1'));
  const byNamespace = deny({ any: [{ key: '{{ request.namespace }}', operator: 'Equals', value: 'default' }] });
  const pass = applyPolicy(byNamespace, { request: inNamespace('apps'), cluster, phases: ['validate'] });
  assert.deepEqual(pass.rules, [{ name: 'check', type: 'Validation', status: 'pass', message: "validation rule 'check' passed.", failureAction: 'Enforce' }]);
  assert.ok(Object.isFrozen(pass.rules), 'answered by the shortcut');
  const denied = applyPolicy(byNamespace, { request: inNamespace('default'), cluster, phases: ['validate'] });
  assert.deepEqual(denied.rules, [{ name: 'check', type: 'Validation', status: 'fail', message: 'use a namespace', failureAction: 'Enforce' }]);
  // A missing key is the rule's error, worded by the long way.
  const missing = applyPolicy(deny({ all: [{ key: '{{ request.object.metadata.labels.team }}', operator: 'Equals', value: 'x' }] }), { request: inNamespace('apps'), cluster, phases: ['validate'] });
  assert.equal(missing.rules[0].status, 'error');
  assert.match(missing.rules[0].message, /^failed to check deny conditions: failed to substitute variables in condition key: .*Unknown key "labels"/);
  // The service account split from the username, and `images`, read as the long way reads them.
  const sa = applyPolicy(deny({ any: [{ key: '{{ serviceAccountNamespace }}', operator: 'Equals', value: 'ci' }] }), { request: inNamespace('apps'), cluster, phases: ['validate'] });
  assert.equal(sa.rules[0].status, 'fail');
  const tag = applyPolicy(deny({ any: [{ key: '{{ images.containers.app.tag }}', operator: 'Equals', value: '1' }] }), { request: inNamespace('apps'), cluster, phases: ['validate'] });
  assert.equal(tag.rules[0].status, 'fail');
  const otherTag = applyPolicy(deny({ any: [{ key: '{{ images.containers.app.tag }}', operator: 'Equals', value: '2' }] }), { request: inNamespace('apps'), cluster, phases: ['validate'] });
  assert.ok(Object.isFrozen(otherTag.rules) && otherTag.rules[0].status === 'pass');
  // A JMESPath function or text around a variable is not a plain read: the long way decides.
  for (const key of ["{{ to_upper(request.namespace) }}", 'ns-{{ request.namespace }}']) {
    const r = applyPolicy(deny({ any: [{ key, operator: 'Equals', value: 'default' }] }), { request: inNamespace('apps'), cluster, phases: ['validate'] });
    assert.equal(r.rules[0].status, 'pass');
    assert.ok(!Object.isFrozen(r.rules), key);
  }
});
