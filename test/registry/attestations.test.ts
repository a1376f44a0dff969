/**
 * verifyImages attestations, multi-arch indexes, OCI 1.1 referrers, image data and bad input
 * against a real registry (docker-registry on loopback), signed by the test harness's own
 * signer (DSSE and simple signing written independently of the verifier).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject, RuleResult } from '../../engine/core/types';
import { evaluateWithRegistry, keysAttestor, podOf, verifyImagesPolicy } from './evaluate';
import {
  newSigningKey,
  pushAttestations,
  pushBlob,
  pushCosignSignatures,
  pushImage,
  pushIndex,
  pushManifest,
  pushReferrerSignature,
  startRegistry,
  type LocalRegistry,
  type SigningKey,
} from './harness';

let registry: LocalRegistry;
let alice: SigningKey;
let bob: SigningKey;
const digests: Record<string, string> = {};
const SLSA = 'https://slsa.dev/provenance/v0.2';
const VULNS = 'https://cosign.sigstore.dev/attestation/vuln/v1';

function policy(entry: JsonObject, rule: JsonObject = {}): JsonObject {
  return verifyImagesPolicy('attest', { imageReferences: [`${registry.host}/*`], ...entry }, rule);
}

const pod = podOf;
const evaluate = evaluateWithRegistry;

async function one(p: JsonObject, image: string): Promise<RuleResult> {
  const { rules } = await evaluate(p, pod(image));
  assert.equal(rules.length, 1, JSON.stringify(rules));
  return rules[0];
}

function attestation(type: string, key: SigningKey, conditions?: unknown[], extra: JsonObject = {}): JsonObject {
  return { type, attestors: [keysAttestor(key.publicKeyPem)], ...(conditions ? { conditions } : {}), ...extra };
}

describe('verifyImages attestations against a real registry', () => {
  before(async () => {
    registry = await startRegistry();
    alice = newSigningKey();
    bob = newSigningKey();
    digests.attested = await pushImage(registry.host, 'team/attested', 'v1');
    await pushCosignSignatures(registry.host, 'team/attested', digests.attested, [{ key: alice }]);
    await pushAttestations(registry.host, 'team/attested', digests.attested, [
      { key: alice, predicateType: SLSA, predicate: { builder: { id: 'https://github.com/actions/runner' }, buildType: 'https://example.com/build' } },
      { key: alice, predicateType: VULNS, predicate: { scanner: { uri: 'pkg:github/aquasecurity/trivy', result: { Results: [] } }, metadata: { scanFinishedOn: '2026-01-01T00:00:00Z' } } },
    ]);
    digests.plain = await pushImage(registry.host, 'team/plain', 'v1');
    digests.elsewhere = await pushImage(registry.host, 'team/elsewhere', 'v1');
    await pushAttestations(registry.host, 'team/elsewhere', digests.elsewhere, [{ key: alice, predicateType: SLSA, predicate: { builder: { id: 'x' } }, subjectDigest: digests.plain }]);
    digests.corrupt = await pushImage(registry.host, 'team/corrupt', 'v1');
    await pushAttestations(registry.host, 'team/corrupt', digests.corrupt, [{ raw: Buffer.from('{"payloadType": "application/vnd.in-toto+json", "payload": 12') }]);
    await pushCosignSignatures(registry.host, 'team/corrupt', digests.corrupt, [{ key: alice, corrupt: 'payload' }]);
    digests.badsig = await pushImage(registry.host, 'team/badsig', 'v1');
    await pushCosignSignatures(registry.host, 'team/badsig', digests.badsig, [{ key: alice, corrupt: 'signature' }]);
    const index = await pushIndex(registry.host, 'team/multi', 'v1');
    digests.multi = index.digest;
    digests.multiAmd64 = index.children.amd64;
    await pushCosignSignatures(registry.host, 'team/multi', index.digest, [{ key: alice }]);
    digests.referred = await pushImage(registry.host, 'team/referred', 'v1');
    await pushReferrerSignature(registry.host, 'team/referred', digests.referred, alice);
  });
  after(() => registry?.stop());

  it('passes attestations whose conditions hold on the predicate', async () => {
    const conditions = [{ all: [{ key: '{{ builder.id }}', operator: 'Equals', value: 'https://github.com/actions/runner' }] }];
    const r = await one(policy({ attestations: [attestation(SLSA, alice, conditions)] }), `${registry.host}/team/attested:v1`);
    assert.equal(r.status, 'pass', r.message);
    assert.equal(r.message, `verified image attestations for ${registry.host}/team/attested:v1`);
  });

  it('fails a condition with Kyverno message naming the image and predicate', async () => {
    const conditions = [{ all: [{ key: '{{ builder.id }}', operator: 'Equals', value: 'https://other', message: 'unexpected builder' }] }];
    const r = await one(policy({ attestations: [attestation(SLSA, alice, conditions)] }), `${registry.host}/team/attested:v1`);
    assert.equal(r.status, 'fail');
    assert.equal(
      r.message,
      `image attestations verification failed, verifiedCount: 0, requiredCount: 1, error: .attestations[0].attestors[0].entries[0].keys: attestation checks failed for ${registry.host}/team/attested:v1 and predicate ${SLSA}: unexpected builder`,
    );
  });

  it('accepts predicateType as the type and checks every statement of the type', async () => {
    const conditions = [{ any: [{ key: '{{ length(scanner.result.Results) }}', operator: 'Equals', value: 0 }] }];
    const r = await one(policy({ attestations: [{ predicateType: VULNS, attestors: [keysAttestor(alice.publicKeyPem)], conditions }] }), `${registry.host}/team/attested:v1`);
    assert.equal(r.status, 'pass', r.message);
  });

  it('fails when no statement has the type', async () => {
    const r = await one(policy({ attestations: [attestation('https://spdx.dev/Document', alice)] }), `${registry.host}/team/attested:v1`);
    assert.equal(r.status, 'fail');
    assert.match(r.message, /attestions not found for predicate type https:\/\/spdx\.dev\/Document$/);
  });

  it('fails an attestation without a type', async () => {
    const r = await one(policy({ attestations: [{ attestors: [keysAttestor(alice.publicKeyPem)] }] }), `${registry.host}/team/attested:v1`);
    assert.deepEqual([r.status, r.message], ['fail', '.attestations[0]: missing type']);
  });

  it('fails attestations signed by another key', async () => {
    const r = await one(policy({ attestations: [attestation(SLSA, bob)] }), `${registry.host}/team/attested:v1`);
    assert.equal(r.status, 'fail');
    assert.match(r.message, /error: no matching attestations: accepted signatures do not match threshold, Found: 0, Expected 1/);
  });

  it('fails an image without attestations', async () => {
    const r = await one(policy({ attestations: [attestation(SLSA, alice)] }), `${registry.host}/team/plain:v1`);
    assert.equal(r.status, 'fail');
    assert.equal(r.message, 'image attestations verification failed, verifiedCount: 0, requiredCount: 1, error: no matching attestations: ');
  });

  it('fails a statement about another digest', async () => {
    const r = await one(policy({ attestations: [attestation(SLSA, alice)] }), `${registry.host}/team/elsewhere:v1`);
    assert.equal(r.status, 'fail');
    assert.match(r.message, /no matching attestations: no matching subject digest found$/);
  });

  it('fails a corrupt envelope with a reason', async () => {
    const r = await one(policy({ attestations: [attestation(SLSA, alice)] }), `${registry.host}/team/corrupt:v1`);
    assert.equal(r.status, 'fail');
    assert.match(r.message, /no matching attestations: invalid DSSE envelope: /);
  });

  it('verifies signatures first and names the image by digest in the attestation pass', async () => {
    const r = await one(policy({ attestors: [keysAttestor(alice.publicKeyPem)], attestations: [attestation(SLSA, alice)] }), `${registry.host}/team/attested:v1`);
    assert.equal(r.status, 'pass', r.message);
    assert.equal(r.message, `verified image attestations for ${registry.host}/team/attested@${digests.attested}`);
  });

  it('runs validate blocks on the named attestation data', async () => {
    const entry = (value: string) => ({
      attestations: [attestation(SLSA, alice, undefined, { name: 'provenance' })],
      validate: { message: 'built by {{ provenance.builder.id }}', deny: { conditions: { any: [{ key: '{{ provenance.buildType }}', operator: 'NotEquals', value }] } } },
    });
    const ok = await one(policy(entry('https://example.com/build')), `${registry.host}/team/attested:v1`);
    assert.deepEqual([ok.status, ok.message], ['pass', 'verifyImages validation is passed in verify rule']);
    const denied = await one(policy(entry('https://example.com/other')), `${registry.host}/team/attested:v1`);
    assert.deepEqual([denied.status, denied.message], ['fail', 'validation in verifyImages failed: built by https://github.com/actions/runner']);
  });

  it('verifies a multi-arch image on its index digest and adds that digest', async () => {
    const image = `${registry.host}/team/multi:v1`;
    const { rules, patched } = await evaluate(policy({ attestors: [keysAttestor(alice.publicKeyPem)], mutateDigest: true }), pod(image));
    assert.equal(rules[0].status, 'pass', rules[0].message);
    assert.equal((patched.spec as { containers: Array<{ image: string }> }).containers[0].image, `${image}@${digests.multi}`);
  });

  it('finds a signature stored as an OCI 1.1 referrer with cosignOCI11 (tag-schema fallback)', async () => {
    const image = `${registry.host}/team/referred:v1`;
    const withOci11 = await one(policy({ attestors: [keysAttestor(alice.publicKeyPem)], cosignOCI11: true }), image);
    assert.equal(withOci11.status, 'pass', withOci11.message);
    const without = await one(policy({ attestors: [keysAttestor(alice.publicKeyPem)] }), image);
    assert.equal(without.status, 'fail');
    assert.match(without.message, /no signatures found/);
  });

  it('gives a failure naming the image for a tag the registry does not have', async () => {
    const r = await one(policy({ attestors: [keysAttestor(alice.publicKeyPem)] }), `${registry.host}/team/plain:v404`);
    assert.equal(r.status, 'fail');
    assert.equal(
      r.message,
      `failed to verify image ${registry.host}/team/plain:v404: .attestors[0].entries[0].keys: image tag not found: HEAD http://${registry.host}/v2/team/plain/manifests/v404: unexpected status code 404 Not Found (HEAD responses have no body, use GET for details)`,
    );
  });

  it('fails a signature layer whose payload or signature was damaged', async () => {
    const payload = await one(policy({ attestors: [keysAttestor(alice.publicKeyPem)] }), `${registry.host}/team/corrupt:v1`);
    assert.equal(payload.status, 'fail');
    assert.match(payload.message, new RegExp(`^failed to verify image ${registry.host}/team/corrupt:v1: .*no matching signatures: invalid signature`));
    const sig = await one(policy({ attestors: [keysAttestor(alice.publicKeyPem)] }), `${registry.host}/team/badsig:v1`);
    assert.equal(sig.status, 'fail');
    assert.match(sig.message, /no matching signatures: failed to decode signature layer/);
  });

  it('requires signature annotations in the signed payload', async () => {
    const repo = 'team/annotated';
    const digest = await pushImage(registry.host, repo, 'v1');
    await pushCosignSignatures(registry.host, repo, digest, [{ key: alice, annotations: { env: 'prod' } }]);
    const pass = await one(policy({ attestors: [keysAttestor(alice.publicKeyPem)], annotations: { env: 'prod' } }), `${registry.host}/${repo}:v1`);
    assert.equal(pass.status, 'pass', pass.message);
    const fail = await one(policy({ attestors: [keysAttestor(alice.publicKeyPem)], annotations: { env: 'dev' } }), `${registry.host}/${repo}:v1`);
    assert.match(fail.message, /no signature matched the required annotations/);
  });

  it('loads an imageRegistry context entry from the registry (index resolved to linux/amd64)', async () => {
    const image = `${registry.host}/team/multi:v1`;
    const p: JsonObject = {
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: { name: 'image-data' },
      spec: {
        rules: [{
          name: 'label',
          match: { any: [{ resources: { kinds: ['Pod'] } }] },
          context: [{ name: 'imageData', imageRegistry: { reference: '{{ request.object.spec.containers[0].image }}' } }],
          validate: {
            message: '{{ imageData.configData.config.Labels.content }} {{ imageData.resolvedImage }} {{ length(imageData.manifestList.manifests) }}',
            deny: { conditions: { any: [{ key: '{{ imageData.configData.architecture }}', operator: 'Equals', value: 'amd64' }] } },
          },
        }],
      },
    };
    const { rules } = await evaluate(p, pod(image));
    assert.equal(rules[0].status, 'fail', rules[0].message);
    assert.equal(rules[0].message, `team/multi:v1 for amd64 ${image}@${digests.multi} 2`);
  });

  it('reads image.GetMetadata in CEL from the registry', async () => {
    const image = `${registry.host}/team/attested:v1`;
    const p: JsonObject = {
      apiVersion: 'policies.kyverno.io/v1',
      kind: 'ValidatingPolicy',
      metadata: { name: 'image-metadata' },
      spec: {
        matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] },
        validations: [{
          expression: "object.spec.containers.all(c, image.GetMetadata(c.image).config.config.Labels.content == 'team/attested:v1' && image.GetMetadata(c.image).digest == '" + digests.attested + "')",
          message: 'wrong image',
        }],
      },
    };
    const { rules } = await evaluate(p, pod(image));
    assert.equal(rules[0].status, 'pass', rules[0].message);
  });
});
