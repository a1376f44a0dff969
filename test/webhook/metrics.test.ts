/** Prometheus text of the webhook with Kyverno's metric names and labels (pkg/metrics). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classicPolicyInfo, ruleInfoSeries, WebhookMetrics, type RuleOutcome } from '../../webhook/metrics';
import type { JsonObject } from '../../engine/core/types';

function lines(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`));
}

const CREATE = { kind: 'Pod', namespace: 'team', operation: 'CREATE', allowed: true };
const outcome = (policy: string, rule: string, status: string, extra: Partial<RuleOutcome> = {}): RuleOutcome => ({ policy, rule, status, ruleType: 'validate', validationMode: 'enforce', backgroundMode: 'true', ...extra });

test("metrics: rule results are counted with Kyverno's kyverno_policy_results_total labels", () => {
  const m = new WebhookMetrics();
  m.recordRequest('validate/fail', 200, CREATE, 0.002, [outcome('p1', 'r', 'pass'), outcome('p2', 'r', 'fail', { policyNamespace: 'team', validationMode: 'audit' })]);
  m.recordRequest('validate/fail', 200, { ...CREATE, allowed: false }, 0.003, [outcome('p1', 'r', 'pass'), outcome('p1', 'r', 'fail')]);
  m.recordRequest('scan/validate', 200, { ...CREATE, dryRun: false }, 0, [outcome('p1', 'r', 'fail')], 'background_scan');
  const common = 'resource_kind="Pod",resource_namespace="team",resource_request_operation="create"';
  assert.deepEqual(lines(m.render(), 'kyverno_policy_results_total'), [
    `kyverno_policy_results_total{policy_validation_mode="enforce",policy_type="cluster",policy_background_mode="true",policy_namespace="-",policy_name="p1",${common},rule_name="r",rule_result="pass",rule_type="validate",rule_execution_cause="admission_request",dry_run="false"} 2`,
    `kyverno_policy_results_total{policy_validation_mode="audit",policy_type="namespaced",policy_background_mode="true",policy_namespace="team",policy_name="p2",${common},rule_name="r",rule_result="fail",rule_type="validate",rule_execution_cause="admission_request",dry_run="false"} 1`,
    `kyverno_policy_results_total{policy_validation_mode="enforce",policy_type="cluster",policy_background_mode="true",policy_namespace="-",policy_name="p1",${common},rule_name="r",rule_result="fail",rule_type="validate",rule_execution_cause="admission_request",dry_run="false"} 1`,
    `kyverno_policy_results_total{policy_validation_mode="enforce",policy_type="cluster",policy_background_mode="true",policy_namespace="-",policy_name="p1",${common},rule_name="r",rule_result="fail",rule_type="validate",rule_execution_cause="background_scan",dry_run="false"} 1`,
  ]);
  const text = m.render();
  assert.deepEqual(lines(text, 'kyverno_admission_requests_total'), [
    `kyverno_admission_requests_total{${common},request_allowed="true"} 1`,
    `kyverno_admission_requests_total{${common},request_allowed="false"} 1`,
  ], 'scans are not admission requests');
  assert.match(text, /# TYPE kyverno_admission_review_duration_seconds histogram/);
  assert.match(text, new RegExp(`kyverno_admission_review_duration_seconds_bucket\\{${common},request_allowed="true",le="0.005"\\} 1`));
  assert.match(text, new RegExp(`kyverno_admission_review_duration_seconds_bucket\\{${common},request_allowed="true",le="30"\\} 1`), "Kyverno's default boundaries");
  assert.match(text, /kyverno_studio_webhook_responses_total\{path="validate\/fail",code="200"\} 2/);
});

test('metrics: label values are escaped, and distinct names never share a counter', () => {
  const m = new WebhookMetrics();
  m.recordRequest('validate', 200, CREATE, 0.001, [outcome('a"b', 'x\\y', 'pass'), outcome('a', 'b"x\\y', 'pass')]);
  const names = lines(m.render(), 'kyverno_policy_results_total').map((l) => /policy_name="((?:[^"\\]|\\.)*)",.*rule_name="((?:[^"\\]|\\.)*)"/.exec(l)!.slice(1).join(' | '));
  assert.deepEqual(names, ['a\\"b | x\\\\y', 'a | b\\"x\\\\y']);
});

test('metrics: answers without a request count only as responses; process and nodejs metrics are summed', () => {
  const m = new WebhookMetrics();
  m.recordRequest('validate', 400, undefined, 0.001, []);
  const other = new WebhookMetrics();
  other.recordRequest('validate', 200, CREATE, 0.001, []);
  m.add(other.snapshot(true));
  m.addProcess({ cpuUserSeconds: 1, cpuSystemSeconds: 0.5, residentBytes: 100, heapTotalBytes: 10, heapUsedBytes: 5, externalBytes: 1 });
  const text = m.render();
  assert.match(text, /kyverno_studio_webhook_responses_total\{path="validate",code="400"\} 1/);
  assert.equal(lines(text, 'kyverno_admission_requests_total').length, 1);
  const rss = Number(/^process_resident_memory_bytes (\d+)$/m.exec(text)![1]);
  assert.ok(rss > 100, 'both processes counted');
  assert.match(text, /^process_cpu_seconds_total [\d.]+$/m);
  assert.match(text, /^process_start_time_seconds \d+$/m);
  assert.match(text, /^nodejs_heap_size_used_bytes \d+$/m);
  assert.match(text, /^nodejs_version_info\{version="v\d+\.\d+\.\d+"/m);
});

test('metrics: reviews in a row reuse the last labels, and a change of any label starts its own series', () => {
  const m = new WebhookMetrics();
  const other = { kind: 'Pod', namespace: 'apps', operation: 'CREATE', allowed: true };
  const sequence: Array<[string, number, typeof CREATE & { dryRun?: boolean }]> = [
    ['validate', 200, CREATE], ['validate', 200, CREATE], ['validate', 200, other], ['validate', 200, CREATE],
    ['mutate', 200, CREATE], ['validate', 200, { ...CREATE, dryRun: true }], ['validate', 200, { ...CREATE, allowed: false }], ['validate', 504, CREATE],
  ];
  for (const [path, code, request] of sequence) m.recordRequest(path, code, request, 0.001, [outcome('p', 'r', 'pass')]);
  m.recordRequest('scan/validate', 200, CREATE, 0, [outcome('p', 'r', 'pass')], 'background_scan');
  const text = m.render();
  assert.deepEqual(lines(text, 'kyverno_admission_requests_total'), [
    'kyverno_admission_requests_total{resource_kind="Pod",resource_namespace="team",resource_request_operation="create",request_allowed="true"} 6',
    'kyverno_admission_requests_total{resource_kind="Pod",resource_namespace="apps",resource_request_operation="create",request_allowed="true"} 1',
    'kyverno_admission_requests_total{resource_kind="Pod",resource_namespace="team",resource_request_operation="create",request_allowed="false"} 1',
  ]);
  const results = lines(text, 'kyverno_policy_results_total').map((l) => `${/resource_namespace="(\w+)"/.exec(l)![1]} ${/rule_execution_cause="(\w+)"/.exec(l)![1]} ${/dry_run="(\w+)"/.exec(l)![1]} ${l.split(' ').pop()}`);
  assert.deepEqual(results.sort(), ['apps admission_request false 1', 'team admission_request false 6', 'team admission_request true 1', 'team background_scan false 1']);
  assert.deepEqual(lines(text, 'kyverno_studio_webhook_responses_total').sort(), [
    'kyverno_studio_webhook_responses_total{path="mutate",code="200"} 1',
    'kyverno_studio_webhook_responses_total{path="scan/validate",code="200"} 1',
    'kyverno_studio_webhook_responses_total{path="validate",code="200"} 6',
    'kyverno_studio_webhook_responses_total{path="validate",code="504"} 1',
  ]);
});

test("metrics: a policy's validation mode is enforce in any spelling Kyverno accepts, from its spec or a validate rule; only kyverno.io policies count", () => {
  const rule = (failureAction?: string): JsonObject => ({ name: 'r', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, validate: { ...(failureAction ? { failureAction } : {}), pattern: {} } });
  const policy = (spec: JsonObject, apiVersion = 'kyverno.io/v1'): JsonObject => ({ apiVersion, kind: 'ClusterPolicy', metadata: { name: 'p' }, spec });
  assert.equal(classicPolicyInfo(policy({ validationFailureAction: 'ENFORCE', rules: [rule()] })).validationMode, 'enforce');
  assert.equal(classicPolicyInfo(policy({ validationFailureAction: 'Audit', rules: [rule('enforce')] })).validationMode, 'enforce');
  assert.equal(classicPolicyInfo(policy({ validationFailureAction: 'Enforced', rules: [rule('Audit')] })).validationMode, 'audit');
  assert.equal(ruleInfoSeries([policy({ rules: [rule()] })]).length, 1);
  assert.deepEqual(ruleInfoSeries([policy({ rules: [rule()] }, 'example.com/v1')]), []);
});
