/** The offline kubectl of script and command steps: its formats, its store effects and the shim that carries it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { jsonpath, kubectl, KubectlUnsupported, parseArgs, proxied, type KubectlCluster } from './kubectl';
import type { JsonObject } from '../../engine/core/types';
import { Scenario } from './runner';
import { runWithShim, expandArgs, unsetVariables } from './shell';

const fixture = join(import.meta.dirname, '../fixtures/chainsaw/deny-label');

async function withScenario(run: (call: (line: string, stdin?: string) => ReturnType<typeof kubectl>, scenario: Scenario) => Promise<void>): Promise<void> {
  const scenario = new Scenario(fixture);
  try {
    const cluster = scenario.kubectlCluster();
    await run((line, stdin) => kubectl(cluster, { argv: line.split(' '), cwd: fixture, stdin }), scenario);
  } finally {
    await scenario.close();
  }
}

test('kubectl arguments: separate, joined and attached flag values', () => {
  const a = parseArgs(['get', 'cm', '-n', 'x', '--output=json', '-lteam=core', '--no-headers', 'name']);
  assert.deepEqual(a.positional, ['get', 'cm', 'name']);
  assert.equal(a.flags.get('namespace')?.[0], 'x');
  assert.equal(a.flags.get('output')?.[0], 'json');
  assert.equal(a.flags.get('selector')?.[0], 'team=core');
  assert.equal(a.flags.get('no-headers')?.[0], 'true');
  assert.throws(() => parseArgs(['get', 'cm', '--sort-by=.metadata.name']), KubectlUnsupported);
});

test('jsonpath: fields, wildcards, escaped dots, maps as JSON, missing fields print nothing', () => {
  const list = { items: [{ metadata: { labels: { foo: 'bar', 'app.kubernetes.io/name': 'x' } } }, { metadata: { labels: { foo: 'baz' } } }, { metadata: {} }] };
  assert.equal(jsonpath('{.items[*].metadata.labels.foo}', list), 'bar baz');
  assert.equal(jsonpath('{.items[0].metadata.labels.app\\.kubernetes\\.io/name}', list), 'x');
  assert.equal(jsonpath("{.items[0].metadata.labels['foo']}", list), 'bar');
  assert.equal(jsonpath('{.items[1].metadata}', list), '{"labels":{"foo":"baz"}}');
  assert.equal(jsonpath('{.items[2].metadata.labels.foo}', list), '');
  assert.equal(jsonpath('n={.items[-1].metadata}', list), 'n={}');
  assert.throws(() => jsonpath('{.items[?(@.x)]}', list), KubectlUnsupported);
  assert.throws(() => jsonpath('{range .items[*]}{.a}{end}', list), KubectlUnsupported);
});

test('kubectl apply, create and get answer in kubectl\'s formats, through the webhook', async () => {
  await withScenario(async (call) => {
    assert.deepEqual(await call('apply -f policy.yaml'), { stdout: 'clusterpolicy.kyverno.io/require-team created\n', stderr: '', code: 0 });
    const refused = await call('apply -f bad.yaml');
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /^Error from server: error when creating "bad.yaml": admission webhook "validate.kyverno.svc-fail" denied the request: /);
    assert.match(refused.stderr, /a team label is required/);
    assert.deepEqual(await call('apply -f good.yaml'), { stdout: 'configmap/good created\n', stderr: '', code: 0 });
    assert.deepEqual(await call('apply -f good.yaml'), { stdout: 'configmap/good unchanged\n', stderr: '', code: 0 });
    const exists = await call('create -f good.yaml');
    assert.equal(exists.stderr, 'Error from server (AlreadyExists): error when creating "good.yaml": configmaps "good" already exists\n');
    // Chainsaw's kubeconfig names no namespace: kubectl's default is `default`.
    assert.deepEqual(await call('get configmap good -o jsonpath={.metadata.namespace}/{.data.a}'), { stdout: 'default/b', stderr: '', code: 0 });
    assert.deepEqual(await call('get cm -o name'), { stdout: 'configmap/good\n', stderr: '', code: 0 });
    assert.equal(JSON.parse((await call('get cm good -o json')).stdout).metadata.labels.team, 'core');
    assert.equal(JSON.parse((await call('get cm -o json')).stdout).kind, 'List');
    assert.deepEqual(await call('get cm nope'), { stdout: '', stderr: 'Error from server (NotFound): configmaps "nope" not found\n', code: 1 });
    assert.deepEqual(await call('get cm -n other'), { stdout: '', stderr: 'No resources found in other namespace.\n', code: 0 });
    const piped = await call('apply -f -', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: piped\n  labels: {team: a}\n');
    assert.equal(piped.stdout, 'configmap/piped created\n');
  });
});

test('kubectl label, annotate, patch, delete: admission on updates, kubectl\'s messages', async () => {
  await withScenario(async (call, scenario) => {
    await call('apply -f policy.yaml');
    await call('apply -f good.yaml');
    assert.equal((await call('label cm good extra=1')).stdout, 'configmap/good labeled\n');
    assert.equal((await call('label cm good extra=2')).stderr, "error: 'extra' already has a value (1), and --overwrite is false\n");
    const removed = await call('label cm good team-');
    assert.equal(removed.code, 1);
    assert.match(removed.stderr, /^Error from server: admission webhook "validate.kyverno.svc-fail" denied the request: /);
    assert.equal((await call('annotate cm good note=x')).stdout, 'configmap/good annotated\n');
    assert.equal((await call('patch cm good --type merge -p {"data":{"a":"c"}}')).stdout, 'configmap/good patched\n');
    assert.equal((await call('patch cm good --type merge -p {"data":{"a":"c"}}')).stdout, 'configmap/good patched (no change)\n');
    assert.equal((await call('patch cm good --type json -p [{"op":"add","path":"/data/b","value":"d"}]')).stdout, 'configmap/good patched\n');
    const stored = scenario.store.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'good' });
    assert.deepEqual(stored?.data, { a: 'c', b: 'd' });
    assert.equal((await call('delete cm good')).stdout, 'configmap "good" deleted\n');
    assert.deepEqual(await call('delete cm good --ignore-not-found'), { stdout: '', stderr: '', code: 0 });
    assert.equal((await call('delete cm good')).stderr, 'Error from server (NotFound): configmaps "good" not found\n');
  });
});

test('kubectl scale goes through the scale subresource; run and create build kubectl\'s objects', async () => {
  await withScenario(async (call, scenario) => {
    const deny = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'no-scale', annotations: { 'pod-policies.kyverno.io/autogen-controllers': 'none' } }, spec: { background: false, rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Deployment/scale'] } }] }, validate: { failureAction: 'Enforce', message: 'no scaling', deny: {} } }] } };
    assert.equal(await scenario.write('create', deny), undefined);
    assert.equal((await call('create deployment web --image=registry.io/team/nginx:1.2 --replicas=1')).stdout, 'deployment.apps/web created\n');
    const deployment = scenario.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'web' });
    assert.equal((deployment?.spec as { template: { spec: { containers: Array<{ name: string }> } } }).template.spec.containers[0].name, 'nginx');
    const scaled = await call('scale deployment web --replicas 3');
    assert.equal(scaled.code, 1);
    assert.match(scaled.stderr, /denied the request: .*no scaling/s);
    assert.equal((await call('run nginx --image=nginx')).stdout, 'pod/nginx created\n');
    assert.deepEqual((scenario.store.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'nginx' })?.metadata as { labels: unknown }).labels, { run: 'nginx' });
  });
});

test('what kubectl cannot do offline is unsupported, not a failure', async () => {
  await withScenario(async (call) => {
    await call('apply -f good.yaml');
    await assert.rejects(call('port-forward nginx 8080:80'), KubectlUnsupported);
    await assert.rejects(call('get cm'), KubectlUnsupported); // a table's columns
    await assert.rejects(call('get ephemeralreports -n kyverno'), KubectlUnsupported);
  });
});

test('kubectl get updaterequests -n kyverno: the UpdateRequests our background controller writes in the CRD Kyverno\'s install serves, gone once done', async () => {
  await withScenario(async (call, scenario) => {
    assert.deepEqual(await scenario.kubectlCluster().store.servedByCrd('kyverno.io/v2', 'UpdateRequest'), { group: 'kyverno.io', kind: 'UpdateRequest', plural: 'updaterequests', versions: ['v2'], namespaced: true });
    const states: string[] = [];
    scenario.store.subscribe((e) => {
      if (e.object.kind === 'UpdateRequest') states.push(`${e.type} ${String((e.object.metadata as JsonObject).name).replace(/-[a-z0-9]{5}$/, '-*')} ${String((e.object.status as JsonObject | undefined)?.state ?? '')}`.trim());
    });
    const policy = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'defaults' }, spec: { rules: [{ name: 'cm', match: { any: [{ resources: { kinds: ['Namespace'] } }] }, generate: { apiVersion: 'v1', kind: 'ConfigMap', name: 'defaults', namespace: '{{request.object.metadata.name}}', data: { data: { a: 'b' } } } }] } };
    assert.equal((await call('apply -f -', JSON.stringify(policy))).code, 0);
    assert.equal((await call('create namespace team-a')).code, 0);
    assert.equal(JSON.parse((await call('get configmap defaults -n team-a -o json')).stdout).data.a, 'b');
    assert.deepEqual(states, ['ADDED ur-*', 'MODIFIED ur-* Pending', 'MODIFIED ur-* Completed', 'DELETED ur-* Completed']);
    assert.deepEqual(await call('get updaterequests -n kyverno'), { stdout: '', stderr: 'No resources found in kyverno namespace.\n', code: 0 });
  });
});

test('kubectl get events: the API server\'s event table (LAST SEEN, TYPE, REASON, OBJECT, MESSAGE) of the events written', async () => {
  await withScenario(async (call) => {
    await call('apply -f policy.yaml');
    assert.equal((await call('apply -f bad.yaml')).code, 1);
    const { stdout } = await call('get events -n default');
    const lines = stdout.trimEnd().split('\n');
    assert.match(lines[0], /^LAST SEEN   TYPE      REASON +OBJECT +MESSAGE$/);
    assert.ok(lines.slice(1).some((l) => /^\d+s +Warning   PolicyViolation +clusterpolicy\/require-team +/.test(l)), stdout);
  });
});

test('humanDuration: ages as kubectl prints them', async () => {
  const { humanDuration } = await import('./kubectl');
  assert.deepEqual([5_000, 119_000, 125_000, 600_000, 3 * 3600_000 + 60_000, 30 * 3600_000, 50 * 3600_000, -5_000].map(humanDuration), ['5s', '119s', '2m5s', '10m', '3h1m', '30h', '2d2h', '<invalid>']);
});

/** A ClusterPolicy denying requests on `kinds`, its message made of `message` (variables substituted). */
function denyPolicy(name: string, kinds: string[], message: string): JsonObject {
  return { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name, annotations: { 'pod-policies.kyverno.io/autogen-controllers': 'none' } }, spec: { background: false, rules: [{ name: 'r', match: { any: [{ resources: { kinds } }] }, validate: { failureAction: 'Enforce', message, deny: {} } }] } };
}

/** The cluster of a scenario with its subresource requests recorded. */
function recording(scenario: Scenario, seen: Array<{ name: string; body: JsonObject }>): KubectlCluster {
  const cluster = scenario.kubectlCluster();
  return { ...cluster, kubectlEvict: true, subresource: (pod, name, body, user) => (seen.push({ name, body }), cluster.subresource(pod, name, body, user)) };
}

test('kubectl exec: a CONNECT of pods/exec with the PodExecOptions kubectl sends; refused, the API server\'s error; admitted, the command runs nowhere', async () => {
  await withScenario(async (call, scenario) => {
    await call('run web --image=nginx');
    const seen: Array<{ name: string; body: JsonObject }> = [];
    const cluster = recording(scenario, seen);
    const run = (line: string) => kubectl(cluster, { argv: line.split(' '), cwd: fixture });
    const admitted = await run('exec web -it -- ls -l');
    assert.deepEqual(admitted, { stdout: '', stderr: 'Unable to use a TTY - input is not a terminal or the right kind of file\n', code: 0, remoteCommand: '`ls -l` in default/web/web' });
    assert.deepEqual(seen, [{ name: 'exec', body: { kind: 'PodExecOptions', apiVersion: 'v1', stdin: true, stdout: true, stderr: true, container: 'web', command: ['ls', '-l'] } }]);
    assert.equal(await scenario.write('create', denyPolicy('no-exec', ['Pod/exec'], 'no exec into {{ request.name }} in {{ request.object.metadata.namespace }}')), undefined);
    const refused = await run('exec pod/web -- ls');
    assert.equal(refused.code, 1);
    assert.equal(refused.remoteCommand, undefined);
    // request.name is the admission request's (the Pod's); the options get the request's namespace.
    assert.match(refused.stderr, /^Error from server: admission webhook "validate.kyverno.svc-fail" denied the request: .*no exec into web in default/s);
    assert.deepEqual(await run('exec nope -- ls'), { stdout: '', stderr: 'Error from server (NotFound): pods "nope" not found\n', code: 1 });
    assert.equal((await run('exec web')).stderr, 'error: you must specify at least one command for the container\n');
  });
});

test('kubectl debug: an ephemeral container through pods/ephemeralcontainers (an UPDATE of the Pod), refused by a Pod policy as Kyverno registers it; attaching is not offline', async () => {
  await withScenario(async (call, scenario) => {
    await call('run web --image=nginx');
    const seen: Array<{ name: string; body: JsonObject }> = [];
    const cluster = recording(scenario, seen);
    const run = (line: string) => kubectl(cluster, { argv: line.split(' '), cwd: fixture });
    const added = await run('debug web --image=busybox:1.35 --target=web');
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^Targeting container "web"\. .*\nDefaulting debug container name to debugger-[bcdfghjklmnpqrstvwxz2456789]{5}\.\n$/s);
    const pod = scenario.store.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'web' });
    const ephemeral = (pod?.spec as { ephemeralContainers: JsonObject[] }).ephemeralContainers;
    assert.deepEqual({ ...ephemeral[0], name: 'x' }, { name: 'x', image: 'busybox:1.35', resources: {}, terminationMessagePolicy: 'File', targetContainerName: 'web' });
    assert.equal(seen[0].name, 'ephemeralcontainers');
    assert.equal(seen[0].body.kind, 'Pod');
    await assert.rejects(run('debug web --image=busybox -it -c shell'), KubectlUnsupported);
    // An UPDATE: without allowExistingViolations: false the Pod's existing violation would be let through.
    const noPods = denyPolicy('no-pods', ['Pod'], 'no debugging') as { spec: { rules: Array<{ validate: JsonObject }> } };
    noPods.spec.rules[0].validate.allowExistingViolations = false;
    assert.equal(await scenario.write('create', noPods as unknown as JsonObject), undefined);
    const refused = await run('debug web --image=busybox -c other');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /denied the request: .*no debugging/s);
    assert.equal((await run('debug web')).stderr, 'error: you must specify --image when not using --copy-to.\n');
  });
});

test('kubectl evict (the plugin Kyverno\'s CI installs): an Eviction created through pods/eviction; admitted, the Pod is gone', async () => {
  await withScenario(async (call, scenario) => {
    await call('run web --image=nginx');
    await call('run keep --image=nginx');
    assert.deepEqual(await call('evict web'), { stdout: '', stderr: 'error: unknown command "evict" for "kubectl"\n', code: 1 }, 'without the plugin');
    const seen: Array<{ name: string; body: JsonObject }> = [];
    const cluster = recording(scenario, seen);
    const run = (line: string) => kubectl(cluster, { argv: line.split(' '), cwd: fixture });
    assert.deepEqual(await run('evict web'), { stdout: 'pod default/web evicted\n', stderr: '', code: 0 });
    assert.deepEqual(seen, [{ name: 'eviction', body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'web', namespace: 'default' } } }]);
    assert.equal(scenario.store.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'web' }), undefined);
    assert.equal(await scenario.write('create', denyPolicy('no-evict', ['Pod/eviction'], 'keep {{ request.name }}')), undefined);
    const refused = await run('evict keep');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^Error: admission webhook "validate.kyverno.svc-fail" denied the request: .*keep keep/s);
    assert.ok(scenario.store.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'keep' }));
  });
});

test('kubectl wait answers what already holds; a condition the kubelet would write is not offline. create rolebinding builds kubectl\'s binding; delete -l deletes what the selector selects', async () => {
  await withScenario(async (call, scenario) => {
    assert.deepEqual(await call('wait --for=condition=Ready node/kind-control-plane'), { stdout: 'node/kind-control-plane condition met\n', stderr: '', code: 0 });
    await call('run web --image=nginx');
    await assert.rejects(call('wait --for=condition=Ready pod/web'), /written by the kubelet/);
    await assert.rejects(call('wait --for=condition=ready pod -l app=x -n kyverno'), /Kyverno's own install/);
    assert.deepEqual(await call('wait --for=delete pod/gone'), { stdout: 'pod/gone condition met\n', stderr: '', code: 0 });
    assert.equal((await call('create rolebinding rb --role=r --user=u --serviceaccount=ns:sa')).stdout, 'rolebinding.rbac.authorization.k8s.io/rb created\n');
    const rb = scenario.store.get({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', namespace: 'default', name: 'rb' });
    assert.deepEqual([rb?.roleRef, rb?.subjects], [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' }, [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'u' }, { kind: 'ServiceAccount', name: 'sa', namespace: 'ns' }]]);
    assert.equal((await call('create rolebinding rb2 --user=u')).stderr, 'error: exactly one of clusterrole or role must be specified\n');
    await assert.rejects(call('get pods --user=u'), KubectlUnsupported);
    assert.equal((await call('delete pod -l run=web')).stdout, 'pod "web" deleted\n');
  });
});

test("kubectl patch of Kyverno's ConfigMap reaches the webhook's configuration watcher: the change applies to the next request", async () => {
  await withScenario(async (call) => {
    await call('create -f policy.yaml');
    const denied = await call('apply -f bad.yaml');
    assert.equal(denied.code, 1);
    const patched = await call('patch configmap kyverno -n kyverno --type merge -p {"data":{"excludeUsernames":"kubernetes-admin"}}');
    assert.equal(patched.code, 0, patched.stderr);
    assert.equal((await call('apply -f bad.yaml')).code, 0, 'the admin is now excluded by the configuration');
    await call('patch configmap kyverno -n kyverno --type json -p [{"op":"remove","path":"/data/excludeUsernames"}]');
    await call('delete -f bad.yaml');
    assert.equal((await call('apply -f bad.yaml')).code, 1, 'the key removed: back to the default');
  });
});

test('--as: the API server\'s RBAC decides for an impersonated user', async () => {
  await withScenario(async (call) => {
    const forbidden = await call('create cm x --as=system:serviceaccount:default:nobody');
    assert.equal(forbidden.code, 1);
    assert.equal(forbidden.stderr, 'Error from server (Forbidden): configmaps "x" is forbidden: User "system:serviceaccount:default:nobody" cannot create resource "configmaps" in API group "" in the namespace "default"\n');
  });
});

test('the shim: a script\'s kubectl reaches the runner; unsupported calls are recorded even when the script exits 0', async () => {
  const answers: string[][] = [];
  const spec = {
    cwd: fixture,
    env: { NAMESPACE: 'n1' },
    timeoutMs: 20_000,
    answer: async (call: { argv: string[]; stdin?: string }) => {
      answers.push(call.argv);
      if (call.argv[0] === 'exec') throw new KubectlUnsupported('kubectl exec');
      return { stdout: `out:${call.argv.join(' ')}:${call.stdin ?? ''}\n`, stderr: 'Warning: w\n', code: call.argv[0] === 'fail' ? 1 : 0 };
    },
  };
  const isUnsupported = (e: unknown) => (e instanceof KubectlUnsupported ? e.message : undefined);
  const ok = await runWithShim({ ...spec, script: 'echo x | kubectl apply -f - -n $NAMESPACE; kubectl get cm 2>/dev/null; sleep 30' }, isUnsupported);
  assert.deepEqual(ok, { stdout: 'out:apply -f - -n n1:x\n\nout:get cm:', stderr: 'Warning: w', error: null, unsupported: [], timedOut: false });
  const failed = await runWithShim({ ...spec, script: 'kubectl fail' }, isUnsupported);
  assert.equal(failed.error, 'exit status 1');
  const hidden = await runWithShim({ ...spec, script: 'if kubectl exec p -- ls; then exit 1; else exit 0; fi' }, isUnsupported);
  assert.equal(hidden.error, null);
  assert.deepEqual(hidden.unsupported, ['kubectl exec']);
  const tool = await runWithShim({ ...spec, script: 'helm install x || true' }, isUnsupported);
  assert.deepEqual(tool.unsupported, ['helm install x']);
  const command = await runWithShim({ ...spec, entrypoint: 'kubectl', args: ['get', 'ns', '${NAMESPACE}'] }, isUnsupported);
  assert.equal(command.stdout, 'out:get ns n1:');
});

test('the shim: a script is killed at its timeout', async () => {
  const start = process.hrtime.bigint();
  const r = await runWithShim({ cwd: fixture, env: {}, timeoutMs: 300, script: 'while :; do :; done', answer: async () => ({ stdout: '', stderr: '', code: 0 }) }, () => undefined);
  assert.equal(r.timedOut, true);
  assert.equal(r.error, 'signal: killed');
  // Bounded: well under the busy loop's forever (generous for a loaded machine).
  assert.ok(process.hrtime.bigint() - start < 15_000_000_000n);
});

test('command arguments expand $NAME and ${NAME} from the operation\'s environment', () => {
  assert.deepEqual(expandArgs(['-n', '$NAMESPACE', '${A}x', '$MISSING'], { NAMESPACE: 'n', A: 'a' }), ['-n', 'n', 'ax', '']);
});

test('the shim: the runner\'s time answering kubectl does not count against the timeout', async () => {
  const slow = async () => {
    await new Promise((r) => setTimeout(r, 5_000));
    return { stdout: 'late\n', stderr: '', code: 0 };
  };
  const r = await runWithShim({ cwd: fixture, env: {}, timeoutMs: 3_000, script: 'kubectl get cm x', answer: slow }, () => undefined);
  assert.deepEqual([r.timedOut, r.error, r.stdout], [false, null, 'late']);
});

test('a script reading a variable only Kyverno\'s CI sets is found; assigned, defaulted and given ones are not', () => {
  assert.deepEqual(unsetVariables('kubectl run -n $NAMESPACE x --image=$TEST_IMAGE_URL', { NAMESPACE: 'ns' }), ['TEST_IMAGE_URL']);
  assert.deepEqual(unsetVariables('R=$(kubectl get pods); for P in a b; do echo $P $R ${X:-none} $i; done; read -r L; echo $L', {}), []);
  assert.deepEqual(unsetVariables('export T=1\necho ${T} ${MISSING}', {}), ['MISSING']);
});

test('kubectl proxy + curl: the proxy holds while it runs, curl reaches the API server through it (a status PATCH and an eviction through admission), a stopped proxy refuses the connection', async () => {
  await withScenario(async (call, scenario) => {
    await call('run web --image=nginx');
    const cluster = { ...scenario.kubectlCluster(), kubectlEvict: true };
    const script = [
      'kubectl proxy & pid=$!',
      'until curl --output /dev/null -fsSL http://localhost:8001/; do sleep 1; done',
      `curl -sS --header "Content-Type: application/json-patch+json" --request PATCH --data '[{"op": "add", "path": "/status/capacity/example.com~1dongle", "value": "1"}]' http://localhost:8001/api/v1/nodes/kind-control-plane/status > /dev/null`,
      `curl -s -H 'Content-type: application/json' http://localhost:8001/api/v1/namespaces/default/pods/web/eviction -d '{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"web","namespace":"default"}}'`,
      'echo',
      'curl -f -s http://localhost:8001/api/v1/namespaces/default/pods/web || echo "gone: $?"',
      'kill $pid; wait $pid',
      'curl -s http://localhost:8001/ || echo "refused: $?"',
    ].join('\n');
    const result = await runWithShim({ cwd: fixture, env: {}, timeoutMs: 60_000, script, proxied: (request) => proxied(cluster, request), answer: (c) => kubectl(cluster, { argv: c.argv, cwd: c.cwd }) }, (e) => (e instanceof KubectlUnsupported ? e.message : undefined));
    assert.deepEqual(result.unsupported, []);
    assert.equal(result.error, null, result.stderr);
    assert.deepEqual(result.stdout.split('\n'), ['Starting to serve on 127.0.0.1:8001', '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","code":201}', 'gone: 22', 'refused: 7']);
    const node = scenario.store.get({ apiVersion: 'v1', kind: 'Node', name: 'kind-control-plane' });
    assert.equal((node?.status as { capacity: Record<string, string> }).capacity['example.com/dongle'], '1');
    assert.equal(scenario.store.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'web' }), undefined);
  });
});
