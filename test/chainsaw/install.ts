/**
 * How Kyverno's CI installs Kyverno for each chainsaw area, read from Kyverno's own repository:
 * `.github/workflows/tests-conformance.yaml` gives each `tests-path` its `kyverno-configs`
 * (helm values files `scripts/config/<name>/kyverno.yaml`), `explicit-install-settings`
 * (`--set a.b=c`) and `quarantined-tests`; the Makefile's `kind-install-kyverno` layers them
 * over the chart's `values.yaml` and `scripts/config/resources/kyverno.yaml`, in that order.
 * The runner answers a scenario with the install its area gets there (feature flags, the
 * ConfigMap, extra arguments), so a flag is never guessed from a scenario's name.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseYamlDocuments } from '../../engine/loader';
import { asArray, asObject, isJsonObject } from '../../engine/core/json';
import type { JsonObject } from '../../engine/core/types';

type JsonValue = unknown;

export interface KyvernoInstall {
  /** The `tests-path` whose job this is ('' when the workflow names none: the chart's standard install). */
  testsPath: string;
  /** The values files layered over the chart's defaults, in order. */
  configs: string[];
  /** The merged helm values. */
  values: JsonObject;
  /** Folder names Kyverno's CI marks `skip: true` under this tests-path. */
  quarantined: string[];
  /** Whether the CI job installs the kubectl-evict plugin (`install-kubectl-evict`) beside kubectl. */
  kubectlEvict?: boolean;
  /** The chart installed (`charts/kyverno` of Kyverno's repository); absent for a corpus copied on its own. */
  chart?: string;
}

interface Job {
  testsPath: string;
  configs: string[];
  settings: string;
  quarantined: string[];
  kubectlEvict: boolean;
}

const files = new Map<string, JsonObject>();

/** The first document of a YAML file ({} when absent), read once per run (every scenario of an area reads the same files; callers do not change it). */
export function yamlFile(path: string): JsonObject {
  let doc = files.get(path);
  if (doc === undefined) {
    const value = existsSync(path) ? parseYamlDocuments(readFileSync(path, 'utf8'), path).documents[0]?.value : undefined;
    files.set(path, (doc = isJsonObject(value) ? value : {}));
  }
  return doc;
}

/** Helm's values merge: maps merge key by key, anything else (lists included) replaces. */
export function mergeValues(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isJsonObject(v) && isJsonObject(out[k]) ? mergeValues(out[k] as JsonObject, v) : v;
  return out;
}

/** `--set a.b=c --set x=true`, as helm reads scalars (true/false/numbers typed). */
export function setValues(values: JsonObject, settings: string): JsonObject {
  let out = values;
  for (const m of settings.matchAll(/--set\s+([^=\s]+)=(\S*)/g)) {
    const raw = m[2];
    const value: JsonValue = raw === 'true' ? true : raw === 'false' ? false : /^-?\d+$/.test(raw) ? Number(raw) : raw;
    const patch = m[1].split('.').reduceRight<JsonValue>((inner, key) => ({ [key]: inner }), value);
    out = mergeValues(out, patch as JsonObject);
  }
  return out;
}

/**
 * `${{ matrix.a.b }}` and `${{ matrix.a }}` in a job's inputs: one job per entry of the axis
 * the tests-path names (its paths vary along it); any other axis (Kubernetes versions) takes
 * its first entry.
 */
function expandMatrix(withs: JsonObject, matrix: JsonObject): JsonObject[] {
  const ref = /\$\{\{\s*matrix\.([\w-]+)((?:\.[\w-]+)*)\s*\}\}/g;
  const pathAxis = typeof withs['tests-path'] === 'string' ? [...withs['tests-path'].matchAll(ref)][0]?.[1] : undefined;
  const entriesOf = (axis: string): unknown[] => (Array.isArray(matrix[axis]) ? (matrix[axis] as unknown[]) : []);
  const substitute = (entry: unknown): JsonObject => {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(withs)) {
      out[k] =
        typeof v === 'string'
          ? v.replace(ref, (_, axis: string, path: string) => {
              let cur: unknown = axis === pathAxis ? entry : entriesOf(axis)[0];
              for (const p of path.split('.').filter(Boolean)) cur = isJsonObject(cur) ? cur[p] : undefined;
              return Array.isArray(cur) ? cur.map(String).join(',') : cur === undefined || cur === null ? '' : String(cur);
            })
          : v;
    }
    return out;
  };
  return pathAxis === undefined ? [substitute(undefined)] : entriesOf(pathAxis).map(substitute);
}

function listOf(v: JsonValue | undefined): string[] {
  if (Array.isArray(v)) return v.map(String);
  return typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : [];
}

function workflowJobs(repo: string): Job[] {
  const workflow = yamlFile(join(repo, '.github/workflows/tests-conformance.yaml'));
  const jobs: Job[] = [];
  for (const job of Object.values(asObject(workflow.jobs))) {
    const matrix = asObject(asObject(asObject(job).strategy).matrix);
    for (const step of Array.isArray(asObject(job).steps) ? (asObject(job).steps as JsonValue[]) : []) {
      const s = asObject(step);
      if (typeof s.uses !== 'string' || !s.uses.endsWith('/tests/conformance/run')) continue;
      for (const w of expandMatrix(asObject(s.with), matrix)) {
        if (typeof w['tests-path'] !== 'string') continue;
        jobs.push({
          testsPath: w['tests-path'].replace(/^\.\/?/, '').replace(/\/$/, ''),
          configs: listOf(w['kyverno-configs'] ?? 'standard'),
          settings: typeof w['explicit-install-settings'] === 'string' ? w['explicit-install-settings'] : '',
          quarantined: listOf(w['quarantined-tests']),
          kubectlEvict: w['install-kubectl-evict'] === true || w['install-kubectl-evict'] === 'true',
        });
      }
    }
  }
  return jobs;
}

const cache = new Map<string, Job[]>();

/**
 * The install Kyverno's CI gives the scenario at `relative` (its path under the chainsaw
 * root `root`, which sits at `test/conformance/chainsaw` in Kyverno's repository). Without
 * the workflow (a corpus copied on its own), the chart's defaults plus `standard`.
 */
export function kyvernoInstallFor(root: string, relative: string): KyvernoInstall {
  const repo = resolve(root, '../../..');
  let jobs = cache.get(repo);
  if (!jobs) cache.set(repo, (jobs = workflowJobs(repo)));
  // The job whose tests-path is the longest prefix of the scenario's path.
  const job = jobs
    .filter((j) => j.testsPath === '' || relative === j.testsPath || relative.startsWith(`${j.testsPath}/`))
    .sort((a, b) => b.testsPath.length - a.testsPath.length)[0] ?? { testsPath: '', configs: ['standard'], settings: '', quarantined: [], kubectlEvict: false };
  let values = yamlFile(join(repo, 'charts/kyverno/values.yaml'));
  for (const name of ['resources', ...job.configs]) values = mergeValues(values, yamlFile(join(repo, 'scripts/config', name, 'kyverno.yaml')));
  values = setValues(values, job.settings);
  const chart = join(repo, 'charts/kyverno');
  return { testsPath: job.testsPath, configs: job.configs, values, quarantined: job.quarantined, kubectlEvict: job.kubectlEvict, ...(existsSync(chart) ? { chart } : {}) };
}

/** A helm value by dotted path (`features.forceFailurePolicyIgnore.enabled`). */
export function installValue(install: KyvernoInstall, path: string): JsonValue | undefined {
  let cur: JsonValue | undefined = install.values;
  for (const p of path.split('.')) cur = isJsonObject(cur) ? cur[p] : undefined;
  return cur;
}

const bool = (v: JsonValue | undefined): boolean => v === true || v === 'true';
const strings = (v: JsonValue | undefined): string[] => (Array.isArray(v) ? v.map(String) : []);

/**
 * The `serve` flags our product takes for what the install's helm values set as Kyverno's
 * container arguments (the chart's `kyverno.features.flags`, and the reports controller's
 * extra arguments): the one place helm values become our options. What the values put in the
 * ConfigMap is `kyvernoConfigMapOf`'s.
 */
export function serveFlagsOf(install: KyvernoInstall): string[] {
  const value = (path: string) => installValue(install, path);
  const flags: string[] = [];
  if (bool(value('features.forceFailurePolicyIgnore.enabled'))) flags.push('--force-failure-policy-ignore');
  if (bool(value('features.excludeBootstrapResources.enabled'))) flags.push('--exclude-bootstrap-resources');
  if (value('features.policyExceptions') !== undefined) {
    flags.push(`--enable-policy-exception=${bool(value('features.policyExceptions.enabled'))}`);
    // The chart passes --exceptionNamespace only when set; Kyverno's flag is then empty.
    flags.push(`--exception-namespace=${typeof value('features.policyExceptions.namespace') === 'string' ? String(value('features.policyExceptions.namespace')) : ''}`);
  }
  const omit = strings(value('features.omitEvents.eventTypes'));
  if (omit.length) flags.push('--omit-events', omit.join(','));
  const allowed = value('features.reporting.allowedResults');
  if (isJsonObject(allowed)) flags.push(`--allowed-results=${['pass', 'fail', 'error', 'skip', 'warn'].filter((s) => bool(allowed[s])).join(',')}`);
  for (const [feature, flag] of [
    ['validatingAdmissionPolicyReports', 'validating-admission-policy-reports'],
    ['mutatingAdmissionPolicyReports', 'mutating-admission-policy-reports'],
    ['generateValidatingAdmissionPolicy', 'generate-validating-admission-policy'],
    ['generateMutatingAdmissionPolicy', 'generate-mutating-admission-policy'],
  ]) {
    const enabled = value(`features.${feature}.enabled`);
    if (enabled !== undefined) flags.push(`--${flag}=${bool(enabled)}`);
  }
  // The reports controller's own argument, or the chart's openreports feature.
  if (bool(value('reportsController.extraArgs.openreportsEnabled')) || bool(value('openreports.enabled'))) flags.push('--openreports-enabled');
  return flags;
}

/**
 * The chart's `kyverno.config.webhooks` helper: the Kyverno namespace's exclusion appended to
 * the namespaceSelector's expressions (an old-style list becomes an object keyed by webhook name,
 * whose selectors Kyverno's decoder ignores).
 */
function chartWebhooks(webhooks: unknown, excludeOwn: JsonObject): unknown {
  const withExclusion = (webhook: JsonObject): JsonObject => {
    const selector = asObject(webhook.namespaceSelector);
    const { namespaceSelector: _old, ...rest } = webhook;
    return { ...rest, namespaceSelector: { matchLabels: selector.matchLabels ?? null, matchExpressions: [...asArray(selector.matchExpressions), excludeOwn] } };
  };
  if (Array.isArray(webhooks)) return Object.fromEntries(webhooks.map(asObject).filter((w) => w.namespaceSelector).map((w) => [String(w.name), withExclusion(w)]));
  return withExclusion(asObject(webhooks));
}

/**
 * The `kyverno` ConfigMap the chart's templates/config/configmap.yaml creates from `config.*`
 * (role names rendered for the release `kyverno`), in `namespace`.
 */
export function kyvernoConfigMapOf(install: KyvernoInstall, namespace: string): JsonObject {
  const config = asObject(install.values.config);
  const data: Record<string, string> = {};
  data.enableDefaultRegistryMutation = String(config.enableDefaultRegistryMutation ?? true);
  if (config.defaultRegistry) data.defaultRegistry = String(config.defaultRegistry);
  data.generateSuccessEvents = String(config.generateSuccessEvents ?? false);
  if (config.successEventActions) data.successEventActions = String(config.successEventActions);
  for (const key of ['excludeGroups', 'excludeUsernames', 'excludeRoles', 'excludeClusterRoles']) {
    if (strings(config[key]).length) data[key] = strings(config[key]).join(',');
  }
  let filters = strings(config.resourceFilters);
  if (filters.length) {
    const excludeOwn = config.excludeKyvernoNamespace !== false;
    if (excludeOwn) filters = [`[*/*,${namespace},*]`, ...filters];
    filters = filters.filter((f) => !strings(config.resourceFiltersExclude).includes(f));
    for (const ns of strings(config.resourceFiltersExcludeNamespaces)) filters = filters.filter((f) => !f.includes(`,${ns},`));
    filters = [...filters, ...strings(config.resourceFiltersInclude), ...strings(config.resourceFiltersIncludeNamespaces).map((ns) => `[*/*,${ns},*]`)];
    // `tpl` of the entries naming the chart's ClusterRoles: `<release>:<controller>`.
    data.resourceFilters = filters.map((f) => f.replace(/\{\{\s*template\s+"kyverno\.([\w-]+)\.roleName"\s+\.\s*\}\}/g, 'kyverno:$1')).join(' ');
  }
  if (config.updateRequestThreshold !== undefined && config.updateRequestThreshold !== null) data.updateRequestThreshold = String(config.updateRequestThreshold);
  const excludeOwn = { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [namespace] };
  if (config.webhooks && config.excludeKyvernoNamespace !== false) data.webhooks = JSON.stringify(chartWebhooks(config.webhooks, excludeOwn));
  else if (config.webhooks) data.webhooks = JSON.stringify(config.webhooks);
  else if (config.excludeKyvernoNamespace !== false) data.webhooks = JSON.stringify({ namespaceSelector: { matchExpressions: [excludeOwn] } });
  for (const key of ['webhookAnnotations', 'webhookLabels', 'matchConditions']) if (config[key] && Object.keys(asObject(config[key])).length + (Array.isArray(config[key]) ? (config[key] as unknown[]).length : 0)) data[key] = JSON.stringify(config[key]);
  if (config.maxContextSize !== undefined && config.maxContextSize !== null) data.maxContextSize = String(config.maxContextSize);
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kyverno', namespace, labels: { 'app.kubernetes.io/component': 'config', 'app.kubernetes.io/instance': 'kyverno', 'app.kubernetes.io/part-of': 'kyverno' } }, data };
}
