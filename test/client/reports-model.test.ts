// The Policy Reports view's model (pure): rows read from wgpolicyk8s.io reports as the webhook
// writes them, counts kept incrementally per namespace/policy/rule, filters, capped leaves,
// failure paths located in the resource, and the summary chart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildReport, reportResult, reportTarget } from '../../webhook/report-layout';
import {
  ReportsModel,
  countsLabel,
  emptyCounts,
  failurePath,
  formatFilter,
  matchesFilter,
  parseFilter,
  rowsOfReport,
  totalOf,
  type Counts,
  type GroupNode,
  type ReportResult,
} from '../../client/src/cluster/reports-model';
import { summarySvg } from '../../client/src/cluster/reports-chart';
import { failurePathsInMessage, formatPatternFailure } from '../../engine/pattern';
import type { JsonObject } from '../../engine/core/types';

const RESULTS: ReportResult[] = ['pass', 'fail', 'warn', 'error', 'skip'];

function configMap(name: string, namespace: string, uid = `uid-${namespace}-${name}`): JsonObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, uid } };
}

/** A report as the webhook's layout builds it, for a resource and (policy, rule, status) triples. */
function report(resource: JsonObject, results: Array<[string, string, string, string?]>): JsonObject {
  const target = reportTarget(resource)!;
  return buildReport(target, results.map(([policy, rule, status, message]) => reportResult({ policy, rule, status, message: message ?? `${status}!`, resource, time: 1 })));
}

test('rows come from the webhook layout: the scope names the resource, one row per result', () => {
  const rows = rowsOfReport('k', report(configMap('a', 'default'), [['p', 'r1', 'fail', 'bad'], ['p', 'r2', 'pass']]));
  assert.deepEqual(
    rows.map((r) => [r.namespace, r.policy, r.rule, r.result, r.message, r.resource?.kind, r.resource?.name, r.resource?.namespace]),
    [
      ['default', 'p', 'r1', 'fail', 'bad', 'ConfigMap', 'a', 'default'],
      ['default', 'p', 'r2', 'pass', 'pass!', 'ConfigMap', 'a', 'default'],
    ],
  );
  // A ClusterPolicyReport of a cluster-scoped resource.
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', uid: 'u1' } };
  const cluster = rowsOfReport('c', report(ns, [['p', 'r', 'warn']]));
  assert.equal(cluster[0].namespace, '');
  assert.equal(cluster[0].resource?.kind, 'Namespace');
});

test('older reports list resources per result: one row per resource; unknown results count as error', () => {
  const old = {
    apiVersion: 'wgpolicyk8s.io/v1alpha2',
    kind: 'PolicyReport',
    metadata: { name: 'polr-ns-default', namespace: 'default' },
    results: [
      { policy: 'p', rule: 'r', result: 'fail', resources: [{ apiVersion: 'v1', kind: 'Pod', name: 'x', namespace: 'default' }, { apiVersion: 'v1', kind: 'Pod', name: 'y' }] },
      { policy: 'p', rule: 'r', result: 'bogus' },
    ],
  };
  const rows = rowsOfReport('k', old);
  assert.deepEqual(rows.map((r) => [r.id, r.resource?.name, r.resource?.namespace, r.result]), [
    ['k#0.0', 'x', 'default', 'fail'],
    ['k#0.1', 'y', 'default', 'fail'],
    ['k#1', undefined, undefined, 'error'],
  ]);
});

test('the tree groups by namespace → policy → rule, or policy → rule → namespace, with counts on each node', () => {
  const m = new ReportsModel();
  m.setReport('1', report(configMap('a', 'prod'), [['require-team', 'check', 'fail'], ['owner', 'check-owner', 'pass']]));
  m.setReport('2', report(configMap('b', 'prod'), [['require-team', 'check', 'pass']]));
  m.setReport('3', report(configMap('c', 'dev'), [['require-team', 'check', 'warn']]));
  assert.deepEqual(m.childrenOf(m.tree).map((g) => g.value), ['dev', 'prod']);
  const prodTeam = m.nodeAt(['prod', 'require-team', 'check'])!;
  assert.deepEqual(prodTeam.counts, { ...emptyCounts(), fail: 1, pass: 1 });
  assert.deepEqual(m.nodeAt(['prod'])!.counts, { ...emptyCounts(), fail: 1, pass: 2 });
  assert.equal(countsLabel(m.totals), 'fail 1 · warn 1 · pass 2');
  m.setGrouping('policy');
  assert.deepEqual(m.childrenOf(m.tree).map((g) => g.value), ['owner', 'require-team']);
  assert.deepEqual(m.nodeAt(['require-team', 'check'])!.counts, { ...emptyCounts(), fail: 1, pass: 1, warn: 1 });
  assert.deepEqual(m.childrenOf(m.nodeAt(['require-team', 'check'])!).map((g) => g.value), ['dev', 'prod']);
  // An update replaces the report's rows; a removal takes them out and empties groups go.
  m.setReport('1', report(configMap('a', 'prod'), [['require-team', 'check', 'pass']]));
  assert.equal(m.nodeAt(['owner']), undefined);
  m.setReport('3', undefined);
  assert.deepEqual(m.childrenOf(m.nodeAt(['require-team', 'check'])!).map((g) => g.value), ['prod']);
  assert.deepEqual(m.totals, { ...emptyCounts(), pass: 2 });
  assert.equal(m.reportCount, 2);
});

test('filters: by result, namespace wildcard (or cluster scope) and policy/rule text', () => {
  const f = parseFilter('fail,error ns:prod-* Team');
  assert.deepEqual([...(f.results ?? [])].sort(), ['error', 'fail']);
  assert.equal(f.namespace, 'prod-*');
  assert.equal(f.text, 'Team');
  assert.equal(formatFilter(f), 'fail,error ns:prod-* Team');
  assert.deepEqual(parseFilter('result:warn'), { results: new Set(['warn']) });
  assert.deepEqual(parseFilter('  '), {});
  const row = rowsOfReport('k', report(configMap('a', 'prod-eu'), [['require-team', 'check', 'fail']]))[0];
  assert.equal(matchesFilter(row, f), true);
  assert.equal(matchesFilter(row, parseFilter('pass')), false);
  assert.equal(matchesFilter(row, parseFilter('ns:dev')), false);
  assert.equal(matchesFilter(row, parseFilter('ns:-')), false);
  assert.equal(matchesFilter(row, parseFilter('CHECK')), true, 'rule names match too, case-insensitively');
  assert.equal(matchesFilter(row, parseFilter('owner')), false);

  const m = new ReportsModel();
  m.setReport('1', report(configMap('a', 'prod'), [['p', 'r', 'fail'], ['p', 'r2', 'pass']]));
  m.setFilter(parseFilter('fail'));
  assert.deepEqual(m.totals, { ...emptyCounts(), fail: 1 });
  assert.deepEqual(m.unfilteredTotals, { ...emptyCounts(), fail: 1, pass: 1 });
  assert.equal(m.nodeAt(['prod', 'p', 'r2']), undefined);
  // Reports arriving while filtered are filtered as they come.
  m.setReport('2', report(configMap('b', 'prod'), [['p', 'r', 'pass']]));
  assert.deepEqual(m.totals, { ...emptyCounts(), fail: 1 });
  m.setFilter({});
  assert.deepEqual(m.totals, { ...emptyCounts(), fail: 1, pass: 2 });
});

test('leaves are capped, worst first, with the number not shown', () => {
  const m = new ReportsModel();
  for (let i = 0; i < 450; i++) m.setReport(String(i), report(configMap(`cm-${String(i).padStart(3, '0')}`, 'big'), [['p', 'r', i % 50 === 0 ? 'fail' : 'pass']]));
  const leaf = m.nodeAt(['big', 'p', 'r'])!;
  const first = m.rowsOf(leaf, 200);
  assert.equal(first.rows.length, 200);
  assert.equal(first.more, 250);
  assert.deepEqual(first.rows.slice(0, 9).map((r) => r.result), Array(9).fill('fail'));
  assert.equal(first.rows[9].result, 'pass');
  assert.equal(m.rowsOf(leaf, 1000).more, 0);
});

test('thousands of reports: incremental updates do not recount the cluster', () => {
  const m = new ReportsModel();
  const t0 = performance.now();
  for (let i = 0; i < 5000; i++) m.setReport(String(i), report(configMap(`cm-${i}`, `ns-${i % 40}`), [['p1', 'r', 'pass'], ['p2', 'r', i % 3 ? 'pass' : 'fail']]));
  const load = performance.now() - t0;
  const t1 = performance.now();
  for (let i = 0; i < 1000; i++) m.setReport(String(i), report(configMap(`cm-${i}`, `ns-${i % 40}`), [['p1', 'r', 'fail']]));
  const updates = performance.now() - t1;
  assert.equal(totalOf(m.totals), 1000 + 4000 * 2);
  // 1000 updates of one report each cost far less than one reload of all 5000.
  assert.ok(updates < load, `1000 updates took ${updates.toFixed(0)} ms, loading 5000 took ${load.toFixed(0)} ms`);
});

/** Counts of a tree recomputed from its leaves, to compare with the incremental ones. */
function recount(node: GroupNode): Counts {
  const c = emptyCounts();
  if (node.rows) for (const r of node.rows.values()) c[r.result]++;
  for (const child of node.children.values()) {
    const cc = recount(child);
    assert.deepEqual(child.counts, cc, `counts of ${child.path.join('/')}`);
    assert.ok(totalOf(cc) > 0, `empty group ${child.path.join('/')} left in the tree`);
    for (const r of RESULTS) c[r] += cc[r];
  }
  return c;
}

function shape(node: GroupNode): unknown {
  return { counts: node.counts, rows: node.rows ? [...node.rows.keys()].sort() : undefined, children: [...node.children.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, shape(v)]) };
}

test('property: any sequence of report changes leaves the same tree as building it from the final reports', () => {
  const result = fc.constantFrom<string>(...RESULTS);
  const entry = fc.tuple(fc.constantFrom('p1', 'p2', 'ns1/p3'), fc.constantFrom('r1', 'r2'), result);
  const op = fc.record({ key: fc.nat(12), ns: fc.constantFrom('a', 'b', ''), results: fc.option(fc.array(entry, { maxLength: 4 }), { nil: undefined }) });
  const filterText = fc.constantFrom('', 'fail', 'pass,warn ns:a', 'ns:-', 'p1', 'r2 error');
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), filterText, fc.constantFrom<'namespace' | 'policy'>('namespace', 'policy'), (ops, filter, grouping) => {
      const m = new ReportsModel(grouping);
      m.setFilter(parseFilter(filter));
      const final = new Map<string, JsonObject>();
      for (const o of ops) {
        const key = `k${o.key}`;
        if (o.results === undefined) {
          m.setReport(key, undefined);
          final.delete(key);
        } else {
          const resource = o.ns ? configMap(`cm${o.key}`, o.ns) : { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `n${o.key}`, uid: `u${o.key}` } };
          const r = report(resource, o.results.map(([p, rule, s]) => [p, rule, s]));
          m.setReport(key, r);
          final.set(key, r);
        }
      }
      assert.deepEqual(recount(m.tree), m.totals);
      const fresh = new ReportsModel(grouping);
      for (const [k, r] of final) fresh.setReport(k, r);
      fresh.setFilter(parseFilter(filter));
      assert.deepEqual(shape(m.tree), shape(fresh.tree));
      assert.deepEqual(m.unfilteredTotals, fresh.unfilteredTotals);
      assert.equal(m.reportCount, final.size);
    }),
    { seed: 17, numRuns: 300 },
  );
});

test('property: a filter prints as it parses', () => {
  const result = fc.subarray(RESULTS, { minLength: 0 });
  const word = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/).filter((w) => !RESULTS.includes(w as ReportResult) && !/^(ns|namespace|result|results)$/.test(w));
  fc.assert(
    fc.property(result, fc.option(fc.stringMatching(/^[a-z*?-]{1,8}$/), { nil: undefined }), fc.option(word, { nil: undefined }), (results, namespace, text) => {
      const f = { ...(results.length ? { results: new Set(results) } : {}), ...(namespace ? { namespace } : {}), ...(text ? { text } : {}) };
      assert.deepEqual(parseFilter(formatFilter(f)), f);
    }),
    { seed: 5, numRuns: 200 },
  );
});

test('failure paths: the path of a pattern failure message, resolved against the resource (keys with slashes)', () => {
  const message = formatPatternFailure('check-team', "label 'team' is required", { status: 'fail', path: ['metadata', 'labels', 'team'], message: '' });
  assert.deepEqual(failurePathsInMessage(message), [['metadata', 'labels', 'team']]);
  const obj = { metadata: { labels: {}, annotations: { 'app.kubernetes.io/name': 'x' } }, spec: { containers: [{ image: 'nginx' }] } };
  assert.deepEqual(failurePath(obj, message), ['metadata', 'labels', 'team']);
  assert.deepEqual(failurePath(obj, 'validation error: x. rule r failed at path /metadata/annotations/app.kubernetes.io/name/'), ['metadata', 'annotations', 'app.kubernetes.io/name']);
  assert.deepEqual(failurePath(obj, 'validation error: rule r failed at path /spec/containers/0/image/'), ['spec', 'containers', 0, 'image']);
  assert.equal(failurePath(obj, 'CEL expression failed'), undefined);
  assert.deepEqual(failurePath(obj, 'rule r failed at path /'), []);
});

test('the chart: a bar per result of the totals and one per top group, escaped labels', () => {
  const totals = { ...emptyCounts(), fail: 3, pass: 7 };
  const svg = summarySvg(totals, [{ label: '<prod>', counts: { ...emptyCounts(), fail: 3 } }, { label: 'dev', counts: { ...emptyCounts(), pass: 7 } }]);
  assert.match(svg, /^<svg /);
  assert.equal((svg.match(/<title>fail: 3<\/title>/g) ?? []).length, 2);
  assert.match(svg, /<title>pass: 7<\/title>/);
  assert.match(svg, /&#60;prod&#62;/);
  assert.doesNotMatch(svg, /<prod>/);
  assert.match(svg, />fail 3</);
  assert.match(summarySvg(emptyCounts(), []), /pass 0/);
});
