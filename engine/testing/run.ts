/**
 * Runs one Test document: loads what it names from the already-read files, evaluates every
 * policy against every resource, and decides each expected result. Never throws: a test
 * that cannot run gets a file-level error naming the file and line.
 */
import type { ImageRegistrySnapshot } from '../verify-images/snapshot';
import type { ApiCallResponse, ClusterState, JsonObject, RequestInfo, ServiceCall, ServiceCallRequest, TestValues } from '../core/types';
import { jmesSearch } from '../jmespath';
import { classifyDocument, isObject } from '../loader/classify';
import { formatAt, formatLoadError, lineOfPath, parseYamlDocuments, type LoadedDocument } from '../loader/parse';
import { identityOf, resourceKey } from './compare';
import { decideResult, indexResponses, type ManifestReader } from './decide';
import { evaluateResources, type PolicyApplier } from '../evaluate';
import { evaluateAuthzPayload, evaluateJsonPayload, loadAuthzPayload, loadJsonPayload, PayloadError, type Payload } from './payloads';
import { filesAt } from './inputs';
import {
  addContext,
  checkPolicyShape,
  invalidPolicy,
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
import { readTestSpec, referencedPaths, testFormatProblems, TestSpecError } from './spec';
import type { TestFileResult, TestRow, TestSpec } from './types';
import { computeCoverage, mergeCoverage, type PolicyCoverage, type PolicySource } from './coverage';
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
  /** What the registry said about the test's images (`kyverno-studio test --registry`). */
  imageRegistry?: ImageRegistrySnapshot;
  /** Where the Test document's values sit in its file (LoadedDocument.locate), for errors. */
  locate?: LoadedDocument['locate'];
  /** Add which rules the run exercised (`TestFileResult.coverage`). */
  coverage?: boolean;
  /** Service calls the caller made for the run, and where it wants the ones not made yet (ClusterState's). */
  serviceCalls?: ServiceCall[];
  serviceCallMisses?: ServiceCallRequest[];
}

const clock = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

interface LoadedTest {
  policies: JsonObject[];
  /** Where each policy was read from (coverage). */
  policySources: PolicySource[];
  /** Policies Kyverno's validation leaves out, by name (their errors at the values at fault). */
  invalidPolicies: Map<string, string>;
  resources: JsonObject[];
  cluster: ClusterState;
  values?: TestValues;
  requestInfo?: RequestInfo;
  targetResources: JsonObject[];
  jsonPayloads: Payload[];
  httpPayloads: Payload[];
  envoyPayloads: Payload[];
}

/** The text of one payload file (payloads are single files, never folders). */
function payloadText(files: FileSource, path: string): string {
  const found = filesAt(files, path);
  if (found.length !== 1 || found[0][0] !== path) throw new InputError(`${path}: file not found`);
  return found[0][1];
}

function loadTest(spec: TestSpec, base: string, files: FileSource): LoadedTest {
  const at = (p: string) => resolvePath(base, p);
  const cluster = emptyCluster();
  const policies: JsonObject[] = [];
  const policySources: PolicySource[] = [];
  const invalidPolicies = new Map<string, string>();
  let loadedPolicies = 0;
  for (const p of spec.policies) {
    for (const doc of loadDocuments(files, at(p))) {
      const cls = classifyDocument(doc.value);
      if (cls === 'policy') {
        const policy = checkPolicyShape(doc);
        loadedPolicies++;
        const invalid = invalidPolicy(doc, policy);
        if (invalid) {
          invalidPolicies.set(invalid.name, invalid.locations.join('; '));
          continue;
        }
        policies.push(policy);
        policySources.push({ policy, file: doc.file, document: doc.index });
      }
      else if (cls === 'exception') cluster.exceptions.push(requireObject(doc, 'exception'));
      else if (cls === 'binding') cluster.resources.push(requireObject(doc, 'binding'));
    }
  }
  if (loadedPolicies === 0) throw new InputError(`${at(spec.policies[0] ?? '.')}: no policies found`);
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
  // Parameter objects are in the CLI's fake cluster too, and are what bindings select from.
  const parameters: JsonObject[] = [];
  for (const p of spec.paramResources) {
    for (const doc of loadDocuments(files, at(p))) parameters.push(withDefaultNamespace(checkResourceShape(doc)));
  }
  cluster.parameters = parameters;
  cluster.resources.push(...parameters);
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
  const declaredNamespaces: JsonObject[] = [];
  if (spec.variables) {
    const docs = loadDocuments(files, at(spec.variables));
    if (docs.length > 0) {
      const doc = requireObject(docs[0], 'values');
      values = toTestValues(doc);
      declaredNamespaces.push(...namespacesOf(doc));
    }
  }
  if (spec.values) {
    values = { ...(values ?? {}), ...toTestValues(spec.values) };
    declaredNamespaces.push(...namespacesOf(spec.values));
  }
  cluster.resources.push(...declaredNamespaces);
  if (values) Object.assign(cluster.namespaceLabels, namespaceLabelsOf(values));
  // As the CLI's NamespaceSelectors(): the labels of declared Namespace objects win.
  for (const ns of declaredNamespaces) {
    const meta = isObject(ns.metadata) ? ns.metadata : {};
    if (typeof meta.name === 'string') cluster.namespaceLabels[meta.name] = { ...(isObject(meta.labels) ? (meta.labels as Record<string, string>) : {}) };
  }
  let requestInfo: RequestInfo | undefined;
  if (spec.userinfo) {
    const docs = loadDocuments(files, at(spec.userinfo));
    if (docs.length > 0) requestInfo = toRequestInfo(requireObject(docs[0], 'userinfo'));
  }
  const jsonPayloads = spec.jsonPayloads.map((name) => loadJsonPayload(name, at(name), payloadText(files, at(name))));
  const httpPayloads = spec.httpPayloads.map((p) => loadAuthzPayload('HTTP', at(p), payloadText(files, at(p))));
  const envoyPayloads = spec.envoyPayloads.map((p) => loadAuthzPayload('Envoy', at(p), payloadText(files, at(p))));
  return { policies, policySources, invalidPolicies, resources, cluster, values, requestInfo, targetResources, jsonPayloads, httpPayloads, envoyPayloads };
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

function describe(err: unknown, path: string, locate: LoadedDocument['locate']): string {
  if (err instanceof TestSpecError) return formatAt({ file: path, line: 0, locate }, err.path, err.message);
  if (err instanceof InputError || err instanceof PayloadError) return err.message;
  const msg = err instanceof Error ? err.message : String(err);
  return `internal error: ${msg.split('\n')[0]}`;
}

/** A test that could not run: `error` names the file and line. */
export function failedTest(path: string, error: string, document?: number): TestFileResult {
  return { path, ...(document !== undefined ? { document } : {}), error, rows: [], ok: false, reason: error };
}

/** A test that ran: it passes when it has rows and all of them pass. */
function ranTest(path: string, rows: TestRow[], document?: number, coverage?: PolicyCoverage[]): TestFileResult {
  const failed = rows.filter((r) => !r.ok).length;
  const reason =
    rows.length === 0
      ? 'no results to check: the test declares no expected results (kyverno test runs nothing for it)'
      : failed > 0
        ? `${failed} of ${rows.length} result(s) failed`
        : '';
  return { path, ...(document !== undefined ? { document } : {}), error: null, rows, ok: reason === '', reason, ...(coverage ? { coverage } : {}) };
}

/** Runs an already-parsed Test document found at `path`; relative paths resolve from its folder. */
export function runTestDocument(path: string, doc: unknown, files: FileSource, options: RunTestOptions & { document?: number } = {}): TestFileResult {
  const timings = options.timings;
  try {
    let t0 = clock();
    const spec = readTestSpec(doc);
    const base = dirname(path);
    const loaded = loadTest(spec, base, files);
    if (options.imageRegistry) loaded.cluster.imageRegistry = options.imageRegistry;
    if (options.serviceCalls) loaded.cluster.serviceCalls = options.serviceCalls;
    if (options.serviceCallMisses) loaded.cluster.serviceCallMisses = options.serviceCallMisses;
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
    // Payloads are evaluated in the default run only (not in the per-operation runs below).
    const payloadInput = { policies: loaded.policies, cluster: loaded.cluster, now: options.now };
    const payloadEvaluations = [
      ...loaded.jsonPayloads.map((p) => ({ key: p.key, responses: evaluateJsonPayload(payloadInput, p) })),
      ...loaded.httpPayloads.map((p) => ({ key: p.key, responses: evaluateAuthzPayload(payloadInput, 'HTTP', p) })),
      ...loaded.envoyPayloads.map((p) => ({ key: p.key, responses: evaluateAuthzPayload(payloadInput, 'Envoy', p) })),
    ];
    const index = { ...indexResponses(evaluations, loaded.targetResources, payloadEvaluations), invalidPolicies: loaded.invalidPolicies };
    // The CLI runs every resource once more per operation that results declare explicitly,
    // and checks those results against that run only.
    const byOperation = new Map<string, ReturnType<typeof indexResponses>>();
    const operationRuns: typeof evaluations[] = [];
    for (const operation of new Set(spec.results.map((r) => r.operation).filter((op) => op !== ''))) {
      const values = { ...(loaded.values ?? {}), globalValues: { ...(loaded.values?.globalValues ?? {}), 'request.operation': operation } };
      const run = evaluateResources({ ...loaded, values, now: options.now, engine: options.engine, admissionOnly: true });
      operationRuns.push(run);
      byOperation.set(operation, { ...indexResponses(run, loaded.targetResources), invalidPolicies: loaded.invalidPolicies });
    }
    t0 = clock();
    if (timings) {
      timings.evalMs += t0 - t1;
      timings.evaluations += loaded.policies.length * loaded.resources.length * (1 + byOperation.size);
    }
    const rows = spec.results.flatMap((r) => decideResult(r, byOperation.get(r.operation) ?? index, read));
    t1 = clock();
    if (timings) timings.evalMs += t1 - t0;
    const coverage = options.coverage
      ? computeCoverage(loaded.policySources, [
          ...[evaluations, ...operationRuns].flatMap((run) => run.flatMap((e) => e.responses)),
          ...payloadEvaluations.flatMap((p) => p.responses),
        ])
      : undefined;
    return ranTest(path, rows, options.document, coverage);
  } catch (err) {
    return failedTest(path, describe(err, path, options.locate), options.document);
  }
}

/**
 * The Test documents of a test file: Kyverno runs one test per YAML document. `error` is set
 * when the file cannot be read as tests at all (bad YAML, nothing in it).
 */
export function testDocumentsOf(path: string, text: string, timings?: RunTimings): { documents: LoadedDocument[]; error: string | null } {
  const t0 = clock();
  const parsed = parseYamlDocuments(text, path);
  if (timings) timings.parseMs += clock() - t0;
  if (parsed.errors.length > 0) return { documents: [], error: formatLoadError(parsed.errors[0]) };
  if (parsed.documents.length === 0) return { documents: [], error: `${path}: no Test document found` };
  return { documents: parsed.documents, error: null };
}

/**
 * Kyverno 1.19 refuses legacy and unknown fields in a test; the first problem, as
 * `file:line: message`, or null. `text` is the file's text, read again only on a problem.
 */
export function testFormatError(doc: LoadedDocument, text: string): string | null {
  const problem = testFormatProblems(doc.value)[0];
  if (!problem) return null;
  const line = lineOfPath(text, doc.index, problem.path) ?? doc.line;
  return `${doc.file}:${line}: ${problem.message}`;
}

/** Runs one Test document of a file: checks its format, then runs it. */
export function runLoadedTest(doc: LoadedDocument, text: string, count: number, files: FileSource, options: RunTestOptions = {}): TestFileResult {
  const document = count > 1 ? doc.index + 1 : undefined;
  const formatError = testFormatError(doc, text);
  if (formatError) return failedTest(doc.file, formatError, document);
  return runTestDocument(doc.file, doc.value, files, { ...options, document, locate: doc.locate });
}

/** Parses a test file's text and runs each of its Test documents. */
export function runTestText(path: string, text: string, files: FileSource, options: RunTestOptions = {}): TestFileResult[] {
  const { documents, error } = testDocumentsOf(path, text, options.timings);
  if (error !== null) return [failedTest(path, error)];
  return documents.map((doc) => runLoadedTest(doc, text, documents.length, files, options));
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
  return result.ok;
}

/** One result for a file that held several Test documents (for views showing one per file). */
export function combineTestResults(path: string, results: TestFileResult[]): TestFileResult {
  if (results.length === 1) return results[0];
  const errors = results.filter((r) => r.error !== null).map((r) => r.error as string);
  const rows = results.flatMap((r) => r.rows);
  const failing = results.filter((r) => !r.ok);
  return {
    path,
    error: errors.length > 0 ? errors.join('\n') : null,
    rows,
    ok: failing.length === 0 && results.length > 0,
    reason: failing.map((r) => (r.document !== undefined ? `test ${r.document}: ${r.reason}` : r.reason)).join('; '),
    ...(results.some((r) => r.coverage) ? { coverage: mergeCoverage(results.map((r) => r.coverage ?? [])) } : {}),
  };
}
