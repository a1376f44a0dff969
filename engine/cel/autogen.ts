/**
 * CEL autogen (pkg/cel/autogen): a policy matching exactly `pods` (core/v1, no selectors,
 * exclusions or resource names) also applies to pod controllers, with `object.spec`/
 * `object.metadata` rewritten to the pod template. `spec.autogen.podControllers.controllers`
 * narrows the controllers (keys are lower-case plural resources, as in Kyverno's config map).
 */
import type { JsonObject } from '../core/types';
import { asObject } from '../core/json';
import { findKnownKinds } from '../kube';

interface ControllerConfig { group: string; version: string; resource: string; kind: string; cronjob: boolean }

/** Pod controllers by plural resource (the keys of Kyverno's autogen config), from the well-known kinds. */
const CONTROLLERS: Record<string, ControllerConfig> = Object.fromEntries(
  (['DaemonSet', 'Deployment', 'ReplicaSet', 'StatefulSet', 'Job', 'CronJob'] as const).map((kind) => {
    const k = findKnownKinds(kind)[0];
    return [k.plural, { group: k.group, version: k.version, resource: k.plural, kind, cronjob: kind === 'CronJob' }];
  }),
);

function nonEmptySelector(s: unknown): boolean {
  const sel = asObject(s);
  return Object.keys(asObject(sel.matchLabels)).length > 0 || (Array.isArray(sel.matchExpressions) && sel.matchExpressions.length > 0);
}

export function canAutogen(matchConstraints: unknown): boolean {
  const m = asObject(matchConstraints);
  if (!matchConstraints || nonEmptySelector(m.namespaceSelector) || nonEmptySelector(m.objectSelector)) return false;
  if (Array.isArray(m.excludeResourceRules) && m.excludeResourceRules.length) return false;
  const rules = Array.isArray(m.resourceRules) ? (m.resourceRules as JsonObject[]) : [];
  if (rules.length !== 1) return false;
  const r = rules[0];
  const one = (v: unknown, want: string) => Array.isArray(v) && v.length === 1 && v[0] === want;
  if (Array.isArray(r.resourceNames) && r.resourceNames.length) return false;
  return one(r.apiGroups, '') && one(r.apiVersions, 'v1') && one(r.resources, 'pods');
}

/** The controller config for a kind this policy autogenerates for, if any. */
export function autogenTargetFor(spec: JsonObject, group: string, version: string, kind: string): ControllerConfig | null {
  if (!canAutogen(spec.matchConstraints)) return null;
  const configured = asObject(asObject(spec.autogen).podControllers).controllers;
  const keys = Array.isArray(configured) ? configured.map(String) : Object.keys(CONTROLLERS);
  for (const key of keys) {
    const c = CONTROLLERS[key];
    if (c && c.kind === kind && c.group === group && c.version === version) return c;
  }
  return null;
}

/** The resources autogenTargetFor can answer for with this spec (what a kind index must cover). */
export function autogenResources(spec: JsonObject): string[] {
  if (!canAutogen(spec.matchConstraints)) return [];
  const configured = asObject(asObject(spec.autogen).podControllers).controllers;
  const keys = Array.isArray(configured) ? configured.map(String) : Object.keys(CONTROLLERS);
  return keys.flatMap((key) => (Object.hasOwn(CONTROLLERS, key) ? [CONTROLLERS[key].resource] : []));
}

/** Autogen specs per policy spec and controller: every request of that kind asks again. */
const generatedSpecs = new WeakMap<JsonObject, Map<string, JsonObject>>();

/**
 * Rewrites pod paths in every string of the spec, as Kyverno's JSON-level replacement does.
 * Memoised per spec object (policies are immutable once loaded); the answer is shared, read-only.
 */
export function autogenSpec(spec: JsonObject, target: ControllerConfig): JsonObject {
  let bySpec = generatedSpecs.get(spec);
  if (!bySpec) generatedSpecs.set(spec, (bySpec = new Map()));
  let generated = bySpec.get(target.resource);
  if (!generated) bySpec.set(target.resource, (generated = generateSpec(spec, target)));
  return generated;
}

function generateSpec(spec: JsonObject, target: ControllerConfig): JsonObject {
  const prefix = target.cronjob ? 'spec.jobTemplate.spec.template' : 'spec.template';
  const operations = asObject((asObject(spec.matchConstraints).resourceRules as JsonObject[])[0]).operations;
  const rewrite = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(/\b(object|oldObject)\.(\??)(spec|metadata)\b/g, (_m, root: string, opt: string, field: string) => `${root}.${opt}${prefix.split('.').join(`.${opt}`)}.${opt}${field}`);
    if (Array.isArray(v)) return v.map(rewrite);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rewrite(x)]));
    return v;
  };
  const out = rewrite({ ...spec, matchConstraints: undefined }) as JsonObject;
  out.matchConstraints = {
    resourceRules: [{ apiGroups: [target.group], apiVersions: [target.version], operations: operations ?? ['*'], resources: [target.resource] }],
  };
  return out;
}

/** MutatingPolicy autogen specs per policy spec and controller. */
const generatedMutatingSpecs = new WeakMap<JsonObject, Map<string, JsonObject>>();

/**
 * A MutatingPolicy's spec for a pod controller (pkg/cel/policies/mpol/autogen): the match
 * constraints name the controller; only the matchConditions and the ApplyConfiguration
 * expressions are rewritten — `object|oldObject|Object.spec` and `.metadata.labels|annotations`
 * to the pod template, and a root `Object{…}` wrapped into the template's path.
 */
export function mutatingAutogenSpec(spec: JsonObject, target: ControllerConfig): JsonObject {
  let bySpec = generatedMutatingSpecs.get(spec);
  if (!bySpec) generatedMutatingSpecs.set(spec, (bySpec = new Map()));
  let generated = bySpec.get(target.resource);
  if (!generated) bySpec.set(target.resource, (generated = generateMutatingSpec(spec, target)));
  return generated;
}

function podToTemplateExpression(expression: string, cronjob: boolean): string {
  const template = cronjob ? 'spec.jobTemplate.spec.template' : 'spec.template';
  let out = expression
    .replace(/\b(object|oldObject|Object)\.spec/g, `$1.${template}.spec`)
    .replace(/\b(object|oldObject|Object)\.metadata\.labels/g, `$1.${template}.metadata.labels`)
    .replace(/\b(object|oldObject|Object)\.metadata\.annotations/g, `$1.${template}.metadata.annotations`);
  const trimmed = out.trim();
  if (!trimmed.startsWith('Object')) return out;
  const rest = trimmed.slice('Object'.length).replace(/^[ \t\r\n]+/, '');
  if (!rest.startsWith('{')) return out;
  const content = rest.slice(1);
  let depth = 1;
  let end = 0;
  for (let i = 0; i < content.length; i++) {
    if (content[i] === '{') depth++;
    else if (content[i] === '}' && --depth === 0) {
      end = i;
      break;
    }
  }
  if (end === 0) return out;
  const [wrapper, closing] = cronjob
    ? ['Object{spec: Object.spec{jobTemplate: Object.spec.jobTemplate{spec: Object.spec.jobTemplate.spec{template: Object.spec.jobTemplate.spec.template{', '}}}}}']
    : ['Object{spec: Object.spec{template: Object.spec.template{', '}}}'];
  out = wrapper + content.slice(0, end) + closing + content.slice(end + 1);
  return out;
}

function generateMutatingSpec(spec: JsonObject, target: ControllerConfig): JsonObject {
  const constraints = asObject(spec.matchConstraints);
  const operations = asObject((constraints.resourceRules as JsonObject[])[0]).operations;
  const convert = (e: unknown) => (typeof e === 'string' && e !== '' ? podToTemplateExpression(e, target.cronjob) : e);
  return {
    ...spec,
    matchConstraints: {
      resourceRules: [{ apiGroups: [target.group], apiVersions: [target.version], operations: operations ?? ['*'], resources: [target.resource] }],
      ...(constraints.namespaceSelector !== undefined ? { namespaceSelector: constraints.namespaceSelector } : {}),
    },
    ...(Array.isArray(spec.matchConditions) ? { matchConditions: spec.matchConditions.map((c) => ({ ...asObject(c), expression: convert(asObject(c).expression) })) } : {}),
    ...(Array.isArray(spec.mutations)
      ? {
          mutations: spec.mutations.map((m) => {
            const mutation = asObject(m);
            const apply = asObject(mutation.applyConfiguration);
            return mutation.applyConfiguration ? { ...mutation, applyConfiguration: { ...apply, expression: convert(apply.expression) } } : mutation;
          }),
        }
      : {}),
  };
}
