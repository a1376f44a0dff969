/**
 * Rule `context` entries, resolved offline the way the Kyverno CLI resolves them
 * (pkg/engine/factories/contextloaderfactory.go + cmd/cli store): each entry is loaded in
 * order; an entry whose source is unavailable, or whose loading fails, is left undefined
 * (offline, as the CLI without a client), so a later reference to it fails as an unknown
 * key; a call that was made and failed (a service, an API-server POST) and a `variable`
 * entry that failed keep their error, which a variable naming the entry reports (Kyverno's
 * deferred loader returns it to the query). Entries that need a cluster (configMap, apiCall,
 * globalReference, imageRegistry) keep a value the test supplied under the same name;
 * `variable` entries are computed and replace it, as in Kyverno.
 */
import type { ClusterState, JsonObject } from '../core/types';
import { jmesSearch } from '../jmespath';
import { substituteVariables, type VariableScope } from '../variables';
import { answerApiCall } from './apicall';
import { storedEntryGet } from './global-context';
import { chargeContextEntry, chargeMemory, isBudgetExceeded, jsonContextLevel, jsonContextOr, measureContextEntry } from '../core/budget';
import { loadNamedEntries, type DeferredEntry } from './deferred';

export interface ContextEnvironment {
  cluster: ClusterState;
  /** Names the test values already define for this rule. */
  provided: ReadonlySet<string>;
}

export interface ContextLoadResult {
  scope: VariableScope;
  /** Why entries were left undefined (for diagnostics; Kyverno only logs these). */
  skipped: Array<{ name: string; reason: string }>;
  /** Set when loading failed the way Kyverno reports as the rule's error; later entries are not loaded. */
  error?: string;
}

class SkipEntry extends Error {}

/**
 * A call that was made and failed (a service, an API-server POST): Kyverno's deferred loader
 * keeps the error and reports it when a variable refers to the entry.
 */
class FailedEntry extends Error {}

/** A loading failure Kyverno reports as the rule's error ("failed to load context: ..."). */
class ContextLoadFailure extends Error {}

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
    let p: unknown;
    try {
      p = substituteVariables(spec.jmesPath, scope);
    } catch (e) {
      if (isBudgetExceeded(e)) throw e;
      throw new Error(`failed to substitute variables in context entry ${name} ${spec.jmesPath}: ${(e as Error).message}`);
    }
    // Kyverno formats its (nil) substitution error into this message too.
    if (typeof p !== 'string') throw new Error(`jmespath value must be a string ${name} ${spec.jmesPath}: <nil>`);
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
      // A query of the context: the deferred entries it names load first.
      const unloadable = loadNamedEntries(path, scope.deferredEntries);
      if (unloadable !== undefined) throw new Error(unloadable);
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
  if (!cm) {
    // A caller reading a live API server (apiCallMisses) reads it and evaluates again, as Kyverno's ConfigMap resolver reads the cluster.
    cluster.apiCallMisses?.add(`/api/v1/namespaces/${String(namespace)}/configmaps/${String(name)}`);
    throw new SkipEntry(`ConfigMap ${String(namespace)}/${String(name)} is not among the cluster resources`);
  }
  // Kyverno's ConfigMap loader keeps only these two fields.
  return { data: cm.data ?? null, metadata: cm.metadata ?? {} };
}

/**
 * A global context entry by name; `name.projection` reads one of its projections (Kyverno's
 * gctx loader splits the name at the first dot). An unknown entry or projection leaves the
 * context entry undefined.
 */
function loadGlobalReference(name: string, spec: JsonObject, scope: VariableScope, cluster: ClusterState): unknown {
  const ref = String(substituteVariables(spec.name ?? '', scope));
  const [entryName, projection = ''] = ref.split('.');
  // With Kyverno's global context store (the admission controller's) the gctx loader's error is
  // kept and reported to every variable naming the entry (deferred loading); without one (the
  // CLI without entries) the entry is not loaded and stays undefined.
  const unavailable = (reason: string) => cluster.globalContextStore
    ? new FailedEntry(`failed to marshal APICall data for context entry ${name}: ${reason}`)
    : new SkipEntry(reason);
  if (!Object.prototype.hasOwnProperty.call(cluster.globalContext, entryName) && cluster.globalContextErrors?.[entryName] === undefined) {
    throw unavailable(`failed to fetch entry key=${entryName}`);
  }
  let data = cluster.globalContext[entryName];
  let stored: { value: unknown } | undefined;
  try {
    // A GlobalContextEntry resource's entry reads as Kyverno's store answers it.
    stored = storedEntryGet(cluster, entryName, projection);
  } catch (e) {
    throw unavailable((e as Error).message);
  }
  if (stored) data = stored.value;
  else if (projection !== '') {
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw new SkipEntry(`projection "${projection}" requested but value is not an object`);
    if (!Object.prototype.hasOwnProperty.call(data, projection)) throw new SkipEntry(`projection "${projection}" not found`);
    data = (data as JsonObject)[projection];
  }
  if (typeof spec.jmesPath === 'string' && spec.jmesPath !== '') {
    const path = substituteVariables(spec.jmesPath, scope);
    return jmesSearch(String(path), data);
  }
  return data;
}

/**
 * A mocked apiCall, as the Kyverno CLI's context loader answers it: added at once (not
 * deferred), so a non-2xx status or a failing jmesPath fails the rule's context loading.
 */
function loadMockedApiCall(name: string, call: JsonObject, answer: { body: unknown; mock?: { status: number } }): unknown {
  const status = answer.mock?.status ?? 200;
  if (status < 200 || status >= 300) {
    throw new ContextLoadFailure(`HTTP ${status} from apiCall mock for context entry "${name}" (v1 apiCall treats non-2xx as failure)`);
  }
  if (typeof call.jmesPath !== 'string' || call.jmesPath === '') return answer.body;
  try {
    return jmesSearch(call.jmesPath, answer.body);
  } catch (e) {
    throw new ContextLoadFailure(`failed to apply JMESPath "${call.jmesPath}" for context entry "${name}": ${(e as Error).message}`);
  }
}

/**
 * An apiCall entry's value; `wording`: how Kyverno's apiLoader words a failure to add it to
 * the context (executor.Store: the answer as it came, or a jmesPath's results), undefined for
 * a mocked call, which the CLI adds at once (cmd/cli store/contextloader.go).
 */
function loadApiCall(name: string, spec: JsonObject, scope: VariableScope, cluster: ClusterState): { value: unknown; wording?: (message: string) => string } {
  const call = substituteVariables(spec, scope) as JsonObject;
  const answer = answerApiCall(call, cluster, name);
  const stored = (what: string) => (message: string) => `failed to store data for APICall: failed to add ${what} context entry ${name}: ${message}`;
  const asFetched = { wording: stored('resource data to') };
  if (!answer.found) {
    if (call.default !== undefined && call.default !== null && (answer.failure === undefined || answer.defaultable)) return { value: call.default, ...asFetched };
    if (answer.failure !== undefined) throw new FailedEntry(answer.failure);
    throw new SkipEntry(answer.reason);
  }
  if (answer.mock) return { value: loadMockedApiCall(name, call, answer) };
  if (typeof call.jmesPath === 'string' && call.jmesPath !== '') {
    try {
      return { value: jmesSearch(call.jmesPath, answer.body), wording: stored('APICall results for') };
    } catch (e) {
      if (call.default !== undefined && call.default !== null && !isBudgetExceeded(e)) return { value: call.default, ...asFetched };
      throw e;
    }
  }
  return { value: answer.body, ...asFetched };
}

/**
 * An `imageRegistry` entry from the registry snapshot read before evaluation (Kyverno's
 * imageDataLoader): the reference and jmesPath substituted, the image data map, the path
 * applied to it.
 */
function loadImageRegistry(name: string, spec: JsonObject, scope: VariableScope, cluster: ClusterState): unknown {
  const ref = substituteVariables(spec.reference ?? '', scope);
  if (typeof ref !== 'string') throw new ContextLoadFailure(`invalid image reference ${JSON.stringify(ref)}, image reference must be a string`);
  const path = typeof spec.jmesPath === 'string' ? substituteVariables(spec.jmesPath, scope) : '';
  const found = cluster.imageRegistry?.metadata?.[ref];
  if (!found) throw new ContextLoadFailure(`failed to fetch image descriptor: ${ref}, error: the image was not read from the registry before evaluation`);
  if ('error' in found) throw new ContextLoadFailure(found.error);
  const data: JsonObject = {
    image: found.image,
    resolvedImage: found.resolvedImage,
    registry: found.registry,
    repository: found.repository,
    identifier: found.identifier,
    manifestList: (found.manifestList ?? null) as JsonObject | null,
    manifest: found.manifest as JsonObject,
    configData: found.config as JsonObject,
  };
  if (typeof path !== 'string' || path === '') return data;
  try {
    return jmesSearch(path, data, { now: scope.now });
  } catch (e) {
    if (isBudgetExceeded(e)) throw e;
    throw new ContextLoadFailure(`failed to apply JMESPath (${String(spec.jmesPath)}) results to context entry ${name}, error: ${(e as Error).message}`);
  }
}

/** Loads one entry; returns undefined (with a reason) when Kyverno would leave it undefined. */
function loadEntry(entry: JsonObject, scope: VariableScope, env: ContextEnvironment): { value?: unknown; wording?: (message: string) => string; skip?: string; error?: string; failed?: string } {
  const name = String(entry.name ?? '');
  const needsCluster = entry.configMap || entry.apiCall || entry.globalReference || entry.imageRegistry;
  if (needsCluster && env.provided.has(name)) return { skip: 'value supplied by the test values' };
  try {
    if (asObject(entry.variable)) {
      try {
        return { value: loadVariable(entry, entry.variable as JsonObject, scope), wording: (message) => message };
      } catch (e) {
        // Kyverno's deferred loader returns a variable entry's loading error to every query
        // that names the entry; nothing here depends on a source missing offline.
        if (isBudgetExceeded(e)) throw e;
        throw new FailedEntry((e as Error).message);
      }
    }
    if (asObject(entry.configMap)) {
      return { value: loadConfigMap(entry.configMap as JsonObject, scope, env.cluster), wording: (message) => `failed to add config map for context entry ${name}: ${message}` };
    }
    if (asObject(entry.apiCall)) return loadApiCall(name, entry.apiCall as JsonObject, scope, env.cluster);
    if (asObject(entry.globalReference)) {
      return { value: loadGlobalReference(name, entry.globalReference as JsonObject, scope, env.cluster), wording: (message) => `failed to add resource cache results for context entry ${name}: ${message}` };
    }
    if (asObject(entry.imageRegistry)) {
      if (!env.cluster.imageRegistry) return { skip: 'image registry lookups are disabled offline' };
      // Kyverno prints the whole entry with %v: Go's struct form, in which the imageRegistry
      // field is a pointer shown by its address; a fixed one stands in for it.
      const printed = `{${name} <nil> <nil> 0xc000000000 <nil> <nil>}`;
      return { value: loadImageRegistry(name, entry.imageRegistry as JsonObject, scope, env.cluster), wording: (message) => `failed to add resource data to context: contextEntry: ${printed}, error: ${message}` };
    }
    return { skip: `missing ConfigMap|APICall|ImageRegistry|Variable|GlobalReference in context entry ${name}` };
  } catch (e) {
    // A spent budget is the rule's error, never an entry quietly left undefined.
    if (e instanceof ContextLoadFailure || isBudgetExceeded(e)) return { error: (e as Error).message };
    if (e instanceof FailedEntry) return { skip: e.message, failed: e.message };
    return { skip: (e as Error).message };
  }
}

/**
 * Adds a rule's (or foreach's) context entries to the scope, in order. The entries' JSON
 * size counts against Kyverno's context size limit (an error past it), summed over the JSON
 * context the evaluation runs in (engine/core/budget JsonContextSize: every rule and foreach
 * level of the policy, never given back); outside an evaluation, over these entries alone.
 * An entry counts when a query first names it, as Kyverno's deferred loader adds it
 * (context/deferred), in its loader's words (loadEntry's `wording`); a mocked apiCall at
 * once, as the CLI adds it before the loaders, and only once (no loader reloads it).
 */
export function loadContextEntries(entries: unknown, scope: VariableScope, env: ContextEnvironment): ContextLoadResult {
  const skipped: ContextLoadResult['skipped'] = [];
  if (!Array.isArray(entries)) return { scope, skipped };
  const standalone = { bytes: 0 };
  let current = scope;
  for (const raw of entries) {
    const entry = asObject(raw);
    if (!entry) continue;
    const name = String(entry.name ?? '');
    const r = loadEntry(entry, current, env);
    if (r.error !== undefined) return { scope: current, skipped, error: r.error };
    if (r.skip !== undefined) {
      skipped.push({ name, reason: r.skip });
      if (r.failed !== undefined) current = { ...current, failedEntries: { ...current.failedEntries, [name]: r.failed } };
      continue;
    }
    const wording = r.wording;
    const account = jsonContextOr(standalone);
    // Measured once: the size is charged to the memory now and to the context when loaded.
    let size: number;
    try {
      size = measureContextEntry(r.value, account);
      chargeMemory(size, `context entry ${name}`);
      if (wording === undefined) chargeContextEntry(r.value, size, account);
    } catch (e) {
      return { scope: current, skipped, error: (e as Error).message };
    }
    if (wording !== undefined) {
      const waiting: DeferredEntry = { name, value: r.value, size, account, level: jsonContextLevel(), wording, keepsFailed: !asObject(entry.globalReference), state: 'pending' };
      current = { ...current, deferredEntries: current.deferredEntries ? [...current.deferredEntries, waiting] : [waiting] };
    }
    current = { ...current, data: { ...current.data, [name]: r.value } };
    if (current.failedEntries?.[name] !== undefined) {
      const { [name]: _loaded, ...others } = current.failedEntries;
      current = { ...current, failedEntries: others };
    }
  }
  return { scope: current, skipped };
}
