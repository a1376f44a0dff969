/**
 * The structural checks Kyverno's CLI loader gets from the policy CRD schemas: a policy
 * whose fields have the wrong types (or lack required ones) is rejected with a one-line
 * message instead of being evaluated into a misleading result. Only what the schemas
 * require is checked, so every policy Kyverno accepts passes.
 */
import type { JsonObject } from '../core/types';
import { apiGroup, isObject } from '../loader/classify';
import { formatFieldPath } from '../core/json';

/** A JSON path into the policy document and what is wrong with the value there. */
export interface ShapeIssue {
  path: Array<string | number>;
  message: string;
}
type Problem = ShapeIssue | null;
type Path = Array<string | number>;

const typeName = (v: unknown) => (Array.isArray(v) ? 'a list' : v === null ? 'null' : isObject(v) ? 'a mapping' : `a ${typeof v}`);


const issue = (path: Path, message: string): ShapeIssue => ({ path, message: `${formatFieldPath(path)} ${message}` });

function expectMapping(v: unknown, path: Path, required = false): Problem {
  if (v === undefined) return required ? issue(path, 'is required') : null;
  return isObject(v) ? null : issue(path, `must be a mapping, not ${typeName(v)}`);
}

function expectList(v: unknown, path: Path, required = false): Problem {
  if (v === undefined) return required ? issue(path, 'is required') : null;
  return Array.isArray(v) ? null : issue(path, `must be a list, not ${typeName(v)}`);
}

function expectString(v: unknown, path: Path, required = false): Problem {
  if (v === undefined) return required ? issue(path, 'is required') : null;
  return typeof v === 'string' ? null : issue(path, `must be a string, not ${typeName(v)}`);
}

function first(...problems: Problem[]): Problem {
  return problems.find((p) => p !== null) ?? null;
}

function listOf(v: unknown, path: Path, item: (x: unknown, at: Path) => Problem): Problem {
  const p = expectList(v, path);
  if (p || !Array.isArray(v)) return p;
  for (let i = 0; i < v.length; i++) {
    const q = item(v[i], [...path, i]);
    if (q) return q;
  }
  return null;
}

const stringItem = (x: unknown, at: Path) => (typeof x === 'string' ? null : issue(at, `must be a string, not ${typeName(x)}`));
const mappingItem = (x: unknown, at: Path) => expectMapping(x, at, true);

/** ResourceDescription: what the CRD types as lists of strings must be lists (`kinds: Pod` is not). */
function resourceDescriptionProblem(v: unknown, path: Path): Problem {
  const p = expectMapping(v, path);
  if (p || !isObject(v)) return p;
  return first(
    ...['kinds', 'names', 'namespaces', 'operations'].map((k) => listOf(v[k], [...path, k], stringItem)),
    expectString(v.name, [...path, 'name']),
    expectMapping(v.annotations, [...path, 'annotations']),
    expectMapping(v.selector, [...path, 'selector']),
    expectMapping(v.namespaceSelector, [...path, 'namespaceSelector']),
  );
}

/** A ResourceFilter (an item of any/all) or the legacy fields of a match/exclude block. */
function userAndResourceProblem(v: Record<string, unknown>, path: Path): Problem {
  return first(
    resourceDescriptionProblem(v.resources, [...path, 'resources']),
    listOf(v.subjects, [...path, 'subjects'], mappingItem),
    listOf(v.roles, [...path, 'roles'], stringItem),
    listOf(v.clusterRoles, [...path, 'clusterRoles'], stringItem),
  );
}

/** match / exclude (MatchResources): any and all are lists of ResourceFilters. */
function matchResourcesProblem(v: unknown, path: Path, required: boolean): Problem {
  const p = expectMapping(v, path, required);
  if (p || !isObject(v)) return p;
  const filter = (x: unknown, at: Path) => expectMapping(x, at, true) ?? userAndResourceProblem(x as Record<string, unknown>, at);
  return first(listOf(v.any, [...path, 'any'], filter), listOf(v.all, [...path, 'all'], filter), userAndResourceProblem(v, path));
}

function classicRuleProblem(rule: unknown, path: Path): Problem {
  if (!isObject(rule)) return issue(path, `must be a mapping, not ${typeName(rule)}`);
  const validate = rule.validate;
  return first(
    expectString(rule.name, [...path, 'name'], true),
    matchResourcesProblem(rule.match, [...path, 'match'], true),
    matchResourcesProblem(rule.exclude, [...path, 'exclude'], false),
    listOf(rule.context, [...path, 'context'], mappingItem),
    expectMapping(validate, [...path, 'validate']),
    expectMapping(rule.mutate, [...path, 'mutate']),
    expectMapping(rule.generate, [...path, 'generate']),
    expectList(rule.verifyImages, [...path, 'verifyImages']),
    isObject(validate) ? expectString(validate.message, [...path, 'validate', 'message']) : null,
    isObject(validate) ? listOf(validate.foreach, [...path, 'validate', 'foreach'], mappingItem) : null,
  );
}

/** Fields the policies.kyverno.io CRDs require in spec, per kind (Namespaced* alike). */
const REQUIRED_CEL_FIELDS: Record<string, string[]> = {
  GeneratingPolicy: ['generate'],
  DeletingPolicy: ['schedule'],
  ImageValidatingPolicy: ['attestors', 'validations'],
};

function celSpecProblem(kind: string, spec: JsonObject): Problem {
  const required = REQUIRED_CEL_FIELDS[kind.replace(/^Namespaced/, '')] ?? [];
  const missing = required.find((f) => spec[f] === undefined);
  if (missing) return issue(['spec', missing], 'is required');
  return first(
    expectMapping(spec.matchConstraints, ['spec', 'matchConstraints']),
    listOf(spec.validations, ['spec', 'validations'], mappingItem),
    listOf(spec.mutations, ['spec', 'mutations'], mappingItem),
    listOf(spec.variables, ['spec', 'variables'], mappingItem),
    listOf(spec.matchConditions, ['spec', 'matchConditions'], mappingItem),
  );
}

/** The first structural problem of a policy document, with the path of the value at fault. */
export function policyShapeIssue(policy: JsonObject): Problem {
  const group = apiGroup(String(policy.apiVersion ?? ''));
  const kind = String(policy.kind ?? '');
  const spec = policy.spec;
  const kyvernoKind = group === 'kyverno.io' || group === 'policies.kyverno.io';
  const specProblem = expectMapping(spec, ['spec'], kyvernoKind);
  if (specProblem || !isObject(spec)) return specProblem;
  if (group === 'kyverno.io') {
    const rulesProblem = expectList(spec.rules, ['spec', 'rules']);
    if (rulesProblem || !Array.isArray(spec.rules)) return rulesProblem;
    for (let i = 0; i < spec.rules.length; i++) {
      const p = classicRuleProblem(spec.rules[i], ['spec', 'rules', i]);
      if (p) return p;
    }
    return null;
  }
  if (group === 'policies.kyverno.io') return celSpecProblem(kind, spec);
  return null;
}

/** The first structural problem's message (null when the policy is well-formed). */
export function policyShapeProblem(policy: JsonObject): string | null {
  return policyShapeIssue(policy)?.message ?? null;
}
