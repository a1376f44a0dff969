/** CEL PolicyExceptions (policies.kyverno.io PolicyException) for CEL policy kinds. */
import type { JsonObject } from '../core/types';
import { evalCelBool } from './environment';
import type { CelActivation } from './context';
import { asArray, asObject } from '../core/json';

export interface MatchedExceptions {
  keys: string[];
  reportResult: 'pass' | 'skip';
  /** Images/values the exceptions allow; when present the policy still runs (exceptions.*). */
  allowedImages: string[];
  allowedValues: string[];
  /** Some matched exception allows neither images nor values: it exempts the resource entirely. */
  full: boolean;
}

function exceptionKey(ex: JsonObject): string {
  const meta = asObject(ex.metadata);
  return meta.namespace ? `${String(meta.namespace)}/${String(meta.name ?? '')}` : String(meta.name ?? '');
}

/** Exceptions whose policyRefs name this policy and whose matchConditions all hold. */
export function matchCelExceptions(policy: JsonObject, exceptions: JsonObject[], act: CelActivation): MatchedExceptions | null {
  const name = String(asObject(policy.metadata).name ?? '');
  const kind = String(policy.kind ?? '');
  const matched: JsonObject[] = [];
  for (const ex of exceptions) {
    if (!String(ex.apiVersion ?? '').startsWith('policies.kyverno.io/') || ex.kind !== 'PolicyException') continue;
    const spec = asObject(ex.spec);
    const refs = (Array.isArray(spec.policyRefs) ? spec.policyRefs : []) as JsonObject[];
    if (!refs.some((r) => String(r.name ?? '') === name && (!r.kind || String(r.kind) === kind))) continue;
    const conditions = (Array.isArray(spec.matchConditions) ? spec.matchConditions : []) as JsonObject[];
    let all = true;
    for (const c of conditions) {
      try {
        if (!evalCelBool(String(c.expression ?? ''), act.vars)) { all = false; break; }
      } catch {
        all = false;
        break;
      }
    }
    if (all) matched.push(ex);
  }
  if (!matched.length) return null;
  // The exception with the highest priority label decides the reported result.
  let chosen = matched[0], best = -Infinity;
  for (const ex of matched) {
    const p = Number(asObject(asObject(ex.metadata).labels)['kyverno.io/exception-priority'] ?? NaN);
    if (Number.isFinite(p) && p > best) { best = p; chosen = ex; }
  }
  const spec = (ex: JsonObject) => asObject(ex.spec);
  return {
    keys: matched.map(exceptionKey),
    reportResult: String(spec(chosen).reportResult ?? '') === 'pass' ? 'pass' : 'skip',
    allowedImages: matched.flatMap((ex) => (Array.isArray(spec(ex).images) ? spec(ex).images as unknown[] : []).map(String)),
    allowedValues: matched.flatMap((ex) => (Array.isArray(spec(ex).allowedValues) ? spec(ex).allowedValues as unknown[] : []).map(String)),
    full: matched.some((ex) => !asArray(spec(ex).images).length && !asArray(spec(ex).allowedValues).length),
  };
}
