/**
 * `kyverno apply -p/--policy-report`: the results as OpenReports reports, as Kyverno's
 * report.ComputePolicyReports and MergeClusterReports build them: results of cluster-wide
 * policies merged into one ClusterReport named "merged", one PolicyReport per namespaced policy.
 */
import type { JsonObject, RuleResult } from '../../engine/core/types';
import { isJsonObject } from '../../engine/core/json';
import type { EngineResponse } from '../../engine/testing';
import { countedResult, goYaml } from './apply-report';

const REPORT_API_VERSION = 'openreports.io/v1alpha1';

const SOURCES: Record<string, string> = {
  ValidatingAdmissionPolicy: 'ValidatingAdmissionPolicy',
  MutatingAdmissionPolicy: 'MutatingAdmissionPolicy',
  ValidatingPolicy: 'KyvernoValidatingPolicy',
  NamespacedValidatingPolicy: 'KyvernoValidatingPolicy',
  ImageValidatingPolicy: 'KyvernoImageValidatingPolicy',
  NamespacedImageValidatingPolicy: 'KyvernoImageValidatingPolicy',
  GeneratingPolicy: 'KyvernoGeneratingPolicy',
  NamespacedGeneratingPolicy: 'KyvernoGeneratingPolicy',
  MutatingPolicy: 'KyvernoMutatingPolicy',
  NamespacedMutatingPolicy: 'KyvernoMutatingPolicy',
};

/** Kyverno's "process" property: background scan when the policy runs in background. */
function processOf(policy: JsonObject | undefined, kind: string): string {
  if (kind === 'GeneratingPolicy' || kind === 'NamespacedGeneratingPolicy') return 'admission review';
  if (kind === 'ValidatingAdmissionPolicy' || kind === 'MutatingAdmissionPolicy') return 'background scan';
  const spec = policy && isJsonObject(policy.spec) ? policy.spec : {};
  const evaluation = isJsonObject(spec.evaluation) ? spec.evaluation : {};
  const flag = (v: unknown) => (isJsonObject(v) && typeof v.enabled === 'boolean' ? v.enabled : undefined);
  const background = typeof spec.background === 'boolean' ? spec.background : flag(evaluation.background) ?? true;
  const admission = typeof spec.admission === 'boolean' ? spec.admission : flag(evaluation.admission) ?? true;
  return background ? 'background scan' : admission ? 'admission review' : '';
}

/** One rule's result as a report result (Kyverno's ToPolicyReportResult). */
export function reportResult(response: EngineResponse, rule: RuleResult, policy: JsonObject | undefined, auditWarn: boolean, now = Math.floor(Date.now() / 1000)): JsonObject {
  const kind = response.policy.kind;
  const annotations = response.policyAnnotations;
  const isAdmissionPolicy = kind === 'ValidatingAdmissionPolicy' || kind === 'MutatingAdmissionPolicy';
  const name = response.policy.namespace ? `${response.policy.namespace}/${response.policy.name}` : response.policy.name;
  const meta = isJsonObject(response.resource.metadata) ? response.resource.metadata : {};
  // Kyverno's ToPolicyReportResult: the rule's own properties (reportProperties, Pod Security
  // controls, CEL audit annotations) first; a `message`, else `<result>Message`, one replaces the message.
  const properties: Record<string, string> = { ...rule.properties };
  const message = properties.message || properties[`${rule.status}Message`] || rule.message;
  const process = processOf(policy, kind);
  if (process) properties.process = process;
  if (rule.exceptions && rule.exceptions.length > 0) properties.exceptions = rule.exceptions.join(',');
  const subject: JsonObject = { apiVersion: response.resource.apiVersion ?? '', kind: response.resource.kind ?? '', name: meta.name ?? '' };
  if (typeof meta.namespace === 'string' && meta.namespace) subject.namespace = meta.namespace;
  const result: JsonObject = {
    ...(annotations['policies.kyverno.io/category'] ? { category: annotations['policies.kyverno.io/category'] } : {}),
    message,
    policy: isAdmissionPolicy ? rule.name : name,
    properties,
    resources: [subject],
    result: countedResult(response, rule, new Map(policy ? [[response.policy.name, policy]] : []), auditWarn),
    rule: rule.name,
    scored: annotations['policies.kyverno.io/scored'] !== 'false',
    ...(annotations['policies.kyverno.io/severity'] ? { severity: annotations['policies.kyverno.io/severity'] } : {}),
    source: SOURCES[kind] ?? 'kyverno',
    timestamp: { nanos: 0, seconds: now },
  };
  return result;
}

function summary(results: JsonObject[]): JsonObject {
  const count = (r: string) => results.filter((x) => x.result === r).length;
  return { error: count('error'), fail: count('fail'), pass: count('pass'), skip: count('skip'), warn: count('warn') };
}

/** Kyverno's report.ComputePolicyReports: results of cluster-wide policies, and per namespaced policy. */
export function computePolicyReports(responses: EngineResponse[], policies: Map<string, JsonObject>, auditWarn: boolean, now = Math.floor(Date.now() / 1000)) {
  const clustered: JsonObject[] = [];
  const namespaced = new Map<string, { namespace: string; name: string; results: JsonObject[] }>();
  for (const response of responses) {
    for (const rule of response.rules) {
      const result = reportResult(response, rule, policies.get(response.policy.name), auditWarn, now);
      if (!response.policy.namespace) clustered.push(result);
      else {
        const key = `${response.policy.namespace}/${response.policy.name}`;
        const entry = namespaced.get(key) ?? { namespace: response.policy.namespace, name: response.policy.name, results: [] };
        entry.results.push(result);
        namespaced.set(key, entry);
      }
    }
  }
  return { clustered, namespaced: [...namespaced.values()] };
}

export function policyReports(responses: EngineResponse[], policies: Map<string, JsonObject>, auditWarn: boolean, format: 'json' | 'yaml', now = Math.floor(Date.now() / 1000)): string {
  const { clustered, namespaced } = computePolicyReports(responses, policies, auditWarn, now);
  const print = (report: JsonObject) => (format === 'json' ? JSON.stringify(report) : goYaml(report).replace(/\n$/, ''));
  const out: string[] = [];
  if (clustered.length > 0) {
    out.push(print({ apiVersion: REPORT_API_VERSION, kind: 'ClusterReport', metadata: { creationTimestamp: null, name: 'merged' }, results: clustered, summary: summary(clustered) }));
  }
  for (const r of namespaced) {
    out.push('---');
    out.push(print({ apiVersion: REPORT_API_VERSION, kind: 'PolicyReport', metadata: { creationTimestamp: null, name: r.name, namespace: r.namespace }, results: r.results, summary: summary(r.results) }));
  }
  return out.join('\n');
}
