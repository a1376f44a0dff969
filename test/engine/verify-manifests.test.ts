import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { applyPolicy } from '../../engine/apply';
import type { AdmissionRequest, ClusterState, JsonObject } from '../../engine/core/types';
import { KeyError, parsePublicKeyPem, verifySignature } from '../../engine/crypto';
import { readTar } from '../../engine/archive/tar';
import { parseYamlDocuments } from '../../engine/loader';
import { diffObjects, filterDiff } from '../../engine/verify-manifests/mapnode';

// ---------- helpers: keys, messages and signatures made here with node:crypto ----------

function ecKey(curve = 'P-256') {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: curve });
  return { pem: publicKey.export({ type: 'spki', format: 'pem' }).toString().trim(), privateKey };
}
const KEY_A = ecKey();
const KEY_B = ecKey();

/** A ustar archive with the given files (what `kubectl sigstore sign` packs). */
function tar(files: Record<string, string>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, text] of Object.entries(files)) {
    const data = Buffer.from(text);
    const h = Buffer.alloc(512);
    h.write(name, 0, 'utf8');
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write('0', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** The annotation text and the signed bytes: base64(gzip(payload)); the payload is what is signed. */
function message(payload: Buffer): { annotation: string; signed: Buffer } {
  return { annotation: zlib.gzipSync(payload).toString('base64'), signed: payload };
}
const yamlMessage = (yaml: string) => message(Buffer.from(yaml));
const tarMessage = (files: Record<string, string>) => message(zlib.gzipSync(tar(files)));
const sign = (key: crypto.KeyObject, data: Buffer, algo: string | null = 'sha256') => crypto.sign(algo, data, key).toString('base64');

const SERVICE_YAML = `apiVersion: v1
kind: Service
metadata:
  name: svc
spec:
  ports:
  - port: 80
    protocol: TCP
  selector:
    app: web
`;

function service(annotations: Record<string, string>, port = 80, extra: JsonObject = {}): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'svc', namespace: 'default', annotations },
    spec: { ports: [{ port, protocol: 'TCP' }], selector: { app: 'web' }, ...extra },
  };
}

function signedService(keys: crypto.KeyObject[], opts: { port?: number; domain?: string; msg?: { annotation: string; signed: Buffer } } = {}): JsonObject {
  const msg = opts.msg ?? yamlMessage(SERVICE_YAML);
  const domain = opts.domain ?? 'cosign.sigstore.dev';
  const annotations: Record<string, string> = { [`${domain}/message`]: msg.annotation };
  keys.forEach((k, i) => (annotations[`${domain}/signature${i === 0 ? '' : `_${i}`}`] = sign(k, msg.signed)));
  return service(annotations, opts.port ?? 80);
}

const cluster = (): ClusterState => ({ resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });
const create = (object: JsonObject, dryRun = false): AdmissionRequest => ({
  operation: 'CREATE',
  object,
  oldObject: null,
  dryRun,
  requestInfo: { roles: [], clusterRoles: [], userInfo: {} },
});
const keyEntry = (pem: string) => ({ keys: { publicKeys: pem } });

function run(manifests: JsonObject, resource: JsonObject, dryRun = false) {
  const policy = {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'p' },
    spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Service'] } }] }, validate: { manifests } }] },
  };
  const [rule] = applyPolicy(policy, { request: create(resource, dryRun), cluster: cluster() }).rules;
  return rule;
}

// ---------- engine/crypto ----------

test('crypto: ECDSA P-256 and P-384 signatures verify over SHA-256; wrong data or key does not', () => {
  for (const curve of ['P-256', 'P-384']) {
    const k = ecKey(curve);
    const data = Buffer.from('signed bytes');
    const sig = crypto.sign('sha256', data, k.privateKey);
    assert.deepEqual(verifySignature(k.pem, data, sig), { verified: true });
    const bad = verifySignature(k.pem, Buffer.from('other bytes'), sig);
    assert.equal(bad.verified, false);
    assert.equal(bad.error, 'invalid signature when validating ASN.1 encoded signature');
    assert.equal(verifySignature(KEY_B.pem, data, sig).verified, false);
  }
});

test('crypto: RSA PKCS#1 v1.5 and PSS, Ed25519', () => {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const data = Buffer.from('payload');
  assert.equal(verifySignature(pem, data, crypto.sign('sha256', data, rsa.privateKey)).verified, true);
  const pss = crypto.sign('sha256', data, { key: rsa.privateKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  assert.equal(verifySignature(pem, data, pss, { rsaPadding: 'pss' }).verified, true);
  assert.equal(verifySignature(pem, data, pss).verified, false, 'a PSS signature is not a PKCS#1 v1.5 one');
  const bad = verifySignature(pem, Buffer.from('tampered'), crypto.sign('sha256', data, rsa.privateKey));
  assert.deepEqual(bad, { verified: false, error: 'crypto/rsa: verification error' });
  const pkcs1 = rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  assert.equal(verifySignature(pkcs1, data, crypto.sign('sha256', data, rsa.privateKey)).verified, true);

  const ed = crypto.generateKeyPairSync('ed25519');
  const edPem = ed.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  assert.equal(verifySignature(edPem, data, crypto.sign(null, data, ed.privateKey)).verified, true);
  assert.equal(verifySignature(edPem, Buffer.from('x'), crypto.sign(null, data, ed.privateKey)).verified, false);
});

test('crypto: unreadable keys throw KeyError', () => {
  assert.throws(() => parsePublicKeyPem('not a key'), KeyError);
  assert.throws(() => parsePublicKeyPem('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----'), KeyError);
  assert.equal(parsePublicKeyPem(KEY_A.pem).type, 'ecdsa');
});

test('tar: entries with their ustar names and contents', () => {
  const entries = readTar(tar({ 'a.yaml': 'x: 1\n', 'dir/b.yml': 'y: 2\n' }));
  assert.deepEqual(entries.map((e) => [e.name, e.type, Buffer.from(e.data).toString()]), [
    ['a.yaml', '0', 'x: 1\n'],
    ['dir/b.yml', '0', 'y: 2\n'],
  ]);
  assert.throws(() => readTar(tar({ 'a.yaml': 'x' }).subarray(0, 600)));
});

// ---------- mapnode diff ----------

test('mapnode: diff keys, type differences, list moves and "" against a missing key', () => {
  assert.deepEqual(diffObjects({ a: { b: 1 }, s: 'x' }, { a: { b: 2 }, s: 'x', n: 'new' }), [
    { key: 'a.b', before: 1, after: 2 },
    { key: 'n', before: null, after: 'new' },
  ]);
  assert.deepEqual(diffObjects({ p: 80 }, { p: '80' }), [{ key: 'p', before: '(type: float64) %!s(float64=80)', after: '(type: string) 80' }]);
  assert.deepEqual(diffObjects({ l: ['a', 'b'] }, { l: ['b', 'a'] }), [
    { key: 'l.0', before: 'a', after: 'b' },
    { key: 'l.1', before: 'b', after: 'a' },
  ]);
  assert.deepEqual(diffObjects({ x: { l: [{ v: 'a' }] } }, { x: { l: [{ v: 'b' }, { v: 'a' }] } }).length, 2);
  assert.deepEqual(diffObjects({}, { e: '' }), []);
  assert.deepEqual(diffObjects({}, { z: 0 }), [{ key: 'z', before: null, after: 0 }]);
  // Ignore patterns are prefixes matched anywhere in the key, as upstream's unanchored regexps.
  const d = diffObjects({}, { status: { a: 1 }, spec: { x: 1 } });
  assert.deepEqual(filterDiff(d, ['status']).map((x) => x.key), ['spec.x']);
});

// ---------- validate.manifests ----------

test('manifests: one valid signature passes with Kyverno\'s message', () => {
  const r = run({ attestors: [{ entries: [keyEntry(KEY_A.pem)] }] }, signedService([KEY_A.privateKey]));
  assert.equal(r.status, 'pass');
  assert.equal(r.message, 'verified manifest signatures; manifest verification succeeded; verifiedCount 1; requiredCount 1; message singed by a valid signer: ');
});

test('manifests: a tar.gz message (kubectl sigstore sign) verifies too', () => {
  const msg = tarMessage({ 'tmp/dir/manifest.yaml': SERVICE_YAML, 'tmp/dir/README.md': 'x' });
  const r = run({ attestors: [{ entries: [keyEntry(KEY_A.pem)] }] }, signedService([KEY_A.privateKey], { msg }));
  assert.equal(r.status, 'pass', r.message);
});

test('manifests: a signature by another key is an error naming the trial', () => {
  const r = run({ attestors: [{ entries: [keyEntry(KEY_A.pem)] }] }, signedService([KEY_B.privateKey]));
  assert.equal(r.status, 'error');
  assert.equal(
    r.message,
    'error occurred during manifest verification: .attestors[0].entries[0].keys: failed to verify signature: verification failed for 1 signature. all trials: ' +
      '["[publickey 1/1] [signature 1/1] error: cosign.VerifyBlobCmd.Exec() returned an error: invalid signature when validating ASN.1 encoded signature"]',
  );
});

test('manifests: a resource changed after signing fails with the diff', () => {
  const r = run({ attestors: [{ entries: [keyEntry(KEY_A.pem)] }] }, signedService([KEY_A.privateKey], { port: 8080 }));
  assert.equal(r.status, 'fail');
  assert.equal(
    r.message,
    'manifest verification failed; verifiedCount 0; requiredCount 1; message .attestors[0].entries[0].keys: failed to verify signature. diff found; ' +
      '{"items":[{"key":"spec.ports.0.port","values":{"after":8080,"before":80}}]}',
  );
});

test('manifests: ignoreFields (and the default ones) leave changed fields out of the comparison', () => {
  const resource = signedService([KEY_A.privateKey], { port: 8080 });
  const ignore = [{ fields: ['spec.ports.*.port'], objects: [{ kind: 'Service' }] }];
  assert.equal(run({ attestors: [{ entries: [keyEntry(KEY_A.pem)] }], ignoreFields: ignore }, resource).status, 'pass');
  // Bound to another kind: not applied.
  const other = [{ fields: ['spec.ports.*.port'], objects: [{ kind: 'Pod' }] }];
  assert.equal(run({ attestors: [{ entries: [keyEntry(KEY_A.pem)] }], ignoreFields: other }, resource).status, 'fail');
  // spec.clusterIP and status are ignored by default for a Service.
  const withDefaults = signedService([KEY_A.privateKey]);
  (withDefaults.spec as JsonObject).clusterIP = '10.0.0.1';
  withDefaults.status = { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } };
  assert.equal(run({ attestors: [{ entries: [keyEntry(KEY_A.pem)] }] }, withDefaults).status, 'pass');
});

test('manifests: count decides how many entries must verify; without it all must', () => {
  const resource = signedService([KEY_B.privateKey]);
  const entries = [keyEntry(KEY_A.pem), keyEntry(KEY_B.pem)];
  const one = run({ attestors: [{ count: 1, entries }] }, resource);
  assert.equal(one.status, 'pass');
  assert.match(one.message, /verifiedCount 1; requiredCount 1/);
  const all = run({ attestors: [{ entries }] }, resource);
  assert.equal(all.status, 'error', 'entry 0 failed with an error and only 1 of 2 verified');
  assert.match(all.message, /^error occurred during manifest verification: \.attestors\[0\]\.entries\[0\]\.keys: failed to verify signature/);
});

test('manifests: several signatures (signature, signature_1) each count for their key', () => {
  const resource = signedService([KEY_A.privateKey, KEY_B.privateKey]);
  const r = run({ attestors: [{ entries: [keyEntry(KEY_A.pem), keyEntry(KEY_B.pem)] }] }, resource);
  assert.equal(r.status, 'pass');
  assert.match(r.message, /verifiedCount 2; requiredCount 2/);
});

test('manifests: nested attestor sets and several attestor sets', () => {
  const resource = signedService([KEY_A.privateKey, KEY_B.privateKey]);
  const nested = { attestor: { count: 1, entries: [keyEntry(KEY_B.pem)] } };
  const r = run({ attestors: [{ count: 1, entries: [nested] }, { entries: [keyEntry(KEY_A.pem)] }] }, resource);
  assert.equal(r.status, 'pass');
  assert.equal(
    r.message,
    'verified manifest signatures; manifest verification succeeded; verifiedCount 1; requiredCount 1; message manifest verification succeeded; verifiedCount 1; requiredCount 1; message singed by a valid signer: ,' +
      'manifest verification succeeded; verifiedCount 1; requiredCount 1; message singed by a valid signer: ',
  );
  const unsigned = service({});
  const failed = run({ attestors: [{ entries: [nested] }] }, unsigned);
  assert.equal(failed.status, 'fail');
  assert.match(failed.message, /message manifest verification failed; verifiedCount 0; requiredCount 1; message \.attestors\[0\]\.entries\[0\]\.attestor\.entries\[0\]\.keys: YAML manifest not found/);
});

test('manifests: no message annotation, or a message without signature, fails', () => {
  const none = run({ attestors: [{ entries: [keyEntry(KEY_A.pem)] }] }, service({}));
  assert.equal(none.status, 'fail');
  assert.equal(none.message, 'manifest verification failed; verifiedCount 0; requiredCount 1; message .attestors[0].entries[0].keys: YAML manifest not found for this resource: message not found');
  const noSig = run({ attestors: [{ entries: [keyEntry(KEY_A.pem)] }] }, service({ 'cosign.sigstore.dev/message': yamlMessage(SERVICE_YAML).annotation }));
  assert.equal(noSig.status, 'fail');
  assert.match(noSig.message, /\.keys: failed to verify signature: signature not found$/);
  const otherKind = run({ attestors: [{ entries: [keyEntry(KEY_A.pem)] }] }, signedService([KEY_A.privateKey], { msg: yamlMessage('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: svc\n') }));
  assert.match(otherKind.message, /YAML manifest not found for this resource: failed to find a YAML manifest in the gzipped message$/);
});

test('manifests: annotationDomain names the annotations; dry-run requests pass; DELETE gives no result', () => {
  const resource = signedService([KEY_A.privateKey], { domain: 'example.com' });
  assert.equal(run({ attestors: [{ entries: [keyEntry(KEY_A.pem)] }], annotationDomain: 'example.com' }, resource).status, 'pass');
  assert.equal(run({ attestors: [{ entries: [keyEntry(KEY_A.pem)] }] }, resource).status, 'fail');
  const dry = run({ attestors: [{ entries: [keyEntry(KEY_A.pem)] }] }, service({}), true);
  assert.deepEqual([dry.status, dry.message], ['pass', 'allowed because of DryRun request']);
});

test('manifests: what needs a cluster or the network is an error that says so', () => {
  const resource = signedService([KEY_A.privateKey]);
  const keyless = run({ attestors: [{ entries: [{ keyless: { subject: 'me', issuer: 'https://issuer' } }] }] }, resource);
  assert.equal(keyless.status, 'error');
  assert.match(keyless.message, /not available offline/);
  const repo = run({ attestors: [{ entries: [keyEntry(KEY_A.pem)] }], repository: 'ghcr.io/x/y:1' }, resource);
  assert.equal(repo.status, 'error');
  assert.match(repo.message, /needs registry access, which is not available offline/);
});

test('manifests: the signed Services of the CLI corpus verify', (t) => {
  const dir = path.join(__dirname, '../../../shared/conformance/kyverno-cli/test/manifests/verify-signature');
  if (!fs.existsSync(dir)) return t.skip(`corpus not found at ${dir}`);
  const load = (f: string) => parseYamlDocuments(fs.readFileSync(path.join(dir, f), 'utf8'), f).documents.map((d) => d.value as JsonObject);
  const [policy] = load('policies.yaml');
  const statuses = load('resources.yaml').map((res) =>
    applyPolicy(policy, { request: create(res), cluster: cluster() }).rules.map((r) => `${(res.metadata as JsonObject).name}/${r.name}=${r.status}`),
  );
  assert.deepEqual(statuses.flat(), [
    'test-service/validate-yaml=fail',
    'test-service/validate-yaml-multi-sig=fail',
    'test-service2/validate-yaml=pass',
    'test-service2/validate-yaml-multi-sig=error',
    'test-service3/validate-yaml=pass',
    'test-service3/validate-yaml-multi-sig=pass',
  ]);
});
