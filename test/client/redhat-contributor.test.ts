import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createSchemaContributor,
  kyvernoKinds,
  PERMISSIVE_URI,
  readMode,
  schemaFilesOf,
  SCHEMA_SCHEME,
  type RedhatYamlMode,
} from '../../client/src/yaml/redhat-contributor';

const SCHEMAS = join(__dirname, '..', '..', 'schemas');
const schemaFiles = schemaFilesOf(JSON.parse(readFileSync(join(SCHEMAS, 'index.json'), 'utf8')));

const POLICY = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: p}
spec:
  validationFailureActon: Audit
  rules: []
`;
const POD = `apiVersion: v1
kind: Pod
metadata: {name: x}
`;
const VAP = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: v}
`;
const DEPLOYMENT_IN_KYVERNO_LOOKALIKE = `apiVersion: apps/v1
kind: Deployment
metadata: {name: kyverno.io}
`;

function contributor(mode: RedhatYamlMode, files: Record<string, string>) {
  return createSchemaContributor({
    mode: () => mode,
    textOf: (uri) => files[uri],
    schemaFiles,
    readSchema: (file) => readFileSync(join(SCHEMAS, file), 'utf8'),
  });
}

test('Kyverno documents are found by the loader classification, not by text', () => {
  assert.deepEqual(kyvernoKinds(POLICY, 'a.yaml'), ['kyverno.io/v1/ClusterPolicy']);
  assert.deepEqual(kyvernoKinds(`${POD}---\n${POLICY}---\n${VAP}`, 'a.yaml'), [
    'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy',
    'kyverno.io/v1/ClusterPolicy',
  ]);
  assert.deepEqual(kyvernoKinds(DEPLOYMENT_IN_KYVERNO_LOOKALIKE, 'a.yaml'), []);
  assert.deepEqual(kyvernoKinds('apiVersion: kyverno.io/v2\nkind: ClusterCleanupPolicy\n', 'a.yaml'), ['kyverno.io/v2/ClusterCleanupPolicy']);
  assert.deepEqual(kyvernoKinds('apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\n', 'a.yaml'), ['cli.kyverno.io/v1alpha1/Test']);
});

test('standAside: an empty schema for Kyverno files, nothing for the others', () => {
  const c = contributor('standAside', {
    'file:///w/policy.yaml': POLICY,
    'file:///w/pod.yaml': POD,
    'file:///w/vap.yaml': VAP,
    'file:///w/t/kyverno-test.yaml': 'name: legacy\npolicies: [p.yaml]\n',
  });
  assert.equal(c.requestSchema('file:///w/policy.yaml'), PERMISSIVE_URI);
  assert.equal(c.requestSchema('file:///w/vap.yaml'), PERMISSIVE_URI);
  assert.equal(c.requestSchema('file:///w/t/kyverno-test.yaml'), PERMISSIVE_URI);
  assert.equal(c.requestSchema('file:///w/pod.yaml'), undefined);
  assert.equal(c.requestSchema('file:///w/not-open.yaml'), undefined);
  assert.ok(PERMISSIVE_URI.startsWith(`${SCHEMA_SCHEME}://`));
  assert.deepEqual(JSON.parse(c.requestSchemaContent(PERMISSIVE_URI)), {});
});

test('off: no schema for any file', () => {
  const c = contributor('off', { 'file:///w/policy.yaml': POLICY });
  assert.equal(c.requestSchema('file:///w/policy.yaml'), undefined);
});

test('shareSchema: our schema for each Kyverno kind, applied by apiVersion and kind', () => {
  const c = contributor('shareSchema', { 'file:///w/mixed.yaml': `${POD}---\n${POLICY}`, 'file:///w/vap.yaml': VAP });
  const uri = c.requestSchema('file:///w/mixed.yaml');
  assert.ok(uri?.startsWith(`${SCHEMA_SCHEME}://`), uri);
  assert.notEqual(uri, PERMISSIVE_URI);
  const schema = JSON.parse(c.requestSchemaContent(uri!)) as { allOf: { if: { properties: Record<string, { const: string }> }; then: unknown }[] };
  assert.equal(schema.allOf.length, 1);
  assert.equal(schema.allOf[0].if.properties.apiVersion.const, 'kyverno.io/v1');
  assert.equal(schema.allOf[0].if.properties.kind.const, 'ClusterPolicy');
  const ours = JSON.parse(readFileSync(join(SCHEMAS, schemaFiles.get('kyverno.io/v1/ClusterPolicy')!), 'utf8'));
  assert.deepEqual(schema.allOf[0].then, ours);
  // A Kyverno kind without a generated schema: Red Hat YAML still stands aside.
  assert.equal(c.requestSchema('file:///w/vap.yaml'), PERMISSIVE_URI);
});

test('the setting reads standAside unless set to another known value', () => {
  assert.equal(readMode(undefined), 'standAside');
  assert.equal(readMode('bogus'), 'standAside');
  assert.equal(readMode('shareSchema'), 'shareSchema');
  assert.equal(readMode('off'), 'off');
});
