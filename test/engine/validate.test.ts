import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPolicy } from '../../engine/apply';
import type { AdmissionRequest, ClusterState, JsonObject, Operation } from '../../engine/core/types';

const cluster = (): ClusterState => ({ resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });

function pod(name: string, spec: JsonObject, labels: Record<string, string> = {}): JsonObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels }, spec };
}

function request(object: JsonObject, operation: Operation = 'CREATE'): AdmissionRequest {
  return {
    operation,
    object: operation === 'DELETE' ? null : object,
    oldObject: operation === 'CREATE' ? null : object,
    requestInfo: { roles: [], clusterRoles: [], userInfo: {} },
  };
}

function policy(rules: JsonObject[], spec: JsonObject = {}): JsonObject {
  return { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' }, spec: { rules, ...spec } };
}

const matchPods = { any: [{ resources: { kinds: ['Pod'] } }] };

function run(p: JsonObject, obj: JsonObject, operation: Operation = 'CREATE') {
  return applyPolicy(p, { request: request(obj, operation), cluster: cluster() });
}

test('validate: pattern pass and fail with Kyverno messages and the failing path', () => {
  const p = policy([
    { name: 'no-latest', match: matchPods, validate: { message: 'Use a tag for {{request.object.metadata.name}}', pattern: { spec: { containers: [{ image: '!*:latest' }] } } } },
  ]);
  const ok = run(p, pod('good', { containers: [{ name: 'c', image: 'nginx:1.2' }] }));
  assert.deepEqual(ok.rules.map((r) => [r.name, r.status, r.message]), [['no-latest', 'pass', "validation rule 'no-latest' passed."]]);
  const bad = run(p, pod('bad', { containers: [{ name: 'c', image: 'nginx:latest' }] }));
  assert.equal(bad.rules[0].status, 'fail');
  assert.equal(bad.rules[0].message, 'validation error: Use a tag for bad. rule no-latest failed at path /spec/containers/0/image/');
  assert.deepEqual(bad.rules[0].path, ['spec', 'containers', 0, 'image']);
  assert.equal(bad.rules[0].failureAction, 'Audit');
});

test('validate: anyPattern passes on any pattern and lists every failure otherwise', () => {
  const p = policy([
    {
      name: 'either',
      match: matchPods,
      validate: { message: 'need a or b', anyPattern: [{ metadata: { labels: { a: '?*' } } }, { metadata: { labels: { b: '?*' } } }] },
    },
  ]);
  assert.equal(run(p, pod('x', {}, { b: '1' })).rules[0].message, "validation rule 'either' anyPattern[1] passed.");
  const bad = run(p, pod('x', {}, { c: '1' })).rules[0];
  assert.equal(bad.status, 'fail');
  assert.match(bad.message, /^validation error: need a or b\. rule either\[0\] failed at path \/metadata\/labels\/a\/ rule either\[1\] failed at path \/metadata\/labels\/b\/$/);
});

test('validate: an anyPattern failure substitutes the rule message, or says the substitution failed', () => {
  const rule = (message: string): JsonObject => ({
    name: 'uids',
    match: matchPods,
    context: [{ name: 'allowed', variable: { value: '9999 | 4000' } }],
    validate: { message, anyPattern: [{ spec: { securityContext: { runAsUser: '{{ allowed }}' } } }, { metadata: { labels: { b: '?*' } } }] },
  });
  const target = pod('x', { securityContext: { runAsUser: 0 } });
  const bad = run(policy([rule('Run as one of {{ allowed }}')]), target).rules[0];
  assert.equal(bad.status, 'fail');
  assert.equal(bad.message, 'validation error: Run as one of 9999 | 4000. rule uids[0] failed at path /spec/securityContext/runAsUser/ rule uids[1] failed at path /metadata/labels/b/');
  const unresolved = run(policy([rule('Run as one of {{ missing }}')]), target).rules[0];
  assert.equal(unresolved.status, 'fail');
  assert.equal(unresolved.message, 'validation error: variables substitution error in rule uids execution error: rule uids[0] failed at path /spec/securityContext/runAsUser/ rule uids[1] failed at path /metadata/labels/b/');
});

test('validate: deny conditions with message substitution', () => {
  const p = policy([
    {
      name: 'deny-default',
      match: matchPods,
      validate: {
        message: 'pod {{request.object.metadata.name}} uses the default namespace',
        deny: { conditions: { any: [{ key: '{{request.object.metadata.namespace}}', operator: 'Equals', value: 'default' }] } },
      },
    },
  ]);
  const r = run(p, pod('web', {})).rules[0];
  assert.equal(r.status, 'fail');
  assert.equal(r.message, 'pod web uses the default namespace');
  const other = run(p, { ...pod('web', {}), metadata: { name: 'web', namespace: 'prod' } }).rules[0];
  assert.deepEqual([other.status, other.message], ['pass', "validation rule 'deny-default' passed."]);
  const noMessage = policy([{ name: 'always', match: matchPods, validate: { deny: {} } }]);
  assert.deepEqual([run(noMessage, pod('x', {})).rules[0].status, run(noMessage, pod('x', {})).rules[0].message], ['fail', 'validation error: rule always failed']);
});

test('validate: preconditions skip with Kyverno wording; errors are errors', () => {
  const p = policy([
    {
      name: 'only-prod',
      match: matchPods,
      preconditions: { all: [{ key: '{{request.object.metadata.namespace}}', operator: 'Equals', value: 'prod', message: 'not prod' }] },
      validate: { deny: {} },
    },
  ]);
  assert.deepEqual(run(p, pod('x', {})).rules.map((r) => [r.status, r.message]), [['skip', 'preconditions not met; not prod']]);
  const broken = policy([{ name: 'broken', match: matchPods, preconditions: { all: [{ key: '{{ request.[ }}', operator: 'Equals', value: 'x' }] }, validate: { deny: {} } }]);
  const r = run(broken, pod('x', {})).rules[0];
  assert.equal(r.status, 'error');
  assert.match(r.message, /^failed to evaluate preconditions: failed to substitute variables in condition key: /);
});

test('validate: foreach with per-element preconditions, deny and patterns', () => {
  const p = policy([
    {
      name: 'images',
      match: matchPods,
      validate: {
        message: 'container {{element.name}} must not use latest',
        foreach: [
          {
            list: 'request.object.spec.containers',
            preconditions: { all: [{ key: '{{element.name}}', operator: 'NotEquals', value: 'sidecar' }] },
            deny: { conditions: { any: [{ key: '{{element.image}}', operator: 'Equals', value: '*:latest' }] } },
          },
        ],
      },
    },
  ]);
  const bad = run(p, pod('x', { containers: [{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:latest' }] })).rules[0];
  assert.deepEqual([bad.status, bad.message], ['fail', 'validation failure: container b must not use latest']);
  assert.deepEqual(bad.path, ['spec', 'containers', 1], 'a denied element points at the element');
  const sidecar = run(p, pod('x', { containers: [{ name: 'sidecar', image: 'b:latest' }] })).rules[0];
  assert.deepEqual([sidecar.status, sidecar.message], ['skip', 'rule skipped'], 'every element skipped');
  const good = run(p, pod('x', { containers: [{ name: 'a', image: 'a:1' }] })).rules[0];
  assert.deepEqual([good.status, good.message], ['pass', 'rule passed']);
  const patterned = policy([
    { name: 'ports', match: matchPods, validate: { foreach: [{ list: 'request.object.spec.containers', pattern: { ports: [{ containerPort: '<1024' }] } }] } },
  ]);
  const pr = run(patterned, pod('x', { containers: [{ name: 'a', image: 'a', ports: [{ containerPort: 8080 }] }] })).rules[0];
  assert.equal(pr.status, 'fail');
  assert.match(pr.message, /^validation failure: validation error: rule ports failed at path \/ports\/0\/containerPort\//);
  assert.deepEqual(pr.path, ['spec', 'containers', 0, 'ports', 0, 'containerPort'], 'element paths are made absolute');
});

test('validate: nested foreach sees element0/element1 and elementIndex', () => {
  const p = policy([
    {
      name: 'nested',
      match: matchPods,
      validate: {
        message: '{{element0.name}}[{{elementIndex0}}] port {{element1.containerPort}}',
        foreach: [
          {
            list: 'request.object.spec.containers',
            foreach: [{ list: 'element.ports', deny: { conditions: { any: [{ key: '{{element.containerPort}}', operator: 'Equals', value: 22 }] } } }],
          },
        ],
      },
    },
  ]);
  const r = run(p, pod('x', { containers: [{ name: 'a', ports: [{ containerPort: 80 }] }, { name: 'b', ports: [{ containerPort: 22 }] }] })).rules[0];
  assert.equal(r.status, 'fail');
  assert.equal(r.message, 'validation failure: validation failure: b[1] port 22');
  assert.deepEqual(r.path, ['spec', 'containers', 1, 'ports', 0]);
});

test('validate: failure actions from the rule, the policy and legacy spellings', () => {
  const rule = { name: 'r', match: matchPods, validate: { deny: {} } };
  assert.equal(run(policy([rule], { validationFailureAction: 'enforce' }), pod('x', {})).rules[0].failureAction, 'Enforce');
  assert.equal(run(policy([{ ...rule, validate: { deny: {}, failureAction: 'Audit' } }], { validationFailureAction: 'Enforce' }), pod('x', {})).rules[0].failureAction, 'Audit');
  assert.equal(run(policy([rule]), pod('x', {})).rules[0].failureAction, 'Audit');
});

test('validate: podSecurity rules go to the Pod Security Standards checks', () => {
  const p = policy([{ name: 'pss', match: matchPods, validate: { podSecurity: { level: 'baseline', version: 'latest' } } }]);
  assert.equal(run(p, pod('x', { containers: [{ name: 'c', image: 'nginx' }] })).rules[0].status, 'pass');
  const priv = run(p, pod('x', { containers: [{ name: 'c', image: 'nginx', securityContext: { privileged: true } }] })).rules[0];
  assert.equal(priv.status, 'fail');
  assert.equal(priv.type, 'Validation');
});

function update(p: JsonObject, old: JsonObject, now: JsonObject) {
  return applyPolicy(p, { request: { ...request(now, 'UPDATE'), oldObject: old }, cluster: cluster() });
}

const SKIP_EXISTING = 'skipping the rule evaluation as pre-existing violations are allowed';

test('validate: an Enforce UPDATE of an object that already violated the rule is skipped (allowExistingViolations defaults to true)', () => {
  const rule = (validate: JsonObject) => policy([{ name: 'r', match: matchPods, validate: { failureAction: 'Enforce', ...validate } }]);
  const pattern = rule({ pattern: { metadata: { labels: { app: '?*' } } } });
  const anyPattern = rule({ anyPattern: [{ metadata: { labels: { app: '?*' } } }, { metadata: { labels: { team: '?*' } } }] });
  const deny = rule({ deny: { conditions: { any: [{ key: '{{ request.object.metadata.labels.app || \'\' }}', operator: 'Equals', value: '' }] } } });
  const foreach = rule({ foreach: [{ list: 'request.object.spec.containers', pattern: { name: 'ok-*' } }] });
  const bad = pod('x', { containers: [{ name: 'bad', image: 'a' }] });
  const good = pod('x', { containers: [{ name: 'ok-1', image: 'a' }] }, { app: 'a' });
  for (const p of [pattern, anyPattern, deny, foreach]) {
    const r = update(p, bad, bad).rules[0];
    assert.deepEqual([r.status, r.message], ['skip', SKIP_EXISTING]);
    // A new violation (the old object passed) is still blocked.
    assert.equal(update(p, good, bad).rules[0].status, 'fail');
  }
});

test('validate: allowExistingViolations false blocks the UPDATE of an object that already violated the rule', () => {
  const bad = pod('x', { containers: [{ name: 'bad', image: 'a' }] });
  for (const validate of [
    { pattern: { metadata: { labels: { app: '?*' } } } },
    { deny: { conditions: { any: [{ key: '{{ request.object.metadata.labels.app || \'\' }}', operator: 'Equals', value: '' }] } } },
    { foreach: [{ list: 'request.object.spec.containers', pattern: { name: 'ok-*' } }] },
  ]) {
    const p = policy([{ name: 'r', match: matchPods, validate: { failureAction: 'Enforce', allowExistingViolations: false, ...validate } }]);
    assert.equal(update(p, bad, bad).rules[0].status, 'fail');
  }
});

test('validate: Audit rules, and old objects the rule does not select, keep the failure on UPDATE', () => {
  const bad = pod('x', {});
  const audit = policy([{ name: 'r', match: matchPods, validate: { pattern: { metadata: { labels: { app: '?*' } } } } }]);
  assert.equal(update(audit, bad, bad).rules[0].status, 'fail');
  // The old object is validated as a CREATE: a rule matching only UPDATE does not select it.
  const onlyUpdate = policy([
    { name: 'r', match: { any: [{ resources: { kinds: ['Pod'], operations: ['UPDATE'] } }] }, validate: { failureAction: 'Enforce', pattern: { metadata: { labels: { app: '?*' } } } } },
  ]);
  assert.equal(update(onlyUpdate, bad, bad).rules[0].status, 'fail');
});

test('validate: the old object is checked with request.object set to it (preconditions and deny read it)', () => {
  const p = policy([
    {
      name: 'r',
      match: matchPods,
      preconditions: { all: [{ key: '{{request.object.metadata.name}}', operator: 'Equals', value: 'new' }] },
      validate: { failureAction: 'Enforce', pattern: { metadata: { labels: { app: '?*' } } } },
    },
  ]);
  // The old object is named differently: its preconditions fail, so it did not violate.
  assert.equal(update(p, pod('old', {}), pod('new', {})).rules[0].status, 'fail');
  assert.equal(update(p, pod('new', {}), pod('new', {})).rules[0].status, 'skip');
});

test('validate: pattern rules give no result on DELETE; deny rules still run', () => {
  const p = policy([
    { name: 'labels', match: matchPods, validate: { pattern: { metadata: { labels: { app: '?*' } } } } },
    { name: 'no-delete', match: matchPods, validate: { deny: { conditions: { all: [{ key: '{{request.operation}}', operator: 'Equals', value: 'DELETE' }] } } } },
  ]);
  const r = run(p, pod('x', {}), 'DELETE');
  assert.deepEqual(r.rules.map((x) => [x.name, x.status]), [['no-delete', 'fail']]);
});

test('validate: variable substitution failures in patterns are rule errors', () => {
  const p = policy([{ name: 'sub', match: matchPods, validate: { pattern: { metadata: { name: '{{ request.[ }}' } } } }]);
  const r = run(p, pod('x', {})).rules[0];
  assert.equal(r.status, 'error');
  assert.match(r.message, /^variable substitution failed: failed to resolve request\.\[ at path \/metadata\/name/);
});

test('validate: the old object is matched with Kyverno\'s placeholder identity, so a rule selecting the requester keeps its failure on UPDATE', () => {
  const bad = pod('x', {});
  const bySubject = policy([{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] }, subjects: [{ kind: 'User', name: 'alice' }] }] }, validate: { failureAction: 'Enforce', pattern: { metadata: { labels: { app: '?*' } } } } }]);
  const asAlice: AdmissionRequest = { ...request(bad, 'UPDATE'), oldObject: bad, requestInfo: { roles: [], clusterRoles: [], userInfo: { username: 'alice' } } };
  assert.equal(applyPolicy(bySubject, { request: asAlice, cluster: cluster() }).rules[0].status, 'fail');
  // Selected by kind alone, the same violation was already there: skipped.
  const byKind = policy([{ name: 'r', match: matchPods, validate: { failureAction: 'Enforce', pattern: { metadata: { labels: { app: '?*' } } } } }]);
  assert.equal(applyPolicy(byKind, { request: asAlice, cluster: cluster() }).rules[0].status, 'skip');
});
