/**
 * Prometheus text exposition with Kyverno's metric names and labels (pkg/metrics), so
 * Kyverno's Grafana dashboards and alerts work unchanged:
 * - `kyverno_admission_requests_total` and `kyverno_admission_review_duration_seconds`
 *   {resource_kind, resource_namespace, resource_request_operation, request_allowed}
 *   (pkg/metrics/admission.go), one count per review answered, as Kyverno counts per handler;
 * - `kyverno_policy_results_total` {policy_validation_mode, policy_type, policy_background_mode,
 *   policy_namespace, policy_name, resource_kind, resource_namespace, resource_request_operation,
 *   rule_name, rule_result, rule_type, rule_execution_cause, dry_run} (pkg/metrics/policy_engine.go);
 * - histogram buckets are Kyverno's default bucketBoundaries (pkg/config/metricsconfig.go);
 * - `process_*` and `nodejs_*` of the pod (the primary plus its server processes, summed).
 * Answers that never reached a policy (bad bodies, 503 before policies, 504) have no request
 * labels to give; they are counted in `kyverno_studio_webhook_responses_total{path,code}`.
 */

/** Kyverno's default histogram boundaries (seconds). */
const BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 20, 25, 30];

/** One rule result with what Kyverno labels it by. */
export interface RuleOutcome {
  policy: string;
  /** '' for cluster-wide policies (Kyverno writes "-"). */
  policyNamespace?: string;
  rule: string;
  status: string;
  /** validate, mutate, generate, imageVerify, or "-" */
  ruleType?: string;
  /** 'enforce' | 'audit' */
  validationMode?: string;
  /** 'true' | 'false' */
  backgroundMode?: string;
}

/** The request labels of an answered review. */
export interface RequestLabels {
  kind: string;
  namespace: string;
  /** Lower case, as Kyverno labels it: create, update, delete, connect. */
  operation: string;
  allowed: boolean;
  dryRun?: boolean;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `name="value",…` without the braces: label values escaped. */
function pairsText(names: readonly string[], values: readonly string[]): string {
  return names.map((name, i) => `${name}="${escapeLabel(values[i])}"`).join(',');
}


/** Resource usage of one process, summed over the pod's processes. */
export interface ProcessStats {
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  residentBytes: number;
  heapTotalBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
}

export function processStats(): ProcessStats {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return { cpuUserSeconds: cpu.user / 1e6, cpuSystemSeconds: cpu.system / 1e6, residentBytes: mem.rss, heapTotalBytes: mem.heapTotal, heapUsedBytes: mem.heapUsed, externalBytes: mem.external };
}

/** The counters of one process, as plain data (sent between processes and summed). */
export interface MetricsSnapshot {
  requests: Array<[string, number]>;
  results: Array<[string, number]>;
  buckets: Array<[string, number[]]>;
  sums: Array<[string, number]>;
  responses: Array<[string, number]>;
  process?: ProcessStats;
}

function addInto<V>(target: Map<string, V>, entries: Array<[string, V]>, add: (a: V, b: V) => V): void {
  for (const [k, v] of entries) {
    const prev = target.get(k);
    target.set(k, prev === undefined ? v : add(prev, v));
  }
}

const plus = (a: number, b: number) => a + b;
const plusEach = (a: number[], b: number[]) => a.map((x, i) => x + (b[i] ?? 0));
const RULE_TYPES: Record<string, string> = { Validation: 'validate', Mutation: 'mutate', Generation: 'generate', ImageVerify: 'imageVerify' };

/** Kyverno's rule_type label for our rule types. */
export function metricRuleType(type: string): string {
  return RULE_TYPES[type] ?? '-';
}

// Label names of each series family, in Kyverno's order (values are passed in the same order).
const RESPONSE_LABELS = ['path', 'code'] as const;
const REQUEST_LABELS = ['resource_kind', 'resource_namespace', 'resource_request_operation', 'request_allowed'] as const;
// kyverno_policy_results_total's labels, in four runs: the policy's, the request's, the rule's, and the cause.
const RESULT_POLICY_LABELS = ['policy_validation_mode', 'policy_type', 'policy_background_mode', 'policy_namespace', 'policy_name'] as const;
const RESULT_RESOURCE_LABELS = ['resource_kind', 'resource_namespace', 'resource_request_operation'] as const;
const RESULT_RULE_LABELS = ['rule_name', 'rule_result', 'rule_type'] as const;
const RESULT_TAIL_LABELS = ['rule_execution_cause', 'dry_run'] as const;

/** The labels of one rule outcome, around the request's: `{policy,resource,rule,cause}` is the series. */
interface OutcomeSeries {
  /** policy_validation_mode … policy_name */
  policy: string;
  /** rule_name, rule_result, rule_type */
  rule: string;
}

/** The rule results of the reviews with one request label tuple, counted per outcome series. */
interface ResultGroup {
  /** resource_kind, resource_namespace, resource_request_operation */
  resource: string;
  /** rule_execution_cause, dry_run */
  tail: string;
  counts: Map<OutcomeSeries, number>;
}

/** Bound of the label caches (label values come from requests); counting stays exact past it. */
const CACHE_LIMIT = 10_000;

export class WebhookMetrics {
  private requests = new Map<string, number>();
  /** Summed in from other processes' snapshots (the primary); this process's own are in resultGroups. */
  private results = new Map<string, number>();
  private buckets = new Map<string, number[]>();
  private sums = new Map<string, number>();
  private responses = new Map<string, number>();
  private processes: ProcessStats | undefined;
  /** Label texts are built once per distinct value tuple: this runs for every request. */
  private keys = new Map<string, string>();
  /**
   * Rule results, by request label tuple and then outcome series: a review adds one count per
   * rule, so no per-rule label text is built (the full texts are joined for snapshots and
   * /metrics). Callers that pass the same RuleOutcome objects again (webhook/evaluate.ts keeps
   * one per policy and result) find their series by identity.
   */
  private resultGroups = new Map<string, ResultGroup>();
  private seriesOf = new WeakMap<RuleOutcome, OutcomeSeries>();
  private seriesById = new Map<string, OutcomeSeries>();

  /** The label text of one series: cached by its family's first label name and the values. */
  private key(names: readonly string[], values: string[]): string {
    const id = `${names[0]}\u0000${values.join('\u0000')}`;
    let key = this.keys.get(id);
    if (key === undefined) {
      key = `{${pairsText(names, values)}}`;
      if (this.keys.size < CACHE_LIMIT) this.keys.set(id, key);
    }
    return key;
  }

  private outcomeSeries(o: RuleOutcome): OutcomeSeries {
    let series = this.seriesOf.get(o);
    if (series) return series;
    const policy = [o.validationMode ?? 'audit', o.policyNamespace ? 'namespaced' : 'cluster', o.backgroundMode ?? 'true', o.policyNamespace || '-', o.policy];
    const rule = [o.rule, o.status, o.ruleType ?? '-'];
    const id = `${policy.join('\u0000')}\u0000${rule.join('\u0000')}`;
    series = this.seriesById.get(id);
    if (!series) {
      series = { policy: pairsText(RESULT_POLICY_LABELS, policy), rule: pairsText(RESULT_RULE_LABELS, rule) };
      if (this.seriesById.size < CACHE_LIMIT) this.seriesById.set(id, series);
    }
    this.seriesOf.set(o, series);
    return series;
  }

  private resultGroup(kind: string, namespace: string, operation: string, cause: string, dryRun: string): ResultGroup {
    const id = `${kind}\u0000${namespace}\u0000${operation}\u0000${cause}\u0000${dryRun}`;
    let group = this.resultGroups.get(id);
    if (!group) {
      group = { resource: pairsText(RESULT_RESOURCE_LABELS, [kind, namespace, operation]), tail: pairsText(RESULT_TAIL_LABELS, [cause, dryRun]), counts: new Map() };
      this.resultGroups.set(id, group);
    }
    return group;
  }

  /** Every kyverno_policy_results_total series with its count: summed-in ones and this process's. */
  private resultEntries(): Array<[string, number]> {
    if (this.resultGroups.size === 0) return [...this.results];
    const all = new Map(this.results);
    for (const g of this.resultGroups.values()) {
      for (const [s, n] of g.counts) {
        const key = `{${s.policy},${g.resource},${s.rule},${g.tail}}`;
        all.set(key, (all.get(key) ?? 0) + n);
      }
    }
    return [...all];
  }

  /**
   * One answered review. `request` is absent when the body never became a request (then only
   * the response counter moves); `cause` says whether admission or a background scan ran the rules.
   */
  recordRequest(path: string, code: number, request: RequestLabels | undefined, seconds: number, outcomes: RuleOutcome[], cause: 'admission_request' | 'background_scan' = 'admission_request'): void {
    // Reviews in a row mostly share their labels: the last ones' texts are reused without joining.
    let last = this.lastResponse;
    if (last.path !== path || last.code !== code) this.lastResponse = last = { path, code, key: this.key(RESPONSE_LABELS, [path, String(code)]) };
    this.responses.set(last.key, (this.responses.get(last.key) ?? 0) + 1);
    if (!request) return;
    const labels = this.requestLabels(request, cause);
    if (cause === 'admission_request') {
      const key = labels.key;
      this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
      let counts = this.buckets.get(key);
      if (!counts) this.buckets.set(key, (counts = new Array<number>(BUCKETS_SECONDS.length).fill(0)));
      for (let i = 0; i < BUCKETS_SECONDS.length; i++) if (seconds <= BUCKETS_SECONDS[i]) counts[i]++;
      this.sums.set(key, (this.sums.get(key) ?? 0) + seconds);
    }
    if (outcomes.length === 0) return;
    const counts = labels.group.counts;
    for (let i = 0; i < outcomes.length; i++) {
      const series = this.outcomeSeries(outcomes[i]);
      counts.set(series, (counts.get(series) ?? 0) + 1);
    }
  }

  private lastResponse = { path: '', code: 0, key: '' };
  private lastRequest: { kind: string; namespace: string; operation: string; allowed: boolean; dryRun: boolean; cause: string; key: string; group: ResultGroup } | undefined;

  /** The request series' label text and the result group of `request` (the last ones again when the labels are the same). */
  private requestLabels(request: RequestLabels, cause: 'admission_request' | 'background_scan'): { key: string; group: ResultGroup } {
    const last = this.lastRequest;
    const dryRun = request.dryRun === true;
    if (last && last.kind === request.kind && last.namespace === request.namespace && last.operation === request.operation && last.allowed === request.allowed && last.dryRun === dryRun && last.cause === cause) return last;
    const operation = request.operation.toLowerCase();
    const key = this.key(REQUEST_LABELS, [request.kind, request.namespace, operation, String(request.allowed)]);
    const group = this.resultGroup(request.kind, request.namespace, operation, cause, String(dryRun));
    this.lastRequest = { kind: request.kind, namespace: request.namespace, operation: request.operation, allowed: request.allowed, dryRun, cause, key, group };
    return this.lastRequest;
  }

  /** `withProcess`: a server process sends its resource usage along (accumulators do not). */
  snapshot(withProcess = false): MetricsSnapshot {
    return {
      requests: [...this.requests],
      results: this.resultEntries(),
      buckets: [...this.buckets].map(([k, v]) => [k, [...v]]),
      sums: [...this.sums],
      responses: [...this.responses],
      process: withProcess ? processStats() : undefined,
    };
  }

  /** Adds another process's counters to these (the primary sums its server processes). */
  add(s: MetricsSnapshot): void {
    addInto(this.requests, s.requests, plus);
    addInto(this.results, s.results, plus);
    addInto(this.buckets, s.buckets.map(([k, v]) => [k, [...v]]), plusEach);
    addInto(this.sums, s.sums, plus);
    addInto(this.responses, s.responses ?? [], plus);
    if (s.process) this.addProcess(s.process);
  }

  /** Resource usage of a process to include in `process_*` / `nodejs_*`. */
  addProcess(p: ProcessStats): void {
    const q = this.processes;
    this.processes = q
      ? {
          cpuUserSeconds: q.cpuUserSeconds + p.cpuUserSeconds,
          cpuSystemSeconds: q.cpuSystemSeconds + p.cpuSystemSeconds,
          residentBytes: q.residentBytes + p.residentBytes,
          heapTotalBytes: q.heapTotalBytes + p.heapTotalBytes,
          heapUsedBytes: q.heapUsedBytes + p.heapUsedBytes,
          externalBytes: q.externalBytes + p.externalBytes,
        }
      : { ...p };
  }

  render(): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    family('kyverno_admission_requests_total', 'counter', 'can be used to track the number of admission requests encountered by Kyverno in the cluster');
    for (const [k, v] of this.requests) out.push(`kyverno_admission_requests_total${k} ${v}`);
    family('kyverno_admission_review_duration_seconds', 'histogram', 'can be used to track the latencies (in seconds) associated with the entire individual admission review');
    for (const [key, counts] of this.buckets) {
      const inner = key.slice(1, -1);
      BUCKETS_SECONDS.forEach((le, i) => out.push(`kyverno_admission_review_duration_seconds_bucket{${inner},le="${le}"} ${counts[i]}`));
      const total = this.requests.get(key) ?? 0;
      out.push(`kyverno_admission_review_duration_seconds_bucket{${inner},le="+Inf"} ${total}`);
      out.push(`kyverno_admission_review_duration_seconds_sum${key} ${this.sums.get(key)}`);
      out.push(`kyverno_admission_review_duration_seconds_count${key} ${total}`);
    }
    family('kyverno_policy_results_total', 'counter', 'can be used to track the results associated with the policies applied in the user cluster, at the level from rule to policy to admission requests');
    for (const [k, v] of this.resultEntries()) out.push(`kyverno_policy_results_total${k} ${v}`);
    family('kyverno_studio_webhook_responses_total', 'counter', 'HTTP answers of the webhook by path and status code (including bad requests that never reached a policy)');
    for (const [k, v] of this.responses) out.push(`kyverno_studio_webhook_responses_total${k} ${v}`);
    const p = this.processes;
    if (p) {
      family('process_cpu_user_seconds_total', 'counter', 'Total user CPU time spent in seconds.');
      out.push(`process_cpu_user_seconds_total ${p.cpuUserSeconds}`);
      family('process_cpu_system_seconds_total', 'counter', 'Total system CPU time spent in seconds.');
      out.push(`process_cpu_system_seconds_total ${p.cpuSystemSeconds}`);
      family('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.');
      out.push(`process_cpu_seconds_total ${p.cpuUserSeconds + p.cpuSystemSeconds}`);
      family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.');
      out.push(`process_resident_memory_bytes ${p.residentBytes}`);
      family('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.');
      out.push(`process_start_time_seconds ${Math.round(Date.now() / 1000 - process.uptime())}`);
      family('nodejs_heap_size_total_bytes', 'gauge', 'Process heap size from Node.js in bytes.');
      out.push(`nodejs_heap_size_total_bytes ${p.heapTotalBytes}`);
      family('nodejs_heap_size_used_bytes', 'gauge', 'Process heap size used from Node.js in bytes.');
      out.push(`nodejs_heap_size_used_bytes ${p.heapUsedBytes}`);
      family('nodejs_external_memory_bytes', 'gauge', 'Node.js external memory size in bytes.');
      out.push(`nodejs_external_memory_bytes ${p.externalBytes}`);
      family('nodejs_version_info', 'gauge', 'Node.js version info.');
      const [major, minor, patch] = process.versions.node.split('.');
      out.push(`nodejs_version_info{version="v${process.versions.node}",major="${major}",minor="${minor}",patch="${patch}"} 1`);
    }
    return out.join('\n') + '\n';
  }
}
