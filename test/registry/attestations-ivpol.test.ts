/**
 * Against a real OCI registry (docker-registry on loopback): ImageValidatingPolicy cosign in-toto
 * attestations (verifyAttestationSignatures, extractPayload, conditions on the statement), keyless
 * attestations, signatures kept in another repository (verifyImages `repository`, ivpol
 * `cosign.source`), and `required` counted across the ImageValidatingPolicies of one request.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateResources, offlineCluster } from '../../engine/evaluate';
import type { JsonObject, RuleResult } from '../../engine/core/types';
import { prefetchImageRegistry, RegistryClient } from '../../registry';
import { evaluateWithRegistry, keysAttestor, podOf, verifyImagesPolicy } from './evaluate';
import { dsseEnvelope, inTotoStatement, manifestDescriptor, newSigningKey, notaryCoseEnvelope, pushAttestations, pushCosignSignatures, pushImage, pushReferrer, startRegistry, type LocalRegistry, type SigningKey } from './harness';
import { issue, testAuthority } from './test-ca';

const SLSA = 'https://slsa.dev/provenance/v1';
const PROVENANCE = { buildDefinition: { buildType: 'https://example.com/build/v1', externalParameters: { ref: 'refs/heads/main' } }, runDetails: { builder: { id: 'https://ci.example.com' } } };

let registry: LocalRegistry;
let alice: SigningKey;
let mallory: SigningKey;
const digests: Record<string, string> = {};

function ivpol(name: string, spec: JsonObject): JsonObject {
  return {
    apiVersion: 'policies.kyverno.io/v1',
    kind: 'ImageValidatingPolicy',
    metadata: { name },
    spec: {
      validationActions: ['Deny'],
      validationConfigurations: { verifyDigest: false },
      matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] },
      matchImageReferences: [{ glob: `${registry.host}/*` }],
      ...spec,
    },
  };
}

const ignoreTlog = { insecureIgnoreTlog: true, insecureIgnoreSCT: true };
const keyAttestor = (key: SigningKey, extra: JsonObject = {}) => ({ name: 'cosign', cosign: { key: { data: key.publicKeyPem }, ctlog: ignoreTlog, ...extra } });

async function evaluateAll(policies: JsonObject[], resource: JsonObject): Promise<RuleResult[]> {
  const cluster = offlineCluster({ resources: [resource] });
  cluster.imageRegistry = await prefetchImageRegistry(policies, [resource], new RegistryClient({ timeoutMs: 3000 }));
  const [evaluation] = evaluateResources({ policies, resources: [resource], cluster });
  return evaluation.responses.flatMap((r) => r.rules);
}

async function evaluateOne(policy: JsonObject, resource: JsonObject): Promise<RuleResult> {
  const rules = await evaluateAll([policy], resource);
  assert.equal(rules.length, 1, JSON.stringify(rules));
  return rules[0];
}

function slsaPolicy(attestor: JsonObject, condition = "extractPayload(i, attestations.slsa).predicate.buildDefinition.buildType == 'https://example.com/build/v1'"): JsonObject {
  return ivpol('slsa', {
    attestors: [attestor],
    attestations: [{ name: 'slsa', intoto: { type: SLSA } }],
    validations: [
      { expression: 'images.containers.map(i, verifyAttestationSignatures(i, attestations.slsa, [attestors.cosign])).all(e, e > 0)', message: 'provenance not signed' },
      { expression: `images.containers.all(i, ${condition})`, message: 'built elsewhere' },
    ],
  });
}

describe('cosign attestations, signature repositories and required against a real OCI registry', () => {
  before(async () => {
    registry = await startRegistry();
    alice = newSigningKey();
    mallory = newSigningKey();
    digests.attested = await pushImage(registry.host, 'team/attested', 'v1');
    await pushAttestations(registry.host, 'team/attested', digests.attested, [
      { key: alice, predicateType: 'https://example.com/other', predicate: { note: 'not provenance' } },
      { key: alice, predicateType: SLSA, predicate: PROVENANCE },
    ]);
    digests.plain = await pushImage(registry.host, 'team/plain', 'v1');
    // Signatures and attestations kept in another repository (cosign's COSIGN_REPOSITORY).
    digests.elsewhere = await pushImage(registry.host, 'team/app', 'v1');
    await pushCosignSignatures(registry.host, 'team/signatures', digests.elsewhere, [{ key: alice }]);
    await pushAttestations(registry.host, 'team/signatures', digests.elsewhere, [{ key: alice, predicateType: SLSA, predicate: PROVENANCE }]);
  });
  after(() => registry?.stop());

  it('verifies an in-toto attestation with a key and reads the statement with extractPayload', async () => {
    const r = await evaluateOne(slsaPolicy(keyAttestor(alice)), podOf(`${registry.host}/team/attested:v1`));
    assert.deepEqual([r.status, r.message], ['pass', 'success']);
  });

  it('fails a condition on the verified statement with the policy message', async () => {
    const policy = slsaPolicy(keyAttestor(alice), "extractPayload(i, attestations.slsa).predicate.runDetails.builder.id == 'https://other.example.com'");
    const r = await evaluateOne(policy, podOf(`${registry.host}/team/attested:v1`));
    assert.deepEqual([r.status, r.message], ['fail', 'built elsewhere']);
  });

  it('counts no attestor for another key, an image without attestations or a predicate type that is absent', async () => {
    const other = await evaluateOne(slsaPolicy(keyAttestor(mallory)), podOf(`${registry.host}/team/attested:v1`));
    assert.deepEqual([other.status, other.message], ['fail', 'provenance not signed']);
    const none = await evaluateOne(slsaPolicy(keyAttestor(alice)), podOf(`${registry.host}/team/plain:v1`));
    assert.deepEqual([none.status, none.message], ['fail', 'provenance not signed']);
    const vuln = slsaPolicy(keyAttestor(alice));
    (vuln.spec as JsonObject).attestations = [{ name: 'slsa', intoto: { type: 'vuln' } }];
    assert.deepEqual((await evaluateOne(vuln, podOf(`${registry.host}/team/attested:v1`))).status, 'fail');
  });

  it('refuses extractPayload of an in-toto attestation that was not verified first', async () => {
    const policy = ivpol('early', {
      attestors: [keyAttestor(alice)],
      attestations: [{ name: 'slsa', intoto: { type: SLSA } }],
      validations: [{ expression: "images.containers.all(i, extractPayload(i, attestations.slsa).predicateType == 'x')" }],
    });
    const r = await evaluateOne(policy, podOf(`${registry.host}/team/attested:v1`));
    assert.equal(r.status, 'error');
    assert.match(r.message, /failed to get payload: intoto attestation payload cannot be fetch before verifying intoto attestation/);
  });

  it('verifies keyless attestations against the attestor\'s roots and identities', async () => {
    const ca = testAuthority('fulcio-att');
    const leaf = issue({ commonName: '', issuer: ca.intermediate, email: 'ci@example.com', oidcIssuer: 'https://token.example.com' });
    const digest = await pushImage(registry.host, 'team/keyless-att', 'v1');
    const envelope = dsseEnvelope(inTotoStatement(`${registry.host}/team/keyless-att`, digest, SLSA, PROVENANCE), { privateKey: leaf.privateKey, publicKeyPem: '' });
    await pushAttestations(registry.host, 'team/keyless-att', digest, [{ raw: envelope, annotations: { 'dev.sigstore.cosign/certificate': leaf.pem, 'dev.sigstore.cosign/chain': ca.chainPem } }]);
    const attestor = (subject: string) => ({ name: 'cosign', cosign: { keyless: { roots: ca.root.pem, identities: [{ issuer: 'https://token.example.com', subject }] }, ctlog: ignoreTlog } });
    const image = podOf(`${registry.host}/team/keyless-att:v1`);
    assert.equal((await evaluateOne(slsaPolicy(attestor('ci@example.com')), image)).status, 'pass');
    assert.deepEqual((await evaluateOne(slsaPolicy(attestor('someone@example.com')), image)).message, 'provenance not signed');
    // verifyImages: the same attestation with a keyless attestor and a condition on the predicate.
    const classic = verifyImagesPolicy('keyless-att', {
      imageReferences: [`${registry.host}/*`],
      attestations: [{
        type: SLSA,
        attestors: [{ entries: [{ keyless: { roots: ca.root.pem, subject: 'ci@example.com', issuer: 'https://token.example.com', rekor: { ignoreTlog: true }, ctlog: { ignoreSCT: true } } }] }],
        conditions: [{ all: [{ key: '{{ runDetails.builder.id }}', operator: 'Equals', value: 'https://ci.example.com' }] }],
      }],
    });
    const r = (await evaluateWithRegistry(classic, image)).rules.find((x) => x.type === 'ImageVerify')!;
    assert.equal(r.status, 'pass', r.message);
  });

  it('reads signatures and attestations from the repository an attestor names (verifyImages)', async () => {
    const image = `${registry.host}/team/app:v1`;
    const withRepository = (repository: string) => verifyImagesPolicy('elsewhere', { imageReferences: [`${registry.host}/*`], attestors: [{ entries: [{ ...(keysAttestor(alice.publicKeyPem).entries as JsonObject[])[0], repository }] }] });
    const pass = (await evaluateWithRegistry(withRepository(`${registry.host}/team/signatures`), podOf(image))).rules.find((x) => x.type === 'ImageVerify')!;
    assert.deepEqual([pass.status, pass.message], ['pass', `verified image signatures for ${image}`]);
    // Beside the image there is nothing; a repository without the signatures fails naming the image.
    const beside = (await evaluateWithRegistry(verifyImagesPolicy('beside', { imageReferences: [`${registry.host}/*`], attestors: [keysAttestor(alice.publicKeyPem)] }), podOf(image))).rules.find((x) => x.type === 'ImageVerify')!;
    assert.equal(beside.status, 'fail');
    const wrong = (await evaluateWithRegistry(withRepository(`${registry.host}/team/nowhere`), podOf(image))).rules.find((x) => x.type === 'ImageVerify')!;
    assert.equal(wrong.status, 'fail');
    assert.match(wrong.message, new RegExp(`^failed to verify image ${image.replace(/[.]/g, '\\.')}: \\.attestors\\[0\\]\\.entries\\[0\\]\\.keys: no signatures found`));
    // The entry-level repository serves attestors without their own, attestations included.
    const entryLevel = verifyImagesPolicy('entry-repo', {
      imageReferences: [`${registry.host}/*`],
      repository: `${registry.host}/team/signatures`,
      attestations: [{ type: SLSA, attestors: [keysAttestor(alice.publicKeyPem)], conditions: [{ all: [{ key: '{{ buildDefinition.externalParameters.ref }}', operator: 'Equals', value: 'refs/heads/main' }] }] }],
    });
    const attested = (await evaluateWithRegistry(entryLevel, podOf(image))).rules.find((x) => x.type === 'ImageVerify')!;
    assert.equal(attested.status, 'pass', attested.message);
  });

  it('reads signatures and attestations from an ImageValidatingPolicy attestor\'s cosign.source', async () => {
    const image = podOf(`${registry.host}/team/app:v1`);
    const source = { source: { repository: `${registry.host}/team/signatures` } };
    const signatures = (attestor: JsonObject) => ivpol('sigs', { attestors: [attestor], validations: [{ expression: 'images.containers.all(i, verifyImageSignatures(i, [attestors.cosign]) > 0)', message: 'not signed' }] });
    assert.equal((await evaluateOne(signatures(keyAttestor(alice, source)), image)).status, 'pass');
    assert.deepEqual((await evaluateOne(signatures(keyAttestor(alice)), image)).message, 'not signed');
    assert.equal((await evaluateOne(slsaPolicy(keyAttestor(alice, source)), image)).status, 'pass');
  });

  it('verifies a Notary COSE signature (notation sign --signature-format cose) from the referrers', async () => {
    const signer = issue({ commonName: 'notary-cose' });
    await pushImage(registry.host, 'team/cose', 'v1');
    const image = await manifestDescriptor(registry.host, 'team/cose', 'v1');
    await pushReferrer(registry.host, 'team/cose', image, 'application/vnd.cncf.notary.signature', { mediaType: 'application/cose', bytes: notaryCoseEnvelope(image, { privateKey: signer.privateKey, chainDer: [signer.der] }) });
    const policy = (pem: string) => ivpol('cose', {
      attestors: [{ name: 'notary', notary: { certs: { value: pem } } }],
      validations: [{ expression: 'images.containers.all(i, verifyImageSignatures(i, [attestors.notary]) == 1)', message: 'not signed with Notary' }],
    });
    assert.deepEqual((await evaluateOne(policy(signer.pem), podOf(`${registry.host}/team/cose:v1`))).status, 'pass');
    assert.deepEqual((await evaluateOne(policy(issue({ commonName: 'stranger' }).pem), podOf(`${registry.host}/team/cose:v1`))).message, 'not signed with Notary');
  });

  it('counts a verification by another ImageValidatingPolicy of the request for required, whatever the order', async () => {
    const image = podOf(`${registry.host}/team/attested:v1`);
    const lenient = ivpol('lenient', { validations: [{ expression: 'true' }] });
    const verifier = slsaPolicy(keyAttestor(alice));
    for (const policies of [[lenient, verifier], [verifier, lenient]]) {
      const rules = await evaluateAll(policies, image);
      assert.deepEqual(rules.map((r) => [r.name, r.status]).sort(), [['lenient', 'pass'], ['slsa', 'pass']]);
    }
    const alone = await evaluateOne(lenient, image);
    assert.equal(alone.status, 'fail');
    assert.match(alone.message, /is not verified: no policy performed a signature or attestation check on it/);
    // A failed verification by the other policy fails the lenient one with Kyverno's other message.
    const failing = await evaluateAll([lenient, slsaPolicy(keyAttestor(mallory))], image);
    assert.match(failing.find((r) => r.name === 'lenient')!.message, /failed signature or attestation verification/);
  });
});
