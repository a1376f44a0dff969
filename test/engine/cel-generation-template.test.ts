// GeneratingPolicy templates (generate[].template), cases from Kyverno's
// pkg/cel/policies/gpol/template scanner_test.go and template_test.go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGenerationTemplate, scanPlaceholders } from '../../engine/cel/generation-template';
import { evalCel } from '../../engine/cel/environment';
import { applyCelPolicy } from '../../engine/cel';
import { toCel } from '../../engine/cel/values';
import type { AdmissionRequest, ClusterState, JsonObject } from '../../engine/core/types';

test('template scanner: literals, whole and embedded placeholders, nesting, strings, escapes', () => {
  const cases: Array<[string, unknown]> = [
    ['hello', [{ literal: 'hello' }]],
    ['(( variables.name ))', [{ expression: 'variables.name' }]],
    ['prefix-(( variables.name ))-suffix', [{ literal: 'prefix-' }, { expression: 'variables.name' }, { literal: '-suffix' }]],
    ['(( a ))/(( b ))', [{ expression: 'a' }, { literal: '/' }, { expression: 'b' }]],
    ['(( string(f(x)) ))', [{ expression: 'string(f(x))' }]],
    ['(( ":)".size() ))', [{ expression: '":)".size()' }]],
    ['(( string(size(x)) ))', [{ expression: 'string(size(x))' }]],
    ['\\(( not a placeholder ))', [{ literal: '(( not a placeholder ))' }]],
    ['\\((-(( x ))', [{ literal: '((-' }, { expression: 'x' }]],
  ];
  for (const [input, want] of cases) assert.deepEqual(scanPlaceholders(input), want, input);
  const errors: Array<[string, RegExp]> = [
    ['(( variables.name', /unterminated placeholder/],
    ['(( a ) b ))x', /unbalanced parenthesis/],
    ['(( ))', /empty placeholder/],
    ['(( "abc ))', /unterminated string literal/],
  ];
  for (const [input, want] of errors) assert.throws(() => scanPlaceholders(input), want, input);
});

const variables = {
  targetName: 'myns',
  port: 8080,
  enabled: true,
  selector: { matchLabels: { app: 'web' } },
  labels: { team: 'dev', env: 'prod' },
  nsList: ['a', 'b'],
};
const render = (value: string, interpolate = 'cel') =>
  compileGenerationTemplate({ value, interpolate }).render((expression) => evalCel(expression, { variables: toCel(variables) }));

test('template: plain YAML, and placeholders are inert without interpolation', () => {
  assert.deepEqual(render('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: static\n  namespace: default\ndata:\n  key: value\n', ''), [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'static', namespace: 'default' }, data: { key: 'value' } },
  ]);
  assert.deepEqual(render('kind: ConfigMap\nmetadata:\n  name: (( variables.targetName ))\n', 'none'), [{ kind: 'ConfigMap', metadata: { name: '(( variables.targetName ))' } }]);
});

test('template: whole placeholders splice any value, embedded ones interpolate scalars', () => {
  assert.deepEqual(
    render(`kind: Service
metadata:
  name: (( variables.targetName ))-scraping
  labels: (( variables.labels ))
spec:
  selector: (( variables.selector ))
  ports:
  - port: (( variables.port ))
    enabled: (( variables.enabled ))
  - port: 9090
  namespaces: (( variables.nsList ))
  note: port-(( variables.port ))-(( variables.enabled ))
`),
    [
      {
        kind: 'Service',
        metadata: { name: 'myns-scraping', labels: { team: 'dev', env: 'prod' } },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          ports: [{ port: 8080, enabled: true }, { port: 9090 }],
          namespaces: ['a', 'b'],
          note: 'port-8080-true',
        },
      },
    ],
  );
});

test('template: multi-document templates and escaped placeholders', () => {
  const docs = render('kind: A\nmetadata:\n  name: first\n---\nkind: B\nmetadata:\n  name: (( variables.targetName ))\n  note: \\(( kept ))\n');
  assert.deepEqual(docs, [
    { kind: 'A', metadata: { name: 'first' } },
    { kind: 'B', metadata: { name: 'myns', note: '(( kept ))' } },
  ]);
});

test('template: errors read as Kyverno words them', () => {
  assert.throws(() => render('metadata:\n  name: prefix-(( variables.labels ))\n'), /document 1: field "metadata": field "name": placeholder "variables.labels" embedded in a string must evaluate to a scalar/);
  assert.throws(() => render('apiVersion: v1\nkind: [unclosed'), /failed to parse YAML/);
  assert.throws(() => render(''), /at least one YAML document/);
  assert.throws(() => render('- a\n- b'), /line 1: document must be a mapping/);
  assert.throws(() => render('kind: ConfigMap\nmetadata:\n  name: "(( variables.name"\n'), /line 3: unterminated placeholder/);
  assert.throws(() => render('kind: ConfigMap\ndata:\n  (( variables.targetName )): x\n'), /line 3: placeholders are not supported in mapping keys/);
  assert.throws(() => render('metadata:\n  name: (( variables.missing.field ))\n'), /failed to evaluate placeholder "variables.missing.field"/);
});

test('template: each render is a fresh tree', () => {
  const t = compileGenerationTemplate({ value: 'kind: A\ndata:\n  k: v\n' });
  const first = t.render(() => null);
  (first[0].data as JsonObject).k = 'changed';
  assert.deepEqual(t.render(() => null), [{ kind: 'A', data: { k: 'v' } }]);
});

test('GeneratingPolicy: template resources go to their own namespace through the generation runtime', () => {
  const cluster: ClusterState = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
  const ns: JsonObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } };
  const request: AdmissionRequest = { operation: 'CREATE', object: ns, oldObject: null, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } };
  const policy: JsonObject = {
    apiVersion: 'policies.kyverno.io/v1beta1',
    kind: 'GeneratingPolicy',
    metadata: { name: 'gen' },
    spec: {
      matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['namespaces'] }] },
      generate: [{ template: { interpolate: 'cel', value: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: (( object.metadata.name ))-config\n  namespace: (( object.metadata.name ))\n' } }],
    },
  };
  const r = applyCelPolicy(policy, { request, cluster });
  assert.equal(r.rules[0].status, 'pass');
  assert.deepEqual(r.rules[0].generatedResources, [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'team-a-config', namespace: 'team-a' } }]);
});
