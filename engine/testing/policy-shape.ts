/**
 * The structural checks Kyverno's CLI loader gets from the policy CRD schemas: a policy
 * whose fields have the wrong types (or lack required ones) is rejected with a one-line
 * message instead of being evaluated into a misleading result. Only what the schemas
 * require is checked, so every policy Kyverno accepts passes.
 */
import type { JsonObject } from '../core/types';
import { apiGroup, isObject } from '../loader/classify';

type Problem = string | null;

const typeName = (v: unknown) => (Array.isArray(v) ? 'a list' : v === null ? 'null' : isObject(v) ? 'a mapping' : `a ${typeof v}`);

function expectMapping(v: unknown, at: string, required = false): Problem {
  if (v === undefined) return required ? `${at} is required` : null;
  return isObject(v) ? null : `${at} must be a mapping, not ${typeName(v)}`;
}

function expectList(v: unknown, at: string, required = false): Problem {
  if (v === undefined) return required ? `${at} is required` : null;
  return Array.isArray(v) ? null : `${at} must be a list, not ${typeName(v)}`;
}

function expectString(v: unknown, at: string, required = false): Problem {
  if (v === undefined) return required ? `${at} is required` : null;
  return typeof v === 'string' ? null : `${at} must be a string, not ${typeName(v)}`;
}

function first(...problems: Problem[]): Problem {
  return problems.find((p) => p !== null) ?? null;
}

function classicRuleProblem(rule: unknown, at: string): Problem {
  if (!isObject(rule)) return `${at} must be a mapping, not ${typeName(rule)}`;
  const validate = rule.validate;
  return first(
    expectString(rule.name, `${at}.name`, true),
    expectMapping(rule.match, `${at}.match`, true),
    expectMapping(rule.exclude, `${at}.exclude`),
    expectList(rule.context, `${at}.context`),
    expectMapping(validate, `${at}.validate`),
    expectMapping(rule.mutate, `${at}.mutate`),
    expectMapping(rule.generate, `${at}.generate`),
    expectList(rule.verifyImages, `${at}.verifyImages`),
    isObject(validate) ? expectString(validate.message, `${at}.validate.message`) : null,
  );
}

function listOfMappings(v: unknown, at: string, required = false): Problem {
  const p = expectList(v, at, required);
  if (p || !Array.isArray(v)) return p;
  const bad = v.findIndex((item) => !isObject(item));
  return bad < 0 ? null : `${at}[${bad}] must be a mapping, not ${typeName(v[bad])}`;
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
  if (missing) return `spec.${missing} is required`;
  return first(
    expectMapping(spec.matchConstraints, 'spec.matchConstraints'),
    listOfMappings(spec.validations, 'spec.validations'),
    listOfMappings(spec.mutations, 'spec.mutations'),
    listOfMappings(spec.variables, 'spec.variables'),
    listOfMappings(spec.matchConditions, 'spec.matchConditions'),
  );
}

/** The first structural problem of a policy document (null when it is well-formed). */
export function policyShapeProblem(policy: JsonObject): Problem {
  const group = apiGroup(String(policy.apiVersion ?? ''));
  const kind = String(policy.kind ?? '');
  const spec = policy.spec;
  const kyvernoKind = group === 'kyverno.io' || group === 'policies.kyverno.io';
  const specProblem = expectMapping(spec, 'spec', kyvernoKind);
  if (specProblem || !isObject(spec)) return specProblem;
  if (group === 'kyverno.io') {
    const rulesProblem = expectList(spec.rules, 'spec.rules');
    if (rulesProblem || !Array.isArray(spec.rules)) return rulesProblem;
    for (let i = 0; i < spec.rules.length; i++) {
      const p = classicRuleProblem(spec.rules[i], `spec.rules[${i}]`);
      if (p) return p;
    }
    return null;
  }
  if (group === 'policies.kyverno.io') return celSpecProblem(kind, spec);
  return null;
}
