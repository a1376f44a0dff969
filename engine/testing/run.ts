/**
 * Runs one Test document: loads what it names from the already-read files, evaluates every
 * policy against every resource, and decides each expected result. Never throws: a test
 * that cannot run gets a file-level error naming the file and line.
 */
import type { ClusterState, JsonObject, RequestInfo, TestValues } from '../core/types';
import { classifyDocument, isObject } from '../loader/classify';
import { formatLoadError, parseYamlDocuments } from '../loader/parse';
import { identityOf, resourceKey } from './compare';
import { decideResult, indexResponses, type ManifestReader } from './decide';
import { evaluateResources, type PolicyApplier } from './evaluate';
import {
  addContext,
  checkPolicyShape,
  checkResourceShape,
  emptyCluster,
  InputError,
  loadDocuments,
  namespaceLabelsOf,
  namespacesOf,
  requireObject,
  toRequestInfo,
  toTestValues,
  withDefaultNamespace,
  type FileSource,
} from './inputs';
import { dirname, resolvePath } from './paths';
import { readTestSpec, referencedPaths, TestSpecError } from './spec';
import type { TestFileResult, TestSpec } from './types';
import { apiCallMocksOf, resolveGlobalContextEntries, type ResourceFileReader } from './mocks';

export interface RunTimings {
  parseMs: number;
  evalMs: number;
  /** Policy × resource evaluations performed. */
  evaluations: number;
}

export interface RunTestOptions {
  /** Clock for time-dependent policies. */
  now?: Date;
  /** When given, parse and evaluation times are added to it. */
  timings?: RunTimings;
  /** Engine entry point override (tests). */
  engine?: PolicyApplier;
}

const clock = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

interface LoadedTest {
  policies: JsonObject[];
  resources: JsonObject[];
  cluster: ClusterState;
  values?: TestValues;
  requestInfo?: RequestInfo;
  targetResources: JsonObject[];
}

function loadTest(spec: TestSpec, base: string, files: FileSource): LoadedTest {
  const at = (p: string) => resolvePath(base, p);
  const cluster = emptyCluster();
  const policies: JsonObject[] = [];
  for (const p of spec.policies) {
    for (const doc of loadDocuments(files, at(p))) {
      const cls = classifyDocument(doc.value);
      if (cls === 'policy') policies.push(checkPolicyShape(doc));
      else if (cls === 'exception') cluster.exceptions.push(requireObject(doc, 'exception'));
      else if (cls === 'binding') cluster.resources.push(requireObject(doc, 'binding'));
    }
  }
  if (policies.length === 0) throw new InputError(`${at(spec.policies[0] ?? '.')}: no policies found`);
  const resources: JsonObject[] = [];
  const seen = new Set<string>();
  for (const p of spec.resources) {
    for (const doc of loadDocuments(files, at(p))) {
      const resource = withDefaultNamespace(checkResourceShape(doc));
      // Kyverno runs each distinct (kind, namespace, name) once.
      const key = resourceKey(identityOf(resource));
      if (seen.has(key)) continue;
      seen.add(key);
      resources.push(resource);
    }
  }
  for (const p of spec.exceptions) {
    for (const doc of loadDocuments(files, at(p))) cluster.exceptions.push(requireObject(doc, 'exception'));
  }
  for (const p of spec.clusterResources) {
    for (const doc of loadDocuments(files, at(p))) cluster.resources.push(...clusterResourceDocs(requireObject(doc, 'cluster resource')));
  }
  // The CLI's fake cluster holds the test resources too (namespaceObject, resource.Get...).
  cluster.resources.push(...resources);
  const targetResources: JsonObject[] = [];
  for (const p of spec.targetResources) {
    for (const doc of loadDocuments(files, at(p))) targetResources.push(withDefaultNamespace(checkResourceShape(doc)));
  }
  cluster.resources.push(...targetResources);
  for (const r of spec.results) {
    if (!r.cloneSourceResource) continue;
    for (const doc of loadDocuments(files, at(r.cloneSourceResource))) cluster.resources.push(checkResourceShape(doc));
  }
  const contextResources: JsonObject[] = [];
  if (spec.context) {
    for (const doc of loadDocuments(files, at(spec.context))) contextResources.push(...addContext(cluster, requireObject(doc, 'context')));
  }
  addTestMocks(cluster, spec, contextResources, (p) => loadDocuments(files, at(p)).map((d) => requireObject(d, 'resource')));
  let values: TestValues | undefined;
  if (spec.variables) {
    const docs = loadDocuments(files, at(spec.variables));
    if (docs.length > 0) {
      const doc = requireObject(docs[0], 'values');
      values = toTestValues(doc);
      cluster.resources.push(...namespacesOf(doc));
    }
  }
  if (spec.values) {
    values = { ...(values ?? {}), ...toTestValues(spec.values) };
    cluster.resources.push(...namespacesOf(spec.values));
  }
  if (values) Object.assign(cluster.namespaceLabels, namespaceLabelsOf(values));
  let requestInfo: RequestInfo | undefined;
  if (spec.userinfo) {
    const docs = loadDocuments(files, at(spec.userinfo));
    if (docs.length > 0) requestInfo = toRequestInfo(requireObject(docs[0], 'userinfo'));
  }
  return { policies, resources, cluster, values, requestInfo, targetResources };
}

/**
 * The Test's mocks, and what reaches the cluster as the Kyverno CLI wires it: classic context
 * entries read the apiCallResponses and globalContextEntries mocks in any case, and may call
 * the (fake) API server only when the test has clusterResources. CEL's libraries get the fake
 * API server then (no global context entry, no HTTP mock); without clusterResources, a fake
 * provider holding the Context file's resources, the global context and the HTTP mocks.
 */
function addTestMocks(cluster: ClusterState, spec: TestSpec, contextResources: JsonObject[], readFile: ResourceFileReader): void {
  const mocks = apiCallMocksOf(spec.apiCallResponses);
  const globalContext = resolveGlobalContextEntries(spec.globalContextEntries, readFile);
  cluster.apiCallResponses.push(...mocks);
  Object.assign(cluster.globalContext, globalContext);
  const withCluster = spec.clusterResources.length > 0;
  cluster.apiCallsAllowed = withCluster;
  cluster.celLibraries = withCluster
    ? { resourceSource: 'apiServer', resources: cluster.resources, globalContext: {}, httpMocks: [] }
    : { resourceSource: 'fakeProvider', resources: contextResources, globalContext, httpMocks: mocks };
}

/** A clusterResources file holds either plain resources or a cli.kyverno.io ClusterResource. */
function clusterResourceDocs(doc: JsonObject): JsonObject[] {
  if (doc.kind === 'ClusterResource' && isObject(doc.spec) && Array.isArray(doc.spec.resources)) {
    return doc.spec.resources.filter(isObject) as JsonObject[];
  }
  return [doc];
}

function describe(err: unknown): string {
  if (err instanceof InputError || err instanceof TestSpecError) return err.message;
  const msg = err instanceof Error ? err.message : String(err);
  return `internal error: ${msg.split('\n')[0]}`;
}

/** Runs an already-parsed Test document found at `path`; relative paths resolve from its folder. */
export function runTestDocument(path: string, doc: unknown, files: FileSource, options: RunTestOptions = {}): TestFileResult {
  const timings = options.timings;
  try {
    let t0 = clock();
    const spec = readTestSpec(doc);
    const base = dirname(path);
    const loaded = loadTest(spec, base, files);
    const manifests = new Map<string, JsonObject[]>();
    const read: ManifestReader = (p) => {
      const full = resolvePath(base, p);
      let docs = manifests.get(full);
      if (!docs) {
        docs = loadDocuments(files, full).map((d) => withDefaultNamespace(requireObject(d, 'resource')));
        manifests.set(full, docs);
      }
      return docs;
    };
    let t1 = clock();
    if (timings) timings.parseMs += t1 - t0;
    const evaluations = evaluateResources({ ...loaded, now: options.now, engine: options.engine });
    t0 = clock();
    if (timings) {
      timings.evalMs += t0 - t1;
      timings.evaluations += loaded.policies.length * loaded.resources.length;
    }
    const index = indexResponses(evaluations, loaded.targetResources);
    const rows = spec.results.flatMap((r) => decideResult(r, index, read));
    t1 = clock();
    if (timings) timings.evalMs += t1 - t0;
    return { path, error: null, rows };
  } catch (err) {
    return { path, error: describe(err), rows: [] };
  }
}

/** Parses the test file text (the first cli.kyverno.io Test document) and runs it. */
export function runTestText(path: string, text: string, files: FileSource, options: RunTestOptions = {}): TestFileResult {
  const t0 = clock();
  const parsed = parseYamlDocuments(text, path);
  if (options.timings) options.timings.parseMs += clock() - t0;
  if (parsed.errors.length > 0) return { path, error: formatLoadError(parsed.errors[0]), rows: [] };
  const test = parsed.documents.find((d) => classifyDocument(d.value) === 'test') ?? parsed.documents[0];
  if (!test || !isObject(test.value)) return { path, error: `${path}: no Test document found`, rows: [] };
  return runTestDocument(path, test.value, files, options);
}

/** Paths (resolved against the test file's folder) that a test needs read before it runs. */
export function testInputPaths(path: string, doc: unknown): string[] {
  try {
    const base = dirname(path);
    return referencedPaths(readTestSpec(doc)).map((p) => resolvePath(base, p));
  } catch {
    return [];
  }
}

export function testFilePassed(result: TestFileResult): boolean {
  return result.error === null && result.rows.every((r) => r.ok);
}
