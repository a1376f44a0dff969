/**
 * ImageValidatingPolicy cosign in-toto attestations, signatures in another repository and
 * `required` across policies, from hand-made snapshots (no registry needed).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import type { JsonObject, RuleResult } from '../../engine/core/types';
import { evaluateResources, offlineCluster } from '../../engine/evaluate';
import { signatureSourceKey, type CosignSignatureLayer, type RegistryImage } from '../../engine/verify-images';
import { runWithRecord } from './verify-images-snapshot';
import { applyPolicy } from '../../engine/apply';
import { answerAdmissionReview } from '../../webhook/admission';

const DIGEST = `sha256:${'b'.repeat(64)}`;
const IMAGE = `registry.test/app@${DIGEST}`;
const SLSA1 = 'https://slsa.dev/provenance/v1';

function key() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}
const alice = key();
const bob = key();

function dsse(predicateType: string, predicate: unknown, signer = alice, annotations: Record<string, string> = {}): CosignSignatureLayer {
  const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', predicateType, subject: [{ name: 'registry.test/app', digest: { sha256: DIGEST.slice(7) } }], predicate, extra: 'dropped' }));
  const type = 'application/vnd.in-toto+json';
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${type.length} ${type} ${statement.length} `), statement]);
  const envelope = { payloadType: type, payload: statement.toString('base64'), signatures: [{ keyid: '', sig: sign('sha256', pae, signer.privateKey).toString('base64') }] };
  return { payload: Buffer.from(JSON.stringify(envelope)).toString('base64'), signature: '', mediaType: 'application/vnd.dsse.envelope.v1+json', annotations: { predicateType, ...annotations } };
}

function simpleSignature(signer = alice): CosignSignatureLayer {
  const payload = Buffer.from(JSON.stringify({ critical: { identity: { 'docker-reference': 'registry.test/app' }, image: { 'docker-manifest-digest': DIGEST }, type: 'cosign container image signature' }, optional: null }));
  return { payload: payload.toString('base64'), signature: sign('sha256', payload, signer.privateKey).toString('base64'), mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', annotations: { team: 'a' } };
}

function ivpol(name: string, spec: JsonObject): JsonObject {
  return {
    apiVersion: 'policies.kyverno.io/v1',
    kind: 'ImageValidatingPolicy',
    metadata: { name },
    spec: {
      validationActions: ['Deny'],
      matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] },
      matchImageReferences: [{ glob: 'registry.test/*' }],
      ...spec,
    },
  };
}

const cosign = (pem: string, extra: JsonObject = {}) => ({ name: 'cosign', cosign: { key: { data: pem }, ctlog: { insecureIgnoreTlog: true, insecureIgnoreSCT: true }, ...extra } });

function run(policies: JsonObject[], record: RegistryImage): RuleResult[] {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'default' }, spec: { containers: [{ name: 'c', image: IMAGE }] } };
  const cluster = offlineCluster({ resources: [pod] });
  cluster.imageRegistry = { images: { [IMAGE]: record } };
  return evaluateResources({ policies, resources: [pod], cluster })[0].responses.flatMap((r) => r.rules);
}

function attestationPolicy(type: string, attestor: JsonObject, check = 'true'): JsonObject {
  return ivpol('att', {
    attestors: [attestor],
    attestations: [{ name: 'prov', intoto: { type } }],
    validations: [
      { expression: 'images.containers.all(i, verifyAttestationSignatures(i, attestations.prov, [attestors.cosign]) == 1)', message: 'not attested' },
      { expression: `images.containers.all(i, ${check})`, message: 'condition failed' },
    ],
  });
}

describe('ImageValidatingPolicy cosign in-toto attestations', () => {
  const record: RegistryImage = { digest: DIGEST, signatures: [], attestations: [dsse('https://example.com/other', { x: 1 }), dsse(SLSA1, { builder: { id: 'ci' } })] };

  it('hands extractPayload the statement as in-toto marshals it (unknown fields dropped)', () => {
    const check = "extractPayload(i, attestations.prov) == {'_type': 'https://in-toto.io/Statement/v1', 'predicateType': 'https://slsa.dev/provenance/v1', 'subject': [{'name': 'registry.test/app', 'digest': {'sha256': '" + DIGEST.slice(7) + "'}}], 'predicate': {'builder': {'id': 'ci'}}}";
    const [r] = run([attestationPolicy(SLSA1, cosign(alice.pem), check)], record);
    assert.deepEqual([r.status, r.message], ['pass', 'success']);
  });

  it('maps cosign\'s short predicate names to their URIs; extractPayload then finds nothing under the short name', () => {
    const cdx = { ...record, attestations: [dsse('https://cyclonedx.org/bom', { bomFormat: 'CycloneDX' })] };
    assert.equal(run([attestationPolicy('cyclonedx', cosign(alice.pem))], cdx)[0].status, 'pass');
    const [r] = run([attestationPolicy('cyclonedx', cosign(alice.pem), "extractPayload(i, attestations.prov).predicate.bomFormat == 'CycloneDX'")], cdx);
    assert.equal(r.status, 'error');
    assert.match(r.message, /intoto attestation payload cannot be fetch before verifying intoto attestation/);
  });

  it('counts no attestor for another key, a missing predicate type or annotations the layer lacks', () => {
    assert.equal(run([attestationPolicy(SLSA1, cosign(bob.pem))], record)[0].message, 'not attested');
    assert.equal(run([attestationPolicy('https://example.com/absent', cosign(alice.pem))], record)[0].message, 'not attested');
    assert.equal(run([attestationPolicy(SLSA1, cosign(alice.pem, { annotations: { team: 'b' } }))], record)[0].message, 'not attested');
    const annotated = { ...record, attestations: [dsse(SLSA1, {}, alice, { team: 'b' })] };
    assert.equal(run([attestationPolicy(SLSA1, cosign(alice.pem, { annotations: { team: 'b' } }))], annotated)[0].status, 'pass');
  });

  it('checks image signature annotations against the layer\'s OCI annotations', () => {
    const signed: RegistryImage = { digest: DIGEST, signatures: [simpleSignature()] };
    const policy = (annotations: JsonObject) => ivpol('sig', { attestors: [cosign(alice.pem, { annotations })], validations: [{ expression: 'images.containers.all(i, verifyImageSignatures(i, [attestors.cosign]) == 1)', message: 'not signed' }] });
    assert.equal(run([policy({ team: 'a' })], signed)[0].status, 'pass');
    assert.equal(run([policy({ team: 'z' })], signed)[0].message, 'not signed');
  });

  it('reads signatures kept in another repository from the snapshot\'s sources', () => {
    const elsewhere: RegistryImage = { digest: DIGEST, signatures: [], sources: { [signatureSourceKey('registry.test/sigs', 'v2-')]: { signatures: [simpleSignature()], attestations: [dsse(SLSA1, {})] } } };
    const source = { source: { repository: 'registry.test/sigs', tagPrefix: 'v2-' } };
    const sig = ivpol('sig', { attestors: [cosign(alice.pem, source)], validations: [{ expression: 'images.containers.all(i, verifyImageSignatures(i, [attestors.cosign]) == 1)', message: 'not signed' }] });
    assert.equal(run([sig], elsewhere)[0].status, 'pass');
    assert.equal(run([attestationPolicy(SLSA1, cosign(alice.pem, source))], elsewhere)[0].status, 'pass');
    assert.equal(run([attestationPolicy(SLSA1, cosign(alice.pem))], elsewhere)[0].message, 'not attested');
  });

  it('settles required after every policy of the request, counting the others\' verifications', () => {
    const lenient = ivpol('lenient', { validations: [{ expression: 'true' }] });
    const strict = attestationPolicy(SLSA1, cosign(alice.pem));
    const order1 = run([lenient, strict], record).map((r) => [r.name, r.status]);
    assert.deepEqual(order1, [['lenient', 'pass'], ['att', 'pass']]);
    const [alone] = run([lenient], record);
    assert.deepEqual([alone.status, alone.message], ['fail', `image ${IMAGE} is not verified: no policy performed a signature or attestation check on it`]);
    assert.deepEqual(alone.path, ['spec', 'containers', 0, 'image']);
    const failed = run([lenient, attestationPolicy(SLSA1, cosign(bob.pem))], record);
    assert.deepEqual(failed.map((r) => [r.name, r.status, r.message]), [
      ['lenient', 'fail', `image ${IMAGE} failed signature or attestation verification`],
      ['att', 'fail', 'not attested'],
    ]);
  });

  it('shares verifications across a webhook review\'s ImageValidatingPolicies, also when a classic policy runs first', () => {
    // The webhook makes the review's shared verifications at its first ImageValidatingPolicy.
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'default' }, spec: { containers: [{ name: 'c', image: IMAGE }] } };
    const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'default', userInfo: { username: 'a' }, object: pod } };
    const classic = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'named' }, spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { pattern: { metadata: { name: '?*' } } } }] } };
    const cluster = { ...offlineCluster({ resources: [pod] }), imageRegistry: { images: { [IMAGE]: record } } };
    const lenient = ivpol('lenient', { validations: [{ expression: 'true' }] });
    const answer = (policies: JsonObject[]) => answerAdmissionReview(review, 'validate', policies, cluster, Date.now() + 10_000);
    const shared = answer([classic, lenient, attestationPolicy(SLSA1, cosign(alice.pem))]);
    assert.deepEqual(shared.responses.map((r) => r.rules.map((x) => [x.name, x.status])), [[['r', 'pass']], [['lenient', 'pass']], [['att', 'pass']]]);
    assert.equal((shared.body.response as JsonObject).allowed, true);
    const alone = answer([classic, lenient]);
    assert.equal(alone.responses[1].rules[0].status, 'fail');
    assert.equal((alone.body.response as JsonObject).allowed, false);
  });
});

describe('verifyImages signatures in another repository', () => {
  const payload = simpleSignature();
  const keys = (pem: string) => ({ keys: { publicKeys: pem, rekor: { ignoreTlog: true } } });

  it('an attestor\'s repository wins over the entry\'s, and a repository that was not read says so', () => {
    const record: RegistryImage = { digest: DIGEST, signatures: [], sources: { 'registry.test/sigs': { signatures: [payload] }, 'registry.test/empty': { signatures: [] } } };
    const pass = runWithRecord({ repository: 'registry.test/empty', attestors: [{ entries: [{ ...keys(alice.pem), repository: 'registry.test/sigs' }] }] }, record);
    assert.equal(pass[0].status, 'pass', pass[0].message);
    const entryLevel = runWithRecord({ repository: 'registry.test/empty', attestors: [{ entries: [keys(alice.pem)] }] }, record);
    assert.match(entryLevel[0].message, /^failed to verify image registry\.test\/app:1: \.attestors\[0\]\.entries\[0\]\.keys: no signatures found/);
    const unread = runWithRecord({ repository: 'registry.test/other', attestors: [{ entries: [keys(alice.pem)] }] }, record);
    assert.equal(unread[0].status, 'fail');
    assert.match(unread[0].message, /the signatures in registry\.test\/other were not read from the registry/);
    const broken = runWithRecord({ repository: 'registry.test/down', attestors: [{ entries: [keys(alice.pem)] }] }, { ...record, sources: { 'registry.test/down': { signatures: [], error: 'connect ECONNREFUSED', unreachable: true } } });
    assert.deepEqual([broken[0].status, broken[0].message.includes('connect ECONNREFUSED')], ['error', true]);
  });
});

describe('verifyImages on UPDATE (Kyverno\'s isPreviouslyVerified)', () => {
  const policy = {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'p' },
    spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, verifyImages: [{ imageReferences: ['registry.test/*'], mutateDigest: false, verifyDigest: false, required: true, attestors: [{ entries: [{ keys: { publicKeys: alice.pem, rekor: { ignoreTlog: true } } }] }] }] }] },
  };
  const scoped = (status: string) => JSON.stringify({ version: 1, policies: { '/p': { r: { 'registry.test/app:1': status } } } });
  const pod = (image: string, annotation?: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'x', namespace: 'default', ...(annotation ? { annotations: { 'kyverno.io/verify-images-scoped': annotation } } : {}) },
    spec: { containers: [{ name: 'c', image }] },
  });

  function update(object: JsonObject, oldObject: JsonObject) {
    const cluster = offlineCluster({ resources: [object] });
    // A registry that has nothing: any image actually checked fails.
    cluster.imageRegistry = { images: {} };
    const response = applyPolicy(policy, { request: { operation: 'UPDATE', object, oldObject } as never, cluster });
    return { responses: [response] };
  }

  it('does not check again an unchanged image the old object records as verified by this rule', () => {
    const old = pod('registry.test/app:1', scoped('pass'));
    const outcome = update(pod('registry.test/app:1', scoped('pass')), old);
    const rules = outcome.responses.flatMap((r) => r.rules);
    assert.deepEqual(rules.map((r) => [r.name, r.status]), [['r', 'pass']], JSON.stringify(rules));
    assert.equal(rules[0].message, 'image verified');
  });

  it('checks a changed image, or one the old object records as failed', () => {
    const changed = update(pod('registry.test/app:1', scoped('pass')), pod('registry.test/app:0', scoped('pass'))).responses.flatMap((r) => r.rules);
    assert.ok(changed.some((r) => r.status === 'error' || r.status === 'fail'), JSON.stringify(changed));
    const failedBefore = update(pod('registry.test/app:1', scoped('fail')), pod('registry.test/app:1', scoped('fail'))).responses.flatMap((r) => r.rules);
    assert.ok(failedBefore.some((r) => r.status === 'error' || r.status === 'fail'), JSON.stringify(failedBefore));
  });
});
