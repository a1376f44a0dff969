/**
 * `kyverno apply --generate-exceptions`: one PolicyException (kyverno.io/v2beta1) per failed
 * result of a cluster-wide policy, as Kyverno's printExceptions builds them from the same
 * results `-p` reports (namespaced policies' results are left out there too).
 */
import type { JsonObject, RuleResult } from '../../engine/core/types';
import { isJsonObject } from '../../engine/core/json';
import type { EngineResponse } from '../../engine/testing';
import { formatDuration } from '../../engine/units/duration';
import { reportResult } from './apply-policy-report';
import { goYaml } from './apply-report';

/** Kyverno's default `--generated-exception-ttl`: 30 days. */
export const DEFAULT_EXCEPTION_TTL_NANOS = 30n * 24n * 3600n * 1_000_000_000n;

/**
 * The podSecurity block of an exception for a failed Pod Security rule: its controls, images
 * with the tag or digest replaced by `*` (Kyverno's wildcardTagOrDigest). Undefined otherwise.
 */
function podSecurityOf(rule: RuleResult): JsonObject[] | undefined {
  return rule.podSecurity?.checks.map((c) => ({ controlName: c.controlName, ...(c.images.length > 0 ? { images: c.images.map((i) => i.replace(/[:@].*/s, '*')) } : {}) }));
}

/**
 * The exception for one subject of a failed result. Keys are in the Go struct's field order,
 * which is what `json.Marshal` writes (the YAML form is sorted by goYaml).
 */
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
  let out = '';
  for (const response of responses) {
    // The cluster-wide policies' results (computePolicyReports' `clustered`).
    if (response.policy.namespace) continue;
    for (const rule of response.rules) {
      const result = reportResult(response, rule, policies.get(response.policy.name), auditWarn);
      if (result.result !== 'fail') continue;
      for (const subject of Array.isArray(result.resources) ? result.resources : []) {
        if (!isJsonObject(subject)) continue;
        const exception = exceptionFor(String(result.policy), String(result.rule), subject, ttlNanos, podSecurityOf(rule));
        out += `---\n${format === 'json' ? JSON.stringify(exception) : goYaml(exception)}\n`;
      }
    }
  }
  return out;
}
