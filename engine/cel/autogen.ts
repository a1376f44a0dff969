/**
 * CEL autogen (pkg/cel/autogen): a policy matching exactly `pods` (core/v1, no object
 * selector, exclusions or resource names; a namespace selector is carried over) also applies
 * to pod controllers, with `object.spec`/`object.metadata` rewritten to the pod template.
 * `spec.autogen.podControllers.controllers` narrows the controllers (keys are lower-case
 * plural resources, as in Kyverno's config map). `autogenConfigs` is what Kyverno's policy
 * status controller records under `status.autogen.configs` (pkg/cel/policies/vpol/autogen).
 */
import type { JsonObject } from '../core/types';
import { asObject } from '../core/json';
import { findKnownKinds } from '../kube';

interface ControllerConfig { group: string; version: string; resource: string; kind: string; cronjob: boolean }

/** Kyverno's ReplacementsMap: the pod paths of each controller family (pkg/cel/autogen/data.go). */
const REPLACEMENTS: Record<'defaults' | 'cronjobs', Array<[string, string]>> = {
  defaults: [['spec', 'spec.template.spec'], ['metadata', 'spec.template.metadata']],
  cronjobs: [['spec', 'spec.jobTemplate.spec.template.spec'], ['metadata', 'spec.jobTemplate.spec.template.metadata']],
};

const replacementsRef = (c: ControllerConfig): 'defaults' | 'cronjobs' => (c.cronjob ? 'cronjobs' : 'defaults');

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
  // Kyverno's CanAutoGen: the namespace selector does not prevent autogen (it is carried over).
  if (!matchConstraints || nonEmptySelector(m.objectSelector)) return false;
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

/**
 * Kyverno's Replacement.Apply over the JSON text of a spec: every `object.<from>` and
 * `oldObject.<from>` becomes `…<to>`, except where `.namespace` follows as a whole name
 * (`object.metadata.namespace` stays the request's namespace).
 */
function replaceText(text: string, from: string, to: string): string {
  let out = '';
  let rest = text;
  for (let i = rest.indexOf(from); i >= 0; i = rest.indexOf(from)) {
    out += rest.slice(0, i);
    rest = rest.slice(i + from.length);
    out += /^\.namespace(?![A-Za-z0-9_])/.test(rest) ? from : to;
  }
  return out + rest;
}

function applyReplacements(value: JsonObject, ref: 'defaults' | 'cronjobs'): JsonObject {
  let text = JSON.stringify(value);
  for (const [from, to] of REPLACEMENTS[ref]) {
    text = replaceText(text, `object.${from}`, `object.${to}`);
    text = replaceText(text, `oldObject.${from}`, `oldObject.${to}`);
  }
  return JSON.parse(text) as JsonObject;
}

/** Kyverno's CreateMatchConstraints: one rule per group/version with its sorted resources, the namespace selector kept. */
function matchConstraintsFor(targets: ControllerConfig[], operations: unknown, namespaceSelector: unknown): JsonObject | undefined {
  if (targets.length === 0 || !Array.isArray(operations) || operations.length === 0) return undefined;
  const byGroupVersion = new Map<string, { group: string; version: string; resources: Set<string> }>();
  for (const t of targets) {
    const key = `${t.group}\u0000${t.version}`;
    const entry = byGroupVersion.get(key) ?? { group: t.group, version: t.version, resources: new Set<string>() };
    entry.resources.add(t.resource);
    byGroupVersion.set(key, entry);
  }
  const resourceRules = [...byGroupVersion.values()]
    .sort((a, b) => compare(a.group, b.group) || compare(a.version, b.version))
    .map((e) => ({ apiGroups: [e.group], apiVersions: [e.version], operations, resources: [...e.resources].sort(compare) }));
  return namespaceSelector !== undefined && namespaceSelector !== null ? { resourceRules, namespaceSelector } : { resourceRules };
}

/** Go's byte-wise string order (cmp.Compare, sort.Strings). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function generateSpec(spec: JsonObject, target: ControllerConfig): JsonObject {
  // Evaluation matches a rule without operations as any operation (the schema requires them).
  return generateFor(spec, [target], replacementsRef(target), ['*']);
}

function generateFor(spec: JsonObject, targets: ControllerConfig[], ref: 'defaults' | 'cronjobs', defaultOperations?: string[]): JsonObject {
  const match = asObject(spec.matchConstraints);
  const operations = asObject((match.resourceRules as JsonObject[])[0]).operations ?? defaultOperations;
  const { matchConstraints: _match, ...rest } = spec;
  const constraints = matchConstraintsFor(targets, operations, match.namespaceSelector);
  return applyReplacements(constraints ? { ...rest, matchConstraints: constraints } : rest, ref);
}

/**
 * `status.autogen.configs` as Kyverno's policy status controller writes it for a validating
 * policy (vpolautogen.Autogen): per replacement family (`defaults`, `cronjobs`) the sorted
 * targets and the rewritten spec; undefined when the policy does not autogen.
 */
export function autogenConfigs(spec: JsonObject): Record<string, JsonObject> | undefined {
  if (!canAutogen(spec.matchConstraints)) return undefined;
  const configured = asObject(asObject(spec.autogen).podControllers).controllers;
  const keys = Array.isArray(configured) ? configured.map(String) : Object.keys(CONTROLLERS);
  const families = new Map<'defaults' | 'cronjobs', ControllerConfig[]>();
  for (const key of new Set(keys)) {
    if (!Object.hasOwn(CONTROLLERS, key)) continue;
    const c = CONTROLLERS[key];
    families.set(replacementsRef(c), [...(families.get(replacementsRef(c)) ?? []), c]);
  }
  const out: Record<string, JsonObject> = {};
  for (const ref of [...families.keys()].sort(compare)) {
    const targets = families.get(ref)!.sort((a, b) => compare(a.group, b.group) || compare(a.version, b.version) || compare(a.resource, b.resource) || compare(a.kind, b.kind));
    out[ref] = {
      targets: targets.map((t) => ({ ...(t.group ? { group: t.group } : {}), version: t.version, resource: t.resource, kind: t.kind })),
      spec: generateFor(spec, targets, ref),
    };
  }
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

export function podToTemplateExpression(expression: string, cronjob: boolean): string {
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
