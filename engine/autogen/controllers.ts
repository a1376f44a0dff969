/**
 * Which pod controllers Kyverno generates rules for (pkg/autogen/v1 CanAutoGen and the
 * `pod-policies.kyverno.io/autogen-controllers` annotation).
 */
import type { JsonObject } from '../core/types';
import { containsKind } from '../kube/selectors';
import { asArray, asObject } from '../core/json';

export const AUTOGEN_ANNOTATION = 'pod-policies.kyverno.io/autogen-controllers';

/** Kyverno's default controller set, in its own order. */
export const POD_CONTROLLERS = [
  'DaemonSet',
  'Deployment',
  'Job',
  'StatefulSet',
  'ReplicaSet',
  'ReplicationController',
  'CronJob',
] as const;

const POD_CONTROLLER_KINDS = new Set<string>([...POD_CONTROLLERS, 'Pod']);

export function kindsOf(description: unknown): string[] {
  return asArray(asObject(description).kinds).filter((k): k is string => typeof k === 'string');
}

export function rulesOf(policy: JsonObject): JsonObject[] {
  return asArray(asObject(policy.spec).rules).map(asObject);
}

export function annotationsOf(policy: JsonObject): Record<string, unknown> {
  return asObject(asObject(policy.metadata).annotations);
}

export interface AutogenSupport {
  apply: boolean;
  /** Default controllers when apply; `['none']` when a rule shape forbids autogen; `[]` when nothing needs it. */
  controllers: string[];
  /** Why autogen does not apply (for hovers). */
  reason?: string;
}

function isSet(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** Why a resource description blocks autogen, or undefined; `needed` learns whether it names a pod kind. */
function blocker(description: unknown, needed: { value: boolean }): string | undefined {
  const d = asObject(description);
  const kinds = kindsOf(d);
  if (typeof d.name === 'string' && d.name !== '') return 'a name is set in match/exclude';
  if (asArray(d.names).length > 0) return 'names are set in match/exclude';
  if (isSet(d.selector)) return 'a label selector is set in match/exclude';
  if (isSet(d.annotations)) return 'annotations are set in match/exclude';
  if (kinds.length > 1 && containsKind(kinds, 'Pod')) return 'Pod is matched together with other kinds';
  // Exact names only, as Kyverno: `v1/Pod` does not ask for autogen.
  if (kinds.some((k) => POD_CONTROLLER_KINDS.has(k))) needed.value = true;
  return undefined;
}

function filterDescriptions(block: unknown, includeLegacy: boolean): unknown[] {
  const b = asObject(block);
  const out: unknown[] = includeLegacy ? [b.resources] : [];
  for (const f of asArray(b.any)) out.push(asObject(f).resources);
  for (const f of asArray(b.all)) out.push(asObject(f).resources);
  return out;
}

/** Kyverno's CanAutoGen over all rules of a policy spec. */
export function canAutoGen(policy: JsonObject): AutogenSupport {
  const needed = { value: false };
  for (const rule of rulesOf(policy)) {
    const ruleName = String(rule.name ?? '');
    if (isSet(rule.generate)) {
      return { apply: false, controllers: ['none'], reason: `rule ${ruleName} has a generate rule` };
    }
    const mutate = asObject(rule.mutate);
    if (isSet(rule.mutate)) {
      if (typeof mutate.patchesJson6902 === 'string' && mutate.patchesJson6902 !== '') {
        return { apply: false, controllers: ['none'], reason: `rule ${ruleName} uses patchesJson6902` };
      }
      for (const f of asArray(mutate.foreach)) {
        const p = asObject(f).patchesJson6902;
        if (typeof p === 'string' && p !== '') {
          return { apply: false, controllers: ['none'], reason: `rule ${ruleName} uses patchesJson6902 in foreach` };
        }
      }
    }
    const descriptions = [...filterDescriptions(rule.match, true)];
    if (isSet(rule.exclude)) descriptions.push(...filterDescriptions(rule.exclude, true));
    for (const d of descriptions) {
      const why = blocker(d, needed);
      if (why) return { apply: false, controllers: [], reason: `rule ${ruleName}: ${why}` };
    }
  }
  if (!needed.value) return { apply: false, controllers: [], reason: 'no rule matches Pod or a pod controller' };
  return { apply: true, controllers: [...POD_CONTROLLERS] };
}

/**
 * The controller set Kyverno computes rules with: the annotation's list when autogen
 * applies and the annotation is present, else the supported default (`none` when it does not apply).
 */
export function actualControllers(policy: JsonObject): { controllers: Set<string>; support: AutogenSupport } {
  const support = canAutoGen(policy);
  if (!support.apply) return { controllers: new Set(['none']), support };
  const ann = annotationsOf(policy)[AUTOGEN_ANNOTATION];
  if (ann === undefined || ann === null) return { controllers: new Set(support.controllers), support };
  return { controllers: new Set(String(ann).split(',')), support };
}
