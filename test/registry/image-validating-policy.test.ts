/**
 * ImageValidatingPolicy against a real OCI registry (docker-registry on loopback): cosign and
 * Notary signatures, an SBOM referrer with its own Notary signature, the imageverify CEL
 * functions; and Kyverno's own ivpol CLI tests (which use ghcr.io) replayed against the local
 * registry with their expectations unchanged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testCommand } from '../../cli/commands/test';
import { evaluateResources, offlineCluster } from '../../engine/evaluate';
import type { JsonObject, RuleResult } from '../../engine/core/types';
import { prefetchImageRegistry, RegistryClient } from '../../registry';
import {
  manifestDescriptor,
  newSigningKey,
  pushCosignSignatures,
  pushImage,
  pushNotarySignature,
  pushReferrer,
  startRegistry,
  type LocalRegistry,
  type SigningKey,
} from './harness';
import { issue, testAuthority, type IssuedCertificate } from './test-ca';
import { WITHOUT_CORPUS } from '../fixtures/corpus-cases';

const CORPUS = join(__dirname, '..', '..', '..', 'shared', 'conformance', 'kyverno-cli', 'test-image-validating-policy');
const SBOM = { bomFormat: 'CycloneDX', specVersion: '1.4', version: 1, components: [] };

let registry: LocalRegistry;
let notary: IssuedCertificate;
let cosignKey: SigningKey;
let work: string;

function ivpol(spec: JsonObject): JsonObject {
  return {
    apiVersion: 'policies.kyverno.io/v1',
    kind: 'ImageValidatingPolicy',
    metadata: { name: 'ivpol' },
    spec: {
      validationActions: ['Deny'],
      validationConfigurations: { verifyDigest: false },
      matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] },
      matchImageReferences: [{ glob: `${registry.host}/*` }],
      ...spec,
    },
  };
}

function pod(image: string): JsonObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app', namespace: 'default' }, spec: { containers: [{ name: 'app', image }] } };
}

async function evaluate(policy: JsonObject, resource: JsonObject): Promise<RuleResult> {
  const cluster = offlineCluster({ resources: [resource] });
  cluster.imageRegistry = await prefetchImageRegistry([policy], [resource], new RegistryClient({ timeoutMs: 3000 }));
  const [evaluation] = evaluateResources({ policies: [policy], resources: [resource], cluster });
  const rules = evaluation.responses.flatMap((r) => r.rules);
  assert.equal(rules.length, 1, JSON.stringify(rules));
  return rules[0];
}

const notaryAttestor = (cert = notary.pem) => ({ name: 'notary', notary: { certs: { value: cert } } });

describe('ImageValidatingPolicy against a real OCI registry', () => {
  before(async () => {
    registry = await startRegistry();
    work = mkdtempSync(join(tmpdir(), 'ks-ivpol-'));
    // Like the corpus's certificate: a self-signed code-signing leaf.
    notary = issue({ commonName: 'notary-test' });
    cosignKey = newSigningKey();
    const repo = 'kyverno/test-verify-image';
    await pushImage(registry.host, repo, 'signed');
    const image = await manifestDescriptor(registry.host, repo, 'signed');
    const signer = { privateKey: notary.privateKey, chainDer: [notary.der] };
    await pushNotarySignature(registry.host, repo, image, signer);
    const sbom = await pushReferrer(registry.host, repo, image, 'sbom/cyclone-dx', { mediaType: 'application/vnd.cyclonedx+json', bytes: Buffer.from(JSON.stringify(SBOM)) });
    await pushNotarySignature(registry.host, repo, sbom, signer);
    await pushCosignSignatures(registry.host, repo, image.digest, [{ key: cosignKey }]);
    await pushImage(registry.host, repo, 'unsigned');
  });
  after(() => {
    registry?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('verifies Notary signatures of the image and of its SBOM, and reads the SBOM', async () => {
    const policy = ivpol({
      attestors: [notaryAttestor()],
      attestations: [{ name: 'sbom', referrer: { type: 'sbom/cyclone-dx' } }],
      validations: [
        { expression: 'images.containers.map(i, verifyImageSignatures(i, [attestors.notary])).all(e, e > 0)', message: 'image not signed' },
        { expression: 'images.containers.map(i, verifyAttestationSignatures(i, attestations.sbom, [attestors.notary])).all(e, e > 0)', message: 'sbom not signed' },
        { expression: "images.containers.map(i, extractPayload(i, attestations.sbom).bomFormat == 'CycloneDX').all(e, e)", message: 'not CycloneDX' },
      ],
    });
    const signed = await evaluate(policy, pod(`${registry.host}/kyverno/test-verify-image:signed`));
    assert.deepEqual([signed.name, signed.status, signed.message], ['ivpol', 'pass', 'success']);
    const unsigned = await evaluate(policy, pod(`${registry.host}/kyverno/test-verify-image:unsigned`));
    assert.deepEqual([unsigned.status, unsigned.message], ['fail', 'image not signed']);
    const stranger = issue({ commonName: 'notary-test' });
    const other = await evaluate({ ...policy, spec: { ...(policy.spec as JsonObject), attestors: [notaryAttestor(stranger.pem)] } }, pod(`${registry.host}/kyverno/test-verify-image:signed`));
    assert.deepEqual([other.status, other.message], ['fail', 'image not signed'], 'a certificate outside the trust store');
  });

  it('verifies cosign signatures with a key, and reads image data', async () => {
    const policy = ivpol({
      attestors: [{ name: 'cosign', cosign: { key: { data: cosignKey.publicKeyPem }, ctlog: { insecureIgnoreTlog: true, insecureIgnoreSCT: true } } }],
      validations: [
        { expression: 'images.containers.map(i, verifyImageSignatures(i, [attestors.cosign])).all(e, e > 0)', message: 'not signed by the key' },
        { expression: "images.containers.all(i, getImageData(i).config.config.Labels.content.endsWith(':signed'))", message: 'wrong config' },
      ],
    });
    assert.equal((await evaluate(policy, pod(`${registry.host}/kyverno/test-verify-image:signed`))).status, 'pass');
    const unsigned = await evaluate(policy, pod(`${registry.host}/kyverno/test-verify-image:unsigned`));
    assert.deepEqual([unsigned.status, unsigned.message], ['fail', 'not signed by the key']);
  });

  it('fails a passing policy that verified nothing (validationConfigurations.required), unless required is false', async () => {
    const image = `${registry.host}/kyverno/test-verify-image:signed`;
    const policy = ivpol({ validations: [{ expression: 'true' }] });
    const r = await evaluate(policy, pod(image));
    assert.deepEqual([r.status, r.message], ['fail', `image ${image} is not verified: no policy performed a signature or attestation check on it`]);
    const relaxed = ivpol({ validationConfigurations: { verifyDigest: false, required: false }, validations: [{ expression: 'true' }] });
    assert.equal((await evaluate(relaxed, pod(image))).status, 'pass');
  });

  it('verifies keyless cosign signatures against the attestor\'s roots and identities', async () => {
    const ca = testAuthority('fulcio');
    const leaf = issue({ commonName: '', issuer: ca.intermediate, email: 'ci@example.com', oidcIssuer: 'https://token.example.com' });
    await pushImage(registry.host, 'team/keyless', 'v1');
    const image = await manifestDescriptor(registry.host, 'team/keyless', 'v1');
    await pushCosignSignatures(registry.host, 'team/keyless', image.digest, [{ key: { privateKey: leaf.privateKey, publicKeyPem: '' }, certificatePem: leaf.pem, chainPem: ca.chainPem }]);
    const policy = (subject: string) => ivpol({
      attestors: [{ name: 'ci', cosign: { keyless: { roots: ca.root.pem, identities: [{ issuer: 'https://token.example.com', subject }] }, ctlog: { insecureIgnoreTlog: true, insecureIgnoreSCT: true } } }],
      validations: [{ expression: 'images.containers.all(i, verifyImageSignatures(i, [attestors.ci]) == 1)', message: 'not signed by CI' }],
    });
    assert.equal((await evaluate(policy('ci@example.com'), pod(`${registry.host}/team/keyless:v1`))).status, 'pass');
    assert.equal((await evaluate(policy('someone@example.com'), pod(`${registry.host}/team/keyless:v1`))).status, 'fail');
  });

  it('replays Kyverno\'s ImageValidatingPolicy CLI tests against the local registry with their expectations', { skip: WITHOUT_CORPUS }, async () => {
    const replayed: string[] = [];
    for (const name of readdirSync(CORPUS)) {
      const source = join(CORPUS, name);
      if (!readdirSync(source).includes('kyverno-test.yaml')) continue;
      const dir = join(work, name);
      cpSync(source, dir, { recursive: true });
      for (const file of readdirSync(dir)) {
        const path = join(dir, file);
        // The registry moves to loopback and the policy trusts our signer instead of Kyverno's test key.
        const text = readFileSync(path, 'utf8')
          .replace(/ghcr\.io\//g, `${registry.host}/`)
          .replace(/^( *)-----BEGIN CERTIFICATE-----\n[\s\S]*?-----END CERTIFICATE-----/gm, (_m, indent: string) => notary.pem.trim().split('\n').map((l) => indent + l).join('\n'));
        writeFileSync(path, text);
      }
      let out = '';
      const io = { out: (t: string) => (out += `${t}\n`), err: (t: string) => (out += `${t}\n`) };
      assert.equal(await testCommand.run([dir, '--registry'], io), 0, `${name}:\n${out}`);
      assert.doesNotMatch(out, /Fail/, name);
      const rows = (readFileSync(join(dir, 'kyverno-test.yaml'), 'utf8').match(/^  result: /gm) ?? []).length;
      assert.match(out, new RegExp(`Test Summary: ${rows} tests passed and 0 tests failed`), out);
      replayed.push(name);
      // Offline the same test cannot hold: the images are only in the registry.
      out = '';
      assert.equal(await testCommand.run([dir], io), 1, `${name} offline:\n${out}`);
    }
    assert.deepEqual(replayed.sort(), ['sample-policy', 'with-cel-exceptions']);
  });
});
