/**
 * `kyverno apply --generate-exceptions`: one PolicyException (kyverno.io/v2beta1) per failed
 * result of a cluster-wide policy, as Kyverno's printExceptions builds them from the same
 * results `-p` reports (namespaced policies' results are left out there too).
 */
import type { JsonObject } from '../../engine/core/types';
import { isJsonObject } from '../../engine/core/json';
import type { EngineResponse } from '../../engine/testing';
import { formatDuration } from '../../engine/units/duration';
import { computePolicyReports } from './apply-policy-report';
import { goYaml } from './apply-report';

/** Kyverno's default `--generated-exception-ttl`: 30 days. */
export const DEFAULT_EXCEPTION_TTL_NANOS = 30n * 24n * 3600n * 1_000_000_000n;

/**
 * The exception for one subject of a failed result. Keys are in the Go struct's field order,
 * which is what `json.Marshal` writes (the YAML form is sorted by goYaml).
 */
/**
 * The podSecurity block of an exception for a failed Pod Security rule: its controls, images
 * with the tag or digest replaced by `*` (Kyverno's wildcardTagOrDigest). Undefined otherwise.
 */
function podSecurityOf(properties: unknown): JsonObject[] | undefined {
  const text = isJsonObject(properties) && typeof properties.controlsJSON === 'string' ? properties.controlsJSON : undefined;
  if (text === undefined) return undefined;
  const controls = JSON.parse(text) as Array<{ Name: string; Images: string[] | null }>;
  return controls.map((c) => ({ controlName: c.Name, ...(c.Images && c.Images.length > 0 ? { images: c.Images.map((i) => i.replace(/[:@].*/s, '*')) } : {}) }));
}

function exceptionFor(policy: string, rule: string, subject: JsonObject, ttlNanos: bigint, podSecurity: JsonObject[] | undefined): JsonObject {
  const kind = String(subject.kind ?? '');
  const name = String(subject.name ?? '');
  const namespace = typeof subject.namespace === 'string' ? subject.namespace : '';
  const kinds = [kind];
  const names = [name];
  const rules = [rule];
  // Autogen rules also match the pods (and a CronJob's jobs) their controller creates.
  if (rule.startsWith('autogen-')) {
    if (kind === 'CronJob') {
      kinds.push('Job');
      rules.push(rule.replaceAll('autogen-cronjob-', 'autogen-'));
      kinds.push('Pod');
      rules.push(rule.slice('autogen-cronjob-'.length));
    } else {
      kinds.push('Pod');
      rules.push(rule.slice('autogen-'.length));
    }
    names.push(`${name}-*`);
  }
  const metadata: JsonObject = { name: [policy, rule, namespace, name].join('-'), creationTimestamp: null };
  if (ttlNanos > 0n) metadata.labels = { 'cleanup.kyverno.io/ttl': formatDuration(ttlNanos) };
  return {
    kind: 'PolicyException',
    apiVersion: 'kyverno.io/v2beta1',
    metadata,
    spec: {
      match: { all: [{ resources: { kinds, names, namespaces: [namespace] } }] },
      exceptions: [{ policyName: policy, ruleNames: rules }],
      ...(podSecurity ? { podSecurity } : {}),
    },
  };
}

/** The `---`-separated exceptions, JSON or YAML, exactly as Kyverno prints them. */
export function generatedExceptions(responses: EngineResponse[], policies: Map<string, JsonObject>, auditWarn: boolean, format: 'json' | 'yaml', ttlNanos: bigint): string {
  const { clustered } = computePolicyReports(responses, policies, auditWarn);
  let out = '';
  for (const result of clustered) {
    if (result.result !== 'fail') continue;
    for (const subject of Array.isArray(result.resources) ? result.resources : []) {
      if (!isJsonObject(subject)) continue;
      const exception = exceptionFor(String(result.policy), String(result.rule), subject, ttlNanos, podSecurityOf(result.properties));
      out += `---\n${format === 'json' ? JSON.stringify(exception) : goYaml(exception)}\n`;
    }
  }
  return out;
}
