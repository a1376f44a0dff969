/**
 * The model behind the "Policy Reports" view: wgpolicyk8s.io/v1alpha2 PolicyReports and
 * ClusterPolicyReports of a cluster, as rows (one per result and resource) aggregated into a
 * tree (namespace → policy → rule, or policy → rule → namespace) with pass/fail/warn/error/skip
 * counts on every node. Pure (no vscode): reports come in one at a time from a watch, and
 * each change costs the size of that report (its old rows leave the counts, its new rows
 * enter), so thousands of reports never mean a recount. A filter or grouping change rebuilds
 * the tree once from the rows kept.
 *
 * The report layout (scope, results, the result values) is the webhook's: report-layout.ts.
 */
import type { JsonObject as Json } from '../../../engine/core/types';
import { asObject } from '../../../engine/core/json';
import { failurePathsInMessage } from '../../../engine/pattern';
import { wildcardMatch } from '../../../engine/wildcard/wildcard';
import { REPORT_RESULTS, targetOf, type ReportResultValue } from '../../../webhook/report-layout';

export type ReportResult = ReportResultValue;
export type Counts = Record<ReportResult, number>;

/** Worst first: the order of leaves and of the chart. */
export const RESULT_SEVERITY_ORDER: readonly ReportResult[] = ['fail', 'error', 'warn', 'skip', 'pass'];

export interface ResourceRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

export interface ReportRow {
  /** Unique: the report's key and the position of the result (and resource) in it. */
  id: string;
  reportKey: string;
  /** '' for a ClusterPolicyReport. */
  namespace: string;
  policy: string;
  rule: string;
  result: ReportResult;
  message: string;
  resource?: ResourceRef;
  properties?: Record<string, string>;
  severity?: string;
  category?: string;
}

export type Dimension = 'namespace' | 'policy' | 'rule';
export type Grouping = 'namespace' | 'policy';

/** The levels of the tree for a grouping; the last level holds the rows. */
export const GROUPING_LEVELS: Record<Grouping, readonly Dimension[]> = {
  namespace: ['namespace', 'policy', 'rule'],
  policy: ['policy', 'rule', 'namespace'],
};

export interface ReportFilter {
  /** Results shown; empty or undefined: all. */
  results?: ReadonlySet<ReportResult>;
  /** Namespace wildcard (`*`, `?`); `-` or `(cluster)` selects cluster-scoped reports. */
  namespace?: string;
  /** Case-insensitive text looked for in the policy and rule names. */
  text?: string;
}

export interface GroupNode {
  /** 'root' for the top of the tree. */
  dimension: Dimension | 'root';
  value: string;
  /** Values of the levels from the root down to this node (its identity in the tree). */
  path: readonly string[];
  counts: Counts;
  children: Map<string, GroupNode>;
  /** Rows, on the last level only. */
  rows?: Map<string, ReportRow>;
}

export const CLUSTER_SCOPE_LABEL = '(cluster)';

export function emptyCounts(): Counts {
  return { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
}

export function totalOf(c: Counts): number {
  return c.pass + c.fail + c.warn + c.error + c.skip;
}

const RESULT_SET = new Set<string>(REPORT_RESULTS);

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function refOf(o: Json): ResourceRef | undefined {
  const name = str(o.name);
  const kind = str(o.kind);
  if (!name || !kind) return undefined;
  return { apiVersion: str(o.apiVersion) ?? 'v1', kind, name, namespace: str(o.namespace), uid: str(o.uid) };
}

/**
 * The rows of one report. A result names its resource through the report's `scope` (Kyverno
 * 1.10+, and ours), or through its own `resources` (older reports holding many resources): one
 * row per resource then. A result value outside the CRD's enum counts as `error`.
 */
export function rowsOfReport(reportKey: string, report: Json): ReportRow[] {
  const target = targetOf(report);
  const namespace = target.namespace;
  const scope = refOf(target.scope);
  const results = Array.isArray(report.results) ? report.results : [];
  const rows: ReportRow[] = [];
  results.forEach((raw, i) => {
    const r = asObject(raw);
    const result = (RESULT_SET.has(String(r.result)) ? String(r.result) : 'error') as ReportResult;
    // One object shape for every row (a watch of thousands of reports makes many of them).
    const base: ReportRow = { id: `${reportKey}#${i}`, reportKey, namespace, policy: String(r.policy ?? ''), rule: String(r.rule ?? ''), result, message: String(r.message ?? '') };
    const props = r.properties;
    if (props !== null && typeof props === 'object' && !Array.isArray(props)) {
      const entries = Object.entries(props);
      if (entries.length) base.properties = Object.fromEntries(entries.map(([k, v]) => [k, String(v)]));
    }
    if (str(r.severity)) base.severity = String(r.severity);
    if (str(r.category)) base.category = String(r.category);
    const resources = Array.isArray(r.resources) ? r.resources.map((x) => refOf(asObject(x))).filter((x): x is ResourceRef => !!x) : [];
    if (resources.length === 0) {
      if (scope) base.resource = scope;
      rows.push(base);
    } else resources.forEach((resource, j) => rows.push({ ...base, id: `${reportKey}#${i}.${j}`, resource: { ...resource, namespace: resource.namespace ?? (namespace || undefined) } }));
  });
  return rows;
}

export function matchesFilter(row: ReportRow, f: ReportFilter): boolean {
  if (f.results && f.results.size > 0 && !f.results.has(row.result)) return false;
  if (f.namespace) {
    const want = f.namespace;
    if (want === '-' || want === CLUSTER_SCOPE_LABEL) {
      if (row.namespace !== '') return false;
    } else if (!wildcardMatch(want, row.namespace)) return false;
  }
  if (f.text) {
    const t = f.text.toLowerCase();
    if (!row.policy.toLowerCase().includes(t) && !row.rule.toLowerCase().includes(t)) return false;
  }
  return true;
}

/**
 * The filter typed in the view: words `fail`, `warn`… (or `result:fail,warn`) pick results,
 * `ns:<wildcard>` (or `namespace:`) a namespace, anything else is policy/rule text.
 */
export function parseFilter(input: string): ReportFilter {
  const results = new Set<ReportResult>();
  let namespace: string | undefined;
  const text: string[] = [];
  for (const word of input.trim().split(/\s+/).filter(Boolean)) {
    const m = /^(result|results|ns|namespace):(.*)$/i.exec(word);
    if (m && /^(ns|namespace)$/i.test(m[1])) {
      namespace = m[2] || undefined;
      continue;
    }
    const values = (m ? m[2] : word).toLowerCase().split(',').filter(Boolean);
    if (values.length > 0 && values.every((v) => RESULT_SET.has(v))) {
      for (const v of values) results.add(v as ReportResult);
      continue;
    }
    text.push(m ? m[2] : word);
  }
  return { ...(results.size ? { results } : {}), ...(namespace ? { namespace } : {}), ...(text.length ? { text: text.join(' ') } : {}) };
}

/** The filter as typed (parseFilter's inverse), for the view's description and the input box. */
export function formatFilter(f: ReportFilter): string {
  const parts: string[] = [];
  if (f.results?.size) parts.push(REPORT_RESULTS.filter((r) => f.results!.has(r)).join(','));
  if (f.namespace) parts.push(`ns:${f.namespace}`);
  if (f.text) parts.push(f.text);
  return parts.join(' ');
}

export function isEmptyFilter(f: ReportFilter): boolean {
  return !f.results?.size && !f.namespace && !f.text;
}

function valueOf(row: ReportRow, d: Dimension): string {
  return d === 'namespace' ? row.namespace : d === 'policy' ? row.policy : row.rule;
}

function newNode(dimension: GroupNode['dimension'], value: string, path: readonly string[], leaf: boolean): GroupNode {
  return { dimension, value, path, counts: emptyCounts(), children: new Map(), ...(leaf ? { rows: new Map() } : {}) };
}

/** Leaves sorted worst first, then by resource. */
export function compareRows(a: ReportRow, b: ReportRow): number {
  const s = RESULT_SEVERITY_ORDER.indexOf(a.result) - RESULT_SEVERITY_ORDER.indexOf(b.result);
  if (s !== 0) return s;
  const an = `${a.resource?.kind ?? ''}/${a.resource?.namespace ?? ''}/${a.resource?.name ?? ''}`;
  const bn = `${b.resource?.kind ?? ''}/${b.resource?.namespace ?? ''}/${b.resource?.name ?? ''}`;
  return an < bn ? -1 : an > bn ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export class ReportsModel {
  private readonly reports = new Map<string, ReportRow[]>();
  private root!: GroupNode;
  private levels: readonly Dimension[];
  private filterValue: ReportFilter = {};
  private all = emptyCounts();
  /** Bumped on every change: views compare it to skip refreshes that change nothing. */
  version = 0;

  constructor(private groupingValue: Grouping = 'namespace') {
    this.levels = GROUPING_LEVELS[groupingValue];
    this.rebuild();
  }

  get grouping(): Grouping {
    return this.groupingValue;
  }

  get filter(): ReportFilter {
    return this.filterValue;
  }

  get reportCount(): number {
    return this.reports.size;
  }

  /** Counts of the rows the filter keeps. */
  get totals(): Counts {
    return this.root.counts;
  }

  /** Counts of every row, whatever the filter. */
  get unfilteredTotals(): Counts {
    return this.all;
  }

  get tree(): GroupNode {
    return this.root;
  }

  /** Replaces (or, with undefined, removes) one report: O(results of that report). */
  setReport(key: string, report: Json | undefined): void {
    const old = this.reports.get(key);
    if (old) for (const row of old) this.remove(row);
    if (report === undefined) this.reports.delete(key);
    else {
      const rows = rowsOfReport(key, report);
      this.reports.set(key, rows);
      for (const row of rows) this.add(row);
    }
    this.version++;
  }

  clear(): void {
    this.reports.clear();
    this.rebuild();
  }

  setFilter(f: ReportFilter): void {
    this.filterValue = f;
    this.rebuild();
  }

  setGrouping(g: Grouping): void {
    this.groupingValue = g;
    this.levels = GROUPING_LEVELS[g];
    this.rebuild();
  }

  /** The node at a path of values (a tree item's identity), if it still exists. */
  nodeAt(path: readonly string[]): GroupNode | undefined {
    let node: GroupNode | undefined = this.root;
    for (const v of path) node = node?.children.get(v);
    return node;
  }

  /** Children sorted by name (cluster scope first among namespaces). */
  childrenOf(node: GroupNode): GroupNode[] {
    return [...node.children.values()].sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  }

  /** The first `limit` rows of a leaf group, worst first, and how many more there are. */
  rowsOf(node: GroupNode, limit: number): { rows: ReportRow[]; more: number } {
    const all = [...(node.rows?.values() ?? [])];
    if (all.length <= limit) return { rows: all.sort(compareRows), more: 0 };
    return { rows: all.sort(compareRows).slice(0, limit), more: all.length - limit };
  }

  /** Top-level groups by failures (fail + error), for the chart. */
  topGroups(n: number): GroupNode[] {
    const bad = (g: GroupNode) => g.counts.fail + g.counts.error;
    return [...this.root.children.values()].sort((a, b) => bad(b) - bad(a) || totalOf(b.counts) - totalOf(a.counts) || (a.value < b.value ? -1 : 1)).slice(0, n);
  }

  private rebuild(): void {
    this.root = newNode('root', '', [], this.levels.length === 0);
    this.all = emptyCounts();
    for (const rows of this.reports.values()) for (const row of rows) this.add(row);
    this.version++;
  }

  private add(row: ReportRow): void {
    this.all[row.result]++;
    if (!matchesFilter(row, this.filterValue)) return;
    let node = this.root;
    node.counts[row.result]++;
    for (let i = 0; i < this.levels.length; i++) {
      const d = this.levels[i];
      const v = valueOf(row, d);
      let child = node.children.get(v);
      if (!child) {
        child = newNode(d, v, [...node.path, v], i === this.levels.length - 1);
        node.children.set(v, child);
      }
      child.counts[row.result]++;
      node = child;
    }
    node.rows!.set(row.id, row);
  }

  private remove(row: ReportRow): void {
    this.all[row.result]--;
    if (!matchesFilter(row, this.filterValue)) return;
    const chain: GroupNode[] = [this.root];
    for (const d of this.levels) {
      const next = chain[chain.length - 1].children.get(valueOf(row, d));
      if (!next) return; // not in the tree: nothing counted
      chain.push(next);
    }
    const leaf = chain[chain.length - 1];
    if (!leaf.rows?.delete(row.id)) return;
    for (const n of chain) n.counts[row.result]--;
    for (let i = chain.length - 1; i > 0; i--) {
      if (totalOf(chain[i].counts) === 0) chain[i - 1].children.delete(chain[i].value);
    }
  }
}

/** `✖ 3  ⚠ 1  ✔ 20`: the non-zero counts, worst first. */
export function countsLabel(c: Counts): string {
  const sign: Record<ReportResult, string> = { fail: 'fail', error: 'error', warn: 'warn', skip: 'skip', pass: 'pass' };
  return RESULT_SEVERITY_ORDER.filter((r) => c[r] > 0)
    .map((r) => `${sign[r]} ${c[r]}`)
    .join(' · ');
}

export function worstResult(c: Counts): ReportResult | undefined {
  return RESULT_SEVERITY_ORDER.find((r) => c[r] > 0);
}

/**
 * The JSON path of the field a failure message points at ("failed at path /a/b/0/"), resolved
 * against the resource: Kyverno writes keys unescaped, so a key holding `/` (an annotation
 * such as `kubernetes.io/name`) spans several segments; the longest key that exists wins.
 * Segments past what exists are kept as written (the field is missing: its parent is shown).
 */
export function failurePath(resource: unknown, message: string): Array<string | number> | undefined {
  const segments = failurePathsInMessage(message)[0];
  if (!segments) return undefined;
  const out: Array<string | number> = [];
  let node: unknown = resource;
  let i = 0;
  while (i < segments.length) {
    if (Array.isArray(node) && /^\d+$/.test(segments[i])) {
      out.push(Number(segments[i]));
      node = node[Number(segments[i])];
      i++;
      continue;
    }
    const obj = node !== null && typeof node === 'object' && !Array.isArray(node) ? (node as Json) : undefined;
    let taken = 1;
    if (obj) {
      for (let j = segments.length; j > i; j--) {
        const k = segments.slice(i, j).join('/');
        if (Object.prototype.hasOwnProperty.call(obj, k)) {
          taken = j - i;
          break;
        }
      }
    }
    const key = segments.slice(i, i + taken).join('/');
    out.push(key);
    node = obj ? obj[key] : undefined;
    i += taken;
  }
  return out;
}
