// Expressions that know the resource: completion, hover and the unknown-field warning (KS1212)
// inside `{{ request.object.… }}` and CEL `object.…`, from the bundled Kubernetes API types and
// the workspace's CRDs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { parseFile, complete, hover, validateFile, type CompletionItem } from '../../server/src/service';
import { ResourceSchemas, crdOf, walk, KUBERNETES_TYPES_RELEASE } from '../../server/src/service/resource-schema';
import { objectPaths, pathBeingTyped } from '../../server/src/service/expression-paths';

const root = resolve(__dirname, '../..');

/** A ClusterPolicy `p` with one rule `r` over these kinds, its `validate` written by the caller (indented under it). */
function policyOver(kinds: string[], validate: string): string {
  return `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: p
spec:
  rules:
  - name: r
    match:
      any:
      - resources:
          kinds: [${kinds.join(', ')}]
    validate:
${validate}`;
}

function classic(kinds: string[], body: string): string {
  return policyOver(kinds, `      message: ${body}
      deny: {}
`);
}

function celPolicy(rule: string, expression: string): string {
  return `apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata:
  name: p
spec:
  matchConstraints:
    resourceRules:
    ${rule}
  validations:
  - expression: ${expression}
`;
}
const DEPLOYMENTS = '- { apiGroups: ["apps"], apiVersions: ["v1"], resources: ["deployments"], operations: ["CREATE"] }';
const PODS = '- { apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], operations: ["CREATE"] }';

/** Completion with the cursor right after `marker` (the text's first occurrence). */
function completeAfter(text: string, marker: string, schemas?: ResourceSchemas): CompletionItem[] {
  const at = text.indexOf(marker);
  assert.ok(at >= 0, marker);
  return complete(parseFile('file:///w/p.yaml', text), at + marker.length, schemas ? { resourceSchemas: schemas } : {});
}
const labels = (items: CompletionItem[]) => items.map((i) => i.label);

function warnings(text: string, schemas?: ResourceSchemas): Array<{ message: string; text: string }> {
  const file = parseFile('file:///w/p.yaml', text);
  const lines = text.split('\n');
  return validateFile(file, schemas ? { resourceSchemas: schemas } : {})
    .filter((d) => d.code === 'KS1212')
    .map((d) => ({ message: d.message, text: lines[d.range.start.line].slice(d.range.start.character, d.range.end.character) }));
}

test('JMESPath completion walks the matched kind several levels deep, through lists', () => {
  const at = (path: string) => {
    const text = classic(['Pod'], `"{{ ${path}`);
    return completeAfter(text, path);
  };
  const top = at('request.object.');
  assert.deepEqual(labels(top).sort(), ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  assert.equal(top.find((i) => i.label === 'spec')?.detail, 'PodSpec');
  const spec = at('request.object.spec.');
  assert.ok(labels(spec).includes('containers') && labels(spec).includes('hostNetwork') && labels(spec).includes('securityContext'));
  assert.equal(spec.find((i) => i.label === 'containers')?.detail, '[]Container');
  for (const list of ['containers[]', 'containers[*]', 'containers[0]', "containers[?name=='app']"]) {
    const items = at(`request.object.spec.${list}.`);
    assert.ok(labels(items).includes('image') && labels(items).includes('securityContext'), list);
  }
  const deep = at('request.object.spec.containers[].securityContext.capabilities.');
  assert.deepEqual(labels(deep).sort(), ['add', 'drop']);
  // The word being typed is replaced, and the documentation comes along.
  const typed = at('request.object.spec.containers[].ima');
  const image = typed.find((i) => i.label === 'image')!;
  assert.equal(image.detail, 'string');
  assert.match(image.documentation?.value ?? '', /Container image name/);
  assert.equal(image.textEdit!.range.end.character - image.textEdit!.range.start.character, 3);
  // oldObject too; a map (labels) offers no fields and falls back to nothing wrong.
  assert.ok(labels(at('request.oldObject.metadata.')).includes('labels'));
  assert.ok(!labels(at('request.object.metadata.labels.')).includes('spec'));
});

/** A namespaced example.com/v1 CRD (a workspace file, read as the editor reads it) whose `spec` schema is `spec`, one YAML line each. */
function exampleCrd(kind: string, plural: string, spec: string[]) {
  return crdOf(parse(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: ${plural}.example.com }
spec:
  group: example.com
  names: { kind: ${kind}, plural: ${plural} }
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
${spec.map((line) => `            ${line}`).join('\n')}
`))!;
}

test('JMESPath completion offers the union of every matched kind, and CRDs from the workspace', () => {
  const text = classic(['Pod', 'apps/v1/Deployment'], '"{{ request.object.spec.');
  const items = labels(completeAfter(text, 'request.object.spec.'));
  assert.ok(items.includes('containers') && items.includes('template') && items.includes('replicas'));

  const schemas = new ResourceSchemas([exampleCrd('Widget', 'widgets', [
    'type: object',
    'description: What the widget should be.',
    'properties:',
    '  size: { type: integer, description: How big the widget is. }',
    '  colour: { type: string }',
    '  extra: { type: object, x-kubernetes-preserve-unknown-fields: true }'
  ])]);
  const widget = classic(['Widget'], '"{{ request.object.spec.');
  const fields = completeAfter(widget, 'request.object.spec.', schemas);
  assert.deepEqual(labels(fields).sort(), ['colour', 'extra', 'size']);
  assert.equal(fields.find((i) => i.label === 'size')?.detail, 'integer');
  assert.ok(labels(completeAfter(widget, 'request.object.', schemas)).includes('metadata'), 'the API server adds metadata to custom resources');
  // Without the workspace's CRD the kind is unknown: the request fields come as before.
  assert.ok(!labels(completeAfter(widget, 'request.object.spec.')).includes('size'));
  // Unknown fields in the CRD: a typo warns, a preserve-unknown-fields subtree does not.
  const bad = classic(['example.com/v1/Widget'], '"{{ request.object.spec.sise }} {{ request.object.spec.extra.anything }}"');
  assert.deepEqual(warnings(bad, schemas).map((w) => w.text), ['sise']);
  assert.deepEqual(warnings(bad), [], 'no schema for the kind: no warning');
});

test('CEL completion: object, oldObject, request.object, indexes, optionals and macro variables', () => {
  const at = (expression: string, rule = DEPLOYMENTS) => completeAfter(celPolicy(rule, expression), expression);
  assert.ok(labels(at('object.spec.')).includes('replicas'));
  assert.ok(labels(at('oldObject.spec.template.spec.')).includes('containers'));
  assert.ok(labels(at('request.object.metadata.')).includes('annotations'));
  assert.ok(labels(at('object.spec.template.spec.containers[0].')).includes('image'));
  assert.ok(labels(at('object.?spec.?template.?spec.')).includes('initContainers'));
  const inMacro = at('object.spec.template.spec.containers.all(c, c.securityContext.');
  assert.ok(labels(inMacro).includes('runAsNonRoot'), 'c is a container');
  const inMap = at('object.spec.template.spec.containers.map(c, c.');
  assert.ok(labels(inMap).includes('ports'));
  const twoVars = at('object.spec.template.spec.containers.all(i, ctr, ctr.');
  assert.ok(labels(twoVars).includes('image'), 'the two-variable form binds the element to the second name');
  // A block scalar spanning lines: the macro variable bound on the line above still counts.
  const block = celPolicy(DEPLOYMENTS, '>-\n      object.spec.template.spec.containers.all(c,\n        c.').trimEnd();
  assert.ok(labels(complete(parseFile('file:///w/b.yaml', block), block.length)).includes('livenessProbe'));
  // Pods through the core group; a list leads to CEL's list macros, with snippets.
  assert.ok(labels(at('object.spec.', PODS)).includes('nodeName'));
  const listMethods = at('object.spec.containers.', PODS);
  const all = listMethods.find((i) => i.label === 'all')!;
  assert.equal(all.textEdit?.newText, 'all(${1:x}, $2)');
  assert.match(all.documentation?.value ?? '', /CEL macro/);
});

test('CEL library functions are offered with signatures: Kyverno, Kubernetes and cel-go', () => {
  const text = celPolicy(DEPLOYMENTS, 'x');
  const at = text.indexOf('expression: x') + 'expression: '.length;
  const roots = complete(parseFile('file:///w/p.yaml', text), at);
  const byLabel = new Map(roots.map((i) => [i.label, i]));
  for (const name of ['has', 'size', 'quantity', 'semver', 'isCIDR', 'resource.Get', 'http.Get', 'globalContext.Get', 'parseImageReference', 'json.unmarshal', 'x509.decode', 'time.now', 'math.round', 'lists.range', 'base64.encode', 'optional.of']) {
    assert.ok(byLabel.has(name), name);
    assert.ok(byLabel.get(name)!.detail?.startsWith(`${name}(`), `${name} has a signature`);
  }
  assert.ok(!byLabel.has('getHost'), 'methods need a receiver');
  const ns = text.replace('expression: x', 'expression: math.');
  const math = complete(parseFile('file:///w/p.yaml', ns), ns.indexOf('math.') + 5);
  assert.ok(labels(math).includes('greatest') && labels(math).includes('round'));
});

test('hover on a path field shows its type and documentation in the matched kinds', () => {
  const text = classic(['Pod'], '"{{ request.object.spec.containers[0].securityContext.privileged }}"');
  const file = parseFile('file:///w/p.yaml', text);
  const h = hover(file, text.indexOf('privileged') + 3);
  assert.ok(h);
  assert.match(h.contents.value, /\*\*privileged\*\* `boolean`/);
  assert.match(h.contents.value, /privileged mode/i);
  assert.match(h.contents.value, /In Pod/);
  assert.equal(h.range!.end.character - h.range!.start.character, 'privileged'.length);
  const onContainers = hover(file, text.indexOf('containers') + 2)!;
  assert.match(onContainers.contents.value, /`\[\]Container`/);

  const cel = celPolicy(DEPLOYMENTS, '"object.spec.replicas > 1"');
  const c = hover(parseFile('file:///w/c.yaml', cel), cel.indexOf('replicas') + 1)!;
  assert.match(c.contents.value, /\*\*replicas\*\* `integer`/);
  assert.match(c.contents.value, /desired pods/i);
  const inMacro = celPolicy(PODS, 'object.spec.containers.all(c, c.image != "")');
  const m = hover(parseFile('file:///w/m.yaml', inMacro), inMacro.indexOf('c.image') + 3)!;
  assert.match(m.contents.value, /\*\*image\*\* `string`/);
});

test('unknown fields are warned about only where every matched kind certainly lacks them', () => {
  const jmes = classic(['Pod'], '"{{ request.object.spec.containrs[].image }} {{ request.object.spec.containers[].imagePullPolicyy }}"');
  const w = warnings(jmes);
  assert.deepEqual(w.map((x) => x.text), ['containrs', 'imagePullPolicyy']);
  assert.match(w[0].message, /Unknown field 'containrs': Pod has no such field here/);

  const cel = celPolicy(DEPLOYMENTS, '"object.spec.template.spec.containers.all(c, has(c.securityContext.runAsNonRot))"');
  assert.deepEqual(warnings(cel).map((x) => x.text), ['runAsNonRot']);
  assert.deepEqual(warnings(celPolicy(DEPLOYMENTS, '"object.spec.replica > 1 && oldObject.spec.paused"')).map((x) => x.text), ['replica']);

  const fine = [
    // Maps, functions, status and metadata, both kinds of a union, JMESPath quoted keys.
    classic(['Pod'], '"{{ request.object.metadata.labels.anything }} {{ request.object.metadata.annotations.\\"a.b/c\\" }} {{ request.object.metadata.keys(@) }} {{ request.object.status.phase }}"'),
    classic(['Pod', 'Deployment'], '"{{ request.object.spec.template.spec.containers[].image }} {{ request.object.spec.containers[].image }}"'),
    // Unknown kinds, wildcards and subresources: nothing is certain.
    classic(['Widget'], '"{{ request.object.spec.anything }}"'),
    classic(['*'], '"{{ request.object.spec.anything }}"'),
    classic(['Pod', 'Widget'], '"{{ request.object.spec.anything }}"'),
    classic(['Pod/exec'], '"{{ request.object.command }}"'),
    // Untyped values (RawExtension-like `any`) and strings/backticks are not paths.
    classic(['Pod'], `"{{ 'request.object.spec.nope' }} {{ \`\\"request.object.spec.nope\\"\` }}"`),
    celPolicy('- { apiGroups: ["*"], apiVersions: ["*"], resources: ["*"], operations: ["CREATE"] }', '"object.spec.anything"'),
    celPolicy(DEPLOYMENTS, '"object.metadata.labels.app == \'x\' && object.spec.template.metadata.annotations[\'a\'] == \'b\'"'),
    celPolicy(DEPLOYMENTS, '"variables.foo.bar && params.spec.anything"'),
  ];
  for (const text of fine) assert.deepEqual(warnings(text), [], text);
});

test('expression paths: what the lexical reader takes as a path', () => {
  const steps = (text: string, dialect: 'jmespath' | 'cel') => objectPaths(text, dialect).map((p) => p.segments.map((s) => ('field' in s.step ? s.step.field : '[]')).join('.'));
  assert.deepEqual(steps('request.object.spec.containers[].image || request.oldObject.metadata."a.b"', 'jmespath'), ['spec.containers.[].image', 'metadata.a.b']);
  assert.deepEqual(steps('request.object.spec.containers[0:2].image', 'jmespath'), ['spec.containers.[].image']);
  assert.deepEqual(steps('request.object.spec.{a: b}', 'jmespath'), ['spec']);
  assert.deepEqual(steps("object.metadata.?labels['app'].size() > 0", 'cel'), ['metadata.labels.app']);
  assert.deepEqual(steps('xobject.spec + my.object.spec', 'cel'), []);
  assert.deepEqual(pathBeingTyped('object.spec.contain', 'cel'), { steps: [{ field: 'spec' }], word: 'contain' });
  assert.deepEqual(pathBeingTyped('object.spec.containers.all(c, c.', 'cel'), { steps: [{ field: 'spec' }, { field: 'containers' }, { element: true }], word: '' });
  assert.equal(pathBeingTyped('object.spec.all(c, c', 'cel'), undefined);
});

test('the schema walk stops without a verdict at open objects and values of unknown shape', () => {
  const schemas = new ResourceSchemas();
  const m = schemas.matched(parse(classic(['CustomResourceDefinition'], 'x')), ['spec', 'rules', 0]);
  assert.equal(m.complete, true);
  // JSONSchemaProps.default is `any`: nothing below it is wrong.
  assert.deepEqual(walk(m, [{ field: 'spec' }, { field: 'versions' }, { element: true }, { field: 'schema' }, { field: 'openAPIV3Schema' }, { field: 'default' }, { field: 'x' }]), { ok: true, nodes: [], fields: [] });
  assert.deepEqual(walk(m, [{ field: 'spec' }, { field: 'nope' }]), { ok: false, at: 1, field: 'nope' });
  assert.match(KUBERNETES_TYPES_RELEASE, /^1\.\d+$/);
});

test('scripts/gen-kube-schemas.mjs reads the client models: attribute tables, docs, arrays, maps, reachability', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ks-kube-gen-'));
  try {
    const models = join(dir, 'pkg/dist/gen/models');
    mkdirSync(models, { recursive: true });
    const model = (name: string, doc: string, attrs: Array<[string, string, string?, string?]>) => {
      writeFileSync(join(models, `${name}.js`), `/**\n * OpenAPI spec version: release-9.99\n */\nexport class ${name} {}\n${name}.attributeTypeMap = ${JSON.stringify(attrs.map(([n, type, format]) => ({ name: n, baseName: n, type, format: format ?? '' })), null, 4)};\n`);
      const props = attrs.map(([n, type, , d]) => `${d ? `    /**\n    * ${d}\n    */\n` : ''}    '${n}'?: ${type};`).join('\n');
      writeFileSync(join(models, `${name}.d.ts`), `/**\n* ${doc}\n*/\nexport declare class ${name} {\n${props}\n}\n`);
    };
    model('V1Pod', 'Pod is a collection of containers.', [['apiVersion', 'string'], ['kind', 'string'], ['metadata', 'V1ObjectMeta'], ['spec', 'V1PodSpec', '', 'Specification of the pod. More info: https://example']]);
    model('V1ObjectMeta', 'Standard object metadata.', [['labels', '{ [key: string]: string; }', '', 'Map of string keys and values.']]);
    model('V1PodSpec', 'PodSpec is a description of a pod.', [['containers', 'Array<V1Container>'], ['priority', 'number', 'int32'], ['overhead', '{ [key: string]: string; }'], ['extra', 'any']]);
    model('V1Container', 'A single application container.', [['image', 'string', '', "Container image name. It\\'s required."], ['port', 'IntOrString']]);
    model('V1Unreached', 'Not a kind and not referenced.', [['x', 'string']]);
    writeFileSync(join(models, 'V1Pod.js'), readFileSync(join(models, 'V1Pod.js'), 'utf8'));
    const out = join(dir, 'out.json');
    const fieldsOut = join(dir, 'fields.json');
    const r = spawnSync(process.execPath, [join(root, 'scripts/gen-kube-schemas.mjs'), '--from', join(dir, 'pkg'), '--out', out, '--fields-out', fieldsOut], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const fields = JSON.parse(readFileSync(fieldsOut, 'utf8'));
    assert.equal(fields.kubernetes, 'release-9.99');
    assert.deepEqual(Object.keys(fields.types).sort(), ['V1Container', 'V1ObjectMeta', 'V1Pod', 'V1PodSpec']);
    assert.deepEqual(fields.types.V1Pod, { apiVersion: 'string', kind: 'string', metadata: 'V1ObjectMeta', spec: 'V1PodSpec' });
    assert.deepEqual(fields.types.V1PodSpec, { containers: '[]V1Container', priority: 'integer', overhead: '{}string', extra: 'any' });
    assert.deepEqual(fields.types.V1Container, { image: 'string', port: 'int-or-string' });
    // The descriptions go to their own file, by the same names: the engine's bundles carry none.
    const docs = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(docs.types.V1Pod.p, { spec: 'Specification of the pod.' });
    assert.deepEqual(docs.types.V1Container.p, { image: "Container image name. It's required." });
    assert.equal(docs.types.V1Container.d, 'A single application container.');
    assert.equal(docs.types.V1Unreached, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the committed Kubernetes types come from the pinned input and stay small', () => {
  const inputs = JSON.parse(readFileSync(join(root, 'server/src/generated/kubernetes-types.inputs.json'), 'utf8'));
  const fieldsText = readFileSync(join(root, 'engine/kube/kubernetes-fields.json'), 'utf8');
  const docsText = readFileSync(join(root, 'server/src/generated/kubernetes-types.json'), 'utf8');
  const fields = JSON.parse(fieldsText);
  const docs = JSON.parse(docsText);
  assert.equal(fields.source, `${inputs.package}@${inputs.version}`);
  assert.equal(docs.source, fields.source);
  // The field table is in the engine's bundles (webhook, CLI): types only, no descriptions.
  assert.ok(fieldsText.length < 200_000, `${fieldsText.length} bytes`);
  assert.ok(docsText.length < 1_000_000, `${docsText.length} bytes`);
  for (const kind of ['V1Pod', 'V1Deployment', 'V1CronJob', 'V1Ingress', 'V1Namespace', 'CoreV1Event', 'EventsV1Event']) assert.ok(fields.types[kind]?.kind, kind);
  for (const name of Object.keys(docs.types)) assert.ok(fields.types[name], `${name} has descriptions but no fields`);
});

/** A classic policy with one validate.cel rule over these kinds (what Kyverno type-checks at admission). */
function celClassic(kinds: string[], expressions: string[], extraRule = ''): string {
  return policyOver(kinds, `      cel:
        expressions:
${expressions.map((e) => `        - expression: ${e}\n          message: m`).join('\n')}
${extraRule}`);
}

function typeCheckWarnings(text: string, code = 'KS1214', resourceSchemas?: ResourceSchemas): Array<{ message: string; text: string }> {
  const file = parseFile('file:///w/p.yaml', text);
  const lines = text.split('\n');
  return validateFile(file, { resourceSchemas })
    .filter((d) => d.code === code)
    .map((d) => ({ message: d.message, text: lines[d.range.start.line].slice(d.range.start.character, d.range.end.character) }));
}

test("KS1214: Kyverno's CEL type-check warning at the field, per kind, where Kyverno runs it; it stands for KS1212 there", () => {
  const text = celClassic(['Deployment', 'Pod'], ['"object.replicas > 1"', "'!has(object.spec.replicas)'", '>-\n            object.spec.template.spec.containers.all(c,\n              c.imagee != "")']);
  assert.deepEqual(typeCheckWarnings(text), [
    { message: "undefined field 'replicas' (/v1, Kind=Pod; apps/v1, Kind=Deployment): Kyverno warns when the policy is admitted (its CEL type check).", text: 'replicas' },
    { message: "undefined field 'replicas' (/v1, Kind=Pod): Kyverno warns when the policy is admitted (its CEL type check).", text: 'replicas' },
    { message: "undefined field 'template' (/v1, Kind=Pod): Kyverno warns when the policy is admitted (its CEL type check).", text: 'template' },
    { message: "undefined field 'imagee' (apps/v1, Kind=Deployment): Kyverno warns when the policy is admitted (its CEL type check).", text: 'imagee' },
  ]);
  // The lexical unknown-field warning does not repeat what the type check says.
  assert.deepEqual(typeCheckWarnings(text, 'KS1212'), []);
  // Two rules: Kyverno does not type-check; the lexical check still speaks for the field no kind has.
  const two = celClassic(['Deployment'], ['"object.replicas > 1"'], `  - name: r2
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      cel:
        expressions:
        - expression: "true"
`);
  assert.deepEqual(typeCheckWarnings(two), []);
  assert.deepEqual(typeCheckWarnings(two, 'KS1212').map((w) => w.text), ['replicas']);
});

test("KS1214 for custom resources: the workspace's CRDs stand for the cluster's, as the webhook reads them", () => {
  const schemas = new ResourceSchemas([exampleCrd('Gizmo', 'gizmos', [
    'type: object',
    'properties:',
    '  size: { type: integer }',
    '  extra: { type: object, x-kubernetes-preserve-unknown-fields: true }'
  ])]);
  const text = celClassic(['example.com/v1/Gizmo'], ['"object.spec.sise > 1"', '"object.spec.size > 1 && object.metadata.labels.a == \'b\'"', '"object.spec.extra.anything == 1"']);
  assert.deepEqual(typeCheckWarnings(text, 'KS1214', schemas), [
    { message: "undefined field 'sise' (example.com/v1, Kind=Gizmo): Kyverno warns when the policy is admitted (its CEL type check).", text: 'sise' },
    // SchemaDeclType exposes the declared fields of a preserve-unknown-fields object only: the API server's checker warns.
    { message: "undefined field 'anything' (example.com/v1, Kind=Gizmo): Kyverno warns when the policy is admitted (its CEL type check).", text: 'anything' },
  ]);
  // Without the CRD the kind is not known: Kyverno's webhook would not resolve it, nothing is type-checked.
  assert.deepEqual(typeCheckWarnings(text), []);
  // A bare kind resolves through the workspace's CRD too.
  assert.deepEqual(typeCheckWarnings(celClassic(['Gizmo'], ['"object.spec.sise > 1"']), 'KS1214', schemas).map((w) => w.text), ['sise']);
});
