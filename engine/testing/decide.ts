/**
 * Decides each expected result of a Test against the engine responses, following the
 * Kyverno CLI (commands/test/output.go): resources are looked up by name (or ns/name, or
 * resourceSpecs) across all kinds, responses by policy name, rules by name with the
 * `autogen-`/`autogen-cronjob-` variants (CEL kinds have no rule names), and a policy that
 * answered without any matching rule means the resource was excluded (a pass).
 */
import type { JsonObject, RuleResult } from '../core/types';
import { displayName, findInManifest, identityOf, resourceKey, resourcesEqual } from './compare';
import type { EngineResponse, ExpectedResult, ResponseIndex, TestRow } from './types';

/** Loads the documents of a file named by a result (patchedResources, generatedResource). */
export type ManifestReader = (path: string) => JsonObject[];

const NOT_IN_MANIFEST = 'not found in manifest';

/** Policy kinds whose results carry no rule names of their own (commands/test isRulelessPolicyKind). */
const RULELESS_KINDS = new Set([
  'ValidatingPolicy',
  'ValidatingAdmissionPolicy',
  'MutatingPolicy',
  'MutatingAdmissionPolicy',
  'ImageValidatingPolicy',
  'GeneratingPolicy',
  'DeletingPolicy',
]);

/**
 * The rule results an expected result is checked against: all of them when the result names
 * no rule or the policy kind has no rule names, else those named after the rule (or its
 * autogen variants). The policy's kind decides, not the result's is…Policy flags.
 */
export function lookupRules(test: ExpectedResult, rules: RuleResult[], policyKind: string): RuleResult[] {
  if (test.rule === '' || RULELESS_KINDS.has(policyKind.replace(/^Namespaced/, ''))) return rules;
  return rules.filter((r) => r.name === test.rule || r.name === `autogen-${test.rule}` || r.name === `autogen-cronjob-${test.rule}`);
}

/** The policy-report result of a rule: an unscored policy reports failures as warnings. */
export function reportResult(response: EngineResponse, rule: RuleResult): string {
  if (rule.status === 'fail' && response.policyAnnotations['policies.kyverno.io/scored'] === 'false') return 'warn';
  return rule.status;
}

interface Check {
  ok: boolean;
  actual: string;
  reason: string;
  skipped?: boolean;
}

function compareWithFile(path: string, actual: JsonObject, read: ManifestReader, label: string): Check | null {
  let docs: JsonObject[];
  try {
    docs = read(path);
  } catch (err) {
    return { ok: false, actual: '', reason: `Resource error: ${(err as Error).message}` };
  }
  const expected = findInManifest(docs, actual);
  if (!expected) {
    const id = identityOf(actual);
    return { ok: false, actual: '', reason: `${id.kind}/${displayName(id)} ${NOT_IN_MANIFEST} ${path}`, skipped: true };
  }
  if (!resourcesEqual(actual, expected)) {
    return { ok: false, actual: '', reason: `Resource diff: ${label} resource didn't match ${path}` };
  }
  return null;
}

function checkResult(test: ExpectedResult, response: EngineResponse, rule: RuleResult, actual: JsonObject, read: ManifestReader): Check {
  const result = reportResult(response, rule);
  if (test.patchedResources) {
    const c = compareWithFile(test.patchedResources, actual, read, 'Patched');
    if (c) return { ...c, actual: result };
  }
  if (test.generatedResource && test.generatedResources.length === 0) {
    const c = compareWithFile(test.generatedResource, actual, read, 'Generated');
    if (c) return { ...c, actual: result };
  } else if (test.generatedResources.length > 0) {
    // Any of the files may hold it (Kyverno keeps the last problem when none does).
    let last: Check | null = null;
    for (const file of test.generatedResources) {
      last = compareWithFile(file, actual, read, 'Generated');
      if (!last) break;
    }
    if (last) return { ...last, actual: result };
  }
  return compareStatus(test, response, rule);
}

/** The expected result against the rule's report result (commands/test compareExpectedRuleResult). */
function compareStatus(test: ExpectedResult, response: EngineResponse, rule: RuleResult): Check {
  const result = reportResult(response, rule);
  if (result !== test.result) {
    // An unexpected error is only actionable with the engine's own message.
    const detail = result === 'error' && rule.message ? `: ${rule.message.split('\n')[0]}` : '';
    return { ok: false, actual: result, reason: `Want ${test.result}, got ${result}${detail}` };
  }
  return { ok: true, actual: result, reason: 'Ok' };
}

function keyParts(key: string): { kind: string; namespace: string; name: string } {
  const parts = key.split(',');
  return { kind: parts[parts.length - 3] ?? '', namespace: parts[parts.length - 2] ?? '', name: parts[parts.length - 1] ?? '' };
}

interface IndexedKey {
  key: string;
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

/** Every result of a test searches the same keys: split them once per index. */
const keysOfIndex = new WeakMap<ResponseIndex, IndexedKey[]>();

function indexedKeys(index: ResponseIndex): IndexedKey[] {
  let keys = keysOfIndex.get(index);
  if (!keys) {
    keys = [...new Set([...index.target.keys(), ...index.trigger.keys()])].map((key) => ({ key, apiVersion: key.split(',')[0], ...keyParts(key) }));
    keysOfIndex.set(index, keys);
  }
  return keys;
}

/** Resource keys an expected result refers to. */
export function selectResources(test: ExpectedResult, index: ResponseIndex): string[] {
  const keys = indexedKeys(index);
  const selected: string[] = [];
  for (const r of test.resources) {
    const nsName = r.split('/');
    for (const p of keys) {
      if (nsName.length === 1 && r === p.name) selected.push(p.key);
      if (nsName.length === 2 && nsName[0] === p.namespace && nsName[1] === p.name) selected.push(p.key);
    }
  }
  for (const spec of test.resourceSpecs) {
    const apiVersion = spec.apiVersion ?? (spec.group ? `${spec.group}/${spec.version ?? ''}` : spec.version ?? '');
    for (const p of keys) {
      if (apiVersion && p.apiVersion !== apiVersion) continue;
      if (spec.kind && spec.kind !== p.kind) continue;
      if ((spec.namespace ?? '') !== p.namespace) continue;
      if (spec.name === p.name) selected.push(p.key);
    }
  }
  // Kyverno falls back to every resource when the named ones match nothing (not only when
  // none are named): each then yields its own row, usually "Not found" for this policy.
  if (selected.length === 0) return keys.map((p) => p.key);
  return [...new Set(selected)];
}

/**
 * Kyverno's RESOURCE column: the response key with its commas turned into slashes, split
 * at the last slash into kind and name and joined again (output.go, color.Resource): a
 * generated resource's key is its bare name, so it reads `/name`.
 */
function resourceColumn(key: string): string {
  const parts = key.replace(/,/g, '/').split('/');
  return `${parts.slice(0, -1).join('/')}/${parts[parts.length - 1]}`;
}

function row(test: ExpectedResult, kind: string, resource: string, c: Check, key?: string): TestRow {
  return { policy: test.policy, rule: test.rule, resource, kind, ...(key !== undefined ? { column: resourceColumn(key) } : {}), expected: test.result, actual: c.actual, ok: c.ok, reason: c.reason };
}

function rowsForResponse(test: ExpectedResult, response: EngineResponse, key: string, read: ManifestReader): TestRow[] {
  const p = keyParts(key);
  const display = p.namespace ? `${p.namespace}/${p.name}` : p.name;
  if (response.error !== undefined) {
    const ok = test.result === 'error';
    return [row(test, p.kind, display, { ok, actual: 'error', reason: ok ? 'Ok' : `engine error: ${response.error}` }, key)];
  }
  const rows: TestRow[] = [];
  for (const rule of lookupRules(test, response.rules, response.policy.kind)) {
    // The rule type picks what is compared, as output.go does (RuleType()).
    if (rule.type === 'Generation') {
      const generatedResources = rule.generatedResources ?? [];
      if (generatedResources.length === 0) {
        // Nothing generated (an error, an exception...): only the result is compared.
        rows.push(row(test, p.kind, display, compareStatus(test, response, rule), key));
      }
      for (const generated of generatedResources) {
        const id = identityOf(generated);
        rows.push(row(test, id.kind, id.name, checkResult(test, response, rule, generated, read), id.name));
      }
      continue;
    }
    const mutated = rule.type === 'Mutation';
    const actual = mutated ? response.patchedResource : response.resource;
    const c = checkResult(test, response, rule, actual, read);
    if (c.skipped && !test.failOnMissingResources) {
      // Kyverno skips the comparison silently (failOnMissingResources unset); the row says so.
      rows.push(row(test, p.kind, display, { ok: true, actual: c.actual, reason: `Skipped: ${c.reason}` }, key));
      continue;
    }
    rows.push(row(test, p.kind, display, c, key));
  }
  return rows;
}

export function decideResult(test: ExpectedResult, index: ResponseIndex, read: ManifestReader): TestRow[] {
  const out: TestRow[] = [];
  const policyName = test.policy.split('/').pop() ?? '';
  for (const key of selectResources(test, index)) {
    const p = keyParts(key);
    const display = p.namespace ? `${p.namespace}/${p.name}` : p.name;
    const rows: TestRow[] = [];
    for (const response of index.trigger.get(key) ?? []) {
      if (response.policy.name !== policyName) continue;
      rows.push(...rowsForResponse(test, response, key, read));
      if (rows.length === 0) {
        rows.push(row(test, p.kind, display, { ok: true, actual: '', reason: 'Excluded' }, key));
      }
    }
    for (const t of index.target.get(key) ?? []) {
      if (t.response.policy.name !== policyName) continue;
      rows.push(row(test, p.kind, display, checkResult(test, t.response, t.rule, t.resource, read), key));
    }
    const invalid = index.invalidPolicies?.get(policyName);
    if (rows.length === 0 && invalid !== undefined) {
      // As output.go: a policy skipped by validation answers skip, not a failure.
      rows.push(row(test, p.kind, display, { ok: true, actual: 'skip', reason: `Invalid Policy: ${invalid}` }, key));
    } else if (rows.length === 0) {
      rows.push(row(test, p.kind, display, { ok: false, actual: '', reason: 'Not found' }, key));
    }
    out.push(...rows);
  }
  if (out.length === 0) {
    // Only when the test has no resource at all. Kyverno prints nothing for such an entry and
    // counts it nowhere; a result nobody checked must not read as a pass.
    out.push(row(test, test.kind, test.resources.join(','), { ok: false, actual: '', reason: 'Not evaluated: the test gave the policy no resource to produce this result' }));
  }
  return out;
}

/**
 * Groups engine responses by the resource they were run for. Every evaluated resource gets
 * an entry, even without responses (then its rows are "Not found"); so does every payload
 * (JSON, HTTP, Envoy), under its name. Targets of
 * mutate-existing rules are indexed by the target resources the test declares.
 */
export function indexResponses(
  evaluations: Array<{ resource: JsonObject; responses: EngineResponse[] }>,
  targetResources: JsonObject[] = [],
  payloads: Array<{ key: string; responses: EngineResponse[] }> = [],
): ResponseIndex {
  const index: ResponseIndex = { trigger: new Map(), target: new Map() };
  for (const e of evaluations) index.trigger.set(resourceKey(identityOf(e.resource)), e.responses);
  // Payloads are keyed by their name; one listed twice adds its responses twice (as the CLI).
  for (const p of payloads) index.trigger.set(p.key, [...(index.trigger.get(p.key) ?? []), ...p.responses]);
  const targetKeys = new Set(targetResources.map((t) => resourceKey(identityOf(t))));
  for (const e of evaluations) {
    for (const response of e.responses) {
      for (const rule of response.rules) {
        // A mutate-existing rule patches another object than the trigger: that is a target.
        if (rule.type !== 'Mutation' || !rule.patchedResource) continue;
        const tkey = resourceKey(identityOf(rule.patchedResource));
        if (!targetKeys.has(tkey)) continue;
        const targets = index.target.get(tkey) ?? [];
        targets.push({ response, rule, resource: rule.patchedResource });
        index.target.set(tkey, targets);
      }
    }
  }
  return index;
}
