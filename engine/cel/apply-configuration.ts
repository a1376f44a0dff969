/**
 * Server-side-apply style merge of an ApplyConfiguration into an object, as structured-merge-diff
 * does it. Two type converters exist in Kyverno: MutatingPolicy uses the OpenAPI schema of the
 * built-in types ('typed': list merge keys from the Kubernetes types' well-known `listMapKeys`,
 * other lists atomic), MutatingAdmissionPolicy a deduced one ('atomic': every list is replaced
 * whole). Maps merge recursively either way; null removes a field.
 */
import { isPlainObject } from './values';

const LIST_MAP_KEYS: Record<string, string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  volumes: ['name'],
  volumeMounts: ['mountPath'],
  volumeDevices: ['devicePath'],
  env: ['name'],
  ports: ['containerPort', 'protocol'],
  imagePullSecrets: ['name'],
  hostAliases: ['ip'],
  resourceClaims: ['name'],
  schedulingGates: ['name'],
  topologySpreadConstraints: ['topologyKey', 'whenUnsatisfiable'],
  conditions: ['type'],
  ownerReferences: ['uid'],
};

const SET_LISTS = new Set(['finalizers']);

function keyOf(item: unknown, keys: string[], field: string): string | null {
  if (!isPlainObject(item)) return null;
  if (field === 'ports' && !('containerPort' in item) && 'port' in item) return JSON.stringify([item.port, item.protocol ?? 'TCP']);
  return JSON.stringify(keys.map((k) => (item[k] ?? (k === 'protocol' ? 'TCP' : null))));
}

export type ListMerge = 'typed' | 'atomic';

function mergeList(field: string, base: unknown[], patch: unknown[], lists: ListMerge): unknown[] {
  if (lists === 'atomic') return patch;
  if (SET_LISTS.has(field)) return [...base, ...patch.filter((p) => !base.includes(p))];
  const keys = LIST_MAP_KEYS[field];
  if (!keys || !patch.every(isPlainObject) || !base.every(isPlainObject)) return patch;
  const out: unknown[] = [...base];
  for (const item of patch) {
    const k = keyOf(item, keys, field);
    const i = out.findIndex((b) => keyOf(b, keys, field) === k);
    if (i >= 0) out[i] = mergeValue(field, out[i], item, lists);
    else out.push(item);
  }
  return out;
}

function mergeValue(field: string, base: unknown, patch: unknown, lists: ListMerge): unknown {
  if (isPlainObject(patch) && isPlainObject(base)) return mergeApplyConfiguration(base as Record<string, unknown>, patch as Record<string, unknown>, lists);
  if (Array.isArray(patch) && Array.isArray(base)) return mergeList(field, base, patch, lists);
  return patch;
}

export function mergeApplyConfiguration(base: Record<string, unknown>, patch: Record<string, unknown>, lists: ListMerge = 'typed'): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) { delete out[k]; continue; }
    // An empty associative list adds no items, so an absent field stays absent.
    if (lists === 'typed' && !(k in out) && Array.isArray(v) && v.length === 0 && LIST_MAP_KEYS[k]) continue;
    out[k] = k in out ? mergeValue(k, out[k], v, lists) : v;
  }
  return out;
}
