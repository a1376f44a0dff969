/** Kyverno's ConfigMap read and followed live (webhook/kyverno-config.ts), and the exception scope flags. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { configurationDefaults, configurationOf, KyvernoConfigWatcher, type ConfigMapSource, type KyvernoConfiguration } from '../../webhook/kyverno-config';
import { exceptionsInScope } from '../../webhook/exception-scope';
import { startTestWebhook, type TestWebhook } from './harness';
import type { JsonObject } from '../../engine/core/types';

const FLAGS: KyvernoConfiguration = configurationDefaults({
  resourceFilters: '[Event,*,*]',
  userExclusions: { excludeGroups: 'system:nodes' },
  successEvents: false,
  successEventActions: [],
}, 'kyverno');

const configMap = (data: Record<string, string>): JsonObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kyverno', namespace: 'kyverno' }, data });

test('the keys present replace the flags; the keys left out keep them', () => {
  const c = configurationOf({ resourceFilters: '[Pod,*,*]', excludeUsernames: '!admin,ci-*', generateSuccessEvents: 'true', successEventActions: ' Resource Mutated , Resource Generated,' }, FLAGS);
  assert.deepEqual(c, {
    ...FLAGS,
    resourceFilters: '[Pod,*,*]',
    userExclusions: { excludeGroups: 'system:nodes', excludeUsernames: '!admin,ci-*' },
    successEvents: true,
    successEventActions: ['Resource Mutated', 'Resource Generated'],
  });
  assert.deepEqual(configurationOf({}, FLAGS), FLAGS);
  assert.deepEqual(configurationOf(undefined, FLAGS), FLAGS, 'no ConfigMap: the flags');
  assert.equal(configurationOf({ resourceFilters: '' }, FLAGS).resourceFilters, '', 'an empty value is a value: no filter, as in Kyverno');
  assert.equal(configurationOf({ excludeGroups: '' }, FLAGS).userExclusions.excludeGroups, '');
});

test("generateSuccessEvents is read as Go's ParseBool; anything else keeps the flag and is logged", () => {
  for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(configurationOf({ generateSuccessEvents: t }, FLAGS).successEvents, true, t);
  for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(configurationOf({ generateSuccessEvents: f }, { ...FLAGS, successEvents: true }).successEvents, false, f);
  const log: string[] = [];
  assert.equal(configurationOf({ generateSuccessEvents: 'yes' }, { ...FLAGS, successEvents: true }, (l) => log.push(l)).successEvents, true);
  assert.match(log.join('\n'), /generateSuccessEvents is not a boolean \("yes"\); keeping true/);
});

test('the watcher: each change reloads the whole ConfigMap, a deletion goes back to the flags and Kyverno\'s defaults', async () => {
  const log: string[] = [];
  const watcher = new KyvernoConfigWatcher(FLAGS, (l) => log.push(l));
  const seen: KyvernoConfiguration[] = [];
  watcher.onChange((c) => seen.push(c));
  let push: (cm: JsonObject | undefined) => void = () => undefined;
  const source: ConfigMapSource = (onChange) => {
    push = onChange;
    onChange(configMap({ generateSuccessEvents: 'true', webhooks: '{}', maxContextSize: '1Ki' }));
  };
  const stop = new AbortController();
  let loaded = false;
  void watcher.loaded.then(() => (loaded = true));
  await Promise.resolve();
  assert.equal(loaded, false, 'not loaded before the source answers');
  watcher.watch(source, stop.signal);
  await watcher.loaded;
  assert.equal(watcher.current().successEvents, true);
  assert.equal(watcher.current().engine.maxContextSize, 1024);
  assert.equal(watcher.current().webhooks.namespaceSelector, undefined, 'webhooks set without a namespaceSelector: none');
  push(configMap({ resourceFilters: '[Secret,*,*]' }));
  assert.equal(watcher.current().successEvents, false, 'a key removed from the ConfigMap falls back to its flag');
  assert.equal(watcher.current().resourceFilters, '[Secret,*,*]');
  assert.equal(watcher.current().engine.maxContextSize, 2 * 1024 * 1024, "...and a key without a flag to Kyverno's default");
  assert.deepEqual(watcher.current().webhooks, FLAGS.webhooks);
  push(undefined);
  assert.deepEqual(watcher.current(), FLAGS);
  assert.equal(seen.length, 3);
  assert.deepEqual(log, [], 'every key is applied: nothing to report');
  stop.abort();
});

test("exception scope (Kyverno's --enablePolicyException, --exceptionNamespace): off, every namespace, one namespace, unset", () => {
  const classic = (ns: string): JsonObject => ({ apiVersion: 'kyverno.io/v2', kind: 'PolicyException', metadata: { name: `c-${ns}`, namespace: ns } });
  const cel = (ns: string): JsonObject => ({ apiVersion: 'policies.kyverno.io/v1beta1', kind: 'PolicyException', metadata: { name: `cel-${ns}`, namespace: ns } });
  const all = [classic('a'), classic('b'), cel('a'), cel('b')];
  const names = (l: JsonObject[]) => l.map((e) => String((e.metadata as JsonObject).name));
  assert.deepEqual(names(exceptionsInScope(all)), ['c-a', 'c-b', 'cel-a', 'cel-b'], 'ours by default: all of them');
  assert.deepEqual(exceptionsInScope(all, { enabled: false, namespace: '*' }), []);
  assert.deepEqual(names(exceptionsInScope(all, { enabled: true, namespace: 'b' })), ['c-b', 'cel-b']);
  assert.deepEqual(names(exceptionsInScope(all, { enabled: true, namespace: '' })), ['cel-a', 'cel-b'], 'unset: no classic exception, every CEL one');
});

let hook: TestWebhook | undefined;
after(async () => hook?.server.close());

test('server processes take the ConfigMap\'s resource filters and user exclusions while they run', async () => {
  const policy = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'no-configmaps' }, spec: { validationFailureAction: 'Enforce', rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, validate: { message: 'no', deny: {} } }] } };
  hook = await startTestWebhook('config', { workers: 2, resourceFilters: '[Event,*,*]' }, [policy]);
  const review = (user: string) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
    uid: 'u', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' }, namespace: 'default', name: 'c', userInfo: { username: user, groups: [] },
    object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' } } } });
  const allowed = async (user: string) => {
    // Two calls: each new connection goes to the next server process, and both must have it.
    const answers = await Promise.all([hook!.call('/validate', review(user)), hook!.call('/validate', review(user))]);
    return answers.map((a) => (JSON.parse(a.text) as { response: { allowed: boolean } }).response.allowed);
  };
  assert.deepEqual(await allowed('alice'), [false, false]);
  hook.server.setLiveSettings({ resourceFilters: '[ConfigMap,default,*]', userExclusions: {}, successEvents: false });
  assert.deepEqual(await allowed('alice'), [true, true], 'filtered by the new resourceFilters');
  hook.server.setLiveSettings({ resourceFilters: '', userExclusions: { excludeUsernames: 'ali*' }, successEvents: false });
  assert.deepEqual(await allowed('alice'), [true, true], 'excluded user');
  assert.deepEqual(await allowed('bob'), [false, false]);
});

let registryHook: TestWebhook | undefined;
after(async () => registryHook?.server.close());

test("server processes read image references with the ConfigMap's defaultRegistry while they run", async () => {
  const policy = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'corp-registry' }, spec: { validationFailureAction: 'Enforce', rules: [{
    name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] },
    validate: { message: 'only registry.corp', deny: { conditions: { any: [{ key: '{{ images.containers.app.registry }}', operator: 'NotEquals', value: 'registry.corp' }] } } },
  }] } };
  registryHook = await startTestWebhook('config-registry', { workers: 2 }, [policy]);
  const review = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
    uid: 'u', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'default', name: 'p', userInfo: { username: 'alice', groups: [] },
    object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'app', image: 'team/app:1' }] } } } });
  const allowed = async () => (await Promise.all([registryHook!.call('/validate', review), registryHook!.call('/validate', review)])).map((a) => (JSON.parse(a.text) as { response: { allowed: boolean } }).response.allowed);
  assert.deepEqual(await allowed(), [false, false], 'team/app is docker.io/team/app by default');
  const engine = configurationOf({ defaultRegistry: 'registry.corp' }, FLAGS).engine;
  registryHook.server.setLiveSettings({ resourceFilters: '', userExclusions: {}, successEvents: false, engine });
  assert.deepEqual(await allowed(), [true, true]);
});
