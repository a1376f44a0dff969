/**
 * The compilation Kyverno's policy webhook runs on a GeneratingPolicy or ValidatingPolicy
 * before admitting it (pkg/cel/policies/gpol and vpol Validate → their compilers' Compile):
 * matchConditions, variables, generate expressions or validations, and audit annotations,
 * each compiled in turn, the first section with errors ending the compilation. The expressions are type-checked by our CEL checker
 * (checkCelExpression), so the detail of a message is ours, not cel-go's; the paths, the
 * `Invalid value` framing and the compiler's leading placeholder error are Kyverno's. Pure.
 */
import type { JsonObject } from '../core/types';
import { asArray, asObject, formatFieldPath } from '../core/json';
import { checkCelExpression, type CelResultType } from './diagnostics';
import type { GeneratorScope } from './lib-kyverno';

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
  /** Kyverno stops at the first failing entry (generate, validations) or compiles them all (the others). */
  firstOnly: boolean;
  /** A second expression of each entry, which must give a string (a validation's messageExpression). */
  messageKey?: string;
}

// The compilers' leading placeholder (field.InternalError with a nil path), with their
// versions: version.MajorMinor(2, 0) for gpol, (1, 0) for vpol; vpol's JSON mode has none.
const placeholder = (compiler: string) => `<nil>: Internal error: ${compiler} error: failed to compile policy`;

const MATCH_CONDITIONS: Section = { at: ['spec', 'matchConditions'], key: 'expression', expect: 'bool', firstOnly: false };
const VARIABLES: Section = { at: ['spec', 'variables'], key: 'expression', expect: 'any', firstOnly: false };
// Kyverno also accepts null there, which the checker's expected type cannot say: not type-checked.
const AUDIT_ANNOTATIONS: Section = { at: ['spec', 'auditAnnotations'], key: 'valueExpression', expect: 'any', firstOnly: false };

const GPOL_SECTIONS: readonly Section[] = [MATCH_CONDITIONS, VARIABLES, { at: ['spec', 'generate'], key: 'expression', expect: 'bool', firstOnly: true }, AUDIT_ANNOTATIONS];
// CompileValidation: each validation's expression, then its messageExpression; the first failing validation ends it.
const VPOL_SECTIONS: readonly Section[] = [MATCH_CONDITIONS, VARIABLES, { at: ['spec', 'validations'], key: 'expression', expect: 'bool', firstOnly: true, messageKey: 'messageExpression' }, AUDIT_ANNOTATIONS];

function issueOf(path: ReadonlyArray<string | number>, expression: string, expect: CelResultType, variables: Array<{ name: string; expression: string }>, generatorScope?: GeneratorScope): CelCompileIssue | undefined {
  const problems = checkCelExpression(expression, { expect, variables, generatorScope });
  if (problems.length === 0) return undefined;
  // The checker's result-type mismatch in Kyverno's words (CompileMatchCondition, CompileValidation…).
  const detail = problems[0].message.startsWith('expression must evaluate to ') ? `output is expected to be of type ${expect}` : problems[0].message;
  return { path, message: `${formatFieldPath(path)}: Invalid value: ${JSON.stringify(expression)}: ${detail}` };
}

function sectionIssues(spec: JsonObject, section: Section, variables: Array<{ name: string; expression: string }>, generatorScope?: GeneratorScope): CelCompileIssue[] {
  const issues: CelCompileIssue[] = [];
  const list = asArray(asObject(spec)[String(section.at[section.at.length - 1])]);
  for (const [i, raw] of list.entries()) {
    const entry = asObject(raw);
    const expression = entry[section.key];
    // A generate entry with a template instead is compiled as a template (not covered here).
    if (typeof expression !== 'string' || expression === '') continue;
    const message = section.messageKey ? entry[section.messageKey] : undefined;
    const issue = issueOf([...section.at, i, section.key], expression, section.expect, variables, generatorScope)
      ?? (section.messageKey && typeof message === 'string' && message !== '' ? issueOf([...section.at, i, section.messageKey], message, 'string', variables, generatorScope) : undefined);
    if (!issue) continue;
    issues.push(issue);
    if (section.firstOnly) break;
  }
  return issues;
}

function compileIssues(policy: JsonObject, sections: readonly Section[], leading: string | undefined, generatorScope?: GeneratorScope): CelCompileIssue[] {
  const spec = asObject(policy.spec);
  const variables = asArray(spec.variables).map(asObject).map((v) => ({ name: String(v.name ?? ''), expression: String(v.expression ?? '') }));
  for (const section of sections) {
    const issues = sectionIssues(spec, section, variables, generatorScope);
    if (issues.length) return leading ? [{ path: ['spec'], message: leading, unplaced: true }, ...issues] : issues;
  }
  return [];
}

/**
 * The compile errors Kyverno's admission reports for a GeneratingPolicy (none: it compiles);
 * a cluster-wide one has only generator.apply(namespace, list).
 */
export function generatingPolicyCompileIssues(policy: JsonObject): CelCompileIssue[] {
  return compileIssues(policy, GPOL_SECTIONS, placeholder('generating policy compiler 2.0'), 'cluster');
}

/**
 * The compile errors Kyverno's admission reports for a ValidatingPolicy (none: it compiles).
 * Policies in the authorization modes (Envoy, HTTP: another environment) are not compiled here.
 */
export function validatingPolicyCompileIssues(policy: JsonObject): CelCompileIssue[] {
  const mode = String(asObject(asObject(policy.spec).evaluation).mode ?? 'Kubernetes');
  if (mode !== 'Kubernetes' && mode !== 'JSON') return [];
  return compileIssues(policy, VPOL_SECTIONS, mode === 'JSON' ? undefined : placeholder('validating policy compiler 1.0'));
}
