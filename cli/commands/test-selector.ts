/**
 * `kyverno test -t/--test-case-selector "policy=…,rule=…,resource=…"`, with the semantics of
 * Kyverno's test/filter package: each key filters the Test's expected results by wildcard;
 * a result without that field always matches; an explicit resource value (not `*`) also
 * replaces the matching results' resource lists.
 */
import type { LoadedDocument } from '../../engine/loader';
import { readTestSpec } from '../../engine/testing';
import { wildcardMatch } from '../../engine/wildcard/wildcard';

/** Kyverno's default selector: every result. */
export const DEFAULT_SELECTOR = 'policy=*,rule=*,resource=*';

export interface TestCaseSelector {
  policy: string[];
  rule: string[];
  resource: string[];
  /** Resource names that replace a selected result's `resources` (empty: left as is). */
  resourceOverride: string[];
  /** Problems in the selector text, as Kyverno words them ("Filter errors:"). */
  errors: string[];
}

export function parseTestCaseSelector(text: string): TestCaseSelector {
  const selector: TestCaseSelector = { policy: [], rule: [], resource: [], resourceOverride: [], errors: [] };
  if (text === '') return selector;
  for (const term of text.split(',')) {
    const parts = term.split('=');
    if (parts.length !== 2) {
      selector.errors.push(`Invalid test-case-selector argument (${term}). Parameter must be in the form \`<key>=<value>\`.`);
      continue;
    }
    const key = parts[0].trim();
    const value = parts[1].trim();
    if (key === 'policy' || key === 'rule' || key === 'resource') selector[key].push(value);
    else selector.errors.push(`Invalid test-case-selector (${term}). Parameter can only be policy, rule or resource.`);
  }
  if (selector.errors.length === 0) {
    // As Kyverno's ExtractResourceFilters: values up to the first `*`.
    for (const value of selector.resource) {
      if (value === '*') break;
      selector.resourceOverride.push(value);
    }
  }
  return selector;
}

interface SelectableResult {
  policy: string;
  rule: string;
  resources: string[];
}

export function selectsResult(selector: TestCaseSelector, result: SelectableResult): boolean {
  const policyOk = selector.policy.every((v) => result.policy === '' || wildcardMatch(v, result.policy));
  const ruleOk = selector.rule.every((v) => result.rule === '' || wildcardMatch(v, result.rule));
  const resourceOk = selector.resource.every((v) => result.resources.length === 0 || result.resources.some((r) => wildcardMatch(v, r)));
  return policyOk && ruleOk && resourceOk;
}

function keyOf(obj: Record<string, unknown>, lower: string): string | undefined {
  // Go's JSON decoding, which reads Kyverno's tests, matches field names case-insensitively.
  return Object.keys(obj).find((k) => k.toLowerCase() === lower);
}

/**
 * The Test document with only the results the selector keeps, or null when it dropped them
 * all (Kyverno then skips the test without a word). A document that cannot be read as a Test is
 * returned unchanged so that running it reports the problem.
 */
export function selectTestResults(doc: LoadedDocument, selector: TestCaseSelector): LoadedDocument | null {
  const value = doc.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return doc;
  let spec;
  try {
    spec = readTestSpec(value);
  } catch {
    return doc;
  }
  const resultsKey = keyOf(value as Record<string, unknown>, 'results');
  const raw = resultsKey ? (value as Record<string, unknown>)[resultsKey] : undefined;
  // A test without results is left to the run, which reports that nothing was checked.
  if (!Array.isArray(raw) || raw.length === 0) return doc;
  const kept: unknown[] = [];
  raw.forEach((item, i) => {
    const expected = spec.results[i];
    if (!expected || !selectsResult(selector, expected)) return;
    if (selector.resourceOverride.length > 0 && typeof item === 'object' && item !== null) {
      const entry = { ...(item as Record<string, unknown>) };
      entry[keyOf(entry, 'resources') ?? 'resources'] = [...selector.resourceOverride];
      kept.push(entry);
    } else kept.push(item);
  });
  if (kept.length === 0) return null;
  return { ...doc, value: { ...(value as Record<string, unknown>), [resultsKey as string]: kept } };
}
