/**
 * mutate.targets (mutate existing): resolve each target selector (variables substituted),
 * pick the matching resources from the ones the caller knows (test `targetResources`,
 * cluster state), and run the rule's patches on each with `target` in scope.
 */
import type { JsonObject } from '../core/types';
import { wildcardMatch } from '../wildcard/wildcard';
import { substituteVariables, withVariables, type VariableScope } from '../variables';

export interface TargetSelector {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  selector?: { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> };
}

export interface ResolvedTarget {
  resource: JsonObject;
  context?: unknown[];
  preconditions?: unknown;
}

const meta = (r: JsonObject): JsonObject => (r.metadata ?? {}) as JsonObject;

/** Substitutes variables in one target spec (Kyverno: "failed to substitute variables in target[i]"). */
export function resolveTargetSpec(spec: JsonObject, index: number, scope: VariableScope): TargetSelector {
  const { context: _c, preconditions: _p, ...selector } = spec;
  try {
    return substituteVariables(selector, scope) as TargetSelector;
  } catch (e) {
    throw new Error(`failed to substitute variables in target[${index}]: ${(e as Error).message}`);
  }
}

/** The candidate resources a resolved selector designates (namespaced policies only see their namespace). */
export function selectTargets(selector: TargetSelector, candidates: JsonObject[], policyNamespace?: string): JsonObject[] {
  const namespace = policyNamespace ?? selector.namespace ?? '';
  const name = selector.name ?? '';
  return candidates.filter((r) => {
    if (selector.apiVersion && !wildcardMatch(selector.apiVersion, String(r.apiVersion ?? ''))) return false;
    if (selector.kind && !kindMatches(selector.kind, r)) return false;
    const m = meta(r);
    if (namespace && !wildcardMatch(namespace, String(m.namespace ?? ''))) return false;
    if (name && !wildcardMatch(name, String(m.name ?? ''))) return false;
    if (selector.uid && selector.uid !== m.uid) return false;
    if (selector.selector && !labelSelectorMatches(selector.selector, (m.labels ?? {}) as Record<string, string>)) return false;
    return true;
  });
}

// A kind may carry a subresource ("Deployment/scale"): the target is the parent kind.
function kindMatches(kind: string, r: JsonObject): boolean {
  const plain = kind.includes('/') ? kind.slice(0, kind.indexOf('/')) : kind;
  return wildcardMatch(plain, String(r.kind ?? ''));
}

export function labelSelectorMatches(selector: NonNullable<TargetSelector['selector']>, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const expr of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, expr.key);
    const values = expr.values ?? [];
    switch (expr.operator) {
      case 'In': if (!has || !values.includes(labels[expr.key])) return false; break;
      case 'NotIn': if (has && values.includes(labels[expr.key])) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

/** Resolves every target spec of a rule against the candidates. Errors are collected, not thrown. */
export function loadTargets(
  specs: unknown[], scope: VariableScope, candidates: JsonObject[], policyNamespace?: string,
): { targets: ResolvedTarget[]; errors: string[] } {
  const targets: ResolvedTarget[] = [];
  const errors: string[] = [];
  specs.forEach((raw, i) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      errors.push(`target[${i}] must be a map`);
      return;
    }
    const spec = raw as JsonObject;
    try {
      const selector = resolveTargetSpec(spec, i, scope);
      for (const resource of selectTargets(selector, candidates, policyNamespace)) {
        targets.push({ resource, context: spec.context as unknown[] | undefined, preconditions: spec.preconditions });
      }
    } catch (e) {
      errors.push((e as Error).message);
    }
  });
  return { targets, errors };
}

/** The scope a target is mutated in: `target` is the target resource. */
export function targetScope(scope: VariableScope, target: JsonObject): VariableScope {
  return withVariables(scope, { target });
}
