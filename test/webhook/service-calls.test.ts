/**
 * Calls to services from policies (a classic `apiCall.service`, CEL http.Get/Post), made by the
 * webhook against a real HTTPS server on loopback whose certificate a test CA signed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import { createServer as createPlainServer, type AddressInfo } from 'node:net';
import { makeCertificates } from '../../tls/certificates';
import { httpCallSettings, makeServiceCall, makeServiceCalls } from '../../webhook/service-calls';
import { backgroundServiceCalls, evaluatePostingApiCalls, evaluateReadingCluster } from '../../webhook/cluster-reads';
import { evaluateReview } from '../../webhook/evaluate';
import { PolicyIndex } from '../../webhook/prefilter';
import { startTestWebhook } from './harness';
import type { KubeClient } from '../../kube-api/client';
import type { ClusterState, JsonObject, ServiceCallRequest } from '../../engine/core/types';
import { unfoldedDenial } from './denial-text';

const certs = makeCertificates({ hosts: ['127.0.0.1'] });
const CA = certs.ca.certPem;
let server: Server;
let base = '';
/** Requests the server saw: method, path, headers, body. */
const seen: Array<{ method: string; path: string; headers: Record<string, unknown>; body: string }> = [];

before(async () => {
  server = createServer({ cert: certs.serving.certPem, key: certs.serving.keyPem }, (req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const path = req.url ?? '/';
      seen.push({ method: req.method ?? '', path, headers: req.headers, body });
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (path.startsWith('/team/')) return json(200, { team: path.slice('/team/'.length), allowed: path.endsWith('/ok') });
      if (path === '/review') {
        const sent = JSON.parse(body || 'null') as JsonObject;
        return json(200, { allowed: sent?.namespace === 'good', token: req.headers['x-token'] ?? null });
      }
      if (path === '/fail') {
        res.writeHead(500, 'Internal Server Error');
        return res.end('boom');
      }
      if (path === '/text') {
        res.writeHead(200);
        return res.end('not json');
      }
      if (path === '/big') {
        res.writeHead(200);
        return res.end(`"${'x'.repeat(5000)}"`);
      }
      if (path === '/slow') return; // never answers
      json(404, { message: 'no such path' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

const empty = (): ClusterState => ({ resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });
const get = (url: string, extra: Partial<ServiceCallRequest> = {}): ServiceCallRequest => ({ method: 'GET', url, headers: [], caBundle: CA, caller: 'apiCall', ...extra });

function review(namespace: string, kind = 'ConfigMap'): string {
  const object = { apiVersion: 'v1', kind, metadata: { name: 'cm', namespace } };
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', kind: { group: '', version: 'v1', kind }, resource: { group: '', version: 'v1', resource: 'configmaps' }, namespace, name: 'cm', operation: 'CREATE', userInfo: { username: 'admin' }, object, oldObject: null } });
}

/** A classic policy that POSTs the namespace to the service and denies what it does not allow. */
function classicPolicy(url: string, extra: JsonObject = {}): JsonObject {
  return {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'ask-service' },
    spec: {
      background: true,
      rules: [{
        name: 'ask',
        match: { any: [{ resources: { kinds: ['ConfigMap'] } }] },
        context: [{ name: 'svc', apiCall: { method: 'POST', data: [{ key: 'namespace', value: '{{ request.namespace }}' }], service: { url, caBundle: CA, headers: [{ key: 'X-Token', value: 'secret' }] }, ...extra } }],
        validate: { failureAction: 'Enforce', message: 'the service says no', deny: { conditions: { any: [{ key: '{{ svc.allowed }}', operator: 'NotEquals', value: true }] } } },
      }],
    },
  };
}

/** A ValidatingPolicy asking the service through http.Client(caBundle).Get. */
function celPolicy(url: string, namespace?: string): JsonObject {
  return {
    apiVersion: 'policies.kyverno.io/v1', kind: namespace ? 'NamespacedValidatingPolicy' : 'ValidatingPolicy', metadata: { name: 'cel-ask', ...(namespace ? { namespace } : {}) },
    spec: {
      matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }] },
      variables: [{ name: 'answer', expression: `http.Client(${JSON.stringify(CA)}).Get("${url}/team/" + object.metadata.namespace)` }],
      validations: [{ expression: 'variables.answer.allowed == true && variables.answer.statusCode == 200', message: 'team not allowed' }],
    },
  };
}

/** Admission as the server processes run it: the calls made, then the evaluation again. */
const admit = (policies: JsonObject[], body: string, limits = {}) =>
  evaluatePostingApiCalls(empty(), (c) => evaluateReview({ path: 'validate', body }, new PolicyIndex(policies), c), async () => ({}), (reqs, made) => makeServiceCalls(reqs, made, { httpBlocklist: [], ...limits }));
const responseOf = (reply: { body: string }) => JSON.parse(reply.body).response as JsonObject;

test('the client trusts the caBundle only, sends the headers and the JSON body, and reads the answer', async () => {
  const ok = await makeServiceCall({ method: 'POST', url: `${base}/review`, body: { namespace: 'good' }, headers: [['X-Token', 't1']], caBundle: CA, caller: 'apiCall' });
  assert.ok('status' in ok);
  assert.equal(ok.status, 200);
  assert.deepEqual(JSON.parse(ok.text), { allowed: true, token: 't1' });
  assert.equal(seen.at(-1)?.body, '{"namespace":"good"}\n', 'encoded as Go\'s json.Encoder does');
  // Without the bundle the test CA is unknown: Go's words.
  assert.deepEqual(await makeServiceCall(get(`${base}/team/a`, { caBundle: '' })), { error: `Get "${base}/team/a": tls: failed to verify certificate: x509: certificate signed by unknown authority` });
  const failing = await makeServiceCall(get(`${base}/fail`));
  assert.deepEqual(failing, { status: 500, statusText: 'Internal Server Error', text: 'boom' });
});

test('a timeout, a refused connection, a body past the cap and the CEL blocklist end the call with Go\'s words', async () => {
  const started = Date.now();
  assert.deepEqual(await makeServiceCall(get(`${base}/slow`), { timeoutMs: 300 }), { error: `Get "${base}/slow": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
  assert.ok(Date.now() - started < 5000, 'the timeout bounds the call');
  // A deadline nearer than the timeout bounds it too.
  const t2 = Date.now();
  assert.match(JSON.stringify(await makeServiceCall(get(`${base}/slow`), { deadline: Date.now() + 200 })), /context deadline exceeded/);
  assert.ok(Date.now() - t2 < 5000);
  const closed = createPlainServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  assert.deepEqual(await makeServiceCall(get(`https://127.0.0.1:${port}/x`)), { error: `Get "https://127.0.0.1:${port}/x": dial tcp 127.0.0.1:${port}: connect: connection refused` });
  const big = await makeServiceCall(get(`${base}/big`), { maxResponseBytes: 1000 });
  assert.ok('status' in big && big.overLimit === 1000 && big.text.length === 1000);
  // Kyverno's default --httpBlocklist holds loopback: CEL http may not call it.
  assert.deepEqual(await makeServiceCall(get(`${base}/team/a`, { caller: 'http' })), { error: `Get "${base}/team/a": connection to 127.0.0.1:${base.split(':')[2]} blocked: IP 127.0.0.1 falls in blocked range 127.0.0.0/8` });
  assert.deepEqual(await makeServiceCall(get('http://metadata.google.internal/x', { caller: 'http' })), { error: 'URL "http://metadata.google.internal/x" is blocked: hostname "metadata.google.internal" is on the blocklist' });
});

test('admission: a classic apiCall.service entry is called (POST, data, headers, caBundle) and decides the rule', async () => {
  const policy = classicPolicy(`${base}/review`);
  const before = seen.length;
  const allowed = responseOf(await admit([policy], review('good')));
  assert.equal(allowed.allowed, true);
  const denied = responseOf(await admit([policy], review('bad')));
  assert.equal(denied.allowed, false);
  assert.match(String((denied.status as JsonObject).message), /the service says no/);
  const calls = seen.slice(before);
  assert.equal(calls.length, 2, 'one call per review');
  assert.equal(calls[0].method, 'POST');
  assert.equal(calls[0].headers['x-token'], 'secret');
  assert.deepEqual(JSON.parse(calls[1].body), { namespace: 'bad' });
});

test('admission: a failing service is the rule\'s error in Kyverno\'s words, and `default` replaces a failed fetch', async () => {
  const failing = responseOf(await admit([classicPolicy(`${base}/fail`)], review('good')));
  assert.equal(failing.allowed, false);
  assert.match(unfoldedDenial(String((failing.status as JsonObject).message)), /failed to resolve svc\.allowed at path [^:]*: failed to fetch data for APICall: HTTP 500 Internal Server Error: boom/);
  const text = responseOf(await admit([classicPolicy(`${base}/text`)], review('good')));
  assert.match(unfoldedDenial(String((text.status as JsonObject).message)), /failed to store data for APICall: failed to add resource data to context entry svc: invalid character 'o' in literal null \(expecting 'u'\)/);
  const slow = responseOf(await admit([classicPolicy(`${base}/slow`)], review('good'), { timeoutMs: 200 }));
  assert.match(unfoldedDenial(String((slow.status as JsonObject).message)), /failed to fetch data for APICall: failed to execute HTTP request for APICall svc: Post "[^"]+\/slow": context deadline exceeded/);
  const defaulted = responseOf(await admit([classicPolicy(`${base}/fail`, { default: { allowed: true } })], review('good')));
  assert.equal(defaulted.allowed, true, 'the default answers a failed fetch');
});

test('admission: CEL http.Client(caBundle).Get is called and its answer carries statusCode; a namespaced policy is refused', async () => {
  const ok = responseOf(await admit([celPolicy(base)], review('ok')));
  assert.equal(ok.allowed, true);
  assert.equal(seen.at(-1)?.path, '/team/ok');
  const no = responseOf(await admit([celPolicy(base)], review('nope')));
  assert.equal(no.allowed, false);
  assert.match(String((no.status as JsonObject).message), /team not allowed/);
  const before = seen.length;
  const refused = evaluateReview({ path: 'validate', body: review('ok') }, new PolicyIndex([celPolicy(base, 'ok')]), { ...empty(), serviceCallMisses: [] });
  assert.match(refused.body, /http calls are not allowed in namespaced policies: set --allowHTTPInNamespacedPolicies to enable/);
  assert.equal(seen.length, before, 'no call made');
  // --allow-http-in-namespaced-policies (Kyverno's --allowHTTPInNamespacedPolicies) lets it call.
  const allowed = await evaluatePostingApiCalls({ ...empty(), allowHttpInNamespacedPolicies: true }, (c) => evaluateReview({ path: 'validate', body: review('ok') }, new PolicyIndex([celPolicy(base, 'ok')]), c), async () => ({}), (reqs, made) => makeServiceCalls(reqs, made, { httpBlocklist: [] }));
  assert.equal(responseOf(allowed).allowed, true);
  assert.equal(seen.at(-1)?.path, '/team/ok');
});

test('offline (the CLI, the editor): answers the ClusterState holds decide without any call, and a missing one says it needs the network', async () => {
  const policy = classicPolicy('https://svc.example/review');
  const mocked: ClusterState = { ...empty(), apiCallResponses: [{ request: { method: 'POST', service: { url: 'https://svc.example/review' } }, response: { body: { allowed: false } }, mock: true }] };
  const index = new PolicyIndex([policy]);
  const offline = evaluateReview({ path: 'validate', body: review('good') }, index, mocked);
  let called = false;
  const online = await evaluatePostingApiCalls(mocked, (c) => evaluateReview({ path: 'validate', body: review('good') }, index, c), async () => ({}), async () => {
    called = true;
    return [];
  });
  assert.equal(called, false, 'the mock answered');
  assert.deepEqual(JSON.parse(online.body), JSON.parse(offline.body));
  assert.equal(responseOf(offline).allowed, false);
  const cel = evaluateReview({ path: 'validate', body: review('ok') }, new PolicyIndex([celPolicy('https://svc.example')]), empty());
  assert.match(cel.body, /needs network access, which offline evaluation does not have/);
});

test('background evaluations (generate, mutate-existing, GeneratingPolicy) make apiCall POSTs and service calls', async () => {
  const posted: Array<{ path: string; body: unknown }> = [];
  const client = {
    request: async (o: { method: string; path: string; body?: unknown }) => {
      if (o.method !== 'POST') throw new Error('not found');
      posted.push({ path: o.path, body: o.body });
      return { status: { allowed: true } };
    },
  } as unknown as KubeClient;
  const sar = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'sar' },
    spec: { rules: [{
      name: 'r', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] },
      context: [
        { name: 'sar', apiCall: { method: 'POST', urlPath: '/apis/authorization.k8s.io/v1/subjectaccessreviews', data: [{ key: 'kind', value: 'SubjectAccessReview' }] } },
        { name: 'svc', apiCall: { method: 'GET', service: { url: `${base}/team/ok`, caBundle: CA } } },
      ],
      validate: { message: 'no', deny: { conditions: { any: [{ key: '{{ sar.status.allowed }}-{{ svc.allowed }}', operator: 'NotEquals', value: 'true-true' }] } } },
    }] },
  };
  const cluster = empty();
  const reply = await evaluateReadingCluster(client, cluster, () => evaluateReview({ path: 'validate', body: review('x') }, new PolicyIndex([sar]), cluster));
  assert.equal(responseOf(reply).allowed, true);
  assert.deepEqual(posted, [{ path: '/apis/authorization.k8s.io/v1/subjectaccessreviews', body: { kind: 'SubjectAccessReview' } }]);
  assert.equal(cluster.serviceCalls?.length, 1);
});

test('the webhook\'s server processes call services in admission and in background scans', async () => {
  const webhook = await startTestWebhook('svccalls', { workers: 1, timeoutMs: 5000, httpBlocklist: [] }, [classicPolicy(`${base}/review`), celPolicy(base)]);
  try {
    const good = JSON.parse((await webhook.call('/validate', review('good'))).text).response;
    assert.equal(good.allowed, false, 'the CEL policy refuses team "good"');
    assert.match(good.status.message, /team not allowed/);
    assert.doesNotMatch(good.status.message, /the service says no/);
    const bad = JSON.parse((await webhook.call('/validate', review('ok'))).text).response;
    assert.match(bad.status.message, /the service says no/);
    // A background scan of the same resource, through a server process.
    const scanned = await webhook.server.evaluate('validate', review('good'), ['ask-service'], { scan: true });
    assert.deepEqual(scanned.reportable.map((r) => [r.policy, r.status]), [['ask-service', 'pass']]);
  } finally {
    await webhook.server.close();
  }
});

test("serve's --max-api-call-response-length and --api-call-timeout (Kyverno's --maxAPICallResponseLength, --apiCallTimeout) in the server processes, admission and scans alike", async () => {
  const big = classicPolicy(`${base}/big`);
  const overLimit = /failed to fetch data for APICall: response length must be less than max allowed response length of 1000/;
  const limited = await startTestWebhook('svccalls-limits', { workers: 1, timeoutMs: 5000, apiCalls: { maxResponseBytes: 1000, timeoutMs: 300 } }, [big, { ...classicPolicy(`${base}/slow`), metadata: { name: 'ask-slow' } }]);
  try {
    const reply = JSON.parse((await limited.call('/validate', review('good'))).text).response;
    assert.equal(reply.allowed, false);
    assert.match(unfoldedDenial(reply.status.message), overLimit);
    const scanned = await limited.server.evaluate('validate', review('good'), ['ask-service'], { scan: true });
    assert.deepEqual(scanned.reportable.map((r) => r.status), ['error']);
    assert.match(scanned.reportable[0].message, overLimit, 'the background too, where Kyverno caps at 2 MB by default');
    // The slow service: its call gives up after 300 ms, well before the review's 5 s deadline.
    const started = Date.now();
    const slow = await limited.server.evaluate('validate', review('good'), ['ask-slow'], { scan: true });
    assert.match(slow.reportable[0].message, /Post "[^"]+\/slow": context deadline exceeded \(Client\.Timeout exceeded while awaiting headers\)/);
    assert.ok(Date.now() - started < 3000, `gave up after ${Date.now() - started} ms`);
  } finally {
    await limited.server.close();
  }
  // Without the flag, Kyverno's admission cap (10 MB) lets the 5 kB answer through.
  const plain = await startTestWebhook('svccalls-nolimits', { workers: 1, timeoutMs: 5000 }, [big]);
  try {
    const reply = JSON.parse((await plain.call('/validate', review('good'))).text).response;
    assert.doesNotMatch(unfoldedDenial(String(reply.status?.message ?? '')), /response length/);
  } finally {
    await plain.server.close();
  }
});

test("the primary's background calls (generate, mutate-existing) follow serve's settings too; without them Kyverno's background cap, 2 MB", async () => {
  const call = (url: string) => backgroundServiceCalls()!([get(url)], []);
  try {
    httpCallSettings.maxResponseBytes = 1000;
    httpCallSettings.timeoutMs = 200;
    const [big] = await call(`${base}/big`);
    assert.ok('status' in big.outcome && big.outcome.overLimit === 1000);
    const [slow] = await call(`${base}/slow`);
    assert.match(JSON.stringify(slow.outcome), /context deadline exceeded/);
  } finally {
    httpCallSettings.maxResponseBytes = undefined;
    httpCallSettings.timeoutMs = undefined;
  }
  const [whole] = await call(`${base}/big`);
  assert.ok('status' in whole.outcome && whole.outcome.overLimit === undefined && whole.outcome.text.length === 5002);
});

test('a service slower than the review\'s deadline: the rule\'s error is answered before the deadline', async () => {
  const webhook = await startTestWebhook('svccalls-slow', { workers: 1, timeoutMs: 2000 }, [classicPolicy(`${base}/slow`)]);
  try {
    const started = Date.now();
    const reply = await webhook.call('/validate', review('good'));
    const elapsed = Date.now() - started;
    assert.equal(reply.status, 200, reply.text);
    const response = JSON.parse(reply.text).response;
    assert.equal(response.allowed, false);
    assert.match(unfoldedDenial(response.status.message), /failed to execute HTTP request for APICall svc: Post "[^"]+\/slow": context deadline exceeded \(Client\.Timeout exceeded while awaiting headers\)/);
    assert.ok(elapsed < 2000 + 1000, `answered in ${elapsed} ms`);
  } finally {
    await webhook.server.close();
  }
});

test('kyverno-studio apply makes the calls as Kyverno\'s apply does (the CLI with resources has a client)', async () => {
  const { applyCommand } = await import('../../cli/commands/apply');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'ks-svccalls-'));
  writeFileSync(join(dir, 'policy.json'), JSON.stringify(classicPolicy(`${base}/review`)));
  const cm = (ns: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${ns}`, namespace: ns } });
  writeFileSync(join(dir, 'resources.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [cm('good'), cm('bad')] }));
  const out: string[] = [];
  const err: string[] = [];
  const before = seen.length;
  const code = await applyCommand.run([join(dir, 'policy.json'), '--resource', join(dir, 'resources.json')], { out: (t) => out.push(t), err: (t) => err.push(t) });
  const text = out.join('\n');
  assert.equal(code, 1, text + err.join('\n'));
  assert.match(text, /pass: 1, fail: 1, warn: 0, error: 0, skip: 0/);
  assert.match(text, /the service says no/);
  assert.deepEqual(seen.slice(before).map((s) => JSON.parse(s.body).namespace).sort(), ['bad', 'good']);
});

test('kyverno-studio test makes CEL http calls beyond the mocks with Kyverno\'s default blocklist (loopback refused)', async () => {
  const { readTestPaths, testRunReport } = await import('../../cli/commands/test-run');
  const { runCallingServices } = await import('../../cli/commands/service-calls');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'ks-svccalls-test-'));
  writeFileSync(join(dir, 'policy.json'), JSON.stringify(celPolicy(base)));
  writeFileSync(join(dir, 'resources.json'), JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'ok' } }));
  writeFileSync(join(dir, 'kyverno-test.yaml'), JSON.stringify({
    apiVersion: 'cli.kyverno.io/v1alpha1', kind: 'Test', metadata: { name: 't' }, policies: ['policy.json'], resources: ['resources.json'],
    results: [{ isValidatingPolicy: true, policy: 'cel-ask', kind: 'ConfigMap', resources: ['cm'], result: 'pass' }],
  }));
  const before = seen.length;
  const requested: string[] = [];
  const tests = readTestPaths([dir]);
  const report = await runCallingServices(empty(), (c) => testRunReport(tests, c), (c) => (requested.push(c.url), c.caller === 'http'));
  assert.deepEqual(requested, [`${base}/team/ok`]);
  assert.equal(seen.length, before, 'the blocklist stopped the call before it reached the server');
  assert.match(JSON.stringify(report.files), /connection to 127\.0\.0\.1:\d+ blocked: IP 127\.0\.0\.1 falls in blocked range 127\.0\.0\.0\/8/);
});

test('/policyvalidate refuses a Namespaced* policy using http.* unless --allow-http-in-namespaced-policies, as Kyverno\'s policy webhook does', async () => {
  const { evaluatePolicyValidation } = await import('../../webhook/evaluate');
  const validation = (object: JsonObject, allow?: boolean) =>
    JSON.parse(evaluatePolicyValidation(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'p', operation: 'CREATE', object } }), { allowHttpInNamespacedPolicies: allow }).body).response;
  const message = 'spec: Forbidden: http.* is not allowed in namespaced policies; set --allowHTTPInNamespacedPolicies to enable';
  assert.deepEqual(validation(celPolicy(base, 'ok')), { uid: 'p', allowed: false, status: { status: 'Failure', message }, warnings: [message] });
  assert.equal(validation(celPolicy(base, 'ok'), true).allowed, true);
  assert.equal(validation(celPolicy(base)).allowed, true, 'cluster-wide policies may call');
  // `http` as a field or inside a string is no use of the library.
  const harmless = celPolicy(base, 'ok');
  (harmless.spec as JsonObject).variables = [{ name: 'answer', expression: 'object.http == "http.Get(x)"' }];
  // A boolean answer has no fields: the validation reads it as it is (or the policy does not compile).
  (harmless.spec as JsonObject).validations = [{ expression: 'variables.answer', message: 'no' }];
  assert.equal(validation(harmless).allowed, true);
});
