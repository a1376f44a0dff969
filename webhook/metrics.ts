/** Prometheus text exposition for the webhook: requests, latency histogram, results per policy. */

const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface RuleOutcome {
  policy: string;
  rule: string;
  status: string;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(obj: Record<string, string>): string {
  return `{${Object.entries(obj)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',')}}`;
}

/** The counters of one process, as plain data (sent between processes and summed). */
export interface MetricsSnapshot {
  requests: Array<[string, number]>;
  results: Array<[string, number]>;
  buckets: Array<[string, number[]]>;
  sums: Array<[string, number]>;
  counts: Array<[string, number]>;
}

function addInto<V>(target: Map<string, V>, entries: Array<[string, V]>, add: (a: V, b: V) => V): void {
  for (const [k, v] of entries) {
    const prev = target.get(k);
    target.set(k, prev === undefined ? v : add(prev, v));
  }
}

const plus = (a: number, b: number) => a + b;
const plusEach = (a: number[], b: number[]) => a.map((x, i) => x + (b[i] ?? 0));

export class WebhookMetrics {
  private requests = new Map<string, number>();
  private results = new Map<string, number>();
  private buckets = new Map<string, number[]>();
  private sums = new Map<string, number>();
  private counts = new Map<string, number>();

  recordRequest(path: string, code: number, allowed: boolean | undefined, seconds: number, outcomes: RuleOutcome[]): void {
    const key = this.requestKey(path, code, allowed);
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const pathKey = this.requestKey(path);
    let counts = this.buckets.get(pathKey);
    if (!counts) this.buckets.set(pathKey, (counts = new Array<number>(LATENCY_BUCKETS_SECONDS.length).fill(0)));
    for (let i = 0; i < LATENCY_BUCKETS_SECONDS.length; i++) if (seconds <= LATENCY_BUCKETS_SECONDS[i]) counts[i]++;
    this.sums.set(pathKey, (this.sums.get(pathKey) ?? 0) + seconds);
    this.counts.set(pathKey, (this.counts.get(pathKey) ?? 0) + 1);
    for (const o of outcomes) {
      const k = this.resultKey(o);
      this.results.set(k, (this.results.get(k) ?? 0) + 1);
    }
  }

  // Label texts are built once per distinct value: this runs for every request.
  private requestKeys = new Map<string, string>();

  private requestKey(path: string, code?: number, allowed?: boolean): string {
    const id = code === undefined ? path : `${path} ${code} ${allowed}`;
    let key = this.requestKeys.get(id);
    if (key === undefined) {
      key = code === undefined ? labels({ path }) : labels({ path, code: String(code), allowed: allowed === undefined ? '' : String(allowed) });
      this.requestKeys.set(id, key);
    }
    return key;
  }

  // Every rule of every request: the label text of a (policy, rule, result) is built once.
  private resultKeys = new Map<string, Map<string, Map<string, string>>>();

  private resultKey(o: RuleOutcome): string {
    let byRule = this.resultKeys.get(o.policy);
    if (!byRule) this.resultKeys.set(o.policy, (byRule = new Map()));
    let byStatus = byRule.get(o.rule);
    if (!byStatus) byRule.set(o.rule, (byStatus = new Map()));
    let key = byStatus.get(o.status);
    if (key === undefined) byStatus.set(o.status, (key = labels({ policy: o.policy, rule: o.rule, result: o.status })));
    return key;
  }

  snapshot(): MetricsSnapshot {
    return {
      requests: [...this.requests],
      results: [...this.results],
      buckets: [...this.buckets].map(([k, v]) => [k, [...v]]),
      sums: [...this.sums],
      counts: [...this.counts],
    };
  }

  /** Adds another process's counters to these (the primary sums its server processes). */
  add(s: MetricsSnapshot): void {
    addInto(this.requests, s.requests, plus);
    addInto(this.results, s.results, plus);
    addInto(this.buckets, s.buckets.map(([k, v]) => [k, [...v]]), plusEach);
    addInto(this.sums, s.sums, plus);
    addInto(this.counts, s.counts, plus);
  }

  render(): string {
    const out: string[] = [];
    out.push('# HELP kyverno_studio_admission_requests_total Admission requests answered.');
    out.push('# TYPE kyverno_studio_admission_requests_total counter');
    for (const [k, v] of this.requests) out.push(`kyverno_studio_admission_requests_total${k} ${v}`);
    out.push('# HELP kyverno_studio_admission_duration_seconds Time to answer an admission request.');
    out.push('# TYPE kyverno_studio_admission_duration_seconds histogram');
    for (const [pathKey, counts] of this.buckets) {
      const inner = pathKey.slice(1, -1);
      LATENCY_BUCKETS_SECONDS.forEach((le, i) => out.push(`kyverno_studio_admission_duration_seconds_bucket{${inner},le="${le}"} ${counts[i]}`));
      out.push(`kyverno_studio_admission_duration_seconds_bucket{${inner},le="+Inf"} ${this.counts.get(pathKey)}`);
      out.push(`kyverno_studio_admission_duration_seconds_sum${pathKey} ${this.sums.get(pathKey)}`);
      out.push(`kyverno_studio_admission_duration_seconds_count${pathKey} ${this.counts.get(pathKey)}`);
    }
    out.push('# HELP kyverno_studio_policy_results_total Rule results by policy, rule and result.');
    out.push('# TYPE kyverno_studio_policy_results_total counter');
    for (const [k, v] of this.results) out.push(`kyverno_studio_policy_results_total${k} ${v}`);
    return out.join('\n') + '\n';
  }
}
