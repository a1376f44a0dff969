/**
 * Kyverno's ConfigMap keys for the webhook configurations (`webhooks`, `webhookAnnotations`,
 * `webhookLabels`, `matchConditions`), as Kyverno's webhook controllers write them
 * (pkg/controllers/webhook/controller.go, utils.go objectMeta, validating.go
 * resolveNamespaceSelector/mergeLabelSelectors; pkg/controllers/generic/webhook for the ttl
 * webhook): the configurations webhookConfigurations() writes without and with each key, read
 * from a ConfigMap as kyverno-config.ts reads it, and the in-cluster controller following a change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultNamespaceSelector, webhookConfigurations, TTL_VALIDATING_CONFIG, VALIDATING_CONFIG, MUTATING_CONFIG, POLICY_VALIDATING_CONFIG, type WebhookSettings } from '../../webhook/configurations';
import { configurationDefaults, configurationOf } from '../../webhook/kyverno-config';
import { classicWebhookNeeds } from '../../webhook/rules';
import { defaultResourceFilters } from '../../webhook/resource-filters';
import { WebhookController } from '../../webhook/controller';
import { knownKindTable } from '../../engine/kube';
import { FakeKube } from '../deploy/fake-kube';

type Json = Record<string, unknown>;

const NS = 'kyverno';
const classic = (name: string, spec: Json): Json => ({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name }, spec });
const pods = classic('pods', { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { pattern: { metadata: { name: '?*' } } } }] });
const mutating = classic('labels', { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, mutate: { patchStrategicMerge: { metadata: { labels: { a: 'b' } } } } }] });
// A policy with its own matchConditions gets a fine-grained webhook of its own.
const fine = classic('fine', { webhookConfiguration: { matchConditions: [{ name: 'own', expression: 'true' }] }, rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Secret'] } }] }, validate: { pattern: { metadata: { name: '?*' } } } }] });
const vpol: Json = {
  apiVersion: 'policies.kyverno.io/v1beta1', kind: 'ValidatingPolicy', metadata: { name: 'vp' },
  spec: { matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['deployments'] }], objectSelector: { matchLabels: { team: 'a' } } }, validations: [{ expression: 'true' }] },
};
const POLICIES = [pods, mutating, fine, vpol];

const settingsOf = (data: Record<string, string>): WebhookSettings =>
  configurationOf(data, configurationDefaults({ resourceFilters: '', userExclusions: {}, successEvents: false, successEventActions: [] }, NS)).webhooks;
const write = (settings?: WebhookSettings): Map<string, Json> =>
  new Map(webhookConfigurations({ namespace: NS, caPem: '', needs: classicWebhookNeeds(POLICIES, knownKindTable()), policies: POLICIES, keepEmpty: true, settings }).map((c) => [String((c.metadata as Json).name), c]));
const hooks = (config: Json | undefined): Json[] => (config?.webhooks ?? []) as Json[];
const hook = (configs: Map<string, Json>, config: string, name: string): Json => {
  const found = hooks(configs.get(config)).find((w) => w.name === name);
  assert.ok(found, `${config} has ${name}: ${hooks(configs.get(config)).map((w) => w.name).join(', ')}`);
  return found;
};

test('without the keys: our namespace selector, the chart\'s annotation, no labels of the ConfigMap, no match conditions', () => {
  for (const configs of [write(), write(settingsOf({}))]) {
    const classicFail = hook(configs, VALIDATING_CONFIG, 'validate.kyverno.svc-fail');
    assert.deepEqual(classicFail.namespaceSelector, defaultNamespaceSelector(NS));
    assert.deepEqual(classicFail.objectSelector, {});
    assert.equal(classicFail.matchConditions, undefined);
    assert.deepEqual(hook(configs, VALIDATING_CONFIG, 'vpol.validate.kyverno.svc-fail').objectSelector, { matchLabels: { team: 'a' } });
    for (const [name, config] of configs) {
      assert.deepEqual((config.metadata as Json).annotations, { 'admissions.enforcer/disabled': 'true' }, name);
      assert.deepEqual((config.metadata as Json).labels, { 'app.kubernetes.io/managed-by': 'kyverno-studio', 'webhook.kyverno.io/managed-by': 'kyverno' }, name);
    }
    assert.equal(hooks(configs.get(TTL_VALIDATING_CONFIG))[0].matchConditions, undefined);
  }
});

test('the default selector also leaves out the namespaces the resource filters exclude whole (kube-node-lease, kube-public), and follows the ConfigMap\'s resourceFilters', () => {
  const defaults = configurationDefaults({ resourceFilters: defaultResourceFilters(NS), userExclusions: {}, successEvents: false, successEventActions: [] }, NS);
  const excluded = (s: WebhookSettings) => (s.namespaceSelector?.matchExpressions ?? []).flatMap((e) => (e.operator === 'NotIn' ? e.values ?? [] : []));
  assert.deepEqual(excluded(configurationOf({}, defaults).webhooks), ['kube-system', NS, 'kube-public', 'kube-node-lease']);
  // A filter dropped from the ConfigMap puts its namespace back before the webhook.
  assert.deepEqual(excluded(configurationOf({ resourceFilters: '[*/*,kube-system,*][Event,*,*]' }, defaults).webhooks), ['kube-system', NS]);
  // The ConfigMap's own `webhooks` wins whole, as in Kyverno.
  assert.deepEqual(configurationOf({ resourceFilters: '[*/*,x,*]', webhooks: '{"namespaceSelector":{"matchLabels":{"a":"b"}}}' }, defaults).webhooks.namespaceSelector, { matchLabels: { a: 'b' } });
});

test('webhooks: a namespaceSelector set replaces ours on the resource webhooks, an objectSelector joins the CEL policies\' own', () => {
  const data = { webhooks: JSON.stringify({ namespaceSelector: { matchLabels: { env: 'prod' } }, objectSelector: { matchExpressions: [{ key: 'skip', operator: 'DoesNotExist' }] } }) };
  const configs = write(settingsOf(data));
  for (const [config, name] of [[VALIDATING_CONFIG, 'validate.kyverno.svc-fail'], [VALIDATING_CONFIG, 'validate.kyverno.svc-fail-finegrained-fine'], [MUTATING_CONFIG, 'mutate.kyverno.svc-fail']]) {
    const w = hook(configs, config, name);
    assert.deepEqual(w.namespaceSelector, { matchLabels: { env: 'prod' } }, name);
    assert.deepEqual(w.objectSelector, { matchExpressions: [{ key: 'skip', operator: 'DoesNotExist' }] }, name);
  }
  // Kyverno's mergeLabelSelectors: the policy's selector first, then the configured one.
  const cel = hook(configs, VALIDATING_CONFIG, 'vpol.validate.kyverno.svc-fail');
  assert.deepEqual(cel.namespaceSelector, { matchLabels: { env: 'prod' } });
  assert.deepEqual(cel.objectSelector, { matchLabels: { team: 'a' }, matchExpressions: [{ key: 'skip', operator: 'DoesNotExist' }] });
  // Kyverno's own webhooks carry no configured selector.
  assert.equal(hooks(configs.get(POLICY_VALIDATING_CONFIG))[0].namespaceSelector, undefined);
  // Set without a namespaceSelector: none (every namespace, kube-system included), as in Kyverno.
  const open = write(settingsOf({ webhooks: '{"objectSelector": null}' }));
  assert.deepEqual(hook(open, VALIDATING_CONFIG, 'validate.kyverno.svc-fail').namespaceSelector, {});
  assert.deepEqual(hook(open, VALIDATING_CONFIG, 'vpol.validate.kyverno.svc-fail').namespaceSelector, {});
});

test('webhookAnnotations and webhookLabels: on every configuration; our managed-by labels always win', () => {
  const configs = write(settingsOf({ webhookAnnotations: '{"team":"platform"}', webhookLabels: '{"argocd.argoproj.io/instance":"kyverno","app.kubernetes.io/managed-by":"helm"}' }));
  assert.equal(configs.size, 6);
  for (const [name, config] of configs) {
    assert.deepEqual((config.metadata as Json).annotations, { team: 'platform' }, `${name}: the key replaces the default annotation`);
    assert.deepEqual((config.metadata as Json).labels, { 'argocd.argoproj.io/instance': 'kyverno', 'app.kubernetes.io/managed-by': 'kyverno-studio', 'webhook.kyverno.io/managed-by': 'kyverno' }, name);
  }
  // Set to an empty map (or null): no annotation at all.
  for (const empty of ['{}', 'null']) for (const config of write(settingsOf({ webhookAnnotations: empty })).values()) assert.deepEqual((config.metadata as Json).annotations, {});
});

test('matchConditions: on the classic shared webhooks and the ttl webhook; a fine-grained webhook keeps its policy\'s; not on the CEL ones', () => {
  const conditions = [{ name: 'not-system', expression: "!request.userInfo.username.startsWith('system:')" }];
  const configs = write(settingsOf({ matchConditions: JSON.stringify(conditions) }));
  assert.deepEqual(hook(configs, VALIDATING_CONFIG, 'validate.kyverno.svc-fail').matchConditions, conditions);
  assert.deepEqual(hook(configs, MUTATING_CONFIG, 'mutate.kyverno.svc-fail').matchConditions, conditions);
  assert.deepEqual(hook(configs, VALIDATING_CONFIG, 'validate.kyverno.svc-fail-finegrained-fine').matchConditions, [{ name: 'own', expression: 'true' }]);
  assert.equal(hook(configs, VALIDATING_CONFIG, 'vpol.validate.kyverno.svc-fail').matchConditions, undefined);
  assert.deepEqual(hooks(configs.get(TTL_VALIDATING_CONFIG))[0].matchConditions, conditions);
  assert.equal(hooks(configs.get(POLICY_VALIDATING_CONFIG))[0].matchConditions, undefined);
});

test('the keys are decoded as Go decodes them: null fields, field names in any case, unknown fields dropped; a refused value keeps the default and is logged', () => {
  const log: string[] = [];
  const read = (data: Record<string, string>) => configurationOf(data, configurationDefaults({ resourceFilters: '', userExclusions: {}, successEvents: false, successEventActions: [] }, NS), (l) => log.push(l)).webhooks;
  assert.deepEqual(read({ webhooks: '{"NamespaceSelector":{"matchLabels":null,"matchExpressions":[{"key":"k","operator":"In","values":["v"],"extra":1}]}}' }).namespaceSelector, { matchExpressions: [{ key: 'k', operator: 'In', values: ['v'] }] });
  assert.deepEqual(read({ webhooks: '[{"namespaceSelector":{}}]' }).namespaceSelector, defaultNamespaceSelector(NS));
  assert.deepEqual(read({ webhooks: '{"namespaceSelector":{"matchLabels":{"a":1}}}' }).namespaceSelector, defaultNamespaceSelector(NS));
  assert.deepEqual(read({ webhookLabels: 'not json' }).labels, {});
  assert.deepEqual(read({ matchConditions: '{"name":"x"}' }).matchConditions, []);
  assert.deepEqual(log, [
    'configuration: failed to parse webhooks (json: cannot unmarshal array into Go value of type config.WebhookConfig); keeping the default',
    'configuration: failed to parse webhooks (json: cannot unmarshal number into Go value of type string); keeping the default',
    "configuration: failed to parse webhookLabels (invalid character 'o' in literal null (expecting 'u')); keeping the default",
    'configuration: failed to parse matchConditions (json: cannot unmarshal object into Go value of type []v1.MatchCondition); keeping the default',
  ]);
});

test('the in-cluster controller rewrites the configurations when the ConfigMap\'s webhook keys change', async () => {
  const kube = new FakeKube();
  for (const c of webhookConfigurations({ namespace: NS, caPem: 'CA', needs: [], policies: [], keepEmpty: true })) kube.seed(c);
  let settings = settingsOf({});
  const controller = new WebhookController({ client: kube, namespace: NS, caPem: 'CA', log: () => undefined, settings: () => settings });
  await controller.sync([pods]);
  const stored = async (name: string) => (await kube.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name }))!;
  assert.deepEqual(((await stored(VALIDATING_CONFIG)).webhooks as Json[])[0].namespaceSelector, defaultNamespaceSelector(NS));
  settings = settingsOf({ webhooks: '{"namespaceSelector":{"matchLabels":{"env":"prod"}}}', webhookLabels: '{"team":"platform"}' });
  await controller.sync([pods]);
  const after = await stored(VALIDATING_CONFIG);
  assert.deepEqual((after.webhooks as Json[])[0].namespaceSelector, { matchLabels: { env: 'prod' } });
  assert.equal(((after.metadata as Json).labels as Json).team, 'platform');
  assert.equal((((await stored(TTL_VALIDATING_CONFIG)).metadata as Json).labels as Json).team, 'platform', 'every configuration, not only the resource ones');
});

test('a sync that waited behind other work (a certificate renewal) uses the newest policies: an older list never empties the rules', async () => {
  const kube = new FakeKube();
  // As deploy wrote them for the policy.
  for (const c of webhookConfigurations({ namespace: NS, caPem: 'CA', needs: classicWebhookNeeds([pods], knownKindTable()), policies: [pods], keepEmpty: true })) kube.seed(c);
  const controller = new WebhookController({ client: kube, namespace: NS, caPem: 'CA', log: () => undefined });
  let renewed: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (renewed = resolve));
  const renewal = controller.serialized(() => gate);
  const stale = controller.sync([]);
  const newest = controller.sync([pods]);
  renewed();
  await Promise.all([renewal, stale, newest]);
  const rules = (((await kube.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: VALIDATING_CONFIG }))!.webhooks as Json[]) ?? []).flatMap((w) => (w.rules as Json[]).flatMap((r) => r.resources as string[]));
  assert.ok(rules.includes('pods'), JSON.stringify(rules));
  const writes = kube.writes.filter((w) => w.startsWith('APPLY ValidatingWebhookConfiguration') && w.includes(VALIDATING_CONFIG));
  assert.deepEqual(writes, [], 'deploy wrote them as the newest policies need: nothing to write, and never an emptied one');
});

test("--exclude-bootstrap-resources (Kyverno's --excludeBootstrapResources): every Fail resource webhook skips Nodes and CSRs, after its own conditions", () => {
  const ignored = classic('ignored', { failurePolicy: 'Ignore', rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Node'] } }] }, validate: { pattern: { metadata: { name: '?*' } } } }] });
  const policies = [...POLICIES, ignored];
  const conditions = [{ name: 'c', expression: 'true' }];
  const configs = new Map(webhookConfigurations({ namespace: NS, caPem: '', needs: classicWebhookNeeds(policies, knownKindTable()), policies, keepEmpty: true, settings: settingsOf({ matchConditions: JSON.stringify(conditions) }), excludeBootstrapResources: true }).map((c) => [String((c.metadata as Json).name), c]));
  const exclusion = { name: 'kyverno-exclude-bootstrap-resources', expression: '!(request.resource.group == "" && request.resource.resource == "nodes") && !(request.resource.group == "certificates.k8s.io" && request.resource.resource == "certificatesigningrequests")' };
  assert.deepEqual(hook(configs, VALIDATING_CONFIG, 'validate.kyverno.svc-fail').matchConditions, [...conditions, exclusion]);
  assert.deepEqual(hook(configs, MUTATING_CONFIG, 'mutate.kyverno.svc-fail').matchConditions, [...conditions, exclusion]);
  assert.deepEqual(hook(configs, VALIDATING_CONFIG, 'validate.kyverno.svc-fail-finegrained-fine').matchConditions, [{ name: 'own', expression: 'true' }, exclusion]);
  assert.deepEqual(hook(configs, VALIDATING_CONFIG, 'vpol.validate.kyverno.svc-fail').matchConditions, [exclusion], 'the CEL ones too');
  assert.deepEqual(hook(configs, VALIDATING_CONFIG, 'validate.kyverno.svc-ignore').matchConditions, conditions, 'an Ignore webhook fails open: left alone');
  assert.deepEqual(hooks(configs.get(TTL_VALIDATING_CONFIG))[0].matchConditions, conditions, 'not Kyverno\'s own webhooks');
  // Off by default.
  assert.equal(hook(write(), VALIDATING_CONFIG, 'validate.kyverno.svc-fail').matchConditions, undefined);
});
