/**
 * `kyverno fix test` and `kyverno fix policy` (Kyverno's cmd/cli/kubectl-kyverno/fix): rewrite
 * legacy test files, values, user infos and kyverno.io policies into the current format. Pure:
 * documents in, fixed documents and Kyverno's warnings out; the CLI reads and writes the files.
 */
import type { JsonObject } from '../core/types';
import { isJsonObject } from '../core/json';
import { cleanPayloadNames, RESULT_BASE_FIELD_NAMES, RESULT_DATA_FIELD_NAMES, TEST_FIELD_NAMES } from './spec';

/** TestResult fields without `omitempty`: written even when empty. */
const RESULT_ALWAYS = new Set(['policy', 'result', 'kind']);

export class FixLoadError extends Error {}

/**
 * The object with its fields in their canonical spelling (spec.ts's lists): Go's JSON decoder
 * matches them case-insensitively, a round trip through the typed struct renames them, and
 * Kyverno's strict decoding refuses anything else.
 */
function canonical(obj: JsonObject, fields: readonly string[]): JsonObject {
  const byLower = new Map(fields.map((f) => [f.toLowerCase(), f]));
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(obj)) {
    const name = byLower.get(key.toLowerCase());
    // Go's strict decoding error, as Kyverno prints it for the file.
    if (!name) throw new FixLoadError(`error unmarshaling JSON: while decoding JSON: json: unknown field "${key}"`);
    out[name] = value;
  }
  return out;
}

const isEmpty = (v: unknown) => v === undefined || v === null || v === '' || v === false || v === 0 || (Array.isArray(v) && v.length === 0);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map((x) => String(x)) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

/** A copy of metadata without the stamps Kyverno's saved documents leave out. */
function withoutStamps(metadata: JsonObject): JsonObject {
  const copy = { ...metadata };
  for (const stamp of ['creationTimestamp', 'generation', 'uid']) delete copy[stamp];
  return copy;
}

/** First occurrences, in order (Kyverno's sets.New(...).UnsortedList(), whose order Go leaves random). */
function unique(list: string[]): string[] {
  return [...new Set(list)];
}

/** Go's cmp.Compare on strings: byte order. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface Result {
  base: JsonObject;
  resources: string[];
  resourceSpecs: unknown[];
  generatedResources: string[];
}

function readResult(value: unknown, i: number): Result {
  if (!isJsonObject(value)) throw new FixLoadError(`error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${typeof value} into results[${i}]`);
  const r = canonical(value, [...RESULT_BASE_FIELD_NAMES, ...RESULT_DATA_FIELD_NAMES]);
  const base: JsonObject = {};
  for (const f of RESULT_BASE_FIELD_NAMES) if (r[f] !== undefined) base[f] = r[f];
  return { base, resources: strings(r.resources), resourceSpecs: Array.isArray(r.resourceSpecs) ? r.resourceSpecs : [], generatedResources: strings(r.generatedResources) };
}

function writeResult(r: Result): JsonObject {
  const out: JsonObject = {};
  for (const f of RESULT_BASE_FIELD_NAMES) {
    const v = r.base[f];
    if (RESULT_ALWAYS.has(f)) out[f] = v === undefined || v === null ? '' : v;
    else if (!isEmpty(v)) out[f] = v;
  }
  if (r.resources.length > 0) out.resources = r.resources;
  if (r.resourceSpecs.length > 0) out.resourceSpecs = r.resourceSpecs;
  if (r.generatedResources.length > 0) out.generatedResources = r.generatedResources;
  return out;
}

/**
 * Kyverno's sort of test results. Its comparator sorts the resource lists it compares in
 * place, so which lists end up sorted depends on the pairs compared: Go sorts up to 12 elements
 * by insertion sort, done here the same way.
 */
function sortResults(results: Result[]): void {
  const less = (a: Result, b: Result): boolean => {
    for (const f of ['policy', 'rule', 'result', 'kind', 'generatedResource', 'cloneSourceResource']) {
      const x = compare(str(a.base[f]), str(b.base[f]));
      if (x !== 0) return x < 0;
    }
    a.resources.sort(compare);
    b.resources.sort(compare);
    if (a.resources.length !== b.resources.length) return a.resources.length < b.resources.length;
    for (let i = 0; i < a.resources.length; i++) {
      const x = compare(a.resources[i], b.resources[i]);
      if (x !== 0) return x < 0;
    }
    a.generatedResources.sort(compare);
    b.generatedResources.sort(compare);
    if (a.generatedResources.length !== b.generatedResources.length) return a.generatedResources.length < b.generatedResources.length;
    for (let i = 0; i < a.generatedResources.length; i++) {
      const x = compare(a.generatedResources[i], b.generatedResources[i]);
      if (x !== 0) return x < 0;
    }
    return false;
  };
  for (let i = 1; i < results.length; i++) {
    for (let j = i; j > 0 && less(results[j], results[j - 1]); j--) {
      [results[j], results[j - 1]] = [results[j - 1], results[j]];
    }
  }
}

export interface FixedDocument {
  /** The fixed document (in Kyverno's field set; the CLI writes it with sorted keys). */
  fixed: JsonObject;
  /** Kyverno's warnings, in its order. */
  messages: string[];
  /** Whether fixing changed anything (Kyverno saves only then, unless --force). */
  changed: boolean;
}

/**
 * A Test document as Kyverno loads it (strict field set, duplicate policies and resources
 * dropped, `jsonPayload` folded into `jsonPayloads`), then FixTest. `fileName` names a test
 * without a name. Throws FixLoadError when Kyverno could not load the document.
 */
export function fixTest(doc: unknown, fileName: string, compress: boolean): FixedDocument {
  if (!isJsonObject(doc)) throw new FixLoadError('error unmarshaling JSON: while decoding JSON: json: cannot unmarshal into a Test');
  const test = canonical(doc, TEST_FIELD_NAMES);
  // Kyverno's cleanTest, at load.
  if (Array.isArray(test.policies)) test.policies = unique(strings(test.policies));
  if (Array.isArray(test.resources)) test.resources = unique(strings(test.resources));
  if (str(test.jsonPayload) !== '') {
    if (strings(test.jsonPayloads).length === 0) test.jsonPayloads = [str(test.jsonPayload)];
    delete test.jsonPayload;
  }
  if (Array.isArray(test.jsonPayloads)) test.jsonPayloads = cleanPayloadNames(strings(test.jsonPayloads));
  const loadedResults = (Array.isArray(test.results) ? test.results : []).map(readResult);
  const loaded = JSON.stringify(writeTest(test, loadedResults));

  const messages: string[] = [];
  const metadata: JsonObject = isJsonObject(test.metadata) ? { ...test.metadata } : {};
  if (str(metadata.name) === '' && str(test.name) === '') {
    messages.push('name is not set');
    metadata.name = fileName;
  }
  if (str(test.apiVersion) === '') {
    messages.push('api version is not set, setting `cli.kyverno.io/v1alpha1`');
    test.apiVersion = 'cli.kyverno.io/v1alpha1';
  }
  if (str(test.kind) === '') {
    messages.push('kind is not set, setting `Test`');
    test.kind = 'Test';
  }
  if (str(test.name) !== '') {
    messages.push('name is deprecated, moving it into `metadata.name`');
    metadata.name = test.name;
    delete test.name;
  }
  test.metadata = metadata;
  if (strings(test.policies).length === 0) messages.push('test has no policies');
  if (strings(test.resources).length === 0) messages.push('test has no resources');
  // Kyverno checks each result for duplicates, and again after --compress merged them.
  const withoutDuplicates = (r: Result): Result => {
    const out = { ...r, resources: [...r.resources], generatedResources: [...r.generatedResources] };
    if (new Set(out.resources).size !== out.resources.length) {
      messages.push('test results contains duplicate resources');
      out.resources = unique(out.resources);
    }
    if (new Set(out.generatedResources).size !== out.generatedResources.length) {
      messages.push('test results contains duplicate generated resources');
      out.generatedResources = unique(out.generatedResources);
    }
    return out;
  };
  let results = loadedResults.map(withoutDuplicates);
  if (compress) {
    const groups = new Map<string, Result>();
    for (const r of results) {
      const key = JSON.stringify(RESULT_BASE_FIELD_NAMES.map((f) => r.base[f] ?? null));
      const group = groups.get(key) ?? { base: r.base, resources: [], resourceSpecs: [], generatedResources: [] };
      group.resources.push(...r.resources);
      group.resourceSpecs.push(...r.resourceSpecs);
      group.generatedResources.push(...r.generatedResources);
      groups.set(key, group);
    }
    results = [...groups.values()].map(withoutDuplicates);
  }
  sortResults(results);
  if (Array.isArray(test.globalContextEntries) && test.globalContextEntries.length > 0) {
    const entries = test.globalContextEntries.filter(isJsonObject);
    entries.sort((a, b) => compare(str(a.name), str(b.name)));
    test.globalContextEntries = entries;
    for (const entry of entries) {
      const data = entry.data;
      const hasData = data !== undefined && data !== null;
      if (!hasData && entry.resources === undefined && entry.resourceFiles === undefined) {
        messages.push(`globalContextEntries entry ${str(entry.name)} has no data source`);
      }
    }
  }
  const fixed = writeTest(test, results);
  return { fixed, messages, changed: JSON.stringify(fixed) !== loaded };
}


/** The Test as the typed struct writes it: empty optional fields left out, metadata pruned. */
function writeTest(test: JsonObject, results: Result[]): JsonObject {
  const out: JsonObject = {};
  for (const f of TEST_FIELD_NAMES) {
    if (f === 'results') {
      if (results.length > 0) out.results = results.map(writeResult);
      continue;
    }
    const v = test[f];
    if (f === 'metadata') {
      out.metadata = withoutStamps(isJsonObject(v) ? v : {});
      continue;
    }
    if (!isEmpty(v)) out[f] = v;
  }
  return out;
}

/**
 * A values or user info file: FixValues / FixUserInfo set a missing apiVersion and kind.
 * Kyverno saves it without `metadata.creationTimestamp`, `generation`, `uid` and empty metadata.
 */
export function fixKindOf(doc: unknown, kind: 'Values' | 'UserInfo'): FixedDocument {
  if (!isJsonObject(doc)) throw new FixLoadError(`error unmarshaling JSON: while decoding JSON: json: cannot unmarshal into ${kind}`);
  const fixed: JsonObject = { ...doc };
  const messages: string[] = [];
  if (str(fixed.apiVersion) === '') {
    messages.push('api version is not set, setting `cli.kyverno.io/v1alpha1`');
    fixed.apiVersion = 'cli.kyverno.io/v1alpha1';
  }
  if (str(fixed.kind) === '') {
    messages.push(`kind is not set, setting \`${kind}\``);
    fixed.kind = kind;
  }
  if (isJsonObject(fixed.metadata)) {
    const meta = withoutStamps(fixed.metadata);
    if (Object.keys(meta).length === 0) delete fixed.metadata;
    else fixed.metadata = meta;
  }
  return { fixed, messages, changed: messages.length > 0 };
}

const LEGACY_OPERATORS: Record<string, string> = { Equal: 'Equals', NotEqual: 'NotEquals', In: 'AllIn', NotIn: 'AnyNotIn' };
const LEGACY_FILTER_FIELDS = ['resources', 'subjects', 'roles', 'clusterRoles'];

/**
 * Kyverno's FixPolicy on a ClusterPolicy or Policy: the failure action spelled `Audit` or
 * `Enforce`, legacy match/exclude blocks moved into `any`, preconditions as any/all with the old
 * operators renamed. Also prunes what Kyverno prunes when it saves.
 */
export function fixPolicy(doc: JsonObject): FixedDocument {
  const messages: string[] = [];
  const policy = structuredClone(doc);
  const spec: JsonObject = isJsonObject(policy.spec) ? policy.spec : (policy.spec = {});
  // ValidationFailureAction.Enforce(): the two spellings Kyverno accepts; anything else is Audit.
  spec.validationFailureAction = spec.validationFailureAction === 'Enforce' || spec.validationFailureAction === 'enforce' ? 'Enforce' : 'Audit';
  const rules = Array.isArray(spec.rules) ? spec.rules.filter(isJsonObject) : [];
  for (const rule of rules) {
    for (const block of ['match', 'exclude'] as const) {
      const filter = rule[block];
      if (!isJsonObject(filter)) continue;
      const present = (f: string) => !isEmpty(filter[f]) && !(isJsonObject(filter[f]) && Object.keys(filter[f] as JsonObject).length === 0);
      if (LEGACY_FILTER_FIELDS.some(present)) {
        messages.push(`${block} uses old syntax, moving to any`);
        const moved: JsonObject = {};
        for (const f of LEGACY_FILTER_FIELDS) if (present(f)) moved[f] = filter[f];
        filter.any = [...(Array.isArray(filter.any) ? filter.any : []), moved];
      }
      for (const f of LEGACY_FILTER_FIELDS) delete filter[f];
    }
    const pre = rule.preconditions;
    if (pre !== undefined && pre !== null) {
      const conditions: JsonObject = Array.isArray(pre) ? { all: pre } : isJsonObject(pre) ? pre : {};
      for (const list of [conditions.any, conditions.all]) {
        for (const c of Array.isArray(list) ? list : []) {
          if (!isJsonObject(c) || typeof c.operator !== 'string' || !(c.operator in LEGACY_OPERATORS)) continue;
          messages.push(`condition uses old operator \`${c.operator}\`, updating`);
          c.operator = LEGACY_OPERATORS[c.operator];
        }
      }
      rule.preconditions = conditions;
    }
  }
  const changed = JSON.stringify(policy) !== JSON.stringify(doc);
  return { fixed: prunePolicy(policy), messages, changed };
}

/** What Kyverno's `fix policy --save` removes before writing: status, metadata stamps, empty blocks. */
function prunePolicy(policy: JsonObject): JsonObject {
  delete policy.status;
  if (isJsonObject(policy.metadata)) policy.metadata = withoutStamps(policy.metadata);
  const spec = isJsonObject(policy.spec) ? policy.spec : {};
  const empty = (v: unknown) => !isJsonObject(v) || Object.keys(v).length === 0;
  for (const rule of Array.isArray(spec.rules) ? spec.rules.filter(isJsonObject) : []) {
    for (const block of ['match', 'exclude']) {
      const filter = rule[block];
      if (!isJsonObject(filter)) continue;
      for (const list of [filter.any, filter.all]) {
        for (const f of Array.isArray(list) ? list.filter(isJsonObject) : []) if (f.resources !== undefined && empty(f.resources)) delete f.resources;
      }
    }
    const generate = rule.generate;
    if (isJsonObject(generate)) {
      if (generate.clone !== undefined && empty(generate.clone)) delete generate.clone;
      if (generate.cloneList !== undefined && empty(generate.cloneList)) delete generate.cloneList;
    }
    const validate = rule.validate;
    if (isJsonObject(validate) && isJsonObject(validate.manifests) && validate.manifests.dryRun !== undefined && empty(validate.manifests.dryRun)) delete validate.manifests.dryRun;
    for (const key of ['generate', 'mutate', 'validate', 'exclude', 'match']) if (rule[key] !== undefined && empty(rule[key])) delete rule[key];
  }
  return policy;
}
