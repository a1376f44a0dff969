// Builders for hand-made Test runs: an in-memory file map and a scripted engine.
import { stringify } from 'yaml';
import { GO_YAML_OPTIONS } from '../../engine/loader';
import type { JsonObject, PolicyResponse, RuleResult } from '../../engine/core/types';
import type { ApplyOptions } from '../../engine/apply';

export const TEST_PATH = 'suite/kyverno-test.yaml';

export function pod(name: string, namespace?: string, labels?: Record<string, string>): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}) },
    spec: { containers: [{ name: 'c', image: 'nginx' }] },
  };
}

export function deployment(name: string, namespace?: string): JsonObject {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, ...(namespace ? { namespace } : {}) }, spec: {} };
}

/**
 * Rules without `match` get one for every kind: the CRD requires it, the scripted engine
 * ignores it. Kyverno refuses a wildcard kind in background mode, so such a policy has
 * background off.
 */
export function clusterPolicy(name: string, rules: JsonObject[], annotations?: Record<string, string>): JsonObject {
  const wildcard = rules.some((r) => !('match' in r));
  const withMatch = rules.map((r) => ('match' in r ? r : { ...r, match: { any: [{ resources: { kinds: ['*'] } }] } }));
  return { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name, ...(annotations ? { annotations } : {}) }, spec: { ...(wildcard ? { background: false } : {}), rules: withMatch } };
}

export function yamlDocs(...docs: unknown[]): string {
  return docs.map((d) => stringify(d, GO_YAML_OPTIONS)).join('---\n');
}

/** Files of a suite folder: the test plus named YAML texts. */
export function suite(files: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(files).map(([k, v]) => [`suite/${k}`, v]));
}

export type Script = (policy: JsonObject, resource: JsonObject, options: ApplyOptions) => { rules: RuleResult[]; patched?: JsonObject };

/** An engine stand-in: the script decides the rule results; the call log records the order. */
export function scriptedEngine(script: Script, calls: string[] = []) {
  return (policy: JsonObject, options: ApplyOptions): PolicyResponse => {
    const resource = (options.request.object ?? options.request.oldObject ?? {}) as JsonObject;
    const meta = (resource.metadata ?? {}) as JsonObject;
    const pname = String((policy.metadata as JsonObject).name);
    calls.push(`${pname}:${String(meta.name)}`);
    const { rules, patched } = script(policy, resource, options);
    return {
      policy: { apiVersion: String(policy.apiVersion), kind: String(policy.kind), name: pname },
      resource: { apiVersion: String(resource.apiVersion), kind: String(resource.kind), name: String(meta.name ?? '') },
      rules,
      patchedResource: patched ?? resource,
    };
  };
}

export function rule(name: string, status: RuleResult['status'], extra: Partial<RuleResult> = {}): RuleResult {
  return { name, type: 'Validation', status, message: `${name} ${status}`, ...extra };
}
