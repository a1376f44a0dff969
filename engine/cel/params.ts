/** paramKind/paramRef resolution against offline cluster resources. */
import type { ApplyOptions } from '../apply';
import type { JsonObject } from '../core/types';
import { requestTarget, selectorMatches } from './match';
import { asObject } from '../core/json';
import { lookupKnownKind } from '../kube/known-kinds';
import { crdOf } from '../context/api-server';
import { pluralOf } from '../kube';
import { apiPath } from './lib-cluster';

/**
 * Whether the param kind is namespaced, as discovery answers (a CustomResourceDefinition among
 * the cluster's resources, else a well-known kind); undefined when neither knows the kind.
 */
function paramKindNamespaced(apiVersion: string, kind: string, resources: readonly JsonObject[]): boolean | undefined {
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  const crd = crdOf(resources, group, kind);
  if (crd) return asObject(crd.spec).scope !== 'Cluster';
  return lookupKnownKind(group, kind)?.namespaced;
}

/**
 * The parameter object of a classic CEL rule (Kyverno's admissionpolicy.CollectParams): a
 * namespaced paramKind is looked up in paramRef.namespace, else in the request's namespace
 * (an error when there is none); a cluster-scoped one without a namespace (an error when
 * paramRef names one). A kind whose scope nothing tells is looked up by the namespace given, if any.
 */
export function resolveParams(paramKind: unknown, paramRef: unknown, options: ApplyOptions, defaultNamespace = ''): { value: unknown; error?: string } {
  const kind = asObject(paramKind);
  const ref = asObject(paramRef);
  if (!paramKind || !paramRef) return { value: null };
  const candidates = options.cluster.resources.filter((r) => r.apiVersion === kind.apiVersion && r.kind === kind.kind);
  let ns = String(ref.namespace ?? defaultNamespace);
  const namespaced = paramKindNamespaced(String(kind.apiVersion ?? ''), String(kind.kind ?? ''), options.cluster.resources);
  if (namespaced === true && !ns) return { value: null, error: "can't use namespaced paramRef to match cluster-scoped resources" };
  if (namespaced === false) {
    if (ref.namespace) return { value: null, error: 'paramRef.namespace must not be provided for a cluster-scoped `paramKind`' };
    ns = '';
  }
  const inScope = candidates.filter((r) => !ns || String(asObject(r.metadata).namespace ?? '') === ns);
  let found: JsonObject[];
  if (ref.name) found = inScope.filter((r) => asObject(r.metadata).name === ref.name);
  else found = inScope.filter((r) => selectorMatches(ref.selector ?? {}, asObject(asObject(r.metadata).labels) as Record<string, string>));
  if (found.length) return { value: found[0] };
  if (String(ref.parameterNotFoundAction ?? 'Deny') === 'Allow') return { value: null };
  return { value: null, error: `failed to find resource referenced by paramRef: ${String(kind.kind)} ${ns ? ns + '/' : ''}${String(ref.name ?? '')}` };
}

/**
 * Whether a parameter object is the one a binding's paramRef names, as the Kyverno CLI
 * decides offline (pkg/admissionpolicy matchesSelector): a selector matches on labels;
 * otherwise namespace and then name are compared, the name deciding when both are set.
 */
function paramRefSelects(ref: JsonObject, param: JsonObject): boolean {
  const meta = asObject(param.metadata);
  if (ref.selector !== undefined && ref.selector !== null) return selectorMatches(ref.selector, asObject(meta.labels) as Record<string, string>);
  let matches = false;
  if (ref.namespace) matches = String(meta.namespace ?? '') === String(ref.namespace);
  if (ref.name) matches = String(meta.name ?? '') === String(ref.name);
  return matches;
}

/**
 * The `params` a binding gives its admission policy offline (the Kyverno CLI without a
 * cluster): the first parameter object the paramRef names, or with a selector every match
 * as a list (`{ items: [...] }`); null when nothing matches. parameterNotFoundAction plays
 * no part there: the policy is evaluated with null params.
 */
export function selectBindingParams(paramRef: unknown, parameters: readonly JsonObject[]): JsonObject | null {
  if (!paramRef || typeof paramRef !== 'object') return null;
  const ref = asObject(paramRef);
  const selected = parameters.filter((p) => paramRefSelects(ref, p));
  if (selected.length === 0) return null;
  if (ref.selector === undefined || ref.selector === null) return selected[0];
  return { items: selected };
}

/**
 * The params a binding gives its admission policy when Kyverno's CLI holds a cluster client
 * (`apply --cluster`: admissionpolicy.CollectParams through the API server, not the offline
 * selection above): a namespaced paramKind is read in paramRef.namespace, else in the
 * object's namespace (an error for a cluster-scoped object); a cluster-scoped one only
 * without paramRef.namespace. By name, that object (an API server's not found is an error);
 * by selector, the objects it selects: the one object, or a list when there are several.
 * The objects are the cluster's resources; a read they cannot answer is noted for the caller
 * (`apiCallMisses`) to make before evaluating again (a list always: only the API server
 * knows the whole of it). `value` null: no params (Kyverno would index an empty list).
 */
export function collectBindingParams(paramKind: unknown, paramRef: unknown, options: ApplyOptions): { value: JsonObject | null } | { error: string } {
  const target = requestTarget(options.request);
  // A Namespace is evaluated without a namespace of its own (admissionpolicy's namespaceName).
  const objectNamespace = target.kind === 'Namespace' && target.group === '' ? '' : target.namespace;
  const kind = asObject(paramKind);
  const ref = asObject(paramRef);
  const apiVersion = String(kind.apiVersion ?? '');
  const kindName = String(kind.kind ?? '');
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  if (!paramKind || apiVersion.split('/').length > 2) return { error: "can't parse the parameter resource group version" };
  const resources = options.cluster.resources;
  let ns = '';
  const namespaced = paramKindNamespaced(apiVersion, kindName, resources);
  if (namespaced !== false) {
    ns = String(ref.namespace ?? '') || objectNamespace;
    if (namespaced === true && !ns) return { error: "can't use namespaced paramRef to match cluster-scoped resources" };
  } else if (ref.namespace) return { error: 'paramRef.namespace must not be provided for a cluster-scoped `paramKind`' };
  const crd = crdOf(resources, group, kindName);
  const plural = crd ? String(asObject(asObject(crd.spec).names).plural ?? '') : pluralOf(group, kindName);
  // The API server serves every stored version: any version of the group answers.
  const groupOf = (v: string): string => (v.includes('/') ? v.slice(0, v.indexOf('/')) : '');
  const inScope = resources.filter((r) => r.kind === kindName && groupOf(String(r.apiVersion ?? '')) === group && String(asObject(r.metadata).namespace ?? '') === ns);
  const misses = options.cluster.apiCallMisses;
  if (ref.name) {
    const found = inScope.find((r) => asObject(r.metadata).name === ref.name);
    if (found) return { value: found };
    misses?.add(apiPath(apiVersion, plural, ns, String(ref.name)));
    return { error: `${group ? `${plural}.${group}` : plural} "${String(ref.name)}" not found` };
  }
  if (ref.selector === undefined || ref.selector === null) return { value: null };
  misses?.add(apiPath(apiVersion, plural, ns));
  const selected = inScope.filter((r) => selectorMatches(ref.selector, asObject(asObject(r.metadata).labels) as Record<string, string>));
  if (selected.length === 0) return String(ref.parameterNotFoundAction ?? '') === 'Deny' ? { error: 'no params found' } : { value: null };
  return { value: selected.length === 1 ? selected[0] : { items: selected } };
}
