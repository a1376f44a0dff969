/**
 * verifyImages with `certificates` and `keyless` attestors, offline against given roots
 * (rekor.ignoreTlog, ctlog.ignoreSCT), from a registry snapshot: no registry needed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { applyPolicy } from '../../engine/apply';
import type { JsonObject, RuleResult } from '../../engine/core/types';
import { offlineCluster } from '../../engine/evaluate';
import type { CosignSignatureLayer } from '../../engine/verify-images';
import { issue, testAuthority, type IssuedCertificate } from '../registry/test-ca';

const DIGEST = `sha256:${'c'.repeat(64)}`;
const IMAGE = 'registry.test/app:1';
const OFFLINE = { rekor: { ignoreTlog: true }, ctlog: { ignoreSCT: true } };

const ca = testAuthority('fulcio');
const other = testAuthority('elsewhere');
const signer = issue({ commonName: '', issuer: ca.intermediate, email: 'dev@example.com', oidcIssuer: 'https://token.example.com', oidcIssuerV2: 'https://token.example.com' });

function layer(cert: IssuedCertificate, chainPem: string | null = ca.chainPem, digest = DIGEST): CosignSignatureLayer {
  const payload = Buffer.from(JSON.stringify({ critical: { identity: { 'docker-reference': 'registry.test/app' }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' }, optional: null }));
  const annotations: Record<string, string> = { 'dev.cosignproject.cosign/signature': sign('sha256', payload, cert.privateKey).toString('base64'), 'dev.sigstore.cosign/certificate': cert.pem };
  if (chainPem) annotations['dev.sigstore.cosign/chain'] = chainPem;
  return { payload: payload.toString('base64'), signature: annotations['dev.cosignproject.cosign/signature'], mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', annotations };
}

function run(attestor: JsonObject, layers: CosignSignatureLayer[], entry: JsonObject = {}): RuleResult {
  const policy = {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'p' },
    spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, verifyImages: [{ imageReferences: ['registry.test/*'], mutateDigest: false, verifyDigest: false, required: false, attestors: [{ entries: [attestor] }], ...entry }] }] },
  };
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'default' }, spec: { containers: [{ name: 'c', image: IMAGE }] } };
  const cluster = offlineCluster({ resources: [pod] });
  cluster.imageRegistry = { images: { [IMAGE]: { digest: DIGEST, signatures: layers } } };
  const rules = applyPolicy(policy, { request: { operation: 'CREATE', object: pod, oldObject: null } as never, cluster }).rules;
  assert.equal(rules.length, 1, JSON.stringify(rules));
  return rules[0];
}

const keyless = (extra: JsonObject = {}) => ({ keyless: { roots: ca.root.pem, ...OFFLINE, ...extra } });

describe('keyless verifyImages offline', () => {
  it('passes a signature whose certificate chains to the roots', () => {
    const r = run(keyless({ subject: 'dev@example.com', issuer: 'https://token.example.com' }), [layer(signer)]);
    assert.equal(r.status, 'pass', r.message);
    // The top-level roots serve keyless attestors that name none.
    assert.equal(run({ keyless: { ...OFFLINE, subject: '*@example.com' } }, [layer(signer)], { roots: ca.root.pem }).status, 'pass');
  });

  it('matches subject and issuer by wildcard and regexp, and Fulcio extensions by name', () => {
    assert.equal(run(keyless({ subjectRegExp: '^dev@.*\\.com$', issuerRegExp: 'token\\.example' }), [layer(signer)]).status, 'pass');
    assert.equal(run(keyless({ additionalExtensions: { oidcIssuer: 'https://*.example.com' } }), [layer(signer)]).status, 'pass');
    const subject = run(keyless({ subject: 'ops@example.com' }), [layer(signer)]);
    assert.equal(subject.status, 'fail');
    assert.equal(subject.message, `failed to verify image ${IMAGE}: .attestors[0].entries[0].keyless: subject mismatch: expected ops@example.com, received dev@example.com`);
    const issuer = run(keyless({ issuer: 'https://accounts.example.org' }), [layer(signer)]);
    assert.equal(issuer.message, `failed to verify image ${IMAGE}: .attestors[0].entries[0].keyless: issuer mismatch: expected https://accounts.example.org, received https://token.example.com`);
    assert.match(run(keyless({ additionalExtensions: { nope: 'x' } }), [layer(signer)]).message, /invalid certificate extension nope$/);
  });

  it('fails a certificate outside the roots', () => {
    const r = run({ keyless: { roots: other.root.pem, ...OFFLINE } }, [layer(signer)]);
    assert.equal(r.status, 'fail');
    assert.equal(r.message, `failed to verify image ${IMAGE}: .attestors[0].entries[0].keyless: no matching signatures: cert verification failed: x509: certificate signed by unknown authority. Check your TUF root (see cosign initialize) or set a custom root with env var SIGSTORE_ROOT_FILE`);
  });

  it('fails an expired certificate: without a signed timestamp cosign only has now', () => {
    const old = issue({ commonName: '', issuer: ca.intermediate, email: 'dev@example.com', notBefore: new Date(Date.now() - 30 * 60_000), notAfter: new Date(Date.now() - 20 * 60_000) });
    const r = run(keyless(), [layer(old)]);
    assert.equal(r.status, 'fail');
    assert.equal(r.message, `failed to verify image ${IMAGE}: .attestors[0].entries[0].keyless: no matching signatures: expected a signed timestamp to verify an expired certificate`);
  });

  it('fails a signature without a certificate, and one made by another key', () => {
    const bare = { ...layer(signer), annotations: { 'dev.cosignproject.cosign/signature': layer(signer).signature } };
    assert.match(run(keyless(), [bare]).message, /no matching signatures: no certificate found on signature$/);
    const forged = { ...layer(signer), signature: layer(issue({ commonName: 'x', issuer: ca.intermediate })).signature };
    assert.match(run(keyless(), [forged]).message, /no matching signatures: invalid signature when validating ASN\.1 encoded signature$/);
  });

  it('needs the transparency log and SCT turned off, and roots, offline', () => {
    const tlog = run({ keyless: { roots: ca.root.pem, ctlog: { ignoreSCT: true } } }, [layer(signer)]);
    assert.equal(tlog.status, 'error');
    assert.match(tlog.message, /Rekor/);
    assert.equal(run({ keyless: { rekor: { ignoreTlog: true }, roots: ca.root.pem } }, [layer(signer)]).status, 'error');
    const noRoots = run({ keyless: { ...OFFLINE } }, [layer(signer)]);
    assert.equal(noRoots.status, 'error');
    assert.match(noRoots.message, /TUF/);
  });

  it('certificates: the given certificate verifies, its chain is checked against its last certificate', () => {
    const cert = { certificates: { cert: signer.pem, certChain: ca.chainPem, ...OFFLINE } };
    assert.equal(run(cert, [layer(signer)]).status, 'pass');
    const wrongChain = run({ certificates: { cert: signer.pem, certChain: other.chainPem, ...OFFLINE } }, [layer(signer)]);
    assert.equal(wrongChain.status, 'fail');
    assert.match(wrongChain.message, /\.certificates: failed to load validate certificate chain: cert verification failed: x509: certificate signed by unknown authority/);
    const someoneElse = issue({ commonName: 'y', issuer: ca.intermediate });
    const mismatch = run({ certificates: { cert: someoneElse.pem, ...OFFLINE } }, [layer(signer)]);
    assert.equal(mismatch.status, 'fail');
    assert.match(mismatch.message, /no matching signatures: invalid signature/);
    assert.match(run({ certificates: { cert: 'not pem', ...OFFLINE } }, [layer(signer)]).message, /failed to load certificate from not pem: failed to unmarshal certificate from PEM format: error during PEM decoding/);
  });
});
