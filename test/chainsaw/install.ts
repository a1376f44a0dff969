/**
 * Kyverno's install for a chainsaw area, as Kyverno's CI gives it: the conformance workflow
 * (`.github/workflows/tests-conformance.yaml`) runs each `tests-path` with a list of
 * `kyverno-configs`, each one `scripts/config/<name>/kyverno.yaml` of helm values, installed
 * in that order (later files override earlier ones, as `helm --values a --values b`).
 * The runner models the settings of those values our server has a counterpart for.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseYamlDocuments } from '../../engine/loader';
import { asArray, asObject, isJsonObject } from '../../engine/core/json';
import type { JsonObject } from '../../engine/core/types';
import { DEFAULT_ADMISSION_POLICY_REPORTS, type AdmissionPolicyReports } from '../../webhook/scan';

export interface InstallSettings {
  /** The helm values files the area is installed with (`scripts/config/<name>/kyverno.yaml`), in order. */
  configs: string[];
  /** `features.validatingAdmissionPolicyReports` / `features.mutatingAdmissionPolicyReports` (chart defaults: on / off). */
  admissionPolicyReports: AdmissionPolicyReports;
}

export const DEFAULT_INSTALL: InstallSettings = { configs: [], admissionPolicyReports: DEFAULT_ADMISSION_POLICY_REPORTS };

/** Files read once per run (every scenario of an area reads the same ones). */
const readFiles = new Map<string, JsonObject>();

function readYamlObject(file: string): JsonObject {
  const known = readFiles.get(file);
  if (known) return known;
  const parsed = parseYamlDocuments(readFileSync(file, 'utf8'), file);
  if (parsed.errors.length) throw new Error(`${file}: ${parsed.errors[0].message}`);
  const value = asObject(parsed.documents[0]?.value);
  readFiles.set(file, value);
  return value;
}

/** Helm's merge of values files: maps merge key by key, anything else is replaced. */
export function mergeValues(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isJsonObject(v) && isJsonObject(out[k]) ? mergeValues(out[k] as JsonObject, v) : v;
  return out;
}

/**
 * The config names the workflow installs for `scenarioPath` (relative to the corpus root): the
 * job whose `tests-path` is the longest prefix of it. A `${{ matrix.kyverno-configs }}` takes the
 * matrix's first entry (the workflow runs the area once per entry; the first is its main run).
 */
export function workflowConfigs(workflow: JsonObject, scenarioPath: string): string[] {
  let best: { path: string; configs: string[] } | undefined;
  for (const job of Object.values(asObject(workflow.jobs)).map(asObject)) {
    const matrix = asObject(asObject(job.strategy).matrix);
    for (const step of asArray(job.steps).map(asObject)) {
      const withs = asObject(step.with);
      const path = typeof withs['tests-path'] === 'string' ? withs['tests-path'].replace(/\/+$/, '') : undefined;
      if (!path || !(scenarioPath === path || scenarioPath.startsWith(`${path}/`))) continue;
      if (best && best.path.length >= path.length) continue;
      let configs = String(withs['kyverno-configs'] ?? '');
      const fromMatrix = /^\$\{\{\s*matrix\.([\w-]+)\s*\}\}$/.exec(configs);
      if (fromMatrix) configs = String(asArray(matrix[fromMatrix[1]])[0] ?? '');
      best = { path, configs: configs.split(',').map((c) => c.trim()).filter(Boolean) };
    }
  }
  return best?.configs ?? [];
}

/** The settings of the helm values `values` (merged) that the runner models. */
export function installSettings(configs: string[], values: JsonObject): InstallSettings {
  const features = asObject(values.features);
  const enabled = (name: string, chartDefault: boolean) => {
    const v = asObject(features[name]).enabled;
    return typeof v === 'boolean' ? v : chartDefault;
  };
  return {
    configs,
    admissionPolicyReports: {
      validating: enabled('validatingAdmissionPolicyReports', DEFAULT_ADMISSION_POLICY_REPORTS.validating),
      mutating: enabled('mutatingAdmissionPolicyReports', DEFAULT_ADMISSION_POLICY_REPORTS.mutating),
    },
  };
}

/**
 * The install of the scenario at `scenarioPath` under `corpusRoot` (Kyverno's
 * `test/conformance/chainsaw`): the repository's workflow and config files, or the chart's
 * defaults when the corpus is not inside a Kyverno checkout.
 */
export function scenarioInstall(corpusRoot: string, scenarioPath: string): InstallSettings {
  const repo = join(corpusRoot, '..', '..', '..');
  const workflowFile = join(repo, '.github', 'workflows', 'tests-conformance.yaml');
  if (!existsSync(workflowFile)) return DEFAULT_INSTALL;
  const configs = workflowConfigs(readYamlObject(workflowFile), scenarioPath);
  let values: JsonObject = {};
  for (const name of configs) {
    const file = join(repo, 'scripts', 'config', name, 'kyverno.yaml');
    if (existsSync(file)) values = mergeValues(values, readYamlObject(file));
  }
  return installSettings(configs, values);
}
