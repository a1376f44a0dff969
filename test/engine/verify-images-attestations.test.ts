/** Cosign attestations (DSSE, in-toto) and registry errors from a hand-made snapshot (no registry needed). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import type { JsonObject } from '../../engine/core/types';
import { runWithRecord } from './verify-images-snapshot';
import { preAuthEncoding, verifyCosignAttestations } from '../../engine/verify-images/cosign';
import type { RegistryImage } from '../../engine/verify-images';
import { extractImagesWith } from '../../engine/context/images';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const SLSA = 'https://slsa.dev/provenance/v0.2';

function key() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}
const alice = key();

/** A DSSE layer, PAE written out here (not with the verifier's helper). */
function attestation(predicate: unknown, options: { digest?: string; type?: string; payloadType?: string } = {}) {
  const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', predicateType: options.type ?? SLSA, subject: [{ name: 'registry.test/app', digest: { sha256: (options.digest ?? DIGEST).slice(7) } }], predicate }));
  const payloadType = options.payloadType ?? 'application/vnd.in-toto+json';
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${statement.length} `), statement]);
  const envelope = { payloadType, payload: statement.toString('base64'), signatures: [{ keyid: '', sig: sign('sha256', pae, alice.privateKey).toString('base64') }] };
  return { payload: Buffer.from(JSON.stringify(envelope)).toString('base64'), signature: '', mediaType: 'application/vnd.dsse.envelope.v1+json', annotations: {} };
}

const run = runWithRecord;

const attestor = { entries: [{ keys: { publicKeys: alice.pem, rekor: { ignoreTlog: true } } }] };

describe('cosign attestations', () => {
  it('encodes PAE as DSSE specifies', () => {
    assert.equal(Buffer.from(preAuthEncoding('a/b', Buffer.from('hi'))).toString(), 'DSSEv1 3 a/b 2 hi');
  });

  it('decodes statements as Kyverno does: type is the predicate type, unknown fields dropped', () => {
    const layer = attestation({ builder: { id: 'x' } });
    const { statements } = verifyCosignAttestations([layer], DIGEST, alice.pem);
    assert.deepEqual(Object.keys(statements[0]).sort(), ['_type', 'predicate', 'predicateType', 'subject', 'type']);
    assert.equal(statements[0].type, SLSA);
  });

  it("reads cosign's custom provenance Data string as JSON", () => {
    const layer = attestation({ Data: '{"a":1}', Timestamp: 't' }, { type: 'cosign.sigstore.dev/attestation/v1' });
    const doc = JSON.parse(Buffer.from(layer.payload, 'base64').toString()) as { payload: string };
    const statement = JSON.parse(Buffer.from(doc.payload, 'base64').toString()) as JsonObject;
    assert.equal(statement.predicateType, 'cosign.sigstore.dev/attestation/v1');
    // The custom provenance's _type is the predicate type in cosign's format.
    const custom = { ...statement, _type: 'cosign.sigstore.dev/attestation/v1' };
    const pae = (body: Buffer) => Buffer.concat([Buffer.from(`DSSEv1 28 application/vnd.in-toto+json ${body.length} `), body]);
    const body = Buffer.from(JSON.stringify(custom));
    const envelope = { payloadType: 'application/vnd.in-toto+json', payload: body.toString('base64'), signatures: [{ sig: sign('sha256', pae(body), alice.privateKey).toString('base64') }] };
    const { statements } = verifyCosignAttestations([{ payload: Buffer.from(JSON.stringify(envelope)).toString('base64') }], DIGEST, alice.pem);
    assert.deepEqual((statements[0].predicate as JsonObject).Data, { a: 1 });
  });

  it('refuses another payload type', () => {
    assert.throws(() => verifyCosignAttestations([attestation({}, { payloadType: 'text/plain' })], DIGEST, alice.pem), /invalid payloadType text\/plain on envelope\. Expected application\/vnd\.in-toto\+json/);
  });

  it('checks conditions against every statement of the type', () => {
    const record: RegistryImage = { digest: DIGEST, signatures: [], attestations: [attestation({ level: 3 }), attestation({ level: 1 })] };
    const conditions = [{ all: [{ key: '{{ level }}', operator: 'GreaterThanOrEquals', value: 2 }] }];
    const [r] = run({ attestations: [{ type: SLSA, attestors: [attestor], conditions }] }, record);
    assert.equal(r.status, 'fail');
    assert.match(r.message, /attestation checks failed for registry\.test\/app:1 and predicate https:\/\/slsa\.dev\/provenance\/v0\.2: $/);
  });

  it('turns a missing attestation manifest error into "not found"', () => {
    const [r] = run({ attestations: [{ type: SLSA, attestors: [attestor] }] }, { digest: DIGEST, signatures: [], attestationsError: 'GET x: MANIFEST_UNKNOWN: manifest unknown' });
    assert.equal(r.message, 'image attestations verification failed, verifiedCount: 0, requiredCount: 1, error: not found');
  });
});

describe('registry errors in verification', () => {
  it('is an error when the registry did not answer, a failure when it answered with an error', () => {
    const entry = { attestors: [attestor] };
    const [down] = run(entry, { error: 'GET http://registry.test/v2/app/manifests/1: connect ECONNREFUSED', unreachable: true, signatures: [] });
    assert.deepEqual([down.status, down.message], ['error', 'failed to verify image registry.test/app:1: .attestors[0].entries[0].keys: GET http://registry.test/v2/app/manifests/1: connect ECONNREFUSED']);
    const [denied] = run(entry, { error: 'GET http://registry.test/v2/app/manifests/1: UNAUTHORIZED: authentication required', signatures: [] });
    assert.equal(denied.status, 'fail');
  });
});

describe('imageExtractors', () => {
  const search = (_e: string, v: string) => v.replace(/^docker:\/\//, '');
  it('reads images of other kinds by path, value, key and jmesPath', () => {
    const dv = { apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', metadata: { name: 'd' }, spec: { source: { registry: { url: 'docker://ghcr.io/a/b:1' } } } };
    const found = extractImagesWith(dv, { DataVolume: [{ path: '/spec/source/registry/url', jmesPath: "trim_prefix(@, 'docker://')" }] }, search);
    assert.deepEqual(Object.keys(found), ['custom']);
    assert.equal(found.custom['/spec/source/registry/url'].path, 'a/b');
    assert.equal(found.custom['/spec/source/registry/url'].jsonPointer, '/spec/source/registry/url');
    const task = { kind: 'Task', spec: { steps: [{ name: 's1', image: 'nginx' }, { name: 's2', image: 'busybox:1' }] } };
    const steps = extractImagesWith(task, { Task: [{ name: 'steps', path: '/spec/steps/*', value: 'image', key: 'name' }] }, search);
    assert.deepEqual(Object.keys(steps.steps), ['s1', 's2']);
    assert.equal(steps.steps.s2.jsonPointer, '/spec/steps/1/image');
  });

  it('keeps the standard lists for kinds without an extractor, and finds none on a bad path', () => {
    const pod = { kind: 'Pod', spec: { containers: [{ name: 'c', image: 'nginx' }] } };
    assert.deepEqual(Object.keys(extractImagesWith(pod, { DataVolume: [] }, search)), ['containers']);
    assert.deepEqual(extractImagesWith({ kind: 'X', spec: 'text' }, { X: [{ path: '/spec/image' }] }, search), {});
  });
});
