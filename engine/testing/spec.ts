/**
 * Reads a cli.kyverno.io/v1alpha1 Test document into a TestSpec. Kyverno decodes it with
 * Go's encoding/json, which matches field names case-insensitively (so `isMUtatingPolicy`
 * is `isMutatingPolicy`); the same is done here.
 */
import type { JsonObject } from '../core/types';
import type { ExpectedResult, ResourceSpec, TestSpec } from './types';
import { isObject } from '../loader/classify';
import { globalContextResourceFiles } from './mocks';

export class TestSpecError extends Error {}

function lowerKeys(obj: Record<string, unknown>): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(obj)) {
    const key = k.toLowerCase();
    if (!out.has(key)) out.set(key, v);
  }
  return out;
}

function str(fields: Map<string, unknown>, key: string, where: string): string {
  const v = fields.get(key.toLowerCase());
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new TestSpecError(`${where}: field "${key}" must be a string`);
}

function strList(fields: Map<string, unknown>, key: string, where: string): string[] {
  const v = fields.get(key.toLowerCase());
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v)) throw new TestSpecError(`${where}: field "${key}" must be a list of strings`);
  return v.map((item, i) => {
    if (typeof item !== 'string') throw new TestSpecError(`${where}: ${key}[${i}] must be a string`);
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
  if (!Array.isArray(v)) throw new TestSpecError(`${where}: field "resourceSpecs" must be a list`);
  return v.map((item, i) => {
    if (!isObject(item)) throw new TestSpecError(`${where}: resourceSpecs[${i}] must be an object`);
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
  if (!isObject(raw)) throw new TestSpecError(`${where} must be an object`);
  const f = lowerKeys(raw);
  const resources = strList(f, 'resources', where);
  const legacy = str(f, 'resource', where);
  if (resources.length === 0 && legacy) resources.push(legacy);
  const result = str(f, 'result', where) || str(f, 'status', where);
  return {
    policy: str(f, 'policy', where),
    rule: str(f, 'rule', where),
    kind: str(f, 'kind', where),
    result,
    resources,
    resourceSpecs: resourceSpecs(f, where),
    namespace: str(f, 'namespace', where),
    patchedResources: str(f, 'patchedResources', where) || str(f, 'patchedResource', where),
    generatedResource: str(f, 'generatedResource', where) || str(f, 'generatedResources', where),
    cloneSourceResource: str(f, 'cloneSourceResource', where),
    isValidatingAdmissionPolicy: bool(f, 'isValidatingAdmissionPolicy'),
    isMutatingAdmissionPolicy: bool(f, 'isMutatingAdmissionPolicy'),
    isValidatingPolicy: bool(f, 'isValidatingPolicy'),
    isMutatingPolicy: bool(f, 'isMutatingPolicy'),
    isGeneratingPolicy: bool(f, 'isGeneratingPolicy'),
    isDeletingPolicy: bool(f, 'isDeletingPolicy'),
    isImageValidatingPolicy: bool(f, 'isImageValidatingPolicy'),
  };
}

export function readTestSpec(doc: unknown): TestSpec {
  if (!isObject(doc)) throw new TestSpecError('test document must be an object');
  const f = lowerKeys(doc);
  const meta = isObject(f.get('metadata')) ? (f.get('metadata') as JsonObject) : {};
  const results = f.get('results');
  if (results !== undefined && results !== null && !Array.isArray(results)) {
    throw new TestSpecError('field "results" must be a list');
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
  ]);
  for (const p of [spec.variables, spec.userinfo, spec.context]) if (p) out.add(p);
  for (const p of globalContextResourceFiles(spec.globalContextEntries)) out.add(p);
  for (const r of spec.results) {
    for (const p of [r.patchedResources, r.generatedResource, r.cloneSourceResource]) if (p) out.add(p);
  }
  return [...out];
}
