/**
 * The activation CEL policy expressions see: object, oldObject, request (AdmissionRequest
 * shape), namespaceObject, params, variables (lazy, in declaration order) and Kyverno's
 * libraries bound to the offline cluster state.
 */
import type { ApplyOptions } from '../apply';
import type { JsonObject } from '../core/types';
import { evalCel, type CelDialect } from './environment';
import { kyvernoActivation, type CelRuntime } from './lib-kyverno';
import { namespaceObject, requestTarget } from './match';
import { toCel, toCelDocument } from './values';

export interface CelActivation {
  vars: Record<string, unknown>;
  runtime: CelRuntime;
}

export function admissionRequestOf(options: ApplyOptions): JsonObject {
  const r = options.request;
  const t = requestTarget(r);
  const user = r.requestInfo?.userInfo ?? {};
  // The target is what the request is matched by (a subresource's parent resource); the kind
  // is the object's own, as the API server sends it (autoscaling/v1 Scale for deployments/scale).
  const kind = r.kind ? { group: r.kind.group, version: r.kind.version, kind: r.kind.kind } : { group: t.group, version: t.version, kind: t.kind };
  return {
    uid: '',
    kind,
    resource: { group: t.group, version: t.version, resource: t.resource },
    subResource: t.subResource,
    requestKind: kind,
    requestResource: { group: t.group, version: t.version, resource: t.resource },
    name: t.name,
    namespace: t.namespace,
    operation: r.operation,
    userInfo: { username: user.username ?? '', uid: user.uid ?? '', groups: user.groups ?? [], extra: user.extra ?? {} },
    object: r.object,
    oldObject: r.oldObject,
    dryRun: r.dryRun ?? false,
    options: null,
    roles: r.requestInfo?.roles ?? [],
    clusterRoles: r.requestInfo?.clusterRoles ?? [],
  };
}

/** ApplyOptions as the CEL engine passes them on: a Namespaced* policy's namespace scopes its libraries. */
export interface CelApplyOptions extends ApplyOptions {
  policyNamespace?: string;
}

export function createRuntime(options: CelApplyOptions): CelRuntime {
  return { cluster: options.cluster, now: options.now ?? new Date(), generated: [], policyNamespace: options.policyNamespace ?? '' };
}

export interface ActivationInput {
  object?: unknown;
  oldObject?: unknown;
  params?: unknown;
  /** Set false for JSON evaluation mode: only object and variables exist. */
  kubernetes?: boolean;
}

export function buildActivation(options: ApplyOptions, input: ActivationInput = {}, runtime = createRuntime(options)): CelActivation {
  const r = options.request;
  const vars: Record<string, unknown> = { ...kyvernoActivation(runtime) };
  vars.object = toCelDocument(input.object !== undefined ? input.object : r.object);
  if (input.kubernetes !== false) {
    vars.oldObject = toCelDocument(input.oldObject !== undefined ? input.oldObject : r.oldObject);
    // object/oldObject are converted once and shared with request.object/request.oldObject;
    // `request` stays the admission request when they are given (a mutate-existing target).
    const req = admissionRequestOf(options);
    vars.request = {
      ...(toCel({ ...req, object: null, oldObject: null }) as Record<string, unknown>),
      object: input.object !== undefined ? toCelDocument(r.object) : vars.object,
      oldObject: input.oldObject !== undefined ? toCelDocument(r.oldObject) : vars.oldObject,
    };
    const ns = requestTarget(r).namespace;
    vars.namespaceObject = toCel(namespaceObject(ns, options.cluster));
    vars.params = toCel(input.params ?? null);
    vars.authorizer = null;
  }
  vars.variables = {};
  return { vars, runtime };
}

/**
 * Installs policy variables as lazily evaluated, memoised entries of `variables`: a variable is
 * computed on first use and may refer to the ones declared before it. A failing variable
 * throws where it is used, as in Kubernetes.
 */
export function installVariables(act: CelActivation, variables: unknown, dialect?: CelDialect): void {
  const target: Record<string, unknown> = {};
  const list = (Array.isArray(variables) ? variables : []) as JsonObject[];
  for (const v of list) {
    const name = String(v.name ?? '');
    const expression = String(v.expression ?? '');
    let state: 'new' | 'busy' | 'done' = 'new';
    let value: unknown;
    Object.defineProperty(target, name, {
      enumerable: true,
      configurable: true,
      get() {
        if (state === 'done') return value;
        if (state === 'busy') throw new Error(`variable "${name}" refers to itself`);
        state = 'busy';
        try {
          value = evalCel(expression, act.vars, dialect);
        } catch (err) {
          state = 'new';
          throw new Error(`variable "${name}": ${(err as Error).message}`);
        }
        state = 'done';
        return value;
      },
    });
  }
  act.vars.variables = target;
}
