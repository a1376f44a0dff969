/** GeneratingPolicy, DeletingPolicy and ImageValidatingPolicy, as far as offline allows. */
import type { ApplyOptions } from '../apply';
import type { JsonObject, PolicyResponse, RuleResult } from '../core/types';
import { buildActivation, createRuntime, installVariables } from './context';
import { evalCel, typeOfCel } from './environment';
import { matchCelExceptions } from './exceptions';
import { matchConstraintsMatch } from './match';
import { emptyResponse } from './response';
import { evaluateMatchConditions } from './validations';
import { effectiveSpec } from './validating-policy';
import { wildcardMatch } from '../wildcard/wildcard';
import { asObject } from '../core/json';

function single(policy: JsonObject, options: ApplyOptions, r: Omit<RuleResult, 'type'> & { type?: RuleResult['type'] }): PolicyResponse {
  return emptyResponse(policy, options, [{ type: 'Validation', ...r }]);
}

/** Runs each `generate[].expression`; resources passed to generator.Apply are the result. */
export function applyGeneratingPolicy(policy: JsonObject, options: ApplyOptions): PolicyResponse {
  const spec = asObject(policy.spec);
  if (!matchConstraintsMatch(spec.matchConstraints, options.request, options.cluster)) return emptyResponse(policy, options);
  const runtime = createRuntime(options);
  const act = buildActivation(options, {}, runtime);
  const exceptions = matchCelExceptions(policy, options.cluster.exceptions, act);
  if (exceptions) return single(policy, options, { name: 'exception', type: 'Generation', status: 'skip', message: `rule is skipped due to policy exception: ${exceptions.keys.join(', ')}`, exceptions: exceptions.keys });
  const match = evaluateMatchConditions(spec.matchConditions, act, spec.failurePolicy);
  if (match.error) return single(policy, options, { name: '', type: 'Generation', status: 'error', message: match.error });
  if (!match.matched) return single(policy, options, { name: '', type: 'Generation', status: 'skip', message: 'skip' });
  installVariables(act, spec.variables);
  const generate = (Array.isArray(spec.generate) ? spec.generate : []) as JsonObject[];
  for (const [i, g] of generate.entries()) {
    try {
      const out = evalCel(String(g.expression ?? ''), act.vars);
      if (typeof out !== 'boolean') throw new Error(`generate[${i}] must evaluate to bool, got ${typeOfCel(out)}`);
    } catch (err) {
      return single(policy, options, { name: '', type: 'Generation', status: 'error', message: (err as Error).message });
    }
  }
  return single(policy, options, { name: '', type: 'Generation', status: 'pass', message: 'success', generatedResources: runtime.generated });
}

/**
 * A resource selected by matchConstraints is reported as the Kyverno CLI reports deleting
 * policies: pass ("resource matched") when every condition holds, so it would be deleted;
 * fail ("resource did not match") otherwise, also when a PolicyException exempts it (the
 * engine then answers "no match").
 */
export function applyDeletingPolicy(policy: JsonObject, options: ApplyOptions): PolicyResponse {
  const spec = asObject(policy.spec);
  if (!matchConstraintsMatch(spec.matchConstraints, options.request, options.cluster, { ignoreOperations: true })) return emptyResponse(policy, options);
  const act = buildActivation(options);
  const notMatched = { name: '', status: 'fail', message: 'resource did not match' } as const;
  const exceptions = matchCelExceptions(policy, options.cluster.exceptions, act);
  if (exceptions) return single(policy, options, { ...notMatched, exceptions: exceptions.keys });
  installVariables(act, spec.variables);
  const cond = evaluateMatchConditions(spec.conditions, act, 'Fail');
  if (cond.error) return single(policy, options, { name: '', status: 'error', message: cond.error });
  return single(policy, options, cond.matched ? { name: '', status: 'pass', message: 'resource matched' } : notMatched);
}

/** Container images of a pod (or pod template, for autogen'd controllers). */
function podImages(object: unknown): string[] {
  const spec = asObject(asObject(object).spec);
  const podSpec = spec.containers ? spec : asObject(asObject(spec.template).spec).containers ? asObject(asObject(spec.template).spec)
    : asObject(asObject(asObject(asObject(asObject(spec.jobTemplate).spec).template).spec));
  return ['initContainers', 'containers', 'ephemeralContainers'].flatMap((k) =>
    (Array.isArray(podSpec[k]) ? (podSpec[k] as JsonObject[]) : []).map((c) => String(c.image ?? '')));
}

/**
 * Image verification needs registry access (signatures, attestations); offline it reports that
 * clearly — but only when some image falls under matchImageReferences (approximation: globs
 * and CEL expressions on the image reference; no match → skip).
 */
export function applyImageValidatingPolicy(policy: JsonObject, options: ApplyOptions): PolicyResponse {
  const found = effectiveSpec(policy, options);
  if (!found) return emptyResponse(policy, options);
  const act = buildActivation(options);
  const match = evaluateMatchConditions(found.spec.matchConditions, act, found.spec.failurePolicy);
  if (match.error) return single(policy, options, { name: '', type: 'ImageVerify', status: 'error', message: match.error });
  if (!match.matched) return single(policy, options, { name: '', type: 'ImageVerify', status: 'skip', message: 'skip' });
  const refs = (Array.isArray(found.spec.matchImageReferences) ? found.spec.matchImageReferences : []) as JsonObject[];
  const images = podImages(options.request.object);
  const selected = refs.length === 0 ? images : images.filter((image) => refs.some((r) => {
    if (typeof r.glob === 'string') return wildcardMatch(r.glob, image);
    if (typeof r.expression === 'string') {
      try { return evalCel(r.expression, { ...act.vars, ref: image }) === true; } catch { return false; }
    }
    return false;
  }));
  if (selected.length === 0) return single(policy, options, { name: '', type: 'ImageVerify', status: 'skip', message: 'no image matches matchImageReferences' });
  return single(policy, options, { name: '', type: 'ImageVerify', status: 'error', message: 'ImageValidatingPolicy needs access to an OCI registry (signatures, attestations), which offline evaluation does not have' });
}
