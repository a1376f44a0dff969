/**
 * The offline cluster (ClusterState) an evaluation runs against, set up in one place for
 * `kyverno-studio apply`, the run commands and the language server. Kyverno's CLI builds a
 * fake cluster client from the resources it evaluates, so lookups (`namespaceObject`, apiCall
 * entries, clone sources) see them; admission policies find their bindings among the
 * cluster's resources; PolicyExceptions loaded beside the policies apply. CEL's libraries
 * (`resource.get`...) get the CLI's fake provider instead: only a Context file's resources.
 */
import type { ClusterState, JsonObject, TestValues } from '../core/types';

export interface OfflineClusterInput {
  exceptions?: readonly JsonObject[];
  /** ValidatingAdmissionPolicyBinding / MutatingAdmissionPolicyBinding documents. */
  bindings?: readonly JsonObject[];
  /** The resources under evaluation (namespace already defaulted, as the CLI loads them). */
  resources?: readonly JsonObject[];
  /**
   * Parameter objects of admission policies: the only candidates a binding's paramRef selects
   * from offline; as in the CLI they are cluster objects too (resource lookups see them).
   */
  parameters?: readonly JsonObject[];
  /** A cli.kyverno.io Values file: its namespaceSelector gives namespaces their labels. */
  values?: TestValues;
  /** The resources of a cli.kyverno.io Context file (`--context-file`): all CEL's resource library sees. */
  contextResources?: readonly JsonObject[];
}

export function emptyCluster(): ClusterState {
  return { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
}

export function offlineCluster(input: OfflineClusterInput = {}): ClusterState {
  const cluster = emptyCluster();
  cluster.exceptions.push(...(input.exceptions ?? []));
  cluster.resources.push(...(input.bindings ?? []), ...(input.resources ?? []));
  if (input.parameters) {
    cluster.parameters = [...input.parameters];
    cluster.resources.push(...input.parameters);
  }
  if (input.values) Object.assign(cluster.namespaceLabels, namespaceLabelsOf(input.values));
  // The fake client exists (and apiCall entries may use it) when there is something to hold.
  cluster.apiCallsAllowed = (input.resources?.length ?? 0) + (input.parameters?.length ?? 0) > 0;
  cluster.celLibraries = { resourceSource: 'fakeProvider', resources: [...(input.contextResources ?? [])], globalContext: {}, httpMocks: [] };
  return cluster;
}

export function namespaceLabelsOf(values: TestValues): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const entry of values.namespaceSelector ?? []) {
    if (entry && typeof entry.name === 'string') out[entry.name] = { ...(entry.labels ?? {}) };
  }
  return out;
}
