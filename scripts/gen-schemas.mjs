// Generates JSON Schemas from the Kyverno CRDs kept in the repo (deploy/crds) into schemas/, and
// ajv standalone validators into server/src/generated/. Both outputs are committed, so the
// project never reads the CRDs at run time and never compiles a schema at start-up;
// test/generated.test.ts regenerates them into a temporary folder and checks they are fresh.
//
//   node scripts/gen-schemas.mjs [crdDir] [--out DIR]   (--out: DIR/schemas and DIR/generated)
import { readFileSync, writeFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import Ajv from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { transformSync } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const outAt = argv.indexOf('--out');
const out = outAt >= 0 ? argv.splice(outAt, 2)[1] : undefined;
const crdDir = argv[0] ?? join(root, 'deploy', 'crds');
const outDir = out ? join(out, 'schemas') : join(root, 'schemas');
const genDir = out ? join(out, 'generated') : join(root, 'server', 'src', 'generated');

const GROUPS = ['kyverno.io', 'policies.kyverno.io', 'wgpolicyk8s.io', 'cli.kyverno.io'];
const CLI_KINDS = new Set(['Test', 'Values', 'UserInfo', 'Context', 'ClusterResource']);

const str = { type: 'string' };
const strMap = { type: 'object', additionalProperties: { type: 'string' } };
// CRD schemas say only `metadata: {type: object}`; the API server validates ObjectMeta itself.
const OBJECT_META = {
  type: 'object',
  description: 'Standard object metadata (name, namespace, labels, annotations).',
  additionalProperties: false,
  properties: {
    name: { ...str, description: 'Name of the object, unique within its namespace (or the cluster for cluster-scoped kinds).' },
    generateName: { ...str, description: 'Prefix the server uses to generate a unique name when `name` is empty.' },
    namespace: { ...str, description: 'Namespace of the object; empty for cluster-scoped kinds.' },
    labels: { ...strMap, description: 'Key/value string labels used to select and organise objects.' },
    annotations: { ...strMap, description: 'Key/value string annotations (non-identifying metadata). Kyverno reads `policies.kyverno.io/*` and `pod-policies.kyverno.io/autogen-controllers` here.' },
    uid: str,
    resourceVersion: str,
    generation: { type: 'integer' },
    creationTimestamp: {},
    deletionTimestamp: {},
    deletionGracePeriodSeconds: { type: 'integer' },
    finalizers: { type: 'array', items: str },
    ownerReferences: { type: 'array', items: { type: 'object' } },
    managedFields: { type: 'array', items: { type: 'object' } },
    selfLink: str,
  },
};

/** Turns one CRD openAPIV3Schema node into plain JSON Schema (draft-07, as ajv reads it). */
function convert(node) {
  if (Array.isArray(node)) return node.map(convert);
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('x-kubernetes-') || k === 'format' || k === 'nullable') continue;
    if (k === 'properties') out.properties = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, convert(s)]));
    else if (k === 'additionalProperties' && typeof v === 'object') out.additionalProperties = convert(v);
    else if (k === 'items' || k === 'not') out[k] = convert(v);
    else if (k === 'allOf' || k === 'anyOf' || k === 'oneOf') out[k] = v.map(convert);
    else out[k] = v;
  }
  if (node['x-kubernetes-int-or-string']) {
    out.type = ['integer', 'string'];
    delete out.anyOf;
  }
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (out.type === 'object' && out.properties && !preserve && out.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  // anyOf/oneOf branches in CRDs only list `required` sets; they must not forbid fields.
  for (const k of ['anyOf', 'oneOf']) if (out[k]) out[k] = out[k].map((b) => ({ ...b, additionalProperties: undefined }));
  return out;
}

function documentSchema(group, version, kind, crdSchema, description) {
  const s = convert(crdSchema);
  s.title = `${kind} (${group}/${version})`;
  if (description) s.description = description;
  s.properties ??= {};
  s.properties.apiVersion = { type: 'string', enum: [`${group}/${version}`], description: s.properties.apiVersion?.description };
  s.properties.kind = { type: 'string', enum: [kind], description: s.properties.kind?.description };
  s.properties.metadata = OBJECT_META;
  // `status` is written by controllers, never by authors, and doubles the ClusterPolicy schema.
  if (s.properties.status) s.properties.status = { type: 'object', description: 'Set by Kyverno; not authored.' };
  s.type = 'object';
  s.additionalProperties = false;
  return s;
}

function stripDocs(node) {
  if (Array.isArray(node)) return node.map(stripDocs);
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'description' || k === 'title' || k === 'default') continue;
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v).map(([p, s]) => [p, stripDocs(s)])) : stripDocs(v);
  }
  return out;
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
mkdirSync(genDir, { recursive: true });

const index = {}; // "group/version/Kind" -> { file, validator }
const validators = {}; // hash -> schema without docs
for (const file of readdirSync(crdDir).filter((f) => f.endsWith('.yaml')).sort()) {
  const crd = parse(readFileSync(join(crdDir, file), 'utf8'));
  if (crd?.kind !== 'CustomResourceDefinition') continue;
  const { group, names } = crd.spec;
  if (!GROUPS.includes(group)) continue;
  if (group === 'cli.kyverno.io' && !CLI_KINDS.has(names.kind)) continue;
  for (const v of crd.spec.versions) {
    if (!v.served) continue;
    const schema = documentSchema(group, v.name, names.kind, v.schema.openAPIV3Schema, v.schema.openAPIV3Schema.description);
    const name = `${group}_${names.kind}_${v.name}.json`;
    writeFileSync(join(outDir, name), JSON.stringify(schema));
    // The validator ignores apiVersion/kind values: detection already chose the schema.
    const bare = stripDocs(schema);
    bare.properties.apiVersion = { type: 'string' };
    bare.properties.kind = { type: 'string' };
    const hash = 'v' + createHash('sha1').update(JSON.stringify(bare)).digest('hex').slice(0, 10);
    validators[hash] = { ...bare, $id: hash };
    index[`${group}/${v.name}/${names.kind}`] = { file: name, validator: hash, scope: crd.spec.scope, plural: names.plural };
  }
}

// CRD schemas inline every shared type (match/exclude filters, conditions, ...) many times.
// Big subtrees seen more than once become shared definitions, so each is compiled once.
const SHARE_MIN_CHARS = 300;
const counts = new Map();
function count(node) {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) return node.forEach(count);
  const key = JSON.stringify(node);
  if (key.length >= SHARE_MIN_CHARS) counts.set(key, (counts.get(key) ?? 0) + 1);
  for (const v of Object.values(node)) count(v);
}
for (const s of Object.values(validators)) count(s.properties);
const definitions = {};
function share(node, isSchema) {
  if (!node || typeof node !== 'object') return node;
  if (Array.isArray(node)) return node.map((n) => share(n, isSchema));
  const key = JSON.stringify(node);
  if (isSchema && key.length >= SHARE_MIN_CHARS && counts.get(key) > 1) {
    const id = 'd' + createHash('sha1').update(key).digest('hex').slice(0, 10);
    if (!definitions[id]) {
      definitions[id] = {}; // reserve before recursing
      definitions[id] = shareChildren(node);
    }
    return { $ref: `defs#/definitions/${id}` };
  }
  return shareChildren(node);
}
// Only schema positions may become refs (not `properties` maps or `enum` values).
function shareChildren(node) {
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'properties') out[k] = Object.fromEntries(Object.entries(v).map(([p, x]) => [p, share(x, true)]));
    else if (k === 'items' || k === 'additionalProperties' || k === 'not') out[k] = typeof v === 'object' ? share(v, true) : v;
    else if (k === 'allOf' || k === 'anyOf' || k === 'oneOf') out[k] = v.map((x) => share(x, true));
    else out[k] = v;
  }
  return out;
}
for (const [h, s] of Object.entries(validators)) validators[h] = { ...shareChildren(s), $id: h };

const ajv = new Ajv({ code: { source: true, lines: false, optimize: 1 }, allErrors: true, strict: false, inlineRefs: false });
ajv.addSchema({ $id: 'defs', definitions });
for (const s of Object.values(validators)) ajv.addSchema(s);
const refs = Object.fromEntries(Object.keys(validators).map((h) => [h, h]));
const code = transformSync(standaloneCode(ajv, refs), { minify: true, format: 'cjs', target: 'node20' }).code;
writeFileSync(join(genDir, 'validators.js'), `// Generated by scripts/gen-schemas.mjs — do not edit.\n${code}\n`);
writeFileSync(
  join(genDir, 'validators.d.ts'),
  '// Generated by scripts/gen-schemas.mjs — do not edit.\n' +
    'export interface AjvError { instancePath: string; keyword: string; params: Record<string, any>; message?: string }\n' +
    'export type Validator = ((data: unknown) => boolean) & { errors?: AjvError[] | null };\n' +
    Object.keys(validators).map((h) => `export declare const ${h}: Validator;\n`).join(''),
);
writeFileSync(join(outDir, 'index.json'), JSON.stringify(index, null, 1) + '\n');
writeFileSync(join(genDir, 'schema-index.json'), JSON.stringify(index) + '\n');
console.log(`${Object.keys(index).length} schemas, ${Object.keys(validators).length} validators, ${Object.keys(definitions).length} shared definitions, ${(code.length / 1024).toFixed(0)} KiB of validator code`);
