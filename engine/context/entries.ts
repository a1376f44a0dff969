/**
 * Rule `context` entries, resolved offline the way the Kyverno CLI resolves them
 * (pkg/engine/factories/contextloaderfactory.go + cmd/cli store): each entry is loaded in
 * order; an entry whose source is unavailable, or whose loading fails, is left undefined
 * (Kyverno's deferred loader logs and swallows the error), so a later reference to it
 * fails as an unknown key. Entries that need a cluster (configMap, apiCall,
 * globalReference, imageRegistry) keep a value the test supplied under the same name;
 * `variable` entries are computed and replace it, as in Kyverno.
 */
import type { ClusterState, JsonObject } from '../core/types';
import { chargeContextEntry, isBudgetExceeded } from '../core/budget';
import { jmesSearch } from '../jmespath';
import { substituteVariables, type VariableScope } from '../variables';
import { answerApiCall } from './apicall';

export interface ContextEnvironment {
  cluster: ClusterState;
  /** Names the test values already define for this rule. */
  provided: ReadonlySet<string>;
}

export interface ContextLoadResult {
  scope: VariableScope;
  /** Why entries were left undefined (for diagnostics; Kyverno only logs these). */
  skipped: Array<{ name: string; reason: string }>;
}

class SkipEntry extends Error {}

function asObject(v: unknown): JsonObject | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : undefined;
}

/** Kyverno's wording; a spent budget keeps its class so that it ends the rule. */
function jmespathFailure(path: string, e: unknown): Error {
  const prefix = `failed to apply jmespath ${path} to variable`;
  return isBudgetExceeded(e) ? e.within(prefix) : new Error(`${prefix}: ${(e as Error).message}`);
}

function loadVariable(entry: JsonObject, spec: JsonObject, scope: VariableScope): unknown {
  const name = String(entry.name);
  let path = '';
  if (typeof spec.jmesPath === 'string' && spec.jmesPath !== '') {
    const p = substituteVariables(spec.jmesPath, scope);
    if (typeof p !== 'string') throw new Error(`jmespath value must be a string ${name} ${spec.jmesPath}`);
    path = p;
  }
  let defaultValue: unknown = null;
  if (spec.default !== undefined && spec.default !== null) defaultValue = substituteVariables(spec.default, scope);
  let output: unknown = defaultValue;
  if (spec.value !== undefined && spec.value !== null) {
    const value = substituteVariables(spec.value, scope);
    if (path) {
      try {
        output = jmesSearch(path, value, { now: scope.now });
      } catch (e) {
        if (defaultValue === null || isBudgetExceeded(e)) throw jmespathFailure(path, e);
      }
    } else output = value;
  } else if (path) {
    try {
      const v = jmesSearch(path, scope.data, { now: scope.now });
      if (v !== null && v !== undefined) output = v;
    } catch (e) {
      if (defaultValue === null || isBudgetExceeded(e)) throw jmespathFailure(path, e);
    }
  }
  if (output === null || output === undefined) throw new Error(`failed to add context entry for variable ${name} since it evaluated to nil`);
  return output;
}

function loadConfigMap(spec: JsonObject, scope: VariableScope, cluster: ClusterState): unknown {
  const name = substituteVariables(spec.name ?? '', scope);
  const namespace = substituteVariables(spec.namespace ?? '', scope) || 'default';
  const cm = cluster.resources.find((r) => {
    const meta = asObject(r.metadata) ?? {};
    return r.kind === 'ConfigMap' && meta.name === name && (meta.namespace ?? 'default') === namespace;
  });
  if (!cm) throw new SkipEntry(`ConfigMap ${String(namespace)}/${String(name)} is not among the cluster resources`);
  // Kyverno's ConfigMap loader keeps only these two fields.
  return { data: cm.data ?? null, metadata: cm.metadata ?? {} };
}

function loadGlobalReference(spec: JsonObject, scope: VariableScope, cluster: ClusterState): unknown {
  const ref = String(substituteVariables(spec.name ?? '', scope));
  if (!(ref in cluster.globalContext)) throw new SkipEntry(`global context entry ${ref} is not defined`);
  const data = cluster.globalContext[ref];
  if (typeof spec.jmesPath === 'string' && spec.jmesPath !== '') {
    const path = substituteVariables(spec.jmesPath, scope);
    return jmesSearch(String(path), data);
  }
  return data;
}

function loadApiCall(spec: JsonObject, scope: VariableScope, cluster: ClusterState): unknown {
  const call = substituteVariables(spec, scope) as JsonObject;
  const answer = answerApiCall(call, cluster);
  if (!answer.found) {
    if (call.default !== undefined && call.default !== null) return call.default;
    throw new SkipEntry(answer.reason);
  }
  if (typeof call.jmesPath === 'string' && call.jmesPath !== '') {
    try {
      return jmesSearch(call.jmesPath, answer.body);
    } catch (e) {
      if (call.default !== undefined && call.default !== null && !isBudgetExceeded(e)) return call.default;
      throw e;
    }
  }
  return answer.body;
}

/** Loads one entry; returns undefined (with a reason) when Kyverno would leave it undefined. */
function loadEntry(entry: JsonObject, scope: VariableScope, env: ContextEnvironment): { value?: unknown; skip?: string } {
  const name = String(entry.name ?? '');
  const needsCluster = entry.configMap || entry.apiCall || entry.globalReference || entry.imageRegistry;
  if (needsCluster && env.provided.has(name)) return { skip: 'value supplied by the test values' };
  try {
    if (asObject(entry.variable)) return { value: loadVariable(entry, entry.variable as JsonObject, scope) };
    if (asObject(entry.configMap)) return { value: loadConfigMap(entry.configMap as JsonObject, scope, env.cluster) };
    if (asObject(entry.apiCall)) return { value: loadApiCall(entry.apiCall as JsonObject, scope, env.cluster) };
    if (asObject(entry.globalReference)) return { value: loadGlobalReference(entry.globalReference as JsonObject, scope, env.cluster) };
    if (asObject(entry.imageRegistry)) return { skip: 'image registry lookups are disabled offline' };
    return { skip: `missing ConfigMap|APICall|ImageRegistry|Variable|GlobalReference in context entry ${name}` };
  } catch (e) {
    // A spent budget is the rule's error, never an entry quietly left undefined.
    if (isBudgetExceeded(e)) throw e;
    return { skip: (e as Error).message };
  }
}

/**
 * Adds a rule's (or foreach's) context entries to the scope, in order. The entries' JSON
 * size counts against Kyverno's context size limit (throws BudgetExceededError past it);
 * Kyverno sums it over the whole policy context, here over one rule or foreach level.
 */
export function loadContextEntries(entries: unknown, scope: VariableScope, env: ContextEnvironment): ContextLoadResult {
  const skipped: ContextLoadResult['skipped'] = [];
  if (!Array.isArray(entries)) return { scope, skipped };
  const used = { bytes: 0 };
  let current = scope;
  for (const raw of entries) {
    const entry = asObject(raw);
    if (!entry) continue;
    const name = String(entry.name ?? '');
    const r = loadEntry(entry, current, env);
    if (r.skip !== undefined) {
      skipped.push({ name, reason: r.skip });
      continue;
    }
    chargeContextEntry(name, r.value, used);
    current = { ...current, data: { ...current.data, [name]: r.value } };
  }
  return { scope: current, skipped };
}
