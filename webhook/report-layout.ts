/**
 * Policy results as wgpolicyk8s.io/v1alpha2 reports laid out the way Kyverno's reports
 * controller (1.10+) lays them out: one report per resource, named after the resource's UID,
 * in the resource's namespace (a ClusterPolicyReport for cluster-scoped resources), with
 * `scope` pointing at the resource and an ownerReference to it, so the API server's garbage
 * collector removes the report with the resource. Like Kyverno's, our reports carry
 * `app.kubernetes.io/managed-by: kyverno` and results with `source: kyverno`, so Policy Reporter
 * and other tools show them as Kyverno's; our own label `reports.kyverno-studio.io/written-by`
 * says which product wrote them. Reports without it (a real Kyverno's use the same names) are
 * never touched.
 *
 * This file is the pure layout; the writer that talks to the API server is reports.ts.
 */
import type { JsonObject as Json, RuleResult } from '../engine/core/types';
import { computeRules } from '../engine/autogen';
import { asObject } from '../engine/core/json';
import { MANAGED_BY_LABEL } from '../engine/kube/labels';

export const REPORT_API_VERSION = 'wgpolicyk8s.io/v1alpha2';
/** Kyverno's value (pkg/utils/report SetManagedByKyvernoLabel). */
export const MANAGED_BY = 'kyverno';
/** Which product wrote a report: ours, so we never touch a real Kyverno's reports. */
export const WRITTEN_BY_LABEL = 'reports.kyverno-studio.io/written-by';
export const WRITTEN_BY = 'kyverno-studio';
/** Label selectors of our reports: current, and of versions that labelled them managed-by kyverno-studio. */
export const OUR_REPORT_SELECTORS = [`${WRITTEN_BY_LABEL}=${WRITTEN_BY}`, `${MANAGED_BY_LABEL}=kyverno-studio`];
/** The name of the per-namespace reports written before the per-resource layout. */
export const LEGACY_REPORT_NAME = 'kyverno-studio';
/** A resource has one result per (policy, rule); this only guards against pathological input. */
const MAX_RESULTS = 1000;

export interface ReportItem {
  policy: string;
  /** The policy's kind (ClusterPolicy when not given): the result's `source`. */
  policyKind?: string;
  rule: string;
  /** Engine status: pass | fail | warn | error | skip. */
  status: string;
  message: string;
  resource: Json;
  /** The PolicyExceptions behind a skipped (or passed) result: `name` or `namespace/name`. */
  exceptions?: string[];
  /** The rule's own report properties (generated resources…), before Kyverno's process and exceptions. */
  properties?: Record<string, string>;
  /** The admission policy binding that gave an admission policy's result (Kyverno's `binding`/`mapBinding` property). */
  binding?: string;
  /** Seconds since the epoch. */
  time?: number;
}

/** Go's schema.GroupVersionKind String(): `group/version, Kind=kind` (`/v1, Kind=Secret` for the core group). */
function gvkText(o: Json): string {
  const apiVersion = String(o.apiVersion ?? '');
  const slash = apiVersion.indexOf('/');
  return `${slash < 0 ? '' : apiVersion.slice(0, slash)}/${apiVersion.slice(slash + 1)}, Kind=${String(o.kind ?? '')}`;
}

/** Kyverno's getResourceInfo: how report properties name an object (`patched-target`, `generated-resources`). */
export function resourceInfo(o: Json): string {
  const m = asObject(o.metadata);
  return `${gvkText(o)} Name=${String(m.name ?? '')}${m.namespace ? ` Namespace=${String(m.namespace)}` : ''}`;
}

/** Kyverno's `generated-resources` report property (GenerationEngineResponseToReportResults). */
export function generatedResourcesProperty(objects: Json[]): string {
  return objects.map(resourceInfo).join('; ');
}

/**
 * One rule's result on `resource` as a report item of the policy that gave it, the policy
 * named `namespace/name` when it has a namespace (a Policy, a Namespaced… policy), as Kyverno
 * names it in reports; generated objects go in `generated-resources`.
 */
export function ruleReportItem(policy: Json, result: RuleResult, resource: Json, time: number): ReportItem {
  const m = asObject(policy.metadata);
  const properties = { ...result.properties, ...(result.generatedResources?.length ? { 'generated-resources': generatedResourcesProperty(result.generatedResources) } : {}) };
  return {
    policy: m.namespace ? `${String(m.namespace)}/${String(m.name)}` : String(m.name ?? ''),
    policyKind: String(policy.kind ?? ''), rule: result.name, status: result.status, message: result.message,
    ...(result.exceptions?.length ? { exceptions: result.exceptions } : {}),
    ...(Object.keys(properties).length ? { properties } : {}),
    resource, time,
  };
}

/** A report result's `source`: which engine of Kyverno's wrote it (pkg/utils/report/source.go). */
export const SOURCE_KYVERNO = 'kyverno';
const SOURCES: ReadonlyArray<[RegExp, string]> = [
  [/^(Namespaced)?ValidatingPolicy$/, 'KyvernoValidatingPolicy'],
  [/^(Namespaced)?ImageValidatingPolicy$/, 'KyvernoImageValidatingPolicy'],
  [/^(Namespaced)?MutatingPolicy$/, 'KyvernoMutatingPolicy'],
  [/^(Namespaced)?GeneratingPolicy$/, 'KyvernoGeneratingPolicy'],
  [/^ValidatingAdmissionPolicy$/, 'ValidatingAdmissionPolicy'],
  [/^MutatingAdmissionPolicy$/, 'MutatingAdmissionPolicy'],
];

/** Kyverno's ToPolicyReportResult source for a policy kind ("kyverno" for ClusterPolicy and Policy). */
export function reportSource(policyKind: string | undefined): string {
  for (const [kind, source] of SOURCES) if (policyKind && kind.test(policyKind)) return source;
  return SOURCE_KYVERNO;
}

/** Where one resource's results live. */
export interface ReportTarget {
  /** '' for a cluster-scoped resource (ClusterPolicyReport). */
  namespace: string;
  name: string;
  scope: Json;
  /** Set only when the resource's UID is known. */
  owner?: Json;
}

/** The results a wgpolicyk8s.io/v1alpha2 report can hold (its CRD's enum). */
export const REPORT_RESULTS = ['pass', 'fail', 'warn', 'error', 'skip'] as const;
export type ReportResultValue = (typeof REPORT_RESULTS)[number];
const RESULTS = new Set<string>(REPORT_RESULTS);
const SEVERITIES = new Set(['critical', 'high', 'medium', 'low', 'info']);

/** Where reports are written: the API group and the kinds for namespaced and cluster-scoped resources. */
export interface ReportGroup {
  apiVersion: string;
  namespacedKind: string;
  clusterKind: string;
}

export const POLICY_REPORTS: ReportGroup = { apiVersion: REPORT_API_VERSION, namespacedKind: 'PolicyReport', clusterKind: 'ClusterPolicyReport' };
/** Kyverno's --openreportsEnabled: the same reports as openreports.io/v1alpha1 Report and ClusterReport. */
export const OPEN_REPORTS: ReportGroup = { apiVersion: 'openreports.io/v1alpha1', namespacedKind: 'Report', clusterKind: 'ClusterReport' };

export function reportKind(namespace: string, group: ReportGroup = POLICY_REPORTS): string {
  return namespace ? group.namespacedKind : group.clusterKind;
}

/**
 * The report name for a resource without a UID (only a webhook request that lacks one, e.g.
 * from a mutating stage): `<kind>-<name>`, lowercased and reduced to a DNS subdomain.
 */
export function fallbackReportName(kind: string, name: string): string {
  const clean = (s: string) => s.replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  const raw = clean(`${kind}-${name}`.toLowerCase().replace(/[^a-z0-9.-]+/g, '-'));
  return clean(raw.slice(0, 253)) || 'resource';
}

/** The report for a resource, or undefined when the object has no kind or name to point at. */
export function reportTarget(resource: Json): ReportTarget | undefined {
  const meta = asObject(resource.metadata);
  const name = typeof meta.name === 'string' && meta.name ? meta.name : undefined;
  const kind = typeof resource.kind === 'string' && resource.kind ? resource.kind : undefined;
  const apiVersion = typeof resource.apiVersion === 'string' ? resource.apiVersion : undefined;
  if (!name || !kind || !apiVersion) return undefined;
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : '';
  const uid = typeof meta.uid === 'string' && meta.uid ? meta.uid : undefined;
  const scope: Json = { apiVersion, kind, name, ...(namespace ? { namespace } : {}), ...(uid ? { uid } : {}) };
  return {
    namespace,
    name: uid ?? fallbackReportName(kind, name),
    scope,
    owner: uid ? { apiVersion, kind, name, uid } : undefined,
  };
}

/** The target of a report read back from the API server (scope and owner as stored). */
export function targetOf(report: Json): ReportTarget {
  const meta = asObject(report.metadata);
  const owners = Array.isArray(meta.ownerReferences) ? (meta.ownerReferences as Json[]) : [];
  return { namespace: String(meta.namespace ?? ''), name: String(meta.name), scope: asObject(report.scope), owner: owners[0] };
}

export function isOurs(report: Json): boolean {
  const labels = asObject(asObject(report.metadata).labels);
  return labels[WRITTEN_BY_LABEL] === WRITTEN_BY || labels[MANAGED_BY_LABEL] === 'kyverno-studio';
}

/** A report from before the per-resource layout: our name, no scope. */
export function isLegacyReport(report: Json): boolean {
  return isOurs(report) && asObject(report.metadata).name === LEGACY_REPORT_NAME && report.scope === undefined;
}

interface PolicyFacts {
  /** Rule names results may carry; undefined: any (CEL policies have no named rules). */
  rules?: Set<string>;
  scored: boolean;
  category?: string;
  severity?: string;
  process: string;
  /** False when Kyverno writes no result of the policy (reportable). */
  reportable: boolean;
}

/** Kyverno's LabelExcludeReporting: a policy with this label (any value) is left out of every report. */
export const REPORTS_DISABLED_LABEL = 'reports.kyverno.io/disabled';
/** Kyverno's LabelEnableVAPReporting: Kubernetes' admission policies are reported only when it is "true". */
export const REPORTS_ENABLED_LABEL = 'reports.kyverno.io/enabled';

/**
 * Whether Kyverno reports a policy's results: never with the disabled label (IsPolicyReportable
 * and the reports controller's listers); a ValidatingAdmissionPolicy or MutatingAdmissionPolicy
 * only with the enabled label set to "true" (FetchValidatingAdmissionPolicies and its MAP
 * counterparts list only those).
 */
export function reportable(p: Json): boolean {
  const labels = asObject(asObject(p.metadata).labels);
  if (REPORTS_DISABLED_LABEL in labels) return false;
  if (isAdmissionPolicy(p)) return labels[REPORTS_ENABLED_LABEL] === 'true';
  return true;
}

/** Kubernetes' own admission policies (admissionregistration.k8s.io), which only the reports controller scans. */
export function isAdmissionPolicy(p: Json): boolean {
  return (p.kind === 'ValidatingAdmissionPolicy' || p.kind === 'MutatingAdmissionPolicy') && String(p.apiVersion ?? '').startsWith('admissionregistration.k8s.io/');
}

/**
 * Kyverno's `process` property (ToPolicyReportResult): which pass the policy's settings say
 * produced a result, not the caller; generating policies always "admission review", Kubernetes'
 * admission policies always "background scan".
 */
function processOf(p: Json): string {
  const spec = asObject(p.spec);
  const source = reportSource(String(p.kind ?? ''));
  if (source === 'KyvernoGeneratingPolicy') return 'admission review';
  if (source === 'ValidatingAdmissionPolicy' || source === 'MutatingAdmissionPolicy') return 'background scan';
  const kyverno = source === SOURCE_KYVERNO;
  const evaluation = asObject(spec.evaluation);
  const background = kyverno ? spec.background !== false : asObject(evaluation.background).enabled !== false;
  const admission = kyverno ? spec.admission !== false : asObject(evaluation.admission).enabled !== false;
  return background ? 'background scan' : admission ? 'admission review' : '';
}

function factsOf(p: Json): PolicyFacts {
  const ann = asObject(asObject(p.metadata).annotations);
  const kyverno = p.kind === 'ClusterPolicy' || p.kind === 'Policy';
  const severity = typeof ann['policies.kyverno.io/severity'] === 'string' ? ann['policies.kyverno.io/severity'] : '';
  return {
    rules: kyverno ? new Set(computeRules(p).map((r) => String(r.name ?? ''))) : undefined,
    scored: ann['policies.kyverno.io/scored'] !== 'false',
    category: typeof ann['policies.kyverno.io/category'] === 'string' && ann['policies.kyverno.io/category'] ? ann['policies.kyverno.io/category'] : undefined,
    severity: SEVERITIES.has(severity) ? severity : undefined,
    process: processOf(p),
    reportable: reportable(p),
  };
}

/**
 * The policies that exist, for pruning and for the per-policy parts of a result. Results
 * name a policy by its name (Kyverno writes `namespace/name` for namespaced ones; both are
 * understood): a namespaced policy only ever reports on resources in its own namespace.
 */
export class ReportPolicies {
  private constructor(private readonly byKey: Map<string, PolicyFacts>) {}

  static of(policies: Json[]): ReportPolicies {
    const byKey = new Map<string, PolicyFacts>();
    for (const p of policies) {
      const meta = asObject(p.metadata);
      if (typeof meta.name !== 'string') continue;
      const key = meta.namespace ? `${String(meta.namespace)}/${meta.name}` : meta.name;
      const facts = factsOf(p);
      const prev = byKey.get(key);
      // Two cluster-scoped kinds may share a name (a ClusterPolicy and a ValidatingPolicy).
      if (prev) facts.rules = prev.rules && facts.rules ? new Set([...prev.rules, ...facts.rules]) : undefined;
      byKey.set(key, prev ? { ...prev, rules: facts.rules, reportable: prev.reportable || facts.reportable } : facts);
    }
    return new ReportPolicies(byKey);
  }

  private lookup(policy: string, namespace: string): PolicyFacts | undefined {
    if (policy.includes('/')) return this.byKey.get(policy);
    return this.byKey.get(policy) ?? (namespace ? this.byKey.get(`${namespace}/${policy}`) : undefined);
  }

  /** True while the result's policy (and rule, for rule-based policies) still exists and is reported. */
  keeps(result: Json, namespace: string): boolean {
    const facts = this.lookup(String(result.policy ?? ''), namespace);
    return !!facts && facts.reportable && (!facts.rules || facts.rules.has(String(result.rule ?? '')));
  }

  facts(policy: string, namespace: string): PolicyFacts | undefined {
    return this.lookup(policy, namespace);
  }

  /** True when some (policy, rule) this set keeps is not kept by `next`: a prune is due. */
  dropsAnyIn(next: ReportPolicies): boolean {
    for (const [key, facts] of this.byKey) {
      const other = next.byKey.get(key);
      if (!other || (facts.reportable && !other.reportable)) return true;
      if (!other.rules) continue;
      if (!facts.rules) return true;
      for (const r of facts.rules) if (!other.rules.has(r)) return true;
    }
    return false;
  }
}

/** One report result, without `resources`: the report's scope names the resource (Kyverno's shape). */
export function reportResult(item: ReportItem, policies?: ReportPolicies): Json {
  const seconds = Math.floor(item.time ?? Date.now() / 1000);
  const namespace = String(asObject(item.resource.metadata).namespace ?? '');
  const facts = policies?.facts(item.policy, namespace);
  let result = RESULTS.has(item.status) ? item.status : 'error';
  const properties: Record<string, string> = { ...item.properties };
  // Kyverno: a `<result>Message` property, then a `message` one, replaces the result's message
  // (looked up before an unscored failure becomes a warning: `failMessage` still names it).
  const message = properties.message || properties[`${result}Message`] || item.message;
  // Kyverno: `policies.kyverno.io/scored: "false"` reports failures as warnings.
  if (result === 'fail' && facts && !facts.scored) result = 'warn';
  if (facts?.process) properties.process = facts.process;
  // Kyverno names the exceptions by name only (GetName), comma-separated.
  if (item.exceptions?.length) properties.exceptions = item.exceptions.map((e) => e.slice(e.lastIndexOf('/') + 1)).join(',');
  if (item.binding) properties[item.policyKind === 'MutatingAdmissionPolicy' ? 'mapBinding' : 'binding'] = item.binding;
  return {
    source: reportSource(item.policyKind),
    policy: item.policy,
    // An empty rule name (CEL policies' results) is left out, as Go's omitempty does.
    ...(item.rule ? { rule: item.rule } : {}),
    result,
    // Go's omitempty: a result without a message (a generate rule's pass) has no `message`.
    ...(message ? { message } : {}),
    scored: facts ? facts.scored : true,
    ...(facts?.category ? { category: facts.category } : {}),
    ...(facts?.severity ? { severity: facts.severity } : {}),
    ...(Object.keys(properties).length ? { properties } : {}),
    timestamp: { seconds, nanos: 0 },
  };
}

/**
 * The key a result is merged under (the aggregate controller's MergeReports): a ClusterPolicy
 * or Policy has one result per rule, any other source one result per policy.
 */
function mergeKey(r: Json): string {
  const source = String(r.source ?? SOURCE_KYVERNO);
  return source === SOURCE_KYVERNO ? `${source}\u0000${String(r.policy)}\u0000${String(r.rule ?? '')}` : `${source}\u0000${String(r.policy)}`;
}

function seconds(r: Json): number {
  return Number(asObject(r.timestamp).seconds ?? 0);
}

/** Pure: merges one resource's results, newest per (policy, rule) wins, sorted like Kyverno. */
export function mergeResults(existing: Json[], incoming: Json[]): Json[] {
  const byKey = new Map<string, Json>();
  for (const r of [...existing, ...incoming]) {
    const k = mergeKey(r);
    const prev = byKey.get(k);
    if (!prev || seconds(r) >= seconds(prev)) byKey.set(k, r);
  }
  let out = [...byKey.values()];
  if (out.length > MAX_RESULTS) out = out.sort((a, b) => seconds(b) - seconds(a)).slice(0, MAX_RESULTS);
  return out.sort(compareResults);
}

/** Kyverno's SortReportResults: by policy, rule, then source (Go's string order: code units). */
function compareResults(a: Json, b: Json): number {
  for (const field of ['policy', 'rule', 'source']) {
    const x = String(a[field] ?? '');
    const y = String(b[field] ?? '');
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export function summarize(results: Json[]): Json {
  const s: Record<string, number> = Object.fromEntries(REPORT_RESULTS.map((r) => [r, 0]));
  for (const r of results) if (String(r.result) in s) s[String(r.result)]++;
  return s;
}

/** Pure: the report object for one resource. */
export function buildReport(target: ReportTarget, results: Json[], group: ReportGroup = POLICY_REPORTS): Json {
  const metadata: Json = { name: target.name, labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [WRITTEN_BY_LABEL]: WRITTEN_BY } };
  if (target.namespace) metadata.namespace = target.namespace;
  if (target.owner) metadata.ownerReferences = [target.owner];
  return {
    apiVersion: group.apiVersion,
    kind: reportKind(target.namespace, group),
    metadata,
    scope: target.scope,
    results,
    summary: summarize(results),
  };
}
