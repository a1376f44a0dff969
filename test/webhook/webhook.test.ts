import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';

// Drives the built webhook (dist/webhook.js) over real HTTPS, as the API server would.
const dir = mkdtempSync(join(tmpdir(), 'ks-webhook-'));
let child: ChildProcess;
let port = 0;

const POLICY = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-team-label
spec:
  validationFailureAction: Enforce
  rules:
  - name: check-team
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      message: "label 'team' is required"
      pattern:
        metadata:
          labels:
            team: "?*"
`;

function pod(labels: Record<string, string>) {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', labels }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
}

function review(object: unknown, uid = 'uid-1') {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid, operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'default', userInfo: { username: 'alice' }, object },
  };
}

function call(path: string, body?: string, method = 'POST'): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, rejectUnauthorized: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

before(async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { stdio: 'ignore' });
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  child = spawn(process.execPath, ['dist/webhook.js', '--policy', join(dir, 'policy.yaml'), '--port', '0', '--host', '127.0.0.1',
    '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key')], { stdio: ['ignore', 'ignore', 'pipe'] });
  port = await new Promise<number>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (c) => {
      err += c;
      const m = /serving \d+ policies on https:\/\/[^:]+:(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`webhook exited ${code}: ${err}`)));
  });
});

after(() => {
  child?.kill('SIGTERM');
});

test('webhook: health, readiness and metrics endpoints answer', async () => {
  assert.equal((await call('/healthz', undefined, 'GET')).status, 200);
  assert.equal((await call('/readyz', undefined, 'GET')).status, 200);
  const metrics = await call('/metrics', undefined, 'GET');
  assert.match(metrics.text, /# TYPE kyverno_admission_review_duration_seconds histogram/);
});

test('webhook: an Enforce violation is denied with the same uid and a Kyverno-style message', async () => {
  const res = await call('/validate', JSON.stringify(review(pod({}), 'abc-123')));
  assert.equal(res.status, 200);
  const body = JSON.parse(res.text);
  assert.equal(body.response.uid, 'abc-123');
  assert.equal(body.response.allowed, false);
  assert.match(body.response.status.message, /resource Pod\/default\/p was blocked due to the following policies/);
  assert.match(body.response.status.message, /require-team-label:\n  check-team: /);
});

test('webhook: a compliant object is admitted', async () => {
  const res = await call('/validate', JSON.stringify(review(pod({ team: 'a' }))));
  assert.equal(JSON.parse(res.text).response.allowed, true);
});

/** The compliant review with some request fields replaced (undefined drops them). */
function withRequest(fields: Record<string, unknown>) {
  const r = review(pod({ team: 'a' }));
  return { ...r, request: { ...r.request, ...fields } };
}

test('webhook: bad requests get a 400 with a clear message and the server stays up', async () => {
  const cases: Array<[string, RegExp]> = [
    ['not json', /not JSON/],
    [JSON.stringify({ kind: 'Foo' }), /kind is "Foo"/],
    [JSON.stringify({ ...review(pod({})), apiVersion: 'admission.k8s.io/v1beta1' }), /apiVersion/],
    [JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', operation: 'CREATE' } }), /request.kind is missing/],
    [JSON.stringify(withRequest({ kind: undefined })), /request\.kind is missing/],
    [JSON.stringify(withRequest({ kind: { group: '', version: 'v1' } })), /request\.kind has no kind/],
    [JSON.stringify(withRequest({ resource: undefined })), /request\.resource is missing/],
    [JSON.stringify(withRequest({ resource: { group: '', resource: 'pods' } })), /request\.resource has no version/],
    [JSON.stringify(withRequest({ operation: undefined })), /request\.operation/],
    [JSON.stringify(withRequest({ object: undefined })), /request.object is missing/],
    ['x'.repeat(4 * 1024 * 1024), /larger than/],
  ];
  for (const [body, message] of cases) {
    const res = await call('/validate', body);
    assert.equal(res.status, 400, body.slice(0, 40));
    assert.match(JSON.parse(res.text).message, message);
  }
  assert.equal((await call('/healthz', undefined, 'GET')).status, 200);
  const metrics = await call('/metrics', undefined, 'GET');
  assert.match(metrics.text, /kyverno_studio_webhook_responses_total\{path="validate",code="400"/);
});
