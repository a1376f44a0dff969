/** Which kinds a policy's generate rules write: what the webhook must be allowed to create. */
import { asObject } from '../core/json';

type Json = Record<string, unknown>;

function kindSpec(target: Json): string | undefined {
  const kind = typeof target.kind === 'string' ? target.kind : '';
  // A kind chosen by a variable cannot be granted ahead of time.
  if (!kind || kind.includes('{{')) return undefined;
  const apiVersion = typeof target.apiVersion === 'string' && !target.apiVersion.includes('{{') ? target.apiVersion : '';
  return apiVersion ? `${apiVersion}/${kind}` : kind;
}

/** Kinds written by generate rules, as "apiVersion/Kind" or "Kind" (the match-kind syntax). */
export function generatedKinds(policies: Json[]): string[] {
  const out = new Set<string>();
  for (const policy of policies) {
    if (policy.kind !== 'ClusterPolicy' && policy.kind !== 'Policy') continue;
    const rules = asObject(policy.spec).rules;
    for (const rule of Array.isArray(rules) ? rules.map(asObject) : []) {
      const generate = asObject(rule.generate);
      if (Object.keys(generate).length === 0) continue;
      const targets = [generate, ...(Array.isArray(generate.foreach) ? generate.foreach.map(asObject) : [])];
      for (const t of targets) {
        const spec = kindSpec(t);
        if (spec) out.add(spec);
        const listed = asObject(t.cloneList).kinds;
        for (const k of Array.isArray(listed) ? listed : []) if (typeof k === 'string' && !k.includes('{{')) out.add(k);
      }
    }
  }
  return [...out].sort();
}

