/**
 * The cluster's Namespaces as the server processes see them at admission: their labels (for a
 * rule's `namespaceSelector`) and the objects themselves (CEL `namespaceObject`), as Kyverno reads
 * both from its Namespace informer. Kept apart from the policy set so a namespace change only
 * replaces this state and never rebuilds the PolicyIndex.
 */
import type { ClusterState, JsonObject } from '../engine/core/types';
import { asObject, isJsonObject } from '../engine/core/json';

export interface NamespaceState {
  /** Labels by namespace name. */
  labels: Record<string, Record<string, string>>;
  /** Namespace objects by name, without managedFields (never read, and the bulk of the object). */
  objects: Record<string, JsonObject>;
}

export function namespaceStateOf(namespaces: Iterable<unknown>): NamespaceState {
  const state: NamespaceState = { labels: {}, objects: {} };
  for (const ns of namespaces) {
    if (!isJsonObject(ns)) continue;
    const metadata = asObject(ns.metadata);
    if (typeof metadata.name !== 'string') continue;
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(asObject(metadata.labels))) labels[k] = String(v);
    state.labels[metadata.name] = labels;
    const { managedFields: _unused, ...kept } = metadata;
    state.objects[metadata.name] = { ...ns, apiVersion: 'v1', kind: 'Namespace', metadata: kept };
  }
  return state;
}

/** `cluster` (the policy set's state) with the watched namespaces; unchanged while none are known. */
export function withNamespaces(cluster: ClusterState, namespaces: NamespaceState | null): ClusterState {
  if (!namespaces) return cluster;
  return { ...cluster, namespaceLabels: { ...namespaces.labels, ...cluster.namespaceLabels }, namespaceObjects: { ...namespaces.objects, ...cluster.namespaceObjects } };
}
