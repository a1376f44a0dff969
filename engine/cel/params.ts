/** paramKind/paramRef resolution against offline cluster resources. */
import type { ApplyOptions } from '../apply';
import type { JsonObject } from '../core/types';
import { selectorMatches } from './match';
import { asObject } from '../core/json';

export function resolveParams(paramKind: unknown, paramRef: unknown, options: ApplyOptions, defaultNamespace = ''): { value: unknown; error?: string } {
  const kind = asObject(paramKind);
  const ref = asObject(paramRef);
  if (!paramKind || !paramRef) return { value: null };
  const candidates = options.cluster.resources.filter((r) => r.apiVersion === kind.apiVersion && r.kind === kind.kind);
  const ns = String(ref.namespace ?? defaultNamespace);
  const inScope = candidates.filter((r) => !ns || String(asObject(r.metadata).namespace ?? '') === ns);
  let found: JsonObject[];
  if (ref.name) found = inScope.filter((r) => asObject(r.metadata).name === ref.name);
  else found = inScope.filter((r) => selectorMatches(ref.selector ?? {}, asObject(asObject(r.metadata).labels) as Record<string, string>));
  if (found.length) return { value: found[0] };
  if (String(ref.parameterNotFoundAction ?? 'Deny') === 'Allow') return { value: null };
  return { value: null, error: `failed to find resource referenced by paramRef: ${String(kind.kind)} ${ns ? ns + '/' : ''}${String(ref.name ?? '')}` };
}

/**
 * The params a binding's paramRef selects offline, as the Kyverno CLI does for admission
 * policies (pkg/admissionpolicy, without a cluster): it searches the test's parameter objects
 * whatever their kind. With a selector, every object whose labels match, as a list
 * (`params.items`); without one, the first object matching by name (or, with no name, by
 * namespace). Null when nothing matches or there is no paramRef.
 */
export function selectBindingParams(paramRef: unknown, parameterResources: readonly JsonObject[]): JsonObject | null {
  if (!paramRef || typeof paramRef !== 'object') return null;
  const ref = asObject(paramRef);
  const hasSelector = ref.selector !== undefined && ref.selector !== null;
  const matches = (r: JsonObject): boolean => {
    const meta = asObject(r.metadata);
    if (hasSelector) return selectorMatches(ref.selector, asObject(meta.labels) as Record<string, string>);
    if (ref.name) return meta.name === ref.name;
    if (ref.namespace) return meta.namespace === ref.namespace;
    return false;
  };
  if (!hasSelector) return parameterResources.find(matches) ?? null;
  const items = parameterResources.filter(matches);
  return items.length ? { items } : null;
}
