/**
 * Every metric Kyverno's Grafana dashboard queries (test/fixtures/grafana/kyverno-dashboard-metrics.json,
 * written by scripts/gen-dashboard-metrics.mjs from Kyverno's chart) is in our /metrics text with
 * the labels the dashboard reads. The text is made as the webhook makes it: reviews evaluated by
 * evaluateReview and recorded by a server process's WebhookMetrics (admission and background
 * scan), the primary's own metrics (policy watch events, the policies in the cluster, a
 * GeneratingPolicy run by the background controller), summed as ServerProcesses.metricsText sums them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonObject } from '../../engine/core/types';
import { evaluateReview } from '../../webhook/evaluate';
import { PolicyIndex } from '../../webhook/prefilter';
import { WebhookMetrics, processStats } from '../../webhook/metrics';
import type { ReviewReply } from '../../webhook/protocol';
import { BackgroundController } from '../../webhook/background';
import { DownstreamGenerator } from '../../webhook/generate';
import { runGeneration } from '../../webhook/generate-work';
import { ObjectStore, StoreClient } from '../chainsaw/store';

const FIXTURE = JSON.parse(readFileSync(join(__dirname, '../fixtures/grafana/kyverno-dashboard-metrics.json'), 'utf8')) as { metrics: Record<string, string[]> };
const EMPTY = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
const pods = { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'] }] };

const requireTeam: JsonObject = {
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'require-team' },
  spec: { validationFailureAction: 'Enforce', rules: [{ name: 'team', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { message: 'a team label is required', pattern: { metadata: { labels: { team: '?*' } } } } }] },
  status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Succeeded' }] },
};
const addOwner: JsonObject = {
  apiVersion: 'kyverno.io/v1', kind: 'Policy', metadata: { name: 'add-owner', namespace: 'team-a' },
  spec: { background: false, rules: [{ name: 'owner', match: { any: [{ resources: { kinds: ['Pod'] } }] }, mutate: { patchStrategicMerge: { metadata: { labels: { owner: 'team-a' } } } } }] },
};
const vpol: JsonObject = {
  apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy', metadata: { name: 'no-latest' },
  spec: { validationActions: ['Audit'], matchConstraints: pods, validations: [{ expression: "object.spec.containers.all(c, !c.image.endsWith(':latest'))", message: 'no latest tags' }] },
};
const mpol: JsonObject = {
  apiVersion: 'policies.kyverno.io/v1', kind: 'MutatingPolicy', metadata: { name: 'stamp' },
  spec: { matchConstraints: pods, mutations: [{ patchType: 'ApplyConfiguration', applyConfiguration: { expression: 'Object{metadata: Object.metadata{labels: {"stamped": "yes"}}}' } }] },
};
const ivpol: JsonObject = {
  apiVersion: 'policies.kyverno.io/v1', kind: 'ImageValidatingPolicy', metadata: { name: 'signed' },
  spec: { matchConstraints: pods, matchImageReferences: [{ glob: 'ghcr.io/org/*' }], attestors: [{ name: 'n', notary: {} }], validations: [{ expression: 'images.containers.all(i, verifyImageSignatures(i, [attestors.n]) > 0)' }] },
};
const gpol: JsonObject = {
  apiVersion: 'policies.kyverno.io/v1', kind: 'GeneratingPolicy', metadata: { name: 'ns-config' },
  spec: {
    matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['namespaces'] }] },
    generate: [{ expression: 'generator.Apply(object.metadata.name, [{"apiVersion": dyn("v1"), "kind": dyn("ConfigMap"), "metadata": dyn({"name": "settings"}), "data": dyn({"a": "b"})}])' }],
  },
};

function review(operation: string, labels: Record<string, string>, image = 'docker.io/nginx:1.27'): string {
  const object = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'team-a', labels }, spec: { containers: [{ name: 'c', image }] } };
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: { uid: 'u', operation, kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'team-a', userInfo: { username: 'alice' }, object, oldObject: null },
  });
}

/** The series of `name` in the exposition, each as its label map. */
function series(text: string, name: string): Array<Record<string, string>> {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`)).map((l) => Object.fromEntries([...l.slice(name.length + 1, l.lastIndexOf('}')).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]])));
}

/** One GeneratingPolicy run by the background controller over an in-memory API server, its results counted in `metrics`. */
async function generateOnce(metrics: WebhookMetrics): Promise<void> {
  const store = new ObjectStore();
  const client = new StoreClient(store);
  const generator = new DownstreamGenerator({ client: client.asKubeClient(), log: () => {}, triggerWaitMs: 0, attempts: 1 });
  const bg = new BackgroundController({
    client: client.asKubeClient(), namespace: 'kyverno', log: () => {}, generator, metrics,
    current: () => ({ policies: [gpol], exceptions: [] }), backoffMs: 3_600_000, maxBackoffMs: 3_600_000,
    watchKind: (apiVersion, kind, rv, onEvent, signal) => client.watchKind(apiVersion, kind, rv, onEvent, signal),
  });
  const leading = new AbortController();
  bg.lead(leading.signal);
  const ns = store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-b' } });
  const work = runGeneration({ request: { operation: 'CREATE', object: ns, oldObject: null, kind: { group: '', version: 'v1', kind: 'Namespace' }, namespace: 'team-b', requestInfo: { roles: [], clusterRoles: [], userInfo: { username: 'alice' } } }, policies: [gpol] }, EMPTY);
  bg.submit(work.items);
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setImmediate(r));
    await bg.idle();
    await generator.idle();
  }
  assert.ok(store.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'settings', namespace: 'team-b' }), 'the GeneratingPolicy ran');
  leading.abort();
  await bg.close();
  await generator.close();
}

test("metrics: every metric Kyverno's Grafana dashboard queries is exposed with the labels it reads", async () => {
  const policies = [requireTeam, addOwner, vpol, mpol, ivpol];
  const index = new PolicyIndex(policies);
  // A server process: admission reviews as answer() records them, a scan as the 'review' message does.
  const server = new WebhookMetrics();
  const admit = (path: 'validate' | 'mutate', body: string): ReviewReply => {
    const reply = evaluateReview({ path, body, reports: false }, index, EMPTY);
    server.recordRequest(path, reply.status, reply.request, 0.004, reply.outcomes, 'admission_request', reply.outcomeSeconds);
    return reply;
  };
  const denied = admit('validate', review('CREATE', {}));
  assert.equal(denied.allowed, false, 'the ClusterPolicy denies a Pod without a team');
  assert.equal(admit('validate', review('CREATE', { team: 'a' })).allowed, true);
  admit('mutate', review('CREATE', { team: 'a' }));
  const scan = evaluateReview({ path: 'validate', body: review('UPDATE', {}), reports: false, scan: true }, index, EMPTY);
  server.recordRequest('scan/validate', scan.status, scan.request, 0, scan.outcomes, 'background_scan', scan.outcomeSeconds);

  // The primary: the policy watch's events, the policies in the cluster, the background controller.
  const primary = new WebhookMetrics();
  primary.observeRuleInfo(() => policies);
  primary.recordPolicyChange(requireTeam, undefined);
  primary.recordPolicyChange(addOwner, undefined);
  primary.recordPolicyChange(vpol, undefined);
  const audited = { ...requireTeam, spec: { ...(requireTeam.spec as JsonObject), validationFailureAction: 'Audit' } };
  primary.recordPolicyChange(audited, requireTeam);
  primary.recordPolicyChange(undefined, addOwner);
  await generateOnce(primary);

  const total = new WebhookMetrics();
  total.add(server.snapshot(true));
  total.add(primary.snapshot());
  total.addProcess(processStats());
  const text = total.render();

  for (const [name, labels] of Object.entries(FIXTURE.metrics)) {
    const found = series(text, name);
    assert.ok(found.length > 0, `${name} is exposed`);
    for (const label of labels) assert.ok(found.every((s) => label in s), `${name} has ${label} on every series`);
  }
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes']) assert.match(text, new RegExp(`^${name} [\\d.e+]+$`, 'm'));

  // Kyverno's labels and values, family by family.
  const results = series(text, 'kyverno_policy_results_total');
  assert.deepEqual(new Set(results.map((s) => s.policy_name)), new Set(['require-team', 'add-owner']), 'CEL policies have their own families');
  assert.ok(results.some((s) => s.policy_name === 'require-team' && s.rule_result === 'fail' && s.policy_validation_mode === 'enforce' && s.rule_execution_cause === 'admission_request' && s.rule_type === 'validate'));
  assert.ok(results.some((s) => s.policy_name === 'require-team' && s.rule_execution_cause === 'background_scan'));
  assert.ok(results.some((s) => s.policy_name === 'add-owner' && s.policy_type === 'namespaced' && s.policy_namespace === 'team-a' && s.policy_background_mode === 'false' && s.rule_type === 'mutate'));
  assert.deepEqual(series(text, 'kyverno_policy_execution_duration_seconds_count').length, results.length, 'one histogram per results series');
  const validating = series(text, 'kyverno_validating_policy_results_total');
  assert.ok(validating.some((s) => s.policy_name === 'no-latest' && s.policy_validation_mode === 'Audit' && s.policy_background_mode === 'true' && s.policy_namespace === '' && s.result === 'pass' && s.execution_cause === 'admission_request' && s.resource_kind === 'Pod'));
  assert.ok(validating.some((s) => s.execution_cause === 'background_scan'));
  assert.deepEqual(Object.keys(series(text, 'kyverno_mutating_policy_results_total')[0]), ['policy_background_mode', 'policy_name', 'policy_namespace', 'resource_kind', 'resource_namespace', 'resource_request_operation', 'execution_cause', 'result']);
  assert.ok(series(text, 'kyverno_image_validating_policy_results_total').some((s) => s.policy_name === 'signed' && s.policy_validation_mode === 'Deny'));
  assert.deepEqual(series(text, 'kyverno_generating_policy_results_total'), [{ policy_name: 'ns-config', policy_namespace: '', resource_kind: 'Namespace', resource_namespace: '', resource_request_operation: 'create', execution_cause: 'background_scan', result: 'pass' }]);
  const changes = text.split('\n').filter((l) => l.startsWith('kyverno_policy_changes_total{')).map((l) => `${/policy_name="([^"]*)"/.exec(l)![1]} ${/policy_validation_mode="(\w+)"/.exec(l)![1]} ${/policy_change_type="(\w+)"/.exec(l)![1]} ${l.split(' ').pop()}`);
  assert.deepEqual(changes.sort(), ['add-owner audit created 1', 'add-owner audit deleted 1', 'require-team audit updated 1', 'require-team enforce created 1', 'require-team enforce updated 1'],
    'CEL policies are not counted; an update counts the old policy, and the new one when its enforce mode changed');
  assert.deepEqual(series(text, 'kyverno_policy_rule_info_total').map((s) => `${s.policy_name}/${s.rule_name} ${s.rule_type} ${s.status_ready} ${s.policy_validation_mode} ${s.policy_namespace}`).sort(), [
    'add-owner/autogen-cronjob-owner mutate false audit team-a',
    'add-owner/autogen-owner mutate false audit team-a',
    'add-owner/owner mutate false audit team-a',
    'require-team/autogen-cronjob-team validate true enforce -',
    'require-team/autogen-team validate true enforce -',
    'require-team/team validate true enforce -',
  ], 'one series per rule, autogen rules included');
  assert.match(text, /# TYPE kyverno_policy_rule_info_total gauge/);
  assert.match(text, /# TYPE kyverno_validating_policy_execution_duration_seconds histogram/);
});

test('metrics: a results series counts each observation once per bucket it falls under, and the sum of their times', () => {
  const m = new WebhookMetrics();
  const outcome = { policy: 'p', rule: 'r', status: 'pass', ruleType: 'validate', validationMode: 'audit', backgroundMode: 'true' };
  const pod = { kind: 'Pod', namespace: 'a', operation: 'CREATE', allowed: true };
  m.recordRequest('validate', 200, pod, 0.01, [outcome, outcome], 'admission_request', [0.003, 0.02]);
  m.recordRequest('validate', 200, pod, 0.01, [outcome], 'admission_request', [40]);
  const text = m.render();
  const bucket = (le: string) => Number(new RegExp(`kyverno_policy_execution_duration_seconds_bucket\\{[^}]*le="${le.replace('+', '\\+')}"\\} (\\d+)`).exec(text)![1]);
  assert.deepEqual(['0.005', '0.01', '0.025', '30', '+Inf'].map(bucket), [1, 1, 2, 2, 3]);
  assert.match(text, /kyverno_policy_execution_duration_seconds_sum\{[^}]*\} 40\.023/);
  assert.match(text, /kyverno_policy_execution_duration_seconds_count\{[^}]*\} 3/);
  assert.match(text, /kyverno_policy_results_total\{[^}]*\} 3/);
});
