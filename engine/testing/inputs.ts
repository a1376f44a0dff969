/**
 * Turns the files a Test names into policies, resources and cluster state. Files come in
 * already read (path → text): this module does no I/O.
 */
import type { ClusterState, JsonObject, RequestInfo, TestValues } from '../core/types';
import { classifyDocument, expandLists, isObject } from '../loader/classify';
import { formatAt, formatLoadError, parseYamlDocuments, type LoadedDocument } from '../loader/parse';
import { policyShapeIssue } from './policy-shape';
import { isClassicPolicy } from '../policy';
import { aggregateMessages, policyAdmissionVerdict } from '../policy/admission-checks';
import { emptyCluster, namespaceLabelsOf } from '../evaluate';
import { lookupKnownKind } from '../kube';
import { readTestSpec } from './spec';
import type { TestSpec } from './types';
import { dirname, resolvePath } from './paths';

export type FileSource = ReadonlyMap<string, string> | Readonly<Record<string, string>>;

export class InputError extends Error {}

const YAML_FILE = /\.(ya?ml|json)$/i;

function entries(source: FileSource): Iterable<[string, string]> {
  return source instanceof Map ? source.entries() : Object.entries(source as Record<string, string>);
}

function lookup(source: FileSource, path: string): string | undefined {
  return source instanceof Map ? source.get(path) : (source as Record<string, string>)[path];
}

/** Texts of a path: the file itself, or every YAML file below it when it names a directory. */
export function filesAt(source: FileSource, path: string): Array<[string, string]> {
  const text = lookup(source, path);
  if (text !== undefined) return [[path, text]];
  const prefix = path.endsWith('/') ? path : `${path}/`;
  const under = [...entries(source)].filter(([p]) => p.startsWith(prefix) && YAML_FILE.test(p));
  return under.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * A Test document's spec and a reader of the files it names, relative to the test file, for
 * describing a test (families, network needs) without running it: null when the document is
 * no Test, and unreadable files read as empty.
 */
export function describedTest(path: string, doc: unknown, files: FileSource): { spec: TestSpec; documentsAt: (p: string) => unknown[] } | null {
  let spec: TestSpec;
  try {
    spec = readTestSpec(doc);
  } catch {
    return null;
  }
  const base = dirname(path);
  const documentsAt = (p: string): unknown[] => {
    try {
      return loadDocuments(files, resolvePath(base, p)).map((d) => d.value);
    } catch {
      return [];
    }
  };
  return { spec, documentsAt };
}

export function loadDocuments(source: FileSource, path: string): LoadedDocument[] {
  const files = filesAt(source, path);
  if (files.length === 0) throw new InputError(`${path}: file not found`);
  const docs: LoadedDocument[] = [];
  for (const [file, text] of files) {
    const parsed = parseYamlDocuments(text, file);
    if (parsed.errors.length > 0) throw new InputError(formatLoadError(parsed.errors[0]));
    for (const d of parsed.documents) {
      const items = expandLists(d.value);
      if (items.length === 1 && items[0] === d.value) docs.push(d);
      else items.forEach((item, i) => docs.push({ ...d, value: item, locate: d.locate && ((path) => d.locate!(['items', i, ...path])) }));
    }
  }
  return docs;
}

export function requireObject(doc: LoadedDocument, what: string): JsonObject {
  if (!isObject(doc.value)) throw new InputError(`${doc.file}:${doc.line}: ${what} must be a YAML mapping`);
  return doc.value as JsonObject;
}

/** Checks the minimum Kyverno needs before a document can be evaluated. */
export function checkPolicyShape(doc: LoadedDocument): JsonObject {
  const policy = requireObject(doc, 'policy');
  const meta = policy.metadata;
  if (!isObject(meta) || typeof meta.name !== 'string' || meta.name === '') {
    throw new InputError(`${doc.file}:${doc.line}: invalid policy ${String(policy.kind)}: metadata.name is required`);
  }
  const problem = policyShapeIssue(policy);
  if (problem) throw new InputError(formatAt(doc, problem.path, `invalid policy ${meta.name}: ${problem.message}`));
  return policy;
}

/** A policy `kyverno apply`/`kyverno test` leave out because Kyverno's policy validation rejects it. */
export interface InvalidPolicy {
  name: string;
  /** Kyverno's message (its errors aggregated), as the CLI prints it. */
  reason: string;
  /** Each error as `file:line:column: invalid policy NAME: message`, at the value at fault. */
  locations: string[];
}

/**
 * What Kyverno's CLI does before evaluating (commands/apply, commands/test):
 * policyvalidation.Validate on each ClusterPolicy/Policy with mock=true, so without a
 * cluster's discovery (no kind is cluster-scoped, kinds are not looked up). A policy it
 * rejects is not evaluated: apply lists it under "Policies Skipped" and counts an error,
 * test answers its results with skip / "Invalid Policy". CEL policies are not validated there.
 */
export function invalidPolicy(doc: Pick<LoadedDocument, 'file' | 'line' | 'locate'>, policy: JsonObject): InvalidPolicy | undefined {
  if (!isClassicPolicy(policy)) return undefined;
  const { errors } = policyAdmissionVerdict(policy, { withoutCluster: true });
  if (errors.length === 0) return undefined;
  const name = String((isObject(policy.metadata) ? policy.metadata.name : undefined) ?? '');
  return {
    name,
    reason: aggregateMessages(errors.map((e) => e.message)) ?? '',
    locations: errors.map((e) => formatAt(doc, e.path, `invalid policy ${name}: ${e.message}`)),
  };
}

export function checkResourceShape(doc: LoadedDocument): JsonObject {
  const res = requireObject(doc, 'resource');
  if (typeof res.kind !== 'string' || typeof res.apiVersion !== 'string') {
    throw new InputError(`${doc.file}:${doc.line}: resource must have apiVersion and kind`);
  }
  return res;
}

/**
 * A resource as the Kyverno CLI's loader gives it (resource.YamlToUnstructured): without a
 * namespace it gets `default`, unless its kind is known to be cluster-scoped; `annotations`,
 * `labels`, `matchLabels`, `nodeSelector`, `data` and `stringData` written without a value
 * become empty maps at any depth. Test results name resources with that in mind (`default/name`).
 */
export function withDefaultNamespace(resource: JsonObject): JsonObject {
  const normalized = normalizeNilMaps(resource) as JsonObject;
  const meta = isObject(normalized.metadata) ? normalized.metadata : undefined;
  if (meta && typeof meta.namespace === 'string' && meta.namespace !== '') return normalized;
  if (isClusterScoped(normalized)) return normalized;
  return { ...normalized, metadata: { ...(meta ?? {}), namespace: 'default' } };
}

const MAP_FIELDS = new Set(['annotations', 'labels', 'matchLabels', 'nodeSelector', 'data', 'stringData']);

/** Copies only along paths that change; returns the input when nothing is null. */
function normalizeNilMaps(value: unknown): unknown {
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    value.forEach((item, i) => {
      const n = normalizeNilMaps(item);
      if (n !== item) (out ??= [...value])[i] = n;
    });
    return out ?? value;
  }
  if (!isObject(value)) return value;
  let out: JsonObject | null = null;
  for (const [k, v] of Object.entries(value)) {
    const n = v === null && MAP_FIELDS.has(k) ? {} : normalizeNilMaps(v);
    if (n !== v) (out ??= { ...value })[k] = n as JsonObject[string];
  }
  return out ?? value;
}

/**
 * Kinds the CLI knows to be cluster-scoped keep an empty namespace (resource.YamlToUnstructured
 * looks the group and kind up in its API resource list; unknown kinds count as namespaced).
 */
function isClusterScoped(resource: JsonObject): boolean {
  const apiVersion = String(resource.apiVersion ?? '');
  const slash = apiVersion.indexOf('/');
  const known = lookupKnownKind(slash >= 0 ? apiVersion.slice(0, slash) : '', String(resource.kind ?? ''));
  return known !== undefined && !known.namespaced;
}

function specOf(doc: JsonObject): JsonObject {
  // Newer files put fields at the top level, older ones under `spec`.
  return isObject(doc.spec) ? { ...doc, ...(doc.spec as JsonObject) } : doc;
}

export function toTestValues(doc: JsonObject): TestValues {
  const s = specOf(doc);
  const values: TestValues = {};
  if (isObject(s.globalValues)) values.globalValues = s.globalValues as Record<string, unknown>;
  if (Array.isArray(s.policies)) values.policies = s.policies as TestValues['policies'];
  if (Array.isArray(s.namespaceSelector)) values.namespaceSelector = s.namespaceSelector as TestValues['namespaceSelector'];
  if (Array.isArray(s.subresources)) values.subresources = s.subresources as TestValues['subresources'];
  return values;
}

/** Namespace objects a Values file declares (`namespaces`), for namespaceObject lookups. */
export function namespacesOf(doc: JsonObject): JsonObject[] {
  const s = specOf(doc);
  return Array.isArray(s.namespaces) ? (s.namespaces.filter(isObject) as JsonObject[]) : [];
}

export function toRequestInfo(doc: JsonObject): RequestInfo {
  const s = specOf(doc);
  const user = isObject(s.userInfo) ? (s.userInfo as RequestInfo['userInfo']) : {};
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return { roles: strings(s.roles), clusterRoles: strings(s.clusterRoles), userInfo: user };
}

/** Image metadata of a Context file (spec.images), carried beside the shared ClusterState. */
export type ClusterWithImages = ClusterState & { images?: JsonObject[] };

/**
 * Adds a cli.kyverno.io Context document (resources, images; canned API calls and global
 * context entries as an extension) to the cluster state. Returns its resources: the ones the
 * Kyverno CLI's fake CEL provider holds.
 */
export function addContext(cluster: ClusterState, doc: JsonObject): JsonObject[] {
  const s = specOf(doc);
  const resources = Array.isArray(s.resources) ? (s.resources.filter(isObject) as JsonObject[]) : [];
  cluster.resources.push(...resources);
  const calls = s.apiCallResponses ?? s.apiCalls;
  if (Array.isArray(calls)) for (const c of calls) if (isObject(c)) cluster.apiCallResponses.push(c as never);
  if (Array.isArray(s.images)) {
    // ClusterState has no image field yet; the CEL image functions read this optional one.
    const withImages = cluster as ClusterWithImages;
    withImages.images = [...(withImages.images ?? []), ...(s.images.filter(isObject) as JsonObject[])];
  }
  if (isObject(s.globalContextEntries)) Object.assign(cluster.globalContext, s.globalContextEntries);
  if (Array.isArray(s.globalContextEntries)) {
    for (const e of s.globalContextEntries) {
      if (isObject(e) && typeof e.name === 'string') cluster.globalContext[e.name] = e.data ?? e.value ?? e;
    }
  }
  return resources;
}

export { classifyDocument, emptyCluster, namespaceLabelsOf };
