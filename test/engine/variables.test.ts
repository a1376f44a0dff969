import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  findVariables,
  goJson,
  hasVariables,
  substituteVariables,
  VariableError,
  withVariables,
  type VariableScope,
} from '../../engine/variables';

const scope = (data: Record<string, unknown>): VariableScope => ({ data });

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'nginx', namespace: 'default', labels: { app: 'web', tier: 'front' } },
  spec: { containers: [{ name: 'c1', image: 'nginx:1.2' }], replicas: 3 },
};
const s = scope({ request: { object: pod, operation: 'CREATE' } });

test('variables: a string that is exactly one variable takes the value type', () => {
  assert.deepEqual(substituteVariables('{{ request.object.metadata.labels }}', s), { app: 'web', tier: 'front' });
  assert.equal(substituteVariables('{{request.object.spec.replicas}}', s), 3);
  assert.deepEqual(substituteVariables('{{ request.object.spec.containers[].name }}', s), ['c1']);
});

test('variables: variables inside text are spliced, non-strings as Go JSON (sorted keys)', () => {
  assert.equal(substituteVariables('pod {{request.object.metadata.name}} in {{request.object.metadata.namespace}}', s), 'pod nginx in default');
  assert.equal(substituteVariables('n={{request.object.spec.replicas}}', s), 'n=3');
  assert.equal(substituteVariables('l={{request.object.metadata.labels}}', s), 'l={"app":"web","tier":"front"}');
  assert.equal(substituteVariables('x={{request.object.spec.nothing}}', scope({ request: { object: { spec: { nothing: null } } } })), 'x=null');
});

test('variables: a plain path to an absent key fails like kyverno/go-jmespath', () => {
  assert.throws(
    () => substituteVariables({ spec: { v: '{{request.object.metadata.labels.missing}}' } }, s),
    (e: unknown) =>
      e instanceof VariableError &&
      (e as Error).message === 'failed to resolve request.object.metadata.labels.missing at path /spec/v: JMESPath query failed: Unknown key "missing" in path',
  );
  // A field below null, and expressions that are not plain paths, stay null.
  assert.equal(substituteVariables('{{request.object.spec.nothing.deeper}}', scope({ request: { object: { spec: { nothing: null } } } })), null);
  assert.equal(substituteVariables('{{ request.object.metadata.labels.missing || `null` }}', s), null);
});

test('variables: a quoted field is part of a plain path, so its absence fails too', () => {
  const labels = scope({ labels: { 'app.kubernetes.io/name': 'web', 'a"b': 'q' } });
  assert.equal(substituteVariables('{{ labels."app.kubernetes.io/name" }}', labels), 'web');
  assert.equal(substituteVariables('{{ labels."a\\"b" }}', labels), 'q');
  assert.throws(() => substituteVariables('{{ labels."cost.io/project" }}', labels), /failed to resolve labels."cost.io\/project" at path : JMESPath query failed: Unknown key "cost.io\/project" in path/);
  // An or-expression takes the absence as null, as kyverno/go-jmespath's ASTOrExpression does.
  assert.equal(substituteVariables("{{ labels.\"cost.io/project\" || 'empty' }}", labels), 'empty');
});

test('variables: keys are substituted too, and nested documents walked', () => {
  const out = substituteVariables({ metadata: { labels: { '{{request.object.metadata.name}}-key': '{{request.object.metadata.labels.app}}' } }, list: ['{{request.operation}}', 7, true] }, s);
  assert.deepEqual(out, { metadata: { labels: { 'nginx-key': 'web' } }, list: ['CREATE', 7, true] });
});

test('variables: escaped variables stay literal without the backslash', () => {
  assert.equal(substituteVariables('keep \\{{ request.object.metadata.name }} but {{request.object.metadata.name}}', s), 'keep {{ request.object.metadata.name }} but nginx');
  assert.equal(hasVariables('\\{{ a }}'), false);
  assert.equal(hasVariables('x {{ a }}'), true);
});

test('variables: nested variables resolve inside out', () => {
  const sc = scope({ key: 'app', labels: { app: 'web' } });
  assert.equal(substituteVariables('{{ labels.{{key}} }}', sc), 'web');
});

test('variables: JMESPath defaults with ||', () => {
  assert.equal(substituteVariables("{{ request.object.metadata.annotations.foo || 'none' }}", s), 'none');
  assert.equal(substituteVariables("{{ request.operation || 'BACKGROUND' }}", s), 'CREATE');
});

test('variables: DELETE requests read request.object from oldObject', () => {
  const del = scope({ request: { oldObject: pod, operation: 'DELETE' } });
  assert.equal(substituteVariables('{{request.object.metadata.name}}', del), 'nginx');
});

test('variables: a bad expression is a VariableError naming the variable and path', () => {
  assert.throws(
    () => substituteVariables({ spec: { x: '{{ request.object.[ }}' } }, s),
    (e: unknown) => e instanceof VariableError && /failed to resolve request\.object\.\[ at path \/spec\/x/.test((e as Error).message),
  );
});

test('variables: repeated calls do not share regex state (regression)', () => {
  // A key with a variable used to leave a global regex mid-string for the next call.
  substituteVariables({ 'a-{{request.operation}}': 1 }, s);
  for (let i = 0; i < 3; i++) assert.equal(substituteVariables("{{request.operation || 'B'}}", s), 'CREATE');
});

test('variables: self-referencing values are bounded, not a hang', () => {
  const loop = scope({ a: '{{a}}' });
  assert.throws(() => substituteVariables('x {{a}}', loop), VariableError);
});

test('variables: withVariables merges dotted names and replaces plain ones', () => {
  const base = scope({ request: { object: { metadata: { name: 'a', labels: { x: '1' } } } }, cm: { old: true } });
  const next = withVariables(base, { 'request.object.metadata.name': 'b', cm: { fresh: true } });
  assert.deepEqual(next.data.request, { object: { metadata: { name: 'b', labels: { x: '1' } } } });
  assert.deepEqual(next.data.cm, { fresh: true });
  assert.deepEqual(base.data.cm, { old: true }, 'the parent scope is untouched');
});

test('variables: findVariables lists unescaped variables in order', () => {
  assert.deepEqual(findVariables('{{a}} and \\{{b}} and {{ c.d }}'), ['{{a}}', '{{ c.d }}']);
});

test('variables: goJson escapes like Go encoding/json', () => {
  assert.equal(goJson({ b: 1, a: '<&>' }), '{"a":"\\u003c\\u0026\\u003e","b":1}');
  assert.equal(goJson(null), 'null');
});

test('variables: element and elementIndex from a foreach scope', () => {
  const sc = withVariables(s, { element: { name: 'c1' }, elementIndex: 0 });
  assert.equal(substituteVariables('{{element.name}}-{{elementIndex}}', sc), 'c1-0');
});

test('variables: values that double at each round are cut off', () => {
  const grow = scope({ a: '{{a}}{{a}}' });
  assert.throws(() => substituteVariables('x {{a}}', grow), VariableError);
});

test('variables: {{@}} is the resource value at the same place (rule-relative path)', () => {
  const out = substituteVariables({ metadata: { labels: { app: '{{@}}-x' } } }, s, { basePath: '/mutate/patchStrategicMerge' });
  assert.deepEqual(out, { metadata: { labels: { app: 'web-x' } } });
  const target = withVariables(s, { target: { metadata: { labels: { app: 'other' } } } });
  assert.deepEqual(substituteVariables({ metadata: { labels: { app: '{{@}}' } } }, target, { basePath: '/mutate/patchStrategicMerge' }), {
    metadata: { labels: { app: 'other' } },
  });
});

test('variables: $() references point at other fields of the same document', () => {
  const pattern = { spec: { containers: [{ name: 'web', '(image)': 'nginx', args: '$(./../name)-arg', min: 2, max: '$(>=./../min)' }] }, top: '$(/spec/containers/0/image)' };
  assert.deepEqual(substituteVariables(pattern, s), {
    spec: { containers: [{ name: 'web', '(image)': 'nginx', args: 'web-arg', min: 2, max: '>=2' }] },
    top: 'nginx',
  });
  assert.equal(substituteVariables('keep \\$(HOME)', s), 'keep $(HOME)');
  assert.throws(() => substituteVariables({ a: '$(./../missing)' }, s), /got nil resolved variable/);
  assert.throws(() => substituteVariables({ n: 1, a: '$(./../n)' }, s), /NotResolvedReferenceErr/);
});
