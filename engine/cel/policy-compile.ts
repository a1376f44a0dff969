/**
 * The compilation Kyverno's policy webhook runs on a GeneratingPolicy before admitting it
 * (pkg/cel/policies/gpol Validate → its compiler's Compile): matchConditions, variables,
 * generate expressions and audit annotations, each compiled in turn, the first section with
 * errors ending the compilation. The expressions are type-checked by our CEL checker
 * (checkCelExpression), so the detail of a message is ours, not cel-go's; the paths, the
 * `Invalid value` framing and the compiler's leading placeholder error are Kyverno's. Pure.
 */
import type { JsonObject } from '../core/types';
import { asArray, asObject, formatFieldPath } from '../core/json';
import { checkCelExpression, type CelResultType } from './diagnostics';

export interface CelCompileIssue {
  path: ReadonlyArray<string | number>;
  message: string;
  unplaced?: boolean;
}

interface Section {
  /** The list's path in the document, e.g. ['spec', 'matchConditions']. */
  at: ReadonlyArray<string | number>;
  /** The expression's key in each entry. */
  key: string;
  expect: CelResultType;
  /** Kyverno stops at the first failing entry (generate) or compiles them all (the others). */
  firstOnly: boolean;
}

// version.MajorMinor(2, 0) of the gpol compiler; field.InternalError with a nil path.
const GPOL_PLACEHOLDER = '<nil>: Internal error: generating policy compiler 2.0 error: failed to compile policy';

const GPOL_SECTIONS: readonly Section[] = [
  { at: ['spec', 'matchConditions'], key: 'expression', expect: 'bool', firstOnly: false },
  { at: ['spec', 'variables'], key: 'expression', expect: 'any', firstOnly: false },
  { at: ['spec', 'generate'], key: 'expression', expect: 'bool', firstOnly: true },
  // Kyverno also accepts null there, which the checker's expected type cannot say: not type-checked.
  { at: ['spec', 'auditAnnotations'], key: 'valueExpression', expect: 'any', firstOnly: false },
];

function sectionIssues(spec: JsonObject, section: Section, variables: Array<{ name: string; expression: string }>): CelCompileIssue[] {
  const issues: CelCompileIssue[] = [];
  const list = asArray(asObject(spec)[String(section.at[section.at.length - 1])]);
  for (const [i, entry] of list.entries()) {
    const expression = asObject(entry)[section.key];
    // A generate entry with a template instead is compiled as a template (not covered here).
    if (typeof expression !== 'string' || expression === '') continue;
    const problems = checkCelExpression(expression, { expect: section.expect, variables });
    if (problems.length === 0) continue;
    const path = [...section.at, i, section.key];
    // The checker's result-type mismatch in Kyverno's words (CompileMatchCondition, CompileGeneration).
    const detail = problems[0].message.startsWith('expression must evaluate to ') ? `output is expected to be of type ${section.expect}` : problems[0].message;
    issues.push({ path, message: `${formatFieldPath(path)}: Invalid value: ${JSON.stringify(expression)}: ${detail}` });
    if (section.firstOnly) break;
  }
  return issues;
}

/** The compile errors Kyverno's admission reports for a GeneratingPolicy (none: it compiles). */
export function generatingPolicyCompileIssues(policy: JsonObject): CelCompileIssue[] {
  const spec = asObject(policy.spec);
  const variables = asArray(spec.variables).map(asObject).map((v) => ({ name: String(v.name ?? ''), expression: String(v.expression ?? '') }));
  for (const section of GPOL_SECTIONS) {
    const issues = sectionIssues(spec, section, variables);
    if (issues.length) return [{ path: ['spec'], message: GPOL_PLACEHOLDER, unplaced: true }, ...issues];
  }
  return [];
}
