/** Prometheus text of the webhook: per-rule result counters keep counting by policy, rule and result. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebhookMetrics } from '../../webhook/metrics';

function resultLines(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('kyverno_studio_policy_results_total{'));
}

test('metrics: rule results are counted per policy, rule and result across requests', () => {
  const m = new WebhookMetrics();
  m.recordRequest('validate', 200, true, 0.002, [
    { policy: 'p1', rule: 'r', status: 'pass' },
    { policy: 'p2', rule: 'r', status: 'fail' },
  ]);
  m.recordRequest('validate', 200, false, 0.003, [
    { policy: 'p1', rule: 'r', status: 'pass' },
    { policy: 'p1', rule: 'r', status: 'fail' },
  ]);
  assert.deepEqual(resultLines(m.render()), [
    'kyverno_studio_policy_results_total{policy="p1",rule="r",result="pass"} 2',
    'kyverno_studio_policy_results_total{policy="p2",rule="r",result="fail"} 1',
    'kyverno_studio_policy_results_total{policy="p1",rule="r",result="fail"} 1',
  ]);
});

test('metrics: label values are escaped, and distinct names never share a counter', () => {
  const m = new WebhookMetrics();
  m.recordRequest('validate', 200, true, 0.001, [
    { policy: 'a"b', rule: 'x\\y', status: 'pass' },
    { policy: 'a', rule: 'b"x\\y', status: 'pass' },
  ]);
  assert.deepEqual(resultLines(m.render()), [
    'kyverno_studio_policy_results_total{policy="a\\"b",rule="x\\\\y",result="pass"} 1',
    'kyverno_studio_policy_results_total{policy="a",rule="b\\"x\\\\y",result="pass"} 1',
  ]);
});
