// The language service's Kyverno checks come from the engine (anchors, JMESPath, Pod
// Security, kinds, autogen): one implementation for the editor and the engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFile } from '../../server/src/service/documents';
import { validateFile } from '../../server/src/service/validate';
import { complete } from '../../server/src/service/complete';
import type { Diagnostic } from '../../server/src/service/codes';

function policy(rule: string, extra = ''): string {
  return `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: p
spec:
  background: false${extra}
  rules:
  - name: r
    match:
      any:
      - resources:
          kinds: [Pod]
${rule}`;
}

function diagnostics(text: string): Diagnostic[] {
  return validateFile(parseFile('file:///t/policy.yaml', text));
}

function at(text: string, d: Diagnostic): string {
  const line = text.split('\n')[d.range.start.line];
  return line.slice(d.range.start.character, d.range.end.line === d.range.start.line ? d.range.end.character : undefined);
}

test('anchors: Kyverno-rejected anchors are errors, typo-looking keys warnings, at the key', () => {
  const text = policy(`    validate:
      message: m
      pattern:
        spec:
          +(hostNetwork): false
          ^(containers): {}
          =(volumes:
            - name: x
`);
  const found = diagnostics(text).filter((d) => d.code === 'KS1203');
  const summary = found.map((d) => [d.severity, at(text, d)]);
  assert.deepEqual(summary.sort(), [
    [1, '+(hostNetwork)'],
    [1, '^(containers)'],
    [2, '=(volumes'],
  ]);
  assert.match(found.find((d) => at(text, d) === '+(hostNetwork)')!.message, /unsupported anchor/);
  assert.match(found.find((d) => at(text, d) === '^(containers)')!.message, /existence anchor should have value of type list/);
});

test('anchors: +() is fine in a mutate overlay', () => {
  const text = policy(`    mutate:
      patchStrategicMerge:
        metadata:
          labels:
            +(team): a
`);
  assert.deepEqual(diagnostics(text).filter((d) => d.code === 'KS1203'), []);
});

test("JMESPath: Kyverno's strict JSON backtick literals, function set and arity", () => {
  const text = policy(`    validate:
      message: "{{ request.object.metadata.name == \`foo\` }} {{ sha512('a') }} {{ json_parse('a') }} {{ sha256('a') }} {{ to_upper('a', 'b') }} {{ length(request.object.spec.containers) == \`1\` }}"
      deny: {}
`);
  const found = diagnostics(text).filter((d) => ['KS1204', 'KS1205', 'KS1206'].includes(d.code));
  assert.deepEqual(found.map((d) => [d.code, at(text, d)]), [
    ['KS1204', '`foo`'],
    // sha256 is a Kyverno function (pkg/engine/jmespath/functions.go GetFunctions); these are not.
    ['KS1205', 'sha512'],
    ['KS1205', 'json_parse'],
    ['KS1206', 'to_upper'],
  ]);
  assert.match(found[3].message, /takes 1 argument but received 2: to_upper\(/);
});

test('JMESPath functions offered in completion are the engine ones (Kyverno 1.19 has sha256 and is_external_url, not sha512)', () => {
  const text = policy(`    validate:
      message: "{{ }}"
      deny: {}
`);
  const offset = text.indexOf('{{ ') + 3;
  const labels = complete(parseFile('file:///t/policy.yaml', text), offset).map((i) => i.label);
  assert.ok(labels.includes('to_upper') && labels.includes('regex_match') && labels.includes('sum'));
  assert.ok(labels.includes('sha256') && labels.includes('is_external_url') && labels.includes('md5'));
  assert.ok(!labels.includes('sha512'));
});

test('Pod Security: what Kyverno rejects in podSecurity is KS1211 at the field, once', () => {
  const text = policy(`    validate:
      podSecurity:
        level: baseline
        exclude:
        - controlName: Capabilities
        - controlName: Host Namespaces
          images: [nginx]
        - controlName: Volume Types
`);
  const found = diagnostics(text).filter((d) => d.code === 'KS1211');
  assert.deepEqual(found.map((d) => at(text, d)), ['Capabilities', 'Host Namespaces', 'Volume Types']);
  // Kyverno's field path (without `validate`); the admission check's KS1213 at the same place is not repeated.
  assert.ok(found.every((d) => d.severity === 1 && d.message.startsWith('spec.rules[0].podSecurity.exclude[')));
  assert.deepEqual(diagnostics(text).filter((d) => d.code === 'KS1213'), []);
  // A level outside the enum is already the schema's KS1104; it is not repeated.
  const bad = diagnostics(policy(`    validate:
      podSecurity:
        level: strict
`));
  assert.deepEqual(bad.filter((d) => d.severity === 1).map((d) => d.code), ['KS1104']);
});

test('kinds are completed once each, though Event and PolicyException exist in several groups', () => {
  const text = policy('    validate:\n      deny: {}\n').replace('kinds: [Pod]', 'kinds:\n          - ');
  const offset = text.indexOf('          - ') + '          - '.length;
  const labels = complete(parseFile('file:///t/policy.yaml', text), offset).map((i) => i.label);
  for (const k of ['Event', 'PolicyException', 'Pod']) assert.equal(labels.filter((l) => l === k).length, 1, k);
});

test('autogen hint comes from the whole policy (another rule can switch autogen on)', () => {
  // Rule r matches `v1/Pod`, which alone does not ask Kyverno for autogen; rule d matches a
  // Deployment, so the policy gets autogen and r its autogen rules: no hint.
  const text = policy(`    validate:
      message: m
      pattern:
        metadata:
          labels:
            app: "?*"
  - name: d
    match:
      any:
      - resources:
          kinds: [Deployment]
    validate:
      message: m
      deny: {}
`).replace('kinds: [Pod]', 'kinds: [v1/Pod]');
  assert.deepEqual(diagnostics(text).filter((d) => d.code === 'KS1209'), []);
  const hinted = diagnostics(policy(`    validate:
      message: m
      pattern:
        metadata:
          labels:
            app: "?*"
`).replace('kinds: [Pod]', 'kinds: [Pod]\n          selector:\n            matchLabels:\n              a: b'));
  const hint = hinted.find((d) => d.code === 'KS1209');
  assert.ok(hint && hint.severity === 3);
  assert.match(hint.message, /label selector/);
});

test("CEL policies: expressions are checked against the policy's declared variables", () => {
  const text = `apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata:
  name: p
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [pods]
  variables:
  - name: names
    expression: "object.spec.containers.map(c, c.name)"
  validations:
  - expression: "variables.names.all(n, n != 'x')"
  - expression: "variables.nmes.size() > 0"
`;
  const found = diagnostics(text).filter((d) => d.code === 'KS1207');
  assert.equal(found.length, 1);
  assert.equal(found[0].range.start.line, 16);
  assert.match(found[0].message, /nmes/);
});
