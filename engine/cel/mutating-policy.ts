/**
 * MutatingPolicy / NamespacedMutatingPolicy (Kyverno's mpol engine: one rule named "" with
 * "success"/"skip", "evaluation" on errors, "exception" for exceptions) and the mutation core MutatingAdmissionPolicy
 * shares: mutations run in order, each seeing the object as the previous ones left it;
 * JSONPatch mutations yield RFC 6902 operations, ApplyConfiguration mutations a partial
 * object merged server-side-apply style.
 */
import { applyPatch, type Operation } from 'fast-json-patch';
import type { ApplyOptions } from '../apply';
import type { JsonObject, PolicyResponse, RuleResult } from '../core/types';
import { mergeApplyConfiguration } from './apply-configuration';
import { buildActivation, installVariables, type CelActivation } from './context';
import { evalCel, typeOfCel } from './environment';
import { matchCelExceptions } from './exceptions';
import { emptyResponse } from './response';
import { evaluateMatchConditions } from './validations';
import { effectiveSpec } from './validating-policy';
import { fromCel, isPlainObject, toCel } from './values';

function asObject(v: unknown): JsonObject {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : {};
}

/** Applies `mutations` to `object`; throws with a clear message on a bad mutation. */
export function runMutations(mutations: unknown, object: JsonObject, act: CelActivation): JsonObject {
  let current = structuredClone(object);
  const list = (Array.isArray(mutations) ? mutations : []) as JsonObject[];
  list.forEach((m, index) => {
    act.vars.object = toCel(current);
    const type = String(m.patchType ?? '');
    if (type === 'JSONPatch') {
      const expr = String(asObject(m.jsonPatch).expression ?? '');
      const out = fromCel(evalCel(expr, act.vars));
      if (!Array.isArray(out)) throw new Error(`mutation ${index}: JSONPatch expression must return a list, got ${typeOfCel(out)}`);
      const ops = out.map((op) => {
        const o = asObject(op);
        const clean: JsonObject = { op: o.op, path: o.path };
        if ('value' in o) clean.value = o.value;
        if ('from' in o) clean.from = o.from;
        return clean;
      });
      try {
        current = applyPatch(current, ops as unknown as Operation[], true, false).newDocument as JsonObject;
      } catch (err) {
        throw new Error(`mutation ${index}: JSON patch failed: ${(err as Error).message.split('\n')[0]}`);
      }
    } else if (type === 'ApplyConfiguration') {
      const expr = String(asObject(m.applyConfiguration).expression ?? '');
      const out = fromCel(evalCel(expr, act.vars));
      if (!isPlainObject(out)) throw new Error(`mutation ${index}: ApplyConfiguration expression must return an object, got ${typeOfCel(out)}`);
      current = mergeApplyConfiguration(current, out) as JsonObject;
    } else {
      throw new Error(`mutation ${index}: unsupported patchType '${type}'`);
    }
  });
  return current;
}

export function applyMutatingPolicy(policy: JsonObject, options: ApplyOptions): PolicyResponse {
  const found = effectiveSpec(policy, options);
  if (!found) return emptyResponse(policy, options);
  const { spec } = found;
  const object = asObject(options.request.object);
  const respond = (status: RuleResult['status'], message: string, patched?: JsonObject, name = ''): PolicyResponse => {
    const res = emptyResponse(policy, options, [{ name, type: 'Mutation', status, message, ...(patched ? { patchedResource: patched } : {}) }]);
    if (patched) res.patchedResource = patched;
    return res;
  };
  const act = buildActivation(options);
  const exceptions = matchCelExceptions(policy, options.cluster.exceptions, act);
  if (exceptions) {
    const verb = exceptions.reportResult === 'pass' ? 'passed' : 'skipped';
    return { ...respond(exceptions.reportResult, `rule is ${verb} due to policy exception: ${exceptions.keys.join(', ')}`, undefined, 'exception'), };
  }
  // MutatingPolicy variables are visible to matchConditions (they are lazy, so cost nothing).
  installVariables(act, spec.variables);
  const match = evaluateMatchConditions(spec.matchConditions, act, spec.failurePolicy);
  if (match.error) return respond('error', `failed to evaluate policy: ${match.error}`, undefined, 'evaluation');
  if (!match.matched) return respond('skip', 'skip');
  try {
    const patched = runMutations(spec.mutations, object, act);
    return respond('pass', 'success', patched);
  } catch (err) {
    return respond('error', `failed to evaluate policy: ${(err as Error).message}`, undefined, 'evaluation');
  }
}
