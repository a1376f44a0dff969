import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  admissionVariableTypes, apiStructType, celFieldIssues, celGoDisplay, celTypeCheckApplies, celTypeCheckWarning, classicCelTypeCheck, crdObjectType, escapeFieldName, gvkString, objectTypesWith, typesToCheck,
} from '../../engine/cel/type-check';
import { crdSchemaOf } from '../../engine/kube/crd';
import { apiTypeOfKind, apiTypeProperties } from '../../engine/kube/api-types';
import { findBuiltInResources, findResources, kindTableWith } from '../../engine/kube/kind-table';
import { policyAdmissionVerdict } from '../../engine/policy/admission-checks';
import type { JsonObject } from '../../engine/core/types';

const find = findBuiltInResources;
const kindVariables = (group: string, version: string, kind: string) => admissionVariableTypes(apiStructType(apiTypeOfKind(group, version, kind)!));
const POD = kindVariables('', 'v1', 'Pod');
const display = (expression: string, variables = POD) => celGoDisplay(expression, celFieldIssues(expression, variables));

function results(policy: JsonObject) {
  const checked = classicCelTypeCheck(policy, find);
  assert.ok(checked && 'results' in checked);
  return checked.results;
}

function celPolicy(kinds: string[], expressions: JsonObject[], extra: JsonObject = {}): JsonObject {
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'p' },
    spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds } }] }, validate: { failureAction: 'Enforce', cel: { expressions } }, ...extra }] },
  };
}

test("cel-go's undefined field: message, column at the '.', and the snippet with its caret", () => {
  assert.equal(display('object.replicas > 1', kindVariables('apps', 'v1', 'Deployment')), "ERROR: <input>:1:7: undefined field 'replicas'\n | object.replicas > 1\n | ......^");
  // has() is a macro: cel-go places the presence test at its '('.
  assert.equal(display('!has(object.automountServiceAccountToken)', kindVariables('', 'v1', 'Secret')), "ERROR: <input>:1:5: undefined field 'automountServiceAccountToken'\n | !has(object.automountServiceAccountToken)\n | ....^");
  // Inside has() over an indexed root (which cel-js takes rewritten), the places are the source's.
  assert.deepEqual(celFieldIssues('has(object.spec.containers[0].nope) || has(object.items[0].x)', POD).map((i) => [i.field, i.offset, i.fieldOffset]), [['nope', 3, 30], ['items', 49, 50]]);
  // Several errors are sorted by line and column; a second line counts its own columns.
  assert.equal(display('object.spec.nope ||\n  object.metadata.nope2'), [
    "ERROR: <input>:1:12: undefined field 'nope'", ' | object.spec.nope ||', ' | ...........^',
    "ERROR: <input>:2:18: undefined field 'nope2'", ' |   object.metadata.nope2', ' | .................^',
  ].join('\n'));
  // Characters of more than one UTF-8 byte take cel-go's wide dot.
  assert.equal(display("'é' == object.x"), "ERROR: <input>:1:14: undefined field 'x'\n | 'é' == object.x\n | .．...........^");
});

test('what is typed: macro variables, bind, optionals, indexes, request and namespaceObject; maps and dyn never warn', () => {
  const fields = (e: string) => celFieldIssues(e, POD).map((i) => i.field);
  assert.deepEqual(fields('object.spec.containers.all(c, c.imag == "x" && has(c.securityContext.foo))'), ['imag', 'foo']);
  assert.deepEqual(fields('object.spec.containers.exists(i, c, c.nam == "")'), ['nam']);
  assert.deepEqual(fields('object.spec.containers.filter(c, true).map(c, c.naem)'), ['naem']);
  assert.deepEqual(fields('cel.bind(s, object.spec, s.bar)'), ['bar']);
  assert.deepEqual(fields('object.spec.?foo.orValue(1) == 1 && object.spec.?nodeName.orValue("") == ""'), ['foo']);
  assert.deepEqual(fields('object.spec.containers[0].bad + object.spec.containers[?0].bad2.orValue(1)'), ['bad', 'bad2']);
  assert.deepEqual(fields('has(object.spec.containers[0].securityContext.nope)'), ['nope']);
  assert.deepEqual(fields('request.object == null && request.userInfo.username == "" && namespaceObject.metadata.labels.x == "" && namespaceObject.spec.y == 1'), ['object', 'y']);
  // Keywords are fields under their escaped name and, since 1.31, under their own.
  assert.deepEqual(fields('object.metadata.namespace == object.metadata.__namespace__'), []);
  // Map values, int-or-string, unknown shapes, shadowing variables and other variables are dyn.
  assert.deepEqual(fields('object.metadata.labels.anything.deeper && object.spec.containers[0].ports[0].foo.bar'), ['foo']);
  // A macro variable shadows the global of its name: here `object` is a Container.
  assert.deepEqual(fields('object.spec.containers.all(object, object.image2 == "") && params.x.y && variables.z.w && oldObject.spec.typo'), ['image2', 'typo']);
  assert.deepEqual(fields('[object.spec].all(x, x.bad)'), []);
  // Not parsable: cel-go's syntax error is not this check's.
  assert.deepEqual(fields('object.spec.(('), []);
});

test('escaping follows Kubernetes: keywords, dashes, dots, slashes, double underscores; invalid names are not exposed', () => {
  assert.equal(escapeFieldName('namespace'), '__namespace__');
  assert.equal(escapeFieldName('x-kubernetes-list-type'), 'x__dash__kubernetes__dash__list__dash__type');
  assert.equal(escapeFieldName('a.b/c__d'), 'a__dot__b__slash__c__underscores__d');
  assert.equal(escapeFieldName('$ref'), undefined);
  assert.equal(escapeFieldName('1abc'), undefined);
  const crd = kindVariables('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition');
  assert.deepEqual(celFieldIssues('object.spec.versions[0].schema.openAPIV3Schema.x__dash__kubernetes__dash__list__dash__type == "" && has(object.spec.versions[0].schema.openAPIV3Schema.x_kubernetes)', crd).map((i) => i.field), ['x_kubernetes']);
});

test("typesToCheck: the generated policy's rules, sorted, wildcards and subresources left out, at most ten kinds", () => {
  const spec = (rules: JsonObject[]) => ({ matchConstraints: { resourceRules: rules } });
  assert.deepEqual(typesToCheck(spec([{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods/ephemeralcontainers', 'pods', 'secrets'] }, { apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments'] }])),
    [{ group: '', version: 'v1', kind: 'Pod' }, { group: '', version: 'v1', kind: 'Secret' }, { group: 'apps', version: 'v1', kind: 'Deployment' }]);
  assert.deepEqual(typesToCheck(spec([{ apiGroups: ['*'], apiVersions: ['*'], resources: ['*'] }])), []);
  const many = ['configmaps', 'secrets', 'pods', 'services', 'namespaces', 'nodes', 'events', 'endpoints', 'limitranges', 'persistentvolumes', 'persistentvolumeclaims', 'serviceaccounts'];
  assert.equal(typesToCheck(spec([{ apiGroups: [''], apiVersions: ['v1'], resources: many }])).length, 10);
  // The count is per rule: twelve kinds over two rules of six are all checked.
  const split = spec([{ apiGroups: [''], apiVersions: ['v1'], resources: many.slice(0, 6) }, { apiGroups: [''], apiVersions: ['v1'], resources: many.slice(6) }]);
  assert.equal(typesToCheck(split).length, 12);
});

test("Kyverno's warning per expression and message expression, only when the rule could be a ValidatingAdmissionPolicy", () => {
  const policy = celPolicy(['Deployment', 'StatefulSet'], [
    { expression: 'object.replicas > 1', message: 'm' },
    { expression: 'object.spec.replicas > 1', messageExpression: "'replicas: ' + string(object.spec.replica)" },
  ]);
  assert.equal(celTypeCheckApplies(policy), true);
  assert.deepEqual(results(policy).map(celTypeCheckWarning), [
    "spec.rules[0].validate.cel.expressions[0].expression:apps/v1, Kind=Deployment: ERROR: <input>:1:7: undefined field 'replicas'; | object.replicas > 1; | ......^;;apps/v1, Kind=StatefulSet: ERROR: <input>:1:7: undefined field 'replicas'; | object.replicas > 1; | ......^;",
    "spec.rules[0].validate.cel.expressions[1].messageExpression:apps/v1, Kind=Deployment: ERROR: <input>:1:34: undefined field 'replica'; | 'replicas: ' + string(object.spec.replica); | .................................^;;apps/v1, Kind=StatefulSet: ERROR: <input>:1:34: undefined field 'replica'; | 'replicas: ' + string(object.spec.replica); | .................................^;",
  ]);
  // Two rules, a non-CEL rule, user info in the match: no VAP, no type check.
  const two = celPolicy(['Pod'], [{ expression: 'object.bad' }]);
  (two.spec as { rules: JsonObject[] }).rules.push({ ...(two.spec as { rules: JsonObject[] }).rules[0], name: 'r2' });
  assert.equal(classicCelTypeCheck(two, find), undefined);
  assert.equal(classicCelTypeCheck(celPolicy(['Pod'], [{ expression: 'object.bad' }], { match: { any: [{ resources: { kinds: ['Pod'] }, subjects: [{ kind: 'User', name: 'u' }] }] } }), find), undefined);
  // A wildcard kind resolves to no type: nothing to check.
  assert.deepEqual(classicCelTypeCheck(celPolicy(['*'], [{ expression: 'object.bad' }]), find), { results: [] });
});

test('the admission verdict carries the warnings with a cluster only (the CLI validates without one)', () => {
  const policy = celPolicy(['Secret'], [{ expression: '!has(object.automountServiceAccountToken)', message: 'm' }]);
  const verdict = policyAdmissionVerdict(policy);
  assert.deepEqual(verdict.errors, []);
  assert.deepEqual(verdict.warnings, ["spec.rules[0].validate.cel.expressions[0].expression:/v1, Kind=Secret: ERROR: <input>:1:5: undefined field 'automountServiceAccountToken'; | !has(object.automountServiceAccountToken); | ....^;"]);
  assert.deepEqual(policyAdmissionVerdict(policy, { withoutCluster: true }).warnings, []);
  // A kind discovery resolves to several resources: the builder's error rejects the policy.
  const ambiguous = policyAdmissionVerdict(celPolicy(['Pod'], [{ expression: 'true' }]), { findResources: (g, v, k, s) => [...find(g, v, k, s), ...find(g, v, k, s)] });
  assert.deepEqual(ambiguous, { errors: [{ path: ['spec', 'rules', 0, 'match'], message: 'no unique match for kind Pod' }], warnings: [] });
});

/** Kinds whose schemas the property test walks. */
const KINDS: Array<[string, string, string]> = [['', 'v1', 'Pod'], ['apps', 'v1', 'Deployment'], ['batch', 'v1', 'CronJob'], ['', 'v1', 'Secret'], ['networking.k8s.io', 'v1', 'Ingress'], ['apiextensions.k8s.io', 'v1', 'CustomResourceDefinition']];

/**
 * A path that exists in the kind's schema, written in one of CEL's ways at each step: a field
 * by `.` or `.?`, a list element by `[i]` or a macro variable, a map value by `.key` or `['key']`.
 */
function existingPath(kind: [string, string, string], choices: number[]): { expression: string; struct: boolean } {
  let spelling = apiTypeOfKind(...kind)!;
  let prefix = '';
  let path = 'object';
  let macros = 0;
  let optional = false;
  for (const c of choices) {
    if (spelling.startsWith('[]')) {
      // A macro's range must be a list: after `.?` (an optional), elements are indexed.
      if (c % 2 || optional) path += `[${c % 3}]`;
      else {
        const v = `v${macros++}`;
        prefix += `${path}.${['all', 'exists', 'exists_one'][c % 3]}(${v}, `;
        path = v;
      }
      spelling = spelling.slice(2);
      continue;
    }
    if (spelling.startsWith('{}')) {
      path += c % 2 ? '.somekey' : "['some-key']";
      spelling = spelling.slice(2);
      continue;
    }
    const props = Object.entries(apiTypeProperties(spelling) ?? {}).flatMap(([p, t]) => {
      const name = escapeFieldName(p);
      return name ? [[name, t] as const] : [];
    });
    if (!props.length) break;
    const [name, t] = props[c % props.length];
    optional ||= c % 5 === 0;
    path += `${c % 5 === 0 ? '.?' : '.'}${name}`;
    spelling = t;
  }
  return { expression: `${prefix}${path} == null${')'.repeat(macros)}`, struct: apiTypeProperties(spelling) !== undefined };
}

test('property: paths that exist in a kind give no warning; a made-up field at their end gives one, at its dot', () => {
  fc.assert(
    fc.property(fc.constantFrom(...KINDS), fc.array(fc.nat(1000), { minLength: 1, maxLength: 12 }), (kind, choices) => {
      const variables = kindVariables(...kind);
      const { expression, struct } = existingPath(kind, choices);
      assert.deepEqual(celFieldIssues(expression, variables), [], expression);
      if (struct) {
        const bad = expression.replace(/ == null/, '.notAField42 == null');
        const issues = celFieldIssues(bad, variables);
        assert.deepEqual(issues.map((i) => [i.field, bad[i.offset], bad.slice(i.fieldOffset, i.fieldOffset + i.fieldLength)]), [['notAField42', '.', 'notAField42']], bad);
      }
    }),
    { numRuns: 300, seed: 20261207 },
  );
});

test('bounded on long expressions: a 5000-term chain neither overflows the stack nor prints more than cel-go would', () => {
  const chain = Array.from({ length: 5000 }, (_, i) => `object.x${i}`).join(' || ');
  const issues = celFieldIssues(chain, POD);
  assert.ok(issues.length > 100);
  const text = celGoDisplay(chain, issues);
  assert.equal(text.split('\n').filter((l) => l.startsWith('ERROR: ')).length, 100);
  assert.match(text, /\n\d+ more errors were truncated$/);
});

// ---- custom resources: the CRD's schema as the API server publishes it ----------------------

const WIDGET_CRD: JsonObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1', served: true, storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              metadata: { type: 'object' },
              spec: {
                type: 'object',
                properties: {
                  size: { type: 'integer' },
                  'max-size': { type: 'integer' },
                  port: { 'x-kubernetes-int-or-string': true },
                  parts: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
                  labels: { type: 'object', additionalProperties: { type: 'string' } },
                  extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  untyped: { description: 'no type: not exposed' },
                  template: { type: 'object', 'x-kubernetes-embedded-resource': true, 'x-kubernetes-preserve-unknown-fields': true },
                },
              },
            },
          },
        },
      },
      { name: 'v2', served: false, storage: false, schema: { openAPIV3Schema: { type: 'object' } } },
    ],
  },
};
const WIDGET = crdSchemaOf(WIDGET_CRD)!;
const widgetFind = (g: string, v: string, k: string, s: string) => findResources(kindTableWith([WIDGET]), g, v, k, s);
const widgetIssues = (expression: string) => {
  const checked = classicCelTypeCheck(celPolicy(['example.com/v1/Widget'], [{ expression }]), widgetFind, objectTypesWith([WIDGET]));
  assert.ok(checked && 'results' in checked);
  return checked.results.flatMap((r) => r.byKind.flatMap((k) => k.issues.map((i) => `${gvkString(k.gvk)} ${i.field}`)));
};

test("a custom resource's fields come from its CRD: declared ones pass, others warn as for built-in kinds", () => {
  // Present: declared properties, escaped names, list items, map values, int-or-string, ObjectMeta, apiVersion/kind.
  assert.deepEqual(widgetIssues("object.spec.size > 1 && object.spec.max__dash__size > 0 && object.spec.parts.all(p, p.name != '') && object.spec.labels.team == 'a' && object.spec.port.anything == 1"), []);
  assert.deepEqual(widgetIssues("object.metadata.labels.app == 'x' && object.apiVersion != '' && object.kind == 'Widget' && object.spec.template.metadata.name != ''"), []);
  // Absent: an undeclared field, a field of a list element, of ObjectMeta (the published metadata
  // is ObjectMeta, whatever the CRD says), a property without a type (not exposed), and the
  // unknown fields of preserve-unknown-fields objects (SchemaDeclType does not expose them).
  assert.deepEqual(widgetIssues('object.spec.colour == 1 || object.spec.parts[0].weight == 1 || object.metadata.nope == 1 || object.spec.untyped == 1 || object.spec.extra.anything == 1 || object.spec.template.spec == 1'), [
    'example.com/v1, Kind=Widget colour', 'example.com/v1, Kind=Widget weight', 'example.com/v1, Kind=Widget nope',
    'example.com/v1, Kind=Widget untyped', 'example.com/v1, Kind=Widget anything', 'example.com/v1, Kind=Widget spec',
  ]);
  // The warning is Kyverno's, with the custom resource's GVK.
  const verdict = policyAdmissionVerdict(celPolicy(['example.com/v1/Widget'], [{ expression: 'object.spec.colour == 1', message: 'm' }]), { findResources: widgetFind, customResources: [WIDGET] });
  assert.deepEqual(verdict, { errors: [], warnings: ["spec.rules[0].validate.cel.expressions[0].expression:example.com/v1, Kind=Widget: ERROR: <input>:1:12: undefined field 'colour'; | object.spec.colour == 1; | ...........^;"] });
});

test('a kind without a schema is skipped as the TypeChecker skips ErrSchemaNotFound; a schema-less version is a bare object', () => {
  // Discovery knows the kind, but no CRD (an aggregated API, a CRD that could not be read): no warning.
  assert.deepEqual(classicCelTypeCheck(celPolicy(['example.com/v1/Widget'], [{ expression: 'object.spec.colour == 1' }]), widgetFind), { results: [] });
  // A version the API server does not serve is neither mapped nor resolved.
  const types = objectTypesWith([WIDGET]);
  assert.deepEqual(types.kindsFor('example.com', 'v2', 'widgets'), []);
  assert.equal(types.objectType({ group: 'example.com', version: 'v2', kind: 'Widget' }), undefined);
  assert.deepEqual(types.kindsFor('example.com', 'v1', 'widgets'), ['Widget']);
  // Built-in kinds keep their bundled types beside the CRDs.
  assert.deepEqual(types.kindsFor('apps', 'v1', 'deployments'), ['Deployment']);
  // Published without a usable schema, a custom resource is a bare object: kind, apiVersion, metadata.name/generateName.
  const bare = admissionVariableTypes(crdObjectType(undefined, 'Widget'));
  assert.deepEqual(celFieldIssues("object.metadata.name == '' && object.kind == '' && object.metadata.labels == {} && object.spec == 1", bare).map((i) => i.field), ['labels', 'spec']);
  // So is a CRD the API server found not structural (its NonStructuralSchema condition).
  const nonStructural = crdSchemaOf({ ...WIDGET_CRD, status: { conditions: [{ type: 'NonStructuralSchema', status: 'True' }] } })!;
  const kinds = objectTypesWith([nonStructural]).objectType({ group: 'example.com', version: 'v1', kind: 'Widget' })!;
  assert.deepEqual(celFieldIssues('object.spec.size == 1 && object.metadata.name == ""', admissionVariableTypes(kinds)).map((i) => i.field), ['spec']);
});
