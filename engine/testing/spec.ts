/**
 * Reads a cli.kyverno.io/v1alpha1 Test document into a TestSpec. Kyverno decodes it with
 * Go's encoding/json, which matches field names case-insensitively (so `isMUtatingPolicy`
 * is `isMutatingPolicy`); the same is done here.
 */
import type { JsonObject } from '../core/types';
import type { ExpectedResult, ResourceSpec, TestSpec } from './types';
import { isObject } from '../loader/classify';
import { globalContextResourceFiles } from './mocks';
import { normalizePath } from './paths';

/** A Test document field of the wrong shape; `path` is the JSON path of the value at fault. */
export class TestSpecError extends Error {
  constructor(message: string, readonly path: Array<string | number> = []) {
    super(message);
  }
}

function lowerKeys(obj: Record<string, unknown>): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(obj)) {
    const key = k.toLowerCase();
    if (!out.has(key)) out.set(key, v);
  }
  return out;
}

/** The JSON path a `where` label stands for (`results[2]` → ['results', 2]; `test` → []). */
function pathOf(where: string, ...rest: Array<string | number>): Array<string | number> {
  const m = /^(\w+)\[(\d+)\]$/.exec(where);
  return [...(m ? [m[1], Number(m[2])] : []), ...rest];
}

function str(fields: Map<string, unknown>, key: string, where: string): string {
  const v = fields.get(key.toLowerCase());
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new TestSpecError(`${where}: field "${key}" must be a string`, pathOf(where, key));
}

function strList(fields: Map<string, unknown>, key: string, where: string): string[] {
  const v = fields.get(key.toLowerCase());
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v)) throw new TestSpecError(`${where}: field "${key}" must be a list of strings`, pathOf(where, key));
  return v.map((item, i) => {
    if (typeof item !== 'string') throw new TestSpecError(`${where}: ${key}[${i}] must be a string`, pathOf(where, key, i));
    return item;
  });
}

function bool(fields: Map<string, unknown>, key: string): boolean {
  const v = fields.get(key.toLowerCase());
  return v === true || v === 'true';
}

function resourceSpecs(fields: Map<string, unknown>, where: string): ResourceSpec[] {
  const v = fields.get('resourcespecs');
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new TestSpecError(`${where}: field "resourceSpecs" must be a list`, pathOf(where, 'resourceSpecs'));
  return v.map((item, i) => {
    if (!isObject(item)) throw new TestSpecError(`${where}: resourceSpecs[${i}] must be an object`, pathOf(where, 'resourceSpecs', i));
    const f = lowerKeys(item);
    const spec: ResourceSpec = {};
    for (const key of ['apiVersion', 'group', 'version', 'kind', 'namespace', 'name'] as const) {
      const s = str(f, key, where);
      if (s) spec[key] = s;
    }
    return spec;
  });
}

function expectedResult(raw: unknown, index: number): ExpectedResult {
  const where = `results[${index}]`;
  if (!isObject(raw)) throw new TestSpecError(`${where} must be an object`, pathOf(where));
  const f = lowerKeys(raw);
  const resources = strList(f, 'resources', where);
  const result = str(f, 'result', where);
  return {
    policy: str(f, 'policy', where),
    rule: str(f, 'rule', where),
    kind: str(f, 'kind', where),
    result,
    resources,
    resourceSpecs: resourceSpecs(f, where),
    namespace: str(f, 'namespace', where),
    patchedResources: str(f, 'patchedResources', where),
    generatedResource: str(f, 'generatedResource', where),
    generatedResources: strList(f, 'generatedResources', where),
    failOnMissingResources: bool(f, 'failOnMissingResources'),
    cloneSourceResource: str(f, 'cloneSourceResource', where),
    isValidatingAdmissionPolicy: bool(f, 'isValidatingAdmissionPolicy'),
    isMutatingAdmissionPolicy: bool(f, 'isMutatingAdmissionPolicy'),
    isValidatingPolicy: bool(f, 'isValidatingPolicy'),
    isMutatingPolicy: bool(f, 'isMutatingPolicy'),
    isGeneratingPolicy: bool(f, 'isGeneratingPolicy'),
    isDeletingPolicy: bool(f, 'isDeletingPolicy'),
    isImageValidatingPolicy: bool(f, 'isImageValidatingPolicy'),
    operation: resultOperation(f, where),
  };
}

function objects(fields: Map<string, unknown>, key: string): JsonObject[] {
  const v = fields.get(key.toLowerCase());
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new TestSpecError(`field "${key}" must be a list`);
  return v.map((item, i) => {
    if (!isObject(item)) throw new TestSpecError(`${key}[${i}] must be an object`);
    return item as JsonObject;
  });
}

/**
 * `jsonPayloads` (and the deprecated single `jsonPayload`, used only when the list is empty),
 * cleaned like Go's path.Clean so `./payload.json` and `payload.json` name the same payload,
 * blanks dropped, duplicates removed: these names are also the payloads' keys in the results.
 */
function jsonPayloadNames(f: Map<string, unknown>): string[] {
  const names = strList(f, 'jsonPayloads', 'test');
  const legacy = str(f, 'jsonPayload', 'test');
  if (names.length === 0 && legacy) names.push(legacy);
  return cleanPayloadNames(names);
}

/** Payload names as Kyverno's cleanTest keeps them: blanks dropped, Go's path.Clean, duplicates removed. */
export function cleanPayloadNames(names: readonly string[]): string[] {
  return [...new Set(names.filter((n) => n.trim() !== '').map(normalizePath))];
}

/** A result's `operation`, checked as the CLI does before running anything. */
function resultOperation(f: Map<string, unknown>, where: string): string {
  const operation = str(f, 'operation', where);
  const policy = str(f, 'policy', where);
  if (operation !== '' && !['CREATE', 'UPDATE', 'DELETE'].includes(operation)) {
    throw new TestSpecError(`${where}: invalid test result for policy ${policy}: invalid operation "${operation}", must be one of CREATE, UPDATE, DELETE`);
  }
  if (operation !== '' && bool(f, 'isDeletingPolicy')) {
    throw new TestSpecError(`${where}: invalid test result for policy ${policy}: operation is not supported for deleting policies`);
  }
  return operation;
}

export function readTestSpec(doc: unknown): TestSpec {
  if (!isObject(doc)) throw new TestSpecError('test document must be an object');
  const f = lowerKeys(doc);
  const meta = isObject(f.get('metadata')) ? (f.get('metadata') as JsonObject) : {};
  const results = f.get('results');
  if (results !== undefined && results !== null && !Array.isArray(results)) {
    throw new TestSpecError('field "results" must be a list', ['results']);
  }
  const values = f.get('values');
  const list = (key: string): unknown[] => {
    const v = f.get(key.toLowerCase());
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw new TestSpecError(`field "${key}" must be a list`);
    return v;
  };
  return {
    name: typeof meta.name === 'string' ? meta.name : str(f, 'name', 'test'),
    policies: strList(f, 'policies', 'test'),
    resources: strList(f, 'resources', 'test'),
    exceptions: strList(f, 'exceptions', 'test'),
    clusterResources: strList(f, 'clusterResources', 'test'),
    targetResources: strList(f, 'targetResources', 'test'),
    jsonPayloads: jsonPayloadNames(f),
    httpPayloads: strList(f, 'httpPayloads', 'test'),
    envoyPayloads: strList(f, 'envoyPayloads', 'test'),
    paramResources: strList(f, 'paramResources', 'test'),
    variables: str(f, 'variables', 'test'),
    userinfo: str(f, 'userinfo', 'test'),
    context: str(f, 'context', 'test'),
    values: isObject(values) ? (values as JsonObject) : null,
    apiCallResponses: list('apiCallResponses'),
    globalContextEntries: list('globalContextEntries'),
    results: (Array.isArray(results) ? results : []).map(expectedResult),
  };
}

/** Every file path a test names (relative to the test file), so callers can read them first. */
export function referencedPaths(spec: TestSpec): string[] {
  const out = new Set<string>([
    ...spec.policies,
    ...spec.resources,
    ...spec.exceptions,
    ...spec.clusterResources,
    ...spec.targetResources,
    ...spec.jsonPayloads,
    ...spec.httpPayloads,
    ...spec.envoyPayloads,
    ...spec.paramResources,
  ]);
  for (const p of [spec.variables, spec.userinfo, spec.context]) if (p) out.add(p);
  for (const p of globalContextResourceFiles(spec.globalContextEntries)) out.add(p);
  for (const r of spec.results) {
    for (const p of [r.patchedResources, r.generatedResource, ...r.generatedResources, r.cloneSourceResource]) if (p) out.add(p);
  }
  return [...out];
}

/** A problem of a Test document's format, at a path inside the document. */
export interface TestFormatProblem {
  path: Array<string | number>;
  message: string;
}

// The fields of cli.kyverno.io/v1alpha1 Test and TestResult (apis/v1alpha1/test*.go), in their
// canonical spelling (Go's JSON decoder matches them case-insensitively).
export const TEST_FIELD_NAMES: readonly string[] = [
  'apiVersion', 'kind', 'metadata', 'name', 'policies', 'resources', 'jsonPayload', 'jsonPayloads', 'httpPayloads',
  'envoyPayloads', 'targetResources', 'variables', 'paramResources', 'userinfo', 'results', 'values', 'exceptions',
  'context', 'clusterResources', 'apiCallResponses', 'globalContextEntries',
];
/** TestResult's own fields (and TestResultBase's). */
export const RESULT_BASE_FIELD_NAMES: readonly string[] = [
  'policy', 'rule', 'isValidatingAdmissionPolicy', 'isMutatingAdmissionPolicy', 'isValidatingPolicy', 'isDeletingPolicy',
  'isImageValidatingPolicy', 'isGeneratingPolicy', 'isMutatingPolicy', 'result', 'kind', 'operation', 'patchedResources',
  'generatedResource', 'cloneSourceResource', 'failOnMissingResources',
];
/** TestResultData's fields (the resources a result names). */
export const RESULT_DATA_FIELD_NAMES: readonly string[] = ['resources', 'resourceSpecs', 'generatedResources'];
// Lower-cased: Kyverno decodes a test strictly (yaml.UnmarshalStrict), so any other field is an error.
const TEST_FIELDS = new Set(TEST_FIELD_NAMES.map((f) => f.toLowerCase()));
const RESULT_FIELDS = new Set([...RESULT_BASE_FIELD_NAMES, ...RESULT_DATA_FIELD_NAMES].map((f) => f.toLowerCase()));

/**
 * What Kyverno 1.19's `kyverno test` refuses in a Test document, with what to change: the
 * legacy format (no apiVersion/kind, a top-level `name`, `resource`/`status` in results; see
 * cmd/cli/kubectl-kyverno/deprecations) and fields a strict decoding rejects.
 */
export function testFormatProblems(doc: unknown): TestFormatProblem[] {
  if (!isObject(doc)) return [{ path: [], message: 'a test document must be a YAML mapping' }];
  const problems: TestFormatProblem[] = [];
  const apiVersion = doc.apiVersion;
  const kind = doc.kind;
  if (!apiVersion || !kind) {
    problems.push({
      path: [],
      message: 'legacy test format, refused by Kyverno 1.19: add "apiVersion: cli.kyverno.io/v1alpha1" and "kind: Test"',
    });
  } else if (kind !== 'Test') {
    // Kyverno only requires both to be set; another kind is some other manifest.
    problems.push({ path: ['kind'], message: `not a test: kind ${String(kind)}; a test file holds cli.kyverno.io/v1alpha1 Test documents` });
    return problems;
  }
  for (const key of Object.keys(doc)) {
    if (key.toLowerCase() === 'name') {
      problems.push({ path: [key], message: `legacy test format, refused by Kyverno 1.19: move "name: ${String(doc[key])}" to "metadata.name"` });
    } else if (!TEST_FIELDS.has(key.toLowerCase())) {
      problems.push({ path: [key], message: `unknown field "${key}" in the test (Kyverno decodes tests strictly)` });
    }
  }
  const results = Array.isArray(doc.results) ? doc.results : [];
  results.forEach((r, i) => {
    if (!isObject(r)) return;
    for (const key of Object.keys(r)) {
      const lower = key.toLowerCase();
      if (lower === 'resource') {
        problems.push({ path: ['results', i, key], message: `legacy test format, refused by Kyverno 1.19: replace "resource: ${String(r[key])}" with "resources: [${String(r[key])}]"` });
      } else if (lower === 'status') {
        problems.push({ path: ['results', i, key], message: `legacy test format, refused by Kyverno 1.19: replace "status: ${String(r[key])}" with "result: ${String(r[key])}"` });
      } else if (!RESULT_FIELDS.has(lower)) {
        problems.push({ path: ['results', i, key], message: `unknown field "${key}" in results[${i}] (Kyverno decodes tests strictly)` });
      }
    }
  });
  return problems;
}
