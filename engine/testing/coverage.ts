/**
 * Test coverage of policies: which rules (and, inside them, which CEL validations) the
 * resources of a `kyverno test` run exercised, read from the engine responses the run already
 * produced (no second evaluation).
 *
 * Definitions (what the engine can tell):
 * - a rule is **matched** when the engine returned a result for it on some resource (any
 *   status: Kyverno reports no result for a rule whose match/exclude does not select the
 *   resource), and **exercised** when one of those results is not `skip` (a skip is a
 *   precondition not met, an exception or a rule that did not apply);
 * - its **preconditions** (classic `preconditions`, CEL `matchConditions`) were evaluated when
 *   the rule matched and held when it was exercised;
 * - a **CEL validation** (`spec.validations[i]`, `validate.cel.expressions[i]`) is exercised
 *   when an evaluation reached it: Kyverno evaluates them in order and stops at the first that
 *   fails or errors (`RuleResult.validationsEvaluated`). Patterns, deny conditions and foreach
 *   blocks are covered at rule level only: the engine reports one result per rule.
 * Autogen rules (`autogen-…`, `autogen-cronjob-…`) count for the rule they were made from.
 */
import type { JsonObject, RuleResult } from '../core/types';
import { asObject } from '../core/json';
import { nodeSpanOfPath, parseYamlText, positionAt, type JsonPath } from '../loader/document';
import type { EngineResponse } from '../evaluate';

export interface CoveragePart {
  /** JSON path of the part in its policy document. */
  path: Array<string | number>;
  /** What the part is: `preconditions`, `validation`. */
  kind: 'preconditions' | 'validation';
  exercised: boolean;
}

export interface RuleCoverage {
  /** The rule's name (classic), or the policy's kind for CEL policies (one unit each). */
  name: string;
  path: Array<string | number>;
  matched: boolean;
  exercised: boolean;
  /** Result counts by status over every resource of the run(s). */
  results: Record<string, number>;
  parts: CoveragePart[];
}

export interface PolicyCoverage {
  file: string;
  /** 0-based position of the policy document in its file. */
  document: number;
  kind: string;
  name: string;
  namespace?: string;
  rules: RuleCoverage[];
}

/** Where a policy was read from. */
export interface PolicySource {
  policy: JsonObject;
  file: string;
  document: number;
}

const CLASSIC_KINDS = new Set(['ClusterPolicy', 'Policy']);

function keyOf(kind: string, name: string, namespace: string | undefined): string {
  return `${kind}\u0000${namespace ?? ''}\u0000${name}`;
}

/** The rules of a policy as coverage units, with their paths, before any result is added. */
function unitsOf(policy: JsonObject): Array<{ rule: RuleCoverage; names: Set<string> | null; validations: number }> {
  const spec = asObject(policy.spec);
  if (CLASSIC_KINDS.has(String(policy.kind))) {
    const rules = Array.isArray(spec.rules) ? spec.rules : [];
    return rules.map((r, i) => {
      const rule = asObject(r);
      const name = String(rule.name ?? '');
      const path = ['spec', 'rules', i];
      const expressions = asObject(asObject(asObject(rule.validate).cel)).expressions;
      const validations = Array.isArray(expressions) ? expressions.length : 0;
      const parts: CoveragePart[] = [];
      if (rule.preconditions !== undefined) parts.push({ path: [...path, 'preconditions'], kind: 'preconditions', exercised: false });
      if (asObject(asObject(rule.validate).cel).preconditions !== undefined) parts.push({ path: [...path, 'validate', 'cel', 'preconditions'], kind: 'preconditions', exercised: false });
      for (let j = 0; j < validations; j++) parts.push({ path: [...path, 'validate', 'cel', 'expressions', j], kind: 'validation', exercised: false });
      return { rule: { name, path, matched: false, exercised: false, results: {}, parts }, names: new Set([name, `autogen-${name}`, `autogen-cronjob-${name}`]), validations };
    });
  }
  const validations = Array.isArray(spec.validations) ? spec.validations.length : 0;
  const parts: CoveragePart[] = [];
  if (spec.matchConditions !== undefined) parts.push({ path: ['spec', 'matchConditions'], kind: 'preconditions', exercised: false });
  for (let j = 0; j < validations; j++) parts.push({ path: ['spec', 'validations', j], kind: 'validation', exercised: false });
  return [{ rule: { name: String(policy.kind), path: ['spec'], matched: false, exercised: false, results: {}, parts }, names: null, validations }];
}

function addResult(unit: { rule: RuleCoverage; validations: number }, result: RuleResult): void {
  const { rule } = unit;
  rule.matched = true;
  rule.results[result.status] = (rule.results[result.status] ?? 0) + 1;
  if (result.status === 'skip') return;
  rule.exercised = true;
  let index = 0;
  for (const part of rule.parts) {
    if (part.kind === 'preconditions') part.exercised = true;
    else part.exercised ||= index++ < (result.validationsEvaluated ?? (result.status === 'pass' ? unit.validations : 0));
  }
}

/** Coverage of each policy from the responses of a run (every run of the test: default, per operation, payloads). */
export function computeCoverage(sources: PolicySource[], responses: Iterable<EngineResponse>): PolicyCoverage[] {
  const byKey = new Map<string, Array<{ rule: RuleCoverage; names: Set<string> | null; validations: number }>>();
  const out: PolicyCoverage[] = [];
  for (const s of sources) {
    const meta = asObject(s.policy.metadata);
    const namespace = typeof meta.namespace === 'string' ? meta.namespace : undefined;
    const units = unitsOf(s.policy);
    byKey.set(keyOf(String(s.policy.kind), String(meta.name ?? ''), namespace), units);
    out.push({ file: s.file, document: s.document, kind: String(s.policy.kind), name: String(meta.name ?? ''), ...(namespace ? { namespace } : {}), rules: units.map((u) => u.rule) });
  }
  for (const response of responses) {
    const units = byKey.get(keyOf(response.policy.kind, response.policy.name, response.policy.namespace || undefined));
    if (!units) continue;
    for (const result of response.rules) {
      const unit = units.find((u) => u.names === null || u.names.has(result.name));
      if (unit) addResult(unit, result);
    }
  }
  return out;
}

/** Coverage of the same policies from several tests, merged (a rule is exercised when any test exercised it). */
export function mergeCoverage(lists: Iterable<PolicyCoverage[]>): PolicyCoverage[] {
  const merged = new Map<string, PolicyCoverage>();
  for (const list of lists) {
    for (const p of list) {
      const key = `${p.file}\u0000${p.document}\u0000${keyOf(p.kind, p.name, p.namespace)}`;
      const seen = merged.get(key);
      if (!seen) {
        merged.set(key, structuredClone(p));
        continue;
      }
      p.rules.forEach((r, i) => {
        const into = seen.rules[i];
        if (!into) return;
        into.matched ||= r.matched;
        into.exercised ||= r.exercised;
        for (const [status, n] of Object.entries(r.results)) into.results[status] = (into.results[status] ?? 0) + n;
        r.parts.forEach((part, j) => {
          if (into.parts[j]) into.parts[j].exercised ||= part.exercised;
        });
      });
    }
  }
  return [...merged.values()].sort((a, b) => a.file.localeCompare(b.file) || a.document - b.document);
}

export interface CoverageCounts {
  rules: number;
  rulesExercised: number;
  validations: number;
  validationsExercised: number;
}

function countsOf(policies: PolicyCoverage[]): CoverageCounts {
  const c: CoverageCounts = { rules: 0, rulesExercised: 0, validations: 0, validationsExercised: 0 };
  for (const p of policies) {
    for (const r of p.rules) {
      c.rules++;
      if (r.exercised) c.rulesExercised++;
      for (const part of r.parts) {
        if (part.kind !== 'validation') continue;
        c.validations++;
        if (part.exercised) c.validationsExercised++;
      }
    }
  }
  return c;
}

/** Totals per folder of policy files (folder → counts), in folder order. */
export function coverageByFolder(policies: PolicyCoverage[]): Array<{ folder: string } & CoverageCounts> {
  const folders = new Map<string, PolicyCoverage[]>();
  for (const p of policies) {
    const cut = p.file.lastIndexOf('/');
    const folder = cut > 0 ? p.file.slice(0, cut) : '.';
    folders.set(folder, [...(folders.get(folder) ?? []), p]);
  }
  return [...folders.keys()].sort().map((folder) => ({ folder, ...countsOf(folders.get(folder)!) }));
}

export function coverageTotals(policies: PolicyCoverage[]): CoverageCounts {
  return countsOf(policies);
}

/** A covered unit with its place in the policy file: 0-based lines and characters. */
export interface CoverageRange {
  /** `rule` for a rule or a CEL policy, else the part's kind. */
  kind: 'rule' | CoveragePart['kind'];
  label: string;
  exercised: boolean;
  start: { line: number; character: number };
  end: { line: number; character: number };
}

/**
 * Places the coverage of the policies of one file in its text (the loader's positions): one
 * range per rule and per part, in file order. Units whose path cannot be found are left out.
 */
export function coverageRanges(text: string, policies: PolicyCoverage[]): CoverageRange[] {
  const parsed = parseYamlText(text);
  const out: CoverageRange[] = [];
  const place = (document: number, path: JsonPath, kind: CoverageRange['kind'], label: string, exercised: boolean) => {
    const doc = parsed.docs[document];
    const span = doc && nodeSpanOfPath(doc, path);
    if (!span) return;
    // A block collection's range runs to the next key's line; end at the last non-blank character.
    let end = span.end;
    while (end > span.start && /\s/.test(text[end - 1])) end--;
    out.push({ kind, label, exercised, start: positionAt(parsed.lines, span.start), end: positionAt(parsed.lines, end) });
  };
  for (const p of policies) {
    for (const r of p.rules) {
      place(p.document, r.path, 'rule', `${p.name}/${r.name}`, r.exercised);
      for (const part of r.parts) place(p.document, part.path, part.kind, `${p.name}/${r.name} ${part.kind} ${part.path.join('.')}`, part.exercised);
    }
  }
  return out.sort((a, b) => a.start.line - b.start.line || a.start.character - b.start.character);
}
